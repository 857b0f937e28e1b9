/**
 * `meshcrypt encrypt|decrypt|rewrap|inspect`: data under the keyring, in the mesh formats.
 *
 * - `encrypt` writes the streaming format (0x03) by default: any size, constant memory, for files and pipes
 *   alike (the size of a pipe is not known in advance). `--envelope` writes one in-memory envelope (0x01,
 *   what a service's `enc.decrypt` reads, compressed by the default policy); `--text` writes that envelope
 *   as base64url text.
 * - `decrypt` and `rewrap` recognise what they are given from its first bytes: a stream, an envelope (bytes
 *   or text) or a Fernet token (bytes or text).
 * - `inspect` needs no key and reads anything the library writes.
 *
 * @module
 */
import { pipeline } from 'node:stream/promises';
import { type CiphertextInfo, createEncryption, type Encryption, inspect } from '@mesh/encryption';
import { CliError, EXIT, usage } from '../errors.js';
import { type Input, MAX_IN_MEMORY_INPUT, openInput, openOutput, peek, readAll, writeOutput } from '../io.js';
import { type KekOptions, kekFrom, openKeyring } from '../keyring-source.js';
import { printFields, printJson } from '../print.js';
import { createProgress } from '../progress.js';

/** Options of the data commands. */
export interface DataOptions extends KekOptions {
  keyring: string;
  context?: string;
  text?: boolean;
  envelope?: boolean;
  ttl?: number;
  in?: string;
  out?: string;
  progress?: boolean;
}

const VERSION = 0x01;
const STREAM = 0x03;
const FERNET = 0x80;

/** True when the first bytes are a binary streaming envelope (version 0x01, algorithm 0x03). */
function isStream(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === VERSION && head[1] === STREAM;
}

/** Binary input starts with an envelope version or the Fernet version byte; anything else is read as text. */
function isBinary(head: Uint8Array): boolean {
  return head.length > 0 && (head[0] === VERSION || head[0] === FERNET);
}

/** RSA envelopes (0x02 hybrid, 0x04 direct) belong to `rsa decrypt`, which has the private key. */
function refuseRsa(bytes: Uint8Array): void {
  if (bytes[0] === VERSION && (bytes[1] === 0x02 || bytes[1] === 0x04)) {
    throw new CliError(
      'ERR_UNSUPPORTED_ALGORITHM',
      'an RSA envelope: decrypt it with meshcrypt rsa decrypt --key PRIVATE.pem',
      EXIT.DATA,
    );
  }
}

/** The in-memory ciphertext: bytes as they are, text without surrounding whitespace (a trailing newline). */
function ciphertextOf(bytes: Uint8Array, requireText: boolean): Uint8Array | string {
  if (!requireText && isBinary(bytes)) return bytes;
  const text = new TextDecoder('latin1').decode(bytes).trim();
  if (requireText && !/^[A-Za-z0-9_=-]*$/.test(text)) {
    throw new CliError('ERR_TOKEN_MALFORMED', 'input is not base64url text (--text)', EXIT.DATA);
  }
  return text;
}

async function withEncryption<T>(options: DataOptions, run: (enc: Encryption) => Promise<T>): Promise<T> {
  const keyring = await openKeyring(options.keyring, await kekFrom(options));
  const enc = await createEncryption({ keyManager: keyring.keys });
  try {
    return await run(enc);
  } finally {
    await enc.close();
    await keyring.close();
  }
}

function checkStdin(options: DataOptions): void {
  if (options.passphraseStdin && options.in === undefined) {
    throw usage('--passphrase-stdin reads stdin: give the data with --in FILE');
  }
}

/** Streams `source` through `transforms` into `--out`/stdout, with a progress bar for files on a TTY. */
async function streamThrough(
  input: Input,
  source: AsyncIterable<Uint8Array>,
  transforms: NodeJS.ReadWriteStream[],
  options: DataOptions,
): Promise<void> {
  const output = await openOutput(options.out);
  const progress = createProgress(input.size, options.progress !== false);
  try {
    const stages: NodeJS.ReadWriteStream[] = progress ? [progress.counter, ...transforms] : transforms;
    await pipeline(source, ...(stages as [NodeJS.ReadWriteStream]), output.writable);
    progress?.stop();
    await output.commit();
  } catch (error) {
    progress?.stop();
    await output.abort();
    throw error;
  }
}

/** `encrypt`: stream (default), `--envelope` bytes or `--text` base64url envelope. */
export async function encryptCommand(options: DataOptions): Promise<void> {
  checkStdin(options);
  const input = await openInput(options.in);
  await withEncryption(options, async (enc) => {
    const context = options.context === undefined ? {} : { context: options.context };
    if (options.text || options.envelope) {
      const plaintext = await readAll(input.stream);
      try {
        if (options.text)
          return await writeOutput(options.out, `${await enc.encryptToString(plaintext, context)}\n`);
        return await writeOutput(options.out, await enc.encrypt(plaintext, context));
      } finally {
        plaintext.fill(0);
      }
    }
    await streamThrough(input, input.stream, [enc.encryptStream(context)], options);
  });
}

/** `decrypt`: a stream, an envelope or a Fernet token, recognised by its first bytes. */
export async function decryptCommand(options: DataOptions): Promise<void> {
  checkStdin(options);
  const input = await openInput(options.in);
  await withEncryption(options, async (enc) => {
    const context = options.context === undefined ? {} : { context: options.context };
    const { head, all } = await peek(input.stream, 2);
    if (isStream(head) && !options.text) {
      return streamThrough(input, all, [enc.decryptStream(context)], options);
    }
    const ciphertext = ciphertextOf(await readAll(all), options.text === true);
    if (typeof ciphertext !== 'string') refuseRsa(ciphertext);
    const plaintext = await enc.decrypt(ciphertext, {
      ...context,
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
    });
    try {
      await writeOutput(options.out, plaintext);
    } finally {
      plaintext.fill(0);
    }
  });
}

/** `rewrap`: re-encrypts under the current primary without writing plaintext anywhere. */
export async function rewrapCommand(options: DataOptions): Promise<void> {
  checkStdin(options);
  const input = await openInput(options.in);
  await withEncryption(options, async (enc) => {
    const context = options.context === undefined ? {} : { context: options.context };
    const { head, all } = await peek(input.stream, 2);
    if (isStream(head)) {
      // Each segment is authenticated before its plaintext reaches the new stream; a failure anywhere
      // leaves no output file (the temporary file is removed).
      return streamThrough(input, all, [enc.decryptStream(context), enc.encryptStream(context)], options);
    }
    const ciphertext = ciphertextOf(await readAll(all), false);
    if (typeof ciphertext !== 'string') refuseRsa(ciphertext);
    const out = await enc.rewrap(ciphertext, context);
    await writeOutput(options.out, typeof out === 'string' ? `${out}\n` : out);
  });
}

/** `inspect`: format, algorithm, key id, compressed and padded flags and Fernet timestamp, without a key. */
export async function inspectCommand(options: { in?: string; json?: boolean }): Promise<void> {
  const input = await openInput(options.in);
  const { head, all } = await peek(input.stream, 2);
  let bytes: Uint8Array;
  if (isStream(head)) {
    // A stream is described by its header: read only the first bytes, whatever the stream's size.
    const first = await peek(all, 64);
    bytes = first.head;
    input.stream.pause();
    (input.stream as unknown as { destroy?: () => void }).destroy?.();
  } else {
    bytes = await readAll(all, MAX_IN_MEMORY_INPUT);
  }
  const ciphertext = ciphertextOf(bytes, false);
  const info: CiphertextInfo = inspect(ciphertext);
  const encoding = typeof ciphertext === 'string' ? 'text' : 'bytes';
  if (options.json) return printJson({ ...info, encoding });
  printFields([
    ['format', info.format],
    ['algorithm', info.algorithm],
    ['encoding', encoding],
    ...(info.keyId === undefined ? [] : [['key id', String(info.keyId)] as const]),
    ['compressed', info.compressed ? 'yes' : 'no'],
    ['padded', info.padded ? 'yes' : 'no'],
    ...(info.timestamp === undefined
      ? []
      : [['timestamp', `${info.timestamp} (${new Date(info.timestamp * 1000).toISOString()})`] as const]),
  ]);
}
