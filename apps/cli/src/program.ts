/**
 * The command tree of `meshcrypt` (commander 14): every command, its options and its help. Each action
 * lives in `commands/`; this module only parses and validates arguments.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { MAX_PBKDF2_ITERATIONS, MAX_PBKDF2_LENGTH } from '@mesh/crypto-core';
import { Command, InvalidArgumentError, Option } from 'commander';
import { usage } from './errors.js';

/** The CLI's version: the `version` of apps/cli/package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

// Command modules are loaded when their command runs: `--help`, `fernet` or `derive` do not pay for loading
// the whole facade (prom-client, zlib engines), which is most of a short command's start-up time.
const data = () => import('./commands/data.js');
const keyringCommands = () => import('./commands/keyring.js');
const fernetCommands = () => import('./commands/fernet.js');
const rsaCommands = () => import('./commands/rsa.js');
const deriveCommands = () => import('./commands/derive.js');

/** An action that loads `load()` and calls its export `name` with the parsed options. */
function lazy<M extends Record<string, unknown>>(
  load: () => Promise<M>,
  name: keyof M & string,
): (options: unknown) => Promise<void> {
  return async (options) => {
    const action = (await load())[name] as (o: unknown) => Promise<void>;
    await action(options);
  };
}

/** A commander parser for an integer option in `[min, max]`. */
function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be from ${min} to ${max}`);
    }
    return n;
  };
}

function addKek(command: Command): Command {
  return command
    .addOption(new Option('--kek-env <VAR>', 'KEK (32 bytes, hex or base64) in this environment variable'))
    .addOption(new Option('--kek-file <FILE>', 'KEK (32 bytes, hex or base64) in this file'))
    .addOption(
      new Option(
        '--passphrase-stdin',
        'derive the KEK from a passphrase on stdin (PBKDF2-HMAC-SHA256; 600,000 iterations for a new keyring)',
      ),
    );
}

function addIo(command: Command, what = 'data'): Command {
  return command
    .option('--in <FILE>', `read the ${what} from FILE (default: stdin)`)
    .option('--out <FILE>', 'write to FILE, atomically (default: stdout)');
}

/** The keyring commands: a keyring file or the keyring on etcd (exactly one, checked by the command). */
function addKeyringStore(command: Command): Command {
  return addKek(
    command
      .option('--keyring <PATH>', 'keyring file (FileKeyStore)')
      .option('--etcd <URL>', 'the keyring on etcd at URL (comma-separated for several members)')
      .option('--prefix <P>', 'etcd key prefix (default mesh/; with --etcd)'),
  );
}

function addKeyring(command: Command): Command {
  return addKek(command.requiredOption('--keyring <PATH>', 'keyring file (FileKeyStore)'));
}

/**
 * Makes `command` a group of subcommands whose own action names what is missing or unknown (commander would
 * print the whole help to stderr instead of one line).
 */
function asGroup(command: Command, name: string): Command {
  return command
    .usage('[options] <command>')
    .helpCommand(true)
    .argument('[command]')
    .action((sub: string | undefined) => {
      if (sub === undefined) throw usage(`missing command: ${name} <command> (see ${name} --help)`);
      throw usage(`unknown command '${sub}' (see ${name} --help)`);
    });
}

const TTL = integer('--ttl', 0, Number.MAX_SAFE_INTEGER);

/** Builds the `meshcrypt` program. Errors surface as exceptions (`exitOverride`), printed by `main`. */
export function buildProgram(): Command {
  const program = new Command('meshcrypt')
    .description(
      'Mesh Encryption from the shell: keyrings, files in the mesh formats, Fernet, RSA and PBKDF2.\n' +
        'Exit status: 0 success, 1 wrong data or keys, 2 usage error. Errors: one line, meshcrypt: CODE: message.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
  asGroup(program, 'meshcrypt');

  // ---- keyring ------------------------------------------------------------------------------------------
  const keyring = program
    .command('keyring')
    .description('create, rotate and describe a keyring (a file, or on etcd)');
  asGroup(keyring, 'meshcrypt keyring');
  addKeyringStore(keyring.command('init').description('create a keyring with one primary key per algorithm'))
    .option('--json', 'print JSON')
    .action(lazy(keyringCommands, 'keyringInit'));
  addKeyringStore(
    keyring.command('rotate').description('make a new primary key (all algorithms unless one is named)'),
  )
    .addOption(
      new Option('--algorithm <ALG>', 'rotate only this algorithm').choices(['aes-256-gcm', 'fernet']),
    )
    .option(
      '--timeout <SECONDS>',
      'with --etcd: how long to wait for the fleet to ack and promote (default 60)',
      integer('--timeout', 1, 86_400),
    )
    .option('--json', 'print JSON')
    .action(lazy(keyringCommands, 'keyringRotate'));
  addKeyringStore(
    keyring.command('list').description('list keys: id, algorithm, state, age, uses (never material)'),
  )
    .option('--json', 'print JSON')
    .action(lazy(keyringCommands, 'keyringList'));
  addKeyringStore(
    keyring
      .command('status')
      .description(
        'the store, version, KEK kind, primaries, keys per state; on etcd the live nodes and their acks',
      ),
  )
    .option('--json', 'print JSON')
    .action(lazy(keyringCommands, 'keyringStatus'));

  // ---- data ---------------------------------------------------------------------------------------------
  addIo(
    addKeyring(
      program
        .command('encrypt')
        .description('encrypt under the keyring: streaming format (default), --envelope or --text'),
    ),
  )
    .option('--context <TEXT>', 'bind this context (authenticated; decrypt needs the same)')
    .option('--envelope', `one in-memory envelope (0x01) instead of a stream (input up to 16 MiB)`)
    .option('--text', 'an envelope as base64url text (implies --envelope)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(lazy(data, 'encryptCommand'));
  addIo(addKeyring(program.command('decrypt').description('decrypt a stream, envelope or Fernet token')))
    .option('--context <TEXT>', 'the context it was encrypted with')
    .option('--text', 'the input must be base64url text')
    .option('--ttl <SECONDS>', 'Fernet tokens: maximum age', TTL)
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(lazy(data, 'decryptCommand'));
  addIo(
    addKeyring(
      program
        .command('rewrap')
        .description('re-encrypt under the current primary key, same form (no plaintext out)'),
    ),
  )
    .option('--context <TEXT>', 'the context it was encrypted with (kept)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .action(lazy(data, 'rewrapCommand'));
  program
    .command('inspect')
    .description(
      'describe a ciphertext without a key: format, algorithm, key id, compressed, padded, Fernet time',
    )
    .option('--in <FILE>', 'read from FILE (default: stdin)')
    .option('--json', 'print JSON')
    .action(lazy(data, 'inspectCommand'));

  // ---- fernet -------------------------------------------------------------------------------------------
  const fernet = program
    .command('fernet')
    .description('Fernet tokens, as Python cryptography reads and writes');
  asGroup(fernet, 'meshcrypt fernet');
  fernet
    .command('keygen')
    .description('print a new Fernet key (URL-safe base64 of 32 random bytes)')
    .option('--out <FILE>', 'write to FILE (mode 0600) instead of stdout')
    .action(lazy(fernetCommands, 'fernetKeygen'));
  const fernetKey = (command: Command): Command =>
    addIo(
      command
        .option('--key <KEY>', 'the Fernet key itself (visible to ps: prefer --key-env)')
        .option('--key-env <VAR>', 'the Fernet key in this environment variable'),
    );
  fernetKey(fernet.command('encrypt').description('encrypt to one Fernet token (one line)')).action(
    lazy(fernetCommands, 'fernetEncrypt'),
  );
  fernetKey(fernet.command('decrypt').description('decrypt one Fernet token'))
    .option('--ttl <SECONDS>', 'refuse tokens older than this (ERR_TOKEN_EXPIRED)', TTL)
    .action(lazy(fernetCommands, 'fernetDecrypt'));

  // ---- derive -------------------------------------------------------------------------------------------
  program
    .command('derive')
    .description('PBKDF2-HMAC-SHA256 of a password read from stdin, as hex')
    .option('--password-stdin', 'read the password from stdin (one trailing newline is dropped)')
    .requiredOption('--salt <HEX>', 'salt, hex')
    .requiredOption('--iterations <N>', 'iteration count', integer('--iterations', 1, MAX_PBKDF2_ITERATIONS))
    .option('--length <BYTES>', 'key length in bytes', integer('--length', 1, MAX_PBKDF2_LENGTH), 32)
    .option('--json', 'print JSON with the parameters')
    .action(lazy(deriveCommands, 'deriveCommand'));

  // ---- rsa ----------------------------------------------------------------------------------------------
  const rsa = program.command('rsa').description('RSA key files, RSA-OAEP-SHA256 and hybrid encryption');
  asGroup(rsa, 'meshcrypt rsa');
  rsa
    .command('keygen')
    .description('generate a key pair; the private key 0600, encrypted PKCS#8 when a passphrase is given')
    .option('--bits <N>', 'modulus size: 2048, 3072 or 4096', integer('--bits', 0, 1 << 16), 3072)
    .requiredOption('--out <PRIVATE.pem>', 'private key file (never overwritten)')
    .requiredOption('--pub <PUBLIC.pem>', 'public key file (never overwritten)')
    .option('--passphrase-env <VAR>', 'encrypt the private key under the passphrase in this variable')
    .action(lazy(rsaCommands, 'rsaKeygen'));
  addIo(
    rsa
      .command('encrypt')
      .description(
        'encrypt for a public key: RSA-OAEP-SHA256 when it fits, hybrid with AES-256-GCM otherwise',
      )
      .requiredOption('--pub <PUBLIC.pem>', 'the public key')
      .option('--context <TEXT>', 'bind this context (authenticated)'),
  ).action(lazy(rsaCommands, 'rsaEncrypt'));
  addIo(
    rsa
      .command('decrypt')
      .description('decrypt with the private key')
      .requiredOption('--key <PRIVATE.pem>', 'the private key')
      .option('--passphrase-env <VAR>', "the private key's passphrase in this variable")
      .option('--context <TEXT>', 'the context it was encrypted with'),
  ).action(lazy(rsaCommands, 'rsaDecrypt'));

  return program;
}
