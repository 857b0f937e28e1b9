/**
 * End-to-end tests of the built `meshcrypt` binary: every command through pipes and files, exit statuses
 * 0/1/2 with one-line errors, atomic outputs (nothing left behind by a failure), missing and unreadable files.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Fernet } from '@mesh/crypto-core';
import { createEncryption } from '@mesh/encryption';
import { FileKeyStore } from '@mesh/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP,
  BIN,
  expectFailure,
  expectSuccess,
  meshcrypt,
  randomKek,
  runCommand,
  tempDir,
} from './helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const dir = tmp.dir;
const env = { MESH_KEK: randomKek(), OTHER_KEK: randomKek() };
const kekBytes = new Uint8Array(Buffer.from(env.MESH_KEK, 'hex'));
const keyring = join(dir, 'keyring.json');
const K = ['--keyring', keyring, '--kek-env', 'MESH_KEK'];
const run = (args: readonly string[], input?: string | Uint8Array) =>
  meshcrypt(args, { env, cwd: dir, ...(input === undefined ? {} : { input }) });
const file = (name: string) => join(dir, name);
/** Files a failed command could have left (targets and temporaries), in `where`. */
const leftovers = (where = dir) => readdirSync(where).filter((f) => f.includes('.meshcrypt-'));

interface Info {
  format: string;
  algorithm: string;
  keyId?: number;
  compressed: boolean;
  padded: boolean;
  timestamp?: number;
  encoding: string;
}
async function inspectJson(input: string | Uint8Array): Promise<Info> {
  const r = await run(['inspect', '--json'], input);
  expectSuccess(r);
  return JSON.parse(r.out) as Info;
}
async function primaryIds(): Promise<Record<string, number>> {
  const r = await run(['keyring', 'status', ...K, '--json']);
  expectSuccess(r);
  const status = JSON.parse(r.out) as { primaries: Array<{ algorithm: string; id: number }> };
  return Object.fromEntries(status.primaries.map((p) => [p.algorithm, p.id]));
}

beforeAll(async () => {
  expectSuccess(await run(['keyring', 'init', ...K]));
});

describe.concurrent('help and version', () => {
  const commands = [
    [],
    ['keyring'],
    ['keyring', 'init'],
    ['keyring', 'rotate'],
    ['keyring', 'list'],
    ['keyring', 'status'],
    ['encrypt'],
    ['decrypt'],
    ['rewrap'],
    ['inspect'],
    ['fernet'],
    ['fernet', 'keygen'],
    ['fernet', 'encrypt'],
    ['fernet', 'decrypt'],
    ['derive'],
    ['rsa'],
    ['rsa', 'keygen'],
    ['rsa', 'encrypt'],
    ['rsa', 'decrypt'],
  ];
  it.each(commands.map((c) => [c.join(' ') || '(root)', c] as const))('%s --help', async (_name, command) => {
    const r = await run([...command, '--help']);
    expectSuccess(r);
    expect(r.out).toContain(`Usage: meshcrypt${command.length ? ` ${command.join(' ')}` : ''} [options]`);
  });

  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    expectSuccess(r);
    expect(r.out).toBe(`${JSON.parse(readFileSync(join(APP, 'package.json'), 'utf8')).version}\n`);
  });
});

describe.concurrent('usage errors exit 2 with one line', () => {
  const cases: Array<[string, string[], string]> = [
    ['no command', [], 'ERR_USAGE'],
    ['unknown command', ['frob'], 'ERR_USAGE'],
    ['group without subcommand', ['keyring'], 'ERR_USAGE'],
    ['unknown subcommand', ['rsa', 'sign'], 'ERR_USAGE'],
    ['unknown option', ['inspect', '--bogus'], 'ERR_USAGE'],
    ['missing required option', ['encrypt', '--kek-env', 'MESH_KEK'], 'ERR_USAGE'],
    ['no KEK', ['encrypt', '--keyring', 'k.json'], 'ERR_USAGE'],
    ['two KEK sources', ['keyring', 'list', ...K, '--kek-file', 'kek.txt'], 'ERR_USAGE'],
    // An unset KEK variable is the library's ERR_CONFIG_INVALID, still a usage error (exit 2).
    [
      'KEK variable not set',
      ['keyring', 'list', ...K.slice(0, 2), '--kek-env', 'NO_SUCH_VAR'],
      'ERR_CONFIG_INVALID',
    ],
    ['bad algorithm', ['keyring', 'rotate', ...K, '--algorithm', 'des'], 'ERR_USAGE'],
    ['passphrase-stdin without --in', ['encrypt', '--keyring', 'k.json', '--passphrase-stdin'], 'ERR_USAGE'],
    ['bad ttl', ['fernet', 'decrypt', '--key-env', 'FK', '--ttl', '-1'], 'ERR_USAGE'],
    ['no Fernet key', ['fernet', 'encrypt'], 'ERR_USAGE'],
    ['two Fernet keys', ['fernet', 'encrypt', '--key', 'x', '--key-env', 'FK'], 'ERR_USAGE'],
    ['Fernet key variable not set', ['fernet', 'encrypt', '--key-env', 'NO_SUCH_VAR'], 'ERR_USAGE'],
    ['derive without --password-stdin', ['derive', '--salt', '00', '--iterations', '1'], 'ERR_USAGE'],
    ['derive bad salt', ['derive', '--password-stdin', '--salt', 'xyz', '--iterations', '1'], 'ERR_USAGE'],
    ['derive odd salt', ['derive', '--password-stdin', '--salt', 'abc', '--iterations', '1'], 'ERR_USAGE'],
    [
      'derive zero iterations',
      ['derive', '--password-stdin', '--salt', '00', '--iterations', '0'],
      'ERR_USAGE',
    ],
    [
      'derive bad length',
      ['derive', '--password-stdin', '--salt', '00', '--iterations', '1', '--length', 'x'],
      'ERR_USAGE',
    ],
    ['rsa bad bits', ['rsa', 'keygen', '--bits', '1024', '--out', 'a.pem', '--pub', 'b.pem'], 'ERR_USAGE'],
    ['rsa keygen without --pub', ['rsa', 'keygen', '--out', 'a.pem'], 'ERR_USAGE'],
    [
      'rsa passphrase variable not set',
      ['rsa', 'keygen', '--out', 'a.pem', '--pub', 'b.pem', '--passphrase-env', 'NO_SUCH_VAR'],
      'ERR_USAGE',
    ],
  ];
  it.each(cases)('%s', async (_name, args, code) => {
    const r = await run(args, 'x');
    expectFailure(r, 2, code);
    expect(r.stdout.length).toBe(0);
  });
});

describe('keyring', () => {
  it('init refuses an existing keyring (exit 2), and commands refuse a missing one without creating it', async () => {
    expectFailure(await run(['keyring', 'init', ...K]), 2, 'ERR_KEYRING_EXISTS');
    const missing = file('nowhere/keyring.json');
    for (const command of [['keyring', 'list'], ['keyring', 'rotate'], ['keyring', 'status'], ['decrypt']]) {
      const r = await run([...command, '--keyring', missing, '--kek-env', 'MESH_KEK']);
      expectFailure(r, 2, 'ERR_KEYRING_NOT_FOUND');
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('list shows ids, states, ages and uses, never material', async () => {
    const r = await run(['keyring', 'list', ...K]);
    expectSuccess(r);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ALGORITHM\s+STATE\s+AGE\s+USES$/);
    const json = await run(['keyring', 'list', ...K, '--json']);
    expectSuccess(json);
    const listed = JSON.parse(json.out) as { version: number; keys: Array<Record<string, unknown>> };
    for (const key of listed.keys) {
      expect(Object.keys(key).sort()).toEqual(
        expect.arrayContaining(['id', 'algorithm', 'state', 'createdAt', 'ageSeconds', 'uses']),
      );
      for (const field of Object.keys(key)) expect(['material', 'sealed', 'key']).not.toContain(field);
      expect(lines.some((l) => l.startsWith(`${key.id} `) && l.includes(String(key.state)))).toBe(true);
    }
    // The sealed blobs of the file never appear in the output.
    const stored = JSON.parse(readFileSync(keyring, 'utf8'));
    const sealed = JSON.stringify(stored).match(/"sealed":"([^"]+)"/g) ?? [];
    expect(sealed.length).toBeGreaterThan(0);
    for (const s of sealed) expect(json.out + r.out).not.toContain(s.slice(10, -1));
  });

  it('rotate makes new primaries (all, or one algorithm) and the old ones decrypt-only', async () => {
    const before = await primaryIds();
    const r = await run(['keyring', 'rotate', ...K, '--json']);
    expectSuccess(r);
    const rotated = JSON.parse(r.out) as {
      version: number;
      rotated: Array<{ algorithm: string; id: number; previousId: number }>;
    };
    expect(rotated.rotated.map((x) => x.algorithm).sort()).toEqual(['aes-256-gcm', 'fernet']);
    for (const x of rotated.rotated) expect(x.previousId).toBe(before[x.algorithm]);
    const after = await primaryIds();
    expect(after['aes-256-gcm']).not.toBe(before['aes-256-gcm']);

    const one = await run(['keyring', 'rotate', ...K, '--algorithm', 'fernet']);
    expectSuccess(one);
    const last = await primaryIds();
    expect(last['aes-256-gcm']).toBe(after['aes-256-gcm']);
    expect(last.fernet).not.toBe(after.fernet);

    const list = JSON.parse((await run(['keyring', 'list', ...K, '--json'])).out) as {
      keys: Array<{ id: number; state: string }>;
    };
    const state = (id: number | undefined) => list.keys.find((k) => k.id === id)?.state;
    expect(state(before['aes-256-gcm'])).toBe('decrypt-only');
    expect(state(last['aes-256-gcm'])).toBe('primary');
  });

  it('status shows store, version, KEK kind, primaries and keys per state; uses grow with encryption', async () => {
    expectSuccess(await run(['encrypt', ...K], 'count me'));
    const r = await run(['keyring', 'status', ...K, '--json']);
    expectSuccess(r);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({
      store: 'file',
      path: keyring,
      keyring: 'default',
      kek: { type: 'raw' },
      backup: true,
    });
    expect(s.version).toBeGreaterThan(1);
    expect(s.states.primary).toBe(2);
    expect(s.states['decrypt-only']).toBeGreaterThanOrEqual(2);
    const aes = s.primaries.find((p: { algorithm: string }) => p.algorithm === 'aes-256-gcm');
    expect(aes.uses).toBeGreaterThan(0); // the lease this encryption reserved in the store
    const human = await run(['keyring', 'status', ...K]);
    expectSuccess(human);
    expect(human.out).toMatch(new RegExp(`^version\\s+${s.version}$`, 'm'));
    expect(human.out).toMatch(/^kek\s+raw 32-byte key$/m);
  });

  it('a wrong KEK exits 1 and says so; a KEK file works; a damaged keyring exits 1', async () => {
    const r = await run(['keyring', 'list', '--keyring', keyring, '--kek-env', 'OTHER_KEK']);
    expectFailure(r, 1, 'ERR_DECRYPTION_FAILED');
    expect(r.stderr).toContain(`wrong KEK for keyring ${keyring}`);

    writeFileSync(file('kek.txt'), `${env.MESH_KEK}\n`, { mode: 0o600 });
    expectSuccess(await run(['keyring', 'list', '--keyring', keyring, '--kek-file', file('kek.txt')]));
    expectFailure(
      await run(['keyring', 'list', '--keyring', keyring, '--kek-file', file('no-kek.txt')]),
      2,
      'ERR_CONFIG_INVALID',
    );

    // A damaged main copy with a good backup: the command works from the backup and warns once.
    const copy = file('copy.json');
    writeFileSync(`${copy}.bak`, readFileSync(keyring));
    writeFileSync(copy, '{"truncated":');
    const fromBackup = await run(['keyring', 'list', '--keyring', copy, '--kek-env', 'MESH_KEK']);
    expect(fromBackup.status).toBe(0);
    expect(fromBackup.stderr).toMatch(
      /^meshcrypt: warning: ERR_KEYSTORE_CORRUPT: keyring file \S+copy\.json is damaged; using its backup \S+copy\.json\.bak \(version \d+\)\n$/,
    );

    const damaged = file('damaged.json');
    writeFileSync(damaged, '{"format":"mesh-keystore-file/v1","garbage":');
    writeFileSync(`${damaged}.bak`, 'not json either');
    expectFailure(
      await run(['keyring', 'list', '--keyring', damaged, '--kek-env', 'MESH_KEK']),
      1,
      'ERR_KEYSTORE_CORRUPT',
    );
  });

  it('a passphrase KEK comes from stdin, and the status names it', async () => {
    const vault = file('vault.json');
    const init = await run(['keyring', 'init', '--keyring', vault, '--passphrase-stdin'], 'correct horse\n');
    expectSuccess(init);
    const s = await run(
      ['keyring', 'status', '--keyring', vault, '--passphrase-stdin', '--json'],
      'correct horse\n',
    );
    expectSuccess(s);
    expect(JSON.parse(s.out).kek).toEqual({ type: 'passphrase', iterations: 600_000 });
    const wrong = await run(['keyring', 'list', '--keyring', vault, '--passphrase-stdin'], 'wrong horse\n');
    expectFailure(wrong, 1, 'ERR_DECRYPTION_FAILED');
    expect(wrong.stderr).toContain('wrong KEK');
  });
});

describe('encrypt and decrypt', () => {
  const plaintext = Buffer.from('{"order":42,"items":["A-1","B-2"]}\n');

  it('streams files to files (0x03, mode 0600) and back', async () => {
    writeFileSync(file('plain.json'), plaintext);
    expectSuccess(await run(['encrypt', ...K, '--in', file('plain.json'), '--out', file('plain.enc')]));
    const sealed = readFileSync(file('plain.enc'));
    expect([...sealed.subarray(0, 3)]).toEqual([0x01, 0x03, 0x00]);
    expect(statSync(file('plain.enc')).mode & 0o777).toBe(0o600);
    expect(sealed.includes(Buffer.from('order'))).toBe(false);
    expectSuccess(await run(['decrypt', ...K, '--in', file('plain.enc'), '--out', file('plain.dec')]));
    expect(readFileSync(file('plain.dec'))).toEqual(plaintext);
    expect(statSync(file('plain.dec')).mode & 0o777).toBe(0o600);
    expect(leftovers()).toEqual([]);
  });

  it('streams pipes (stdin to stdout), multi-segment and empty inputs included', async () => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    for (const input of [plaintext, big, Buffer.alloc(0)]) {
      const sealed = await run(['encrypt', ...K, '--context', 'orders->payments'], input);
      expectSuccess(sealed);
      expect((await inspectJson(sealed.stdout)).algorithm).toBe('stream-aes-256-gcm');
      const opened = await run(['decrypt', ...K, '--context', 'orders->payments'], sealed.stdout);
      expectSuccess(opened);
      expect(opened.stdout.equals(input)).toBe(true);
    }
  });

  it('--envelope writes one 0x01 envelope (compressed by policy), --text its base64url line', async () => {
    const compressible = Buffer.from('{"sku":"A-1","qty":2},'.repeat(200));
    const env1 = await run(['encrypt', ...K, '--envelope', '--context', 'c'], compressible);
    expectSuccess(env1);
    expect([...env1.stdout.subarray(0, 3)]).toEqual([0x01, 0x01, 0x01]); // version, GCM, compressed
    expect(env1.stdout.length).toBeLessThan(compressible.length / 4);
    const dec1 = await run(['decrypt', ...K, '--context', 'c'], env1.stdout);
    expectSuccess(dec1);
    expect(dec1.stdout.equals(compressible)).toBe(true);

    const text = await run(['encrypt', ...K, '--text', '--context', 'c'], 'db-password');
    expectSuccess(text);
    expect(text.out).toMatch(/^AQE[A-Za-z0-9_-]+\n$/);
    for (const args of [[], ['--text']]) {
      const dec = await run(['decrypt', ...K, '--context', 'c', ...args], text.out);
      expectSuccess(dec);
      expect(dec.out).toBe('db-password');
    }
    // --text refuses bytes.
    expectFailure(
      await run(['decrypt', ...K, '--context', 'c', '--text'], env1.stdout),
      1,
      'ERR_TOKEN_MALFORMED',
    );
  });

  it('the library reads what the CLI writes (and the other way round)', async () => {
    const enc = await createEncryption({
      keyStore: new FileKeyStore({ path: keyring }),
      kek: { key: kekBytes },
    });
    try {
      const text = await run(['encrypt', ...K, '--text', '--context', 'orders->payments'], 'from the cli');
      expect(await enc.decryptToString(text.out.trim(), { context: 'orders->payments' })).toBe(
        'from the cli',
      );
      const sealed = await enc.encrypt('from a service', { context: 'svc' });
      const r = await run(['decrypt', ...K, '--context', 'svc'], sealed);
      expectSuccess(r);
      expect(r.out).toBe('from a service');
    } finally {
      await enc.close();
    }
  });

  it('a wrong context, a wrong key or a flipped byte exits 1 and leaves no output file', async () => {
    const big = Buffer.alloc(200_000, 0x61);
    writeFileSync(file('big.txt'), big);
    expectSuccess(
      await run(['encrypt', ...K, '--context', 'a', '--in', file('big.txt'), '--out', file('big.enc')]),
    );
    expectSuccess(
      await run([
        'encrypt',
        ...K,
        '--envelope',
        '--context',
        'a',
        '--in',
        file('plain.json'),
        '--out',
        file('small.env'),
      ]),
    );
    const otherKeyring = file('other.json');
    expectSuccess(await run(['keyring', 'init', '--keyring', otherKeyring, '--kek-env', 'OTHER_KEK']));
    const otherK = ['--keyring', otherKeyring, '--kek-env', 'OTHER_KEK'];

    const stream = readFileSync(file('big.enc'));
    const flippedStream = Buffer.from(stream);
    flippedStream[flippedStream.length - 100]! ^= 0x01; // in the last segment: earlier segments verify
    writeFileSync(file('flipped.enc'), flippedStream);
    writeFileSync(file('truncated.enc'), stream.subarray(0, stream.length - 1));
    const envelope = readFileSync(file('small.env'));
    const flippedEnvelope = Buffer.from(envelope);
    flippedEnvelope[20]! ^= 0x80;
    writeFileSync(file('flipped.env'), flippedEnvelope);

    const cases: Array<[string, string[], string, string]> = [
      ['stream, wrong context', K, 'big.enc', '--context=b'],
      ['stream, wrong key', otherK, 'big.enc', '--context=a'],
      ['stream, flipped byte', K, 'flipped.enc', '--context=a'],
      ['stream, truncated', K, 'truncated.enc', '--context=a'],
      ['envelope, wrong context', K, 'small.env', '--context=b'],
      ['envelope, wrong key', otherK, 'small.env', '--context=a'],
      ['envelope, flipped byte', K, 'flipped.env', '--context=a'],
    ];
    await Promise.all(
      cases.map(async ([name, keys, input, context], i) => {
        // An existing target is left as it was, not truncated or replaced.
        const target = file(`target-${i}.txt`);
        writeFileSync(target, 'previous content');
        const r = await run(['decrypt', ...keys, context, '--in', file(input), '--out', target]);
        expect({ name, status: r.status }).toEqual({ name, status: 1 });
        expectFailure(r, 1, name.includes('wrong key') ? 'ERR_KEY_NOT_FOUND' : 'ERR_DECRYPTION_FAILED');
        expect(readFileSync(target, 'utf8')).toBe('previous content');
        const fresh = file(`fresh-${i}.out`);
        const again = await run(['decrypt', ...keys, context, '--in', file(input), '--out', fresh]);
        expectFailure(again, 1, r.stderr.split(':')[1]!.trim());
        expect(existsSync(fresh)).toBe(false);
      }),
    );
    expect(leftovers()).toEqual([]);
  });

  it('foreign input exits 1 with the format error', async () => {
    expectFailure(await run(['decrypt', ...K], 'hello, not a ciphertext'), 1, 'ERR_TOKEN_MALFORMED');
    expectFailure(
      await run(['decrypt', ...K], Buffer.from([0x01, 0x09, 0, 0, 0, 0, 1, 2, 3])),
      1,
      'ERR_UNSUPPORTED_ALGORITHM',
    );
    expectFailure(await run(['decrypt', ...K], ''), 1, 'ERR_TOKEN_MALFORMED');
    const rsa = await run(['decrypt', ...K], Buffer.from([0x01, 0x04, 0, 1, 2, 3, 4, 9, 9, 9]));
    expectFailure(rsa, 1, 'ERR_UNSUPPORTED_ALGORITHM');
    expect(rsa.stderr).toContain('meshcrypt rsa decrypt');
    expectFailure(
      await run(['decrypt', ...K], Buffer.from([0x01, 0x03, 0x00, 0x01])),
      1,
      'ERR_DECRYPTION_FAILED',
    );
  });

  it('in-memory commands refuse more than 16 MiB (exit 1), streams do not', async () => {
    writeFileSync(file('17mib'), Buffer.alloc(16 * 1024 * 1024 + 1));
    const r = await run(['encrypt', ...K, '--envelope', '--in', file('17mib'), '--out', file('17mib.env')]);
    expectFailure(r, 1, 'ERR_INPUT_TOO_LARGE');
    expect(existsSync(file('17mib.env'))).toBe(false);
    expectSuccess(await run(['encrypt', ...K, '--in', file('17mib'), '--out', file('17mib.enc')]));
    expect((await inspectJson(readFileSync(file('17mib.enc')))).algorithm).toBe('stream-aes-256-gcm');
  });
});

describe('files named on the command line', () => {
  it('a missing input, a directory, an unreadable file, a missing output directory: exit 2, one line', async () => {
    expectFailure(await run(['encrypt', ...K, '--in', file('no-such-file')]), 2, 'ERR_FILE_NOT_FOUND');
    expectFailure(await run(['inspect', '--in', file('no-such-file')]), 2, 'ERR_FILE_NOT_FOUND');
    expectFailure(await run(['decrypt', ...K, '--in', dir]), 2, 'ERR_FILE_ACCESS');
    expectFailure(
      await run(['encrypt', ...K, '--out', file('no-dir/out.enc')], 'x'),
      2,
      'ERR_FILE_NOT_FOUND',
    );
    expectFailure(await run(['rsa', 'encrypt', '--pub', file('no-such.pem')], 'x'), 2, 'ERR_FILE_NOT_FOUND');
    expectFailure(await run(['rsa', 'decrypt', '--key', file('no-such.pem')], 'x'), 2, 'ERR_FILE_NOT_FOUND');
  });

  it('permission denied on an input or output is exit 2 (as an unprivileged user when run as root)', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const secret = join(locked, 'secret.txt');
    writeFileSync(secret, 'x');
    chmodSync(secret, 0o000);
    const readOnlyDir = join(locked, 'ro');
    mkdirSync(readOnlyDir, { mode: 0o555 });
    // root reads anything: run the child as `nobody` so the kernel really refuses.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r1 = await meshcrypt(['inspect', '--in', secret], { ...as, cwd: locked });
    expectFailure(r1, 2, 'ERR_FILE_ACCESS');
    expect(r1.stderr).toContain('permission denied');
    const r2 = await meshcrypt(['fernet', 'keygen', '--out', join(readOnlyDir, 'key')], {
      ...as,
      cwd: locked,
    });
    expectFailure(r2, 2, 'ERR_FILE_ACCESS');
    expect(readdirSync(readOnlyDir)).toEqual([]);
  });
});

describe('rewrap', () => {
  it('moves envelopes (bytes and text), streams and Fernet tokens to the current primary', async () => {
    const [stream, bytes, text] = await Promise.all([
      run(['encrypt', ...K, '--context', 'r'], 'stream payload'),
      run(['encrypt', ...K, '--envelope', '--context', 'r'], 'envelope payload'),
      run(['encrypt', ...K, '--text', '--context', 'r'], 'text payload'),
    ]);
    const enc = await createEncryption({
      keyStore: new FileKeyStore({ path: keyring }),
      kek: { key: kekBytes },
    });
    const token = await enc.fernet.encrypt('fernet payload');
    await enc.close();
    const tokenInfo = await inspectJson(token);

    expectSuccess(await run(['keyring', 'rotate', ...K]));
    const primary = await primaryIds();
    const items = [
      [stream.stdout, 'stream payload', 'bytes'],
      [bytes.stdout, 'envelope payload', 'bytes'],
      [text.stdout, 'text payload', 'text'],
    ] as const;
    await Promise.all(
      items.map(async ([sealed, payload, form]) => {
        const before = await inspectJson(sealed);
        const r = await run(['rewrap', ...K, '--context', 'r'], sealed);
        expectSuccess(r);
        const after = await inspectJson(r.stdout);
        expect(after).toMatchObject({
          algorithm: before.algorithm,
          keyId: primary['aes-256-gcm'],
          encoding: form,
        });
        expect(before.keyId).not.toBe(after.keyId);
        const opened = await run(['decrypt', ...K, '--context', 'r'], r.stdout);
        expectSuccess(opened);
        expect(opened.out).toBe(payload);
        expect(r.out).not.toContain(payload);
      }),
    );
    const rewrapped = await run(['rewrap', ...K], token);
    expectSuccess(rewrapped);
    expect(await inspectJson(rewrapped.out)).toMatchObject({
      format: 'fernet',
      timestamp: tokenInfo.timestamp,
    });
    expect(rewrapped.out.trim()).not.toBe(token);
    const opened = await run(['decrypt', ...K, '--ttl', '3600'], rewrapped.out);
    expectSuccess(opened);
    expect(opened.out).toBe('fernet payload');
  });

  it('a damaged stream or a wrong context exits 1 and leaves no output', async () => {
    const sealed = await run(['encrypt', ...K, '--context', 'r'], Buffer.alloc(150_000, 1));
    const damaged = Buffer.from(sealed.stdout);
    damaged[damaged.length - 5]! ^= 1;
    writeFileSync(file('rewrap-damaged.enc'), damaged);
    writeFileSync(file('rewrap-good.enc'), sealed.stdout);
    for (const [input, context] of [
      ['rewrap-damaged.enc', 'r'],
      ['rewrap-good.enc', 'x'],
    ] as const) {
      const out = file(`${input}.rewrapped`);
      expectFailure(
        await run(['rewrap', ...K, '--context', context, '--in', file(input), '--out', out]),
        1,
        'ERR_DECRYPTION_FAILED',
      );
      expect(existsSync(out)).toBe(false);
    }
    expect(leftovers()).toEqual([]);
  });
});

describe('inspect', () => {
  it('reads every format the library writes, without a key', async () => {
    const [stream, envelope, text, keygen] = await Promise.all([
      run(['encrypt', ...K], 'x'),
      run(['encrypt', ...K, '--envelope'], 'x'),
      run(['encrypt', ...K, '--text'], 'x'),
      run(['rsa', 'keygen', '--bits', '2048', '--out', file('i.pem'), '--pub', file('i.pub')]),
    ]);
    expectSuccess(keygen);
    const [direct, hybrid] = await Promise.all([
      run(['rsa', 'encrypt', '--pub', file('i.pub')], 'x'),
      run(['rsa', 'encrypt', '--pub', file('i.pub')], Buffer.alloc(500, 7)),
    ]);
    const fernet = new Fernet(Fernet.generateKey()).encrypt('x', { now: 1_700_000_000 });
    const aes = (await primaryIds())['aes-256-gcm'];
    expect(await inspectJson(stream.stdout)).toEqual({
      format: 'envelope-v1',
      algorithm: 'stream-aes-256-gcm',
      keyId: aes,
      compressed: false,
      padded: false,
      encoding: 'bytes',
    });
    expect(await inspectJson(envelope.stdout)).toEqual({
      format: 'envelope-v1',
      algorithm: 'aes-256-gcm',
      keyId: aes,
      compressed: false,
      padded: false,
      encoding: 'bytes',
    });
    expect(await inspectJson(text.stdout)).toMatchObject({
      algorithm: 'aes-256-gcm',
      keyId: aes,
      encoding: 'text',
    });
    const rsaId = (await inspectJson(direct.stdout)).keyId;
    expect(await inspectJson(direct.stdout)).toMatchObject({ algorithm: 'rsa-oaep-sha256' });
    expect(await inspectJson(hybrid.stdout)).toMatchObject({
      algorithm: 'hybrid-rsa-oaep-aes-256-gcm',
      keyId: rsaId,
    });
    expect(await inspectJson(`${fernet}\n`)).toEqual({
      format: 'fernet',
      algorithm: 'fernet',
      compressed: false,
      padded: false,
      timestamp: 1_700_000_000,
      encoding: 'text',
    });
    const human = await run(['inspect'], fernet);
    expectSuccess(human);
    expect(human.out).toMatch(/^timestamp\s+1700000000 \(2023-11-14T22:13:20\.000Z\)$/m);
    const compressed = await run(['encrypt', ...K, '--envelope'], 'abc'.repeat(1000));
    expect(await inspectJson(compressed.stdout)).toMatchObject({ compressed: true });
    expect((await run(['inspect'], compressed.stdout)).out).toMatch(/^compressed\s+yes$/m);
    expectFailure(await run(['inspect'], 'not a ciphertext'), 1, 'ERR_TOKEN_MALFORMED');
    expectFailure(await run(['inspect'], ''), 1, 'ERR_TOKEN_MALFORMED');
  });
});

describe('fernet', () => {
  it('keygen, encrypt and decrypt with --key and --key-env; wrong key, bad key and expiry exit 1', async () => {
    const keygen = await run(['fernet', 'keygen']);
    expectSuccess(keygen);
    const key = keygen.out.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(key, 'base64url').length).toBe(32);
    const fenv = { ...env, FK: key, FK2: new Fernet(Fernet.generateKey()).toString() };
    const sealed = await meshcrypt(['fernet', 'encrypt', '--key-env', 'FK'], {
      env: fenv,
      input: 'hello fernet',
    });
    expectSuccess(sealed);
    expect(sealed.out).toMatch(/^gAAAAA[A-Za-z0-9_=-]+\n$/);
    const opened = await meshcrypt(['fernet', 'decrypt', '--key', key], { env: fenv, input: sealed.out });
    expectSuccess(opened);
    expect(opened.out).toBe('hello fernet');
    expect(new TextDecoder().decode(new Fernet(key).decrypt(sealed.out.trim()))).toBe('hello fernet');

    const other = Fernet.generateKey();
    expectFailure(
      await meshcrypt(['fernet', 'decrypt', '--key', other], { input: sealed.out }),
      1,
      'ERR_DECRYPTION_FAILED',
    );
    expectFailure(
      await meshcrypt(['fernet', 'decrypt', '--key', 'not-a-key'], { input: sealed.out }),
      1,
      'ERR_INVALID_INPUT',
    );
    const old = new Fernet(key).encrypt('old', { now: Math.floor(Date.now() / 1000) - 120 });
    expectFailure(
      await meshcrypt(['fernet', 'decrypt', '--key', key, '--ttl', '60'], { input: old }),
      1,
      'ERR_TOKEN_EXPIRED',
    );
    const fine = await meshcrypt(['fernet', 'decrypt', '--key', key, '--ttl', '600'], { input: old });
    expectSuccess(fine);
    expect(fine.out).toBe('old');
  });
});

describe('derive', () => {
  it('matches the RFC 7914 PBKDF2-HMAC-SHA256 vector, with and without a trailing newline', async () => {
    // RFC 7914 §11: P = "passwd", S = "salt", c = 1, dkLen = 64.
    const expected =
      '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783';
    const salt = Buffer.from('salt').toString('hex');
    for (const input of ['passwd', 'passwd\n']) {
      const r = await run(
        ['derive', '--password-stdin', '--salt', salt, '--iterations', '1', '--length', '64'],
        input,
      );
      expectSuccess(r);
      expect(r.out).toBe(`${expected}\n`);
    }
    const json = await run(
      ['derive', '--password-stdin', '--salt', salt, '--iterations', '1', '--json'],
      'passwd',
    );
    expectSuccess(json);
    expect(JSON.parse(json.out)).toEqual({
      algorithm: 'pbkdf2-hmac-sha256',
      salt,
      iterations: 1,
      length: 32,
      key: expected.slice(0, 64),
    });
    expectFailure(
      await run(['derive', '--password-stdin', '--salt', salt, '--iterations', '1'], ''),
      2,
      'ERR_USAGE',
    );
  });
});

describe('rsa', () => {
  it('keygen writes 0600 keys (encrypted with a passphrase), never overwrites; encrypt/decrypt direct and hybrid', async () => {
    const renv = { ...env, RSA_PASS: 'partner passphrase', WRONG_PASS: 'nope' };
    const r = (args: string[], input?: string | Uint8Array) =>
      meshcrypt(args, { env: renv, ...(input === undefined ? {} : { input }) });
    expectSuccess(
      await r([
        'rsa',
        'keygen',
        '--bits',
        '2048',
        '--out',
        file('enc.pem'),
        '--pub',
        file('enc.pub'),
        '--passphrase-env',
        'RSA_PASS',
      ]),
    );
    expectSuccess(
      await r(['rsa', 'keygen', '--bits', '2048', '--out', file('plain.pem'), '--pub', file('plain.pub')]),
    );
    expect(readFileSync(file('enc.pem'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(readFileSync(file('plain.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(file('enc.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    for (const f of ['enc.pem', 'plain.pem']) expect(statSync(file(f)).mode & 0o777).toBe(0o600);

    const before = readFileSync(file('enc.pem'));
    const again = await r([
      'rsa',
      'keygen',
      '--bits',
      '2048',
      '--out',
      file('enc.pem'),
      '--pub',
      file('new.pub'),
    ]);
    expectFailure(again, 2, 'ERR_FILE_EXISTS');
    expect(readFileSync(file('enc.pem')).equals(before)).toBe(true);
    expect(existsSync(file('new.pub'))).toBe(false);
    // A public key that cannot be written: no private key is left either.
    const orphan = await r([
      'rsa',
      'keygen',
      '--bits',
      '2048',
      '--out',
      file('orphan.pem'),
      '--pub',
      file('no-dir/orphan.pub'),
    ]);
    expectFailure(orphan, 2, 'ERR_FILE_NOT_FOUND');
    expect(existsSync(file('orphan.pem'))).toBe(false);
    expect(leftovers()).toEqual([]);

    for (const [input, algorithm] of [
      [Buffer.from('fits in one OAEP block'), 0x04],
      [Buffer.alloc(191, 0x42), 0x02],
      [Buffer.from(crypto.getRandomValues(new Uint8Array(60_000))), 0x02], // random: no compression
    ] as const) {
      const sealed = await r(['rsa', 'encrypt', '--pub', file('enc.pub'), '--context', 'partner'], input);
      expectSuccess(sealed);
      expect(sealed.stdout[1]).toBe(algorithm);
      const opened = await r(
        ['rsa', 'decrypt', '--key', file('enc.pem'), '--passphrase-env', 'RSA_PASS', '--context', 'partner'],
        sealed.stdout,
      );
      expectSuccess(opened);
      expect(opened.stdout.equals(input)).toBe(true);
    }

    const sealed = await r(['rsa', 'encrypt', '--pub', file('enc.pub')], 'secret');
    writeFileSync(file('secret.rsa'), sealed.stdout);
    const flipped = Buffer.from(sealed.stdout);
    flipped[50]! ^= 1;
    writeFileSync(file('flipped.rsa'), flipped);
    const dec = (args: string[], input: string) =>
      r(['rsa', 'decrypt', ...args, '--in', file(input), '--out', file('rsa.out')]);
    expectFailure(
      await dec(['--key', file('enc.pem'), '--passphrase-env', 'WRONG_PASS'], 'secret.rsa'),
      1,
      'ERR_DECRYPTION_FAILED',
    );
    expectFailure(await dec(['--key', file('enc.pem')], 'secret.rsa'), 2, 'ERR_USAGE');
    expectFailure(await dec(['--key', file('plain.pem')], 'secret.rsa'), 1, 'ERR_KEY_NOT_FOUND');
    expectFailure(
      await dec(['--key', file('enc.pem'), '--passphrase-env', 'RSA_PASS', '--context', 'x'], 'secret.rsa'),
      1,
      'ERR_DECRYPTION_FAILED',
    );
    expectFailure(
      await dec(['--key', file('enc.pem'), '--passphrase-env', 'RSA_PASS'], 'flipped.rsa'),
      1,
      'ERR_DECRYPTION_FAILED',
    );
    expect(existsSync(file('rsa.out'))).toBe(false);
    expectSuccess(await dec(['--key', file('enc.pem'), '--passphrase-env', 'RSA_PASS'], 'secret.rsa'));
    expect(readFileSync(file('rsa.out'), 'utf8')).toBe('secret');
    expectFailure(await r(['rsa', 'encrypt', '--pub', file('enc.pem')], 'x'), 1, 'ERR_INVALID_INPUT');
  });
});

describe('progress bar and signals', () => {
  /** Runs meshcrypt with stderr on a pseudo-terminal (python3's pty), stdout to a file; returns stderr. */
  async function withTtyStderr(args: string[]): Promise<{ status: number | null; tty: string }> {
    const script = [
      'import os, pty, subprocess, sys',
      'master, slave = os.openpty()',
      "p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=open(os.devnull, 'wb'), stderr=slave)",
      'os.close(slave)',
      'out = b""',
      'while True:',
      '    try:',
      '        chunk = os.read(master, 65536)',
      '    except OSError:',
      '        break',
      '    if not chunk:',
      '        break',
      '    out += chunk',
      'sys.stdout.buffer.write(out)',
      'sys.exit(p.wait())',
    ].join('\n');
    const r = await runCommand('python3', ['-c', script, process.execPath, BIN, ...args], { env, cwd: dir });
    return { status: r.status, tty: r.out };
  }

  it('draws a bar on stderr only when stderr is a terminal (and not with --no-progress)', async () => {
    writeFileSync(file('progress.bin'), Buffer.alloc(4 * 1024 * 1024, 3));
    const tty = await withTtyStderr([
      'encrypt',
      ...K,
      '--in',
      file('progress.bin'),
      '--out',
      file('progress.enc'),
    ]);
    expect(tty.status).toBe(0);
    expect(tty.tty).toContain('meshcrypt [');
    expect(tty.tty).toContain('100% | 4194304/4194304 bytes');
    const quiet = await withTtyStderr([
      'encrypt',
      ...K,
      '--no-progress',
      '--in',
      file('progress.bin'),
      '--out',
      file('progress2.enc'),
    ]);
    expect(quiet).toEqual({ status: 0, tty: '' });
    // Not a terminal: nothing at all on stderr.
    expectSuccess(await run(['decrypt', ...K, '--in', file('progress.enc'), '--out', file('progress.dec')]));
    expect(readFileSync(file('progress.dec')).equals(readFileSync(file('progress.bin')))).toBe(true);
  });

  it('SIGINT while writing removes the temporary output and exits 130 with one line', async () => {
    const target = file('interrupted.enc');
    const child = spawn(process.execPath, [BIN, 'encrypt', ...K, '--out', target], {
      env: { ...process.env, ...env },
      cwd: dir,
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.on('error', () => undefined);
    child.stdin.write(Buffer.alloc(1024 * 1024, 5)); // stdin stays open: the command is mid-stream
    const deadline = Date.now() + 60_000;
    while (leftovers().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(leftovers().length).toBe(1);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toBe('meshcrypt: ERR_INTERRUPTED: interrupted by SIGINT\n');
    expect(existsSync(target)).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});
