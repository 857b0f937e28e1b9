/**
 * Input and output of every command: `--in FILE` or stdin, `--out FILE` or stdout.
 *
 * An output file is first written under a temporary name in the same directory (mode 0600, fsynced) and
 * renamed over the destination only when the command succeeded, so a failed or interrupted decryption leaves
 * nothing behind, not even a truncated file. In-memory commands read at most {@link MAX_IN_MEMORY_INPUT}
 * bytes: envelopes, tokens and RSA messages are single objects held in memory by the library; large data goes
 * through the streaming format instead.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { CliError, EXIT, fileError } from './errors.js';

/** The largest input an in-memory command (envelope, Fernet, RSA, inspect) reads: 16 MiB. */
export const MAX_IN_MEMORY_INPUT = 16 * 1024 * 1024;

/** An opened input: a byte stream, and its size when it is a regular file. */
export interface Input {
  readonly stream: AsyncIterable<Uint8Array> & NodeJS.ReadableStream;
  readonly size: number | undefined;
  readonly name: string;
}

/**
 * Opens `--in FILE` (checked now, so a missing or unreadable file fails before anything else happens) or
 * stdin.
 */
export async function openInput(path: string | undefined): Promise<Input> {
  if (path === undefined) return { stream: process.stdin, size: undefined, name: 'stdin' };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(path, error, 'input file');
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw fileError(path, Object.assign(new Error('is a directory'), { code: 'EISDIR' }), 'input file');
  }
  const stream = handle.createReadStream({ highWaterMark: 256 * 1024 });
  openInputs.add(stream);
  stream.once('close', () => openInputs.delete(stream));
  return { stream, size: stat.isFile() ? stat.size : undefined, name: path };
}

/** Input files opened by {@link openInput} whose streams have not closed yet. */
const openInputs = new Set<{ destroy(): void }>();

/**
 * Closes every input file still open. A command that fails before it has read its input to the end (a wrong
 * KEK, a damaged header) would otherwise leave the file handle to the garbage collector, and Node then
 * prints a warning on stderr: a second line after the one error line the CLI promises.
 */
export function closeOpenInputs(): void {
  for (const stream of openInputs) stream.destroy();
  openInputs.clear();
}

/** Reads a whole input of at most `max` bytes (else `ERR_INPUT_TOO_LARGE`) into one owned array. */
export async function readAll(
  chunks: AsyncIterable<Uint8Array>,
  max = MAX_IN_MEMORY_INPUT,
  what = 'input',
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    length += chunk.length;
    if (length > max) {
      throw new CliError(
        'ERR_INPUT_TOO_LARGE',
        `${what} is larger than ${max} bytes (in-memory limit; large data belongs in the streaming format)`,
        EXIT.DATA,
      );
    }
    parts.push(chunk);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The first bytes of a stream, and a stream of everything (those bytes included), for commands that pick
 * a format from the header before reading on.
 */
export async function peek(
  input: AsyncIterable<Uint8Array>,
  want: number,
): Promise<{ head: Uint8Array; all: AsyncIterable<Uint8Array> }> {
  const iterator = input[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let length = 0;
  let done = false;
  while (length < want) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    seen.push(next.value);
    length += next.value.length;
  }
  const head = new Uint8Array(Math.min(length, want));
  let offset = 0;
  for (const part of seen) {
    if (offset >= head.length) break;
    const take = part.subarray(0, head.length - offset);
    head.set(take, offset);
    offset += take.length;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, all: all() };
}

/** Temporary files not yet committed, removed if the process is interrupted or fails. */
const pending = new Set<string>();

/** Removes every uncommitted temporary file, synchronously (used on signals and fatal errors). */
export function removePendingOutputs(): void {
  for (const path of pending) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  pending.clear();
}

/** Where a command writes: a temporary file renamed on commit, or stdout. */
export interface Output {
  /** The sink to write or pipe into. Piping ends it; {@link commit} must be called afterwards. */
  readonly writable: Writable;
  /** Makes the output final (rename for a file). Call once, after the writable finished. */
  commit(): Promise<void>;
  /** Drops the output (removes the temporary file). Safe to call more than once. */
  abort(): Promise<void>;
}

/** Options of {@link openOutput}. */
export interface OutputOptions {
  /** File mode of a new output file; default 0600 (outputs are keys, plaintext or ciphertext). */
  readonly mode?: number;
  /** Refuse to replace an existing file (`ERR_FILE_EXISTS`); default false (replace it atomically). */
  readonly noOverwrite?: boolean;
  /** Word for messages, e.g. `output file`. */
  readonly purpose?: string;
}

/** Opens `--out FILE` as a temporary file next to it, or stdout when `path` is undefined. */
export async function openOutput(path: string | undefined, options: OutputOptions = {}): Promise<Output> {
  if (path === undefined) return stdoutOutput();
  const purpose = options.purpose ?? 'output file';
  const temp = join(dirname(path), `.${basename(path)}.meshcrypt-${randomBytes(6).toString('hex')}.tmp`);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(temp, 'wx', options.mode ?? 0o600);
  } catch (error) {
    throw fileError(path, error, purpose);
  }
  pending.add(temp);
  // flush: fsync before the stream closes the file, so the rename below never publishes unwritten data.
  const writable = handle.createWriteStream({ flush: true, highWaterMark: 256 * 1024 });
  const closed = new Promise<void>((resolve) => {
    if (writable.closed) resolve();
    else writable.once('close', () => resolve());
  });
  let settled = false;
  return {
    writable,
    async commit() {
      if (settled) return;
      settled = true;
      try {
        await closed;
        if (writable.errored) throw writable.errored;
        if (options.noOverwrite) {
          // link(2) fails if the name exists: no window in which another file could be replaced.
          await link(temp, path);
          await unlink(temp);
        } else {
          await rename(temp, path);
        }
        pending.delete(temp);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        pending.delete(temp);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CliError(
            'ERR_FILE_EXISTS',
            `${purpose} ${path} exists; it is never overwritten`,
            EXIT.USAGE,
          );
        }
        throw new CliError('ERR_OUTPUT', `cannot write ${purpose} ${path}`, EXIT.DATA, { cause: error });
      }
    },
    async abort() {
      if (settled) return;
      settled = true;
      writable.destroy();
      await closed;
      await unlink(temp).catch(() => undefined);
      pending.delete(temp);
    },
  };
}

/**
 * stdout as a Writable that never ends or closes fd 1, with backpressure: a write completes only when
 * stdout took the bytes (pipes and files are synchronous on Linux).
 */
function stdoutOutput(): Output {
  const writable = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Uint8Array, _encoding, callback) {
      process.stdout.write(chunk, (error) => callback(error ?? null));
    },
    final(callback) {
      callback();
    },
  });
  return {
    writable,
    async commit() {},
    async abort() {},
  };
}

/** Writes one in-memory result to `--out FILE` (atomically) or stdout. */
export async function writeOutput(
  path: string | undefined,
  data: Uint8Array | string,
  options: OutputOptions = {},
): Promise<void> {
  const output = await openOutput(path, options);
  try {
    await new Promise<void>((resolve, reject) => {
      output.writable.once('error', reject);
      output.writable.end(data, () => resolve());
    });
    await output.commit();
  } catch (error) {
    await output.abort();
    throw error;
  }
}

/** Checks a file named as an input can be opened for reading, mapping errno to CLI codes. */
export async function readFileArgument(
  path: string,
  purpose: string,
  max = 1024 * 1024,
): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(path, error, purpose);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      throw fileError(path, Object.assign(new Error('is a directory'), { code: 'EISDIR' }), purpose);
    }
    return await readAll(handle.createReadStream({ autoClose: false }), max, `${purpose} ${path}`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw fileError(path, error, purpose);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Reads a secret line from stdin (a passphrase or password): all of stdin, one trailing newline removed. */
export async function readSecretFromStdin(what: string): Promise<string> {
  const bytes = await readAll(process.stdin, 64 * 1024, what);
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  bytes.fill(0);
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);
  if (text.length === 0) throw new CliError('ERR_USAGE', `${what} on stdin is empty`, EXIT.USAGE);
  return text;
}
