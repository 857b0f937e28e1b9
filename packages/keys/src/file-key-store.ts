/**
 * {@link KeyStore} in one local JSON file: the embedded default (docs/DESIGN.md §4, "one node").
 *
 * - Atomic replace: write `<file>.tmp-<token>` (mode 0600), fsync, keep the current copy as `<file>.bak`
 *   (hard link + rename, so the main file never goes missing), rename the temp over `<file>`, fsync the
 *   directory (rename is atomic by POSIX `rename(2)`; the directory fsync makes it durable).
 * - Integrity: the file wraps the keyring with a SHA-256 checksum of its canonical JSON. A main copy that is
 *   unparsable, truncated or fails the checksum is reported (`onCorrupt`) and the `.bak` copy is served;
 *   the next successful write replaces the damaged copy. Only if both fail: `ERR_KEYSTORE_CORRUPT`.
 * - Concurrency: compare-and-swap runs under an inter-process lock (`<file>.lock`, see `_file-lock.ts`),
 *   re-reading the version inside the lock, so two processes never lose each other's update.
 * - Watch: `fs.watch` on the directory (inotify/FSEvents), falling back to `fs.watchFile` polling.
 *
 * One file holds one keyring; use one file per keyring name.
 *
 * @module
 */
import { type FSWatcher, watch as fsWatch, unwatchFile, watchFile } from 'node:fs';
import { link, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { base64UrlEncode, randomBytes, sha256, utf8Encode } from '@mesh/crypto-core';
import { fsyncDir, writeDurably } from './_atomic-file.js';
import { BoundedReadError, readRegularFile } from './_bounded-read.js';
import { acquireFileLock } from './_file-lock.js';
import { KeyStoreError } from './errors.js';
import { canonicalJson, documentToStore, MAX_KEYRING_DOCUMENT_BYTES, parseStoredKeyring } from './keyring.js';
import { refuseCondition } from './store-conditions.js';
import type { CompareAndSwapOptions, KeyStore, StoredKeyring } from './types.js';

/** Format tag of the file wrapper around a keyring document. */
export const KEYSTORE_FILE_FORMAT = 'mesh-keystore-file/v1';
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** Payload of {@link FileKeyStoreOptions.onBackupServed}: the main copy was missing or damaged. */
export interface BackupServedEvent {
  /** The keyring file that could not be used. */
  readonly path: string;
  /** The `.bak` copy served instead. */
  readonly backupPath: string;
  /** Version of the keyring in the backup (older than the lost main copy if that held a newer one). */
  readonly version: number;
  /** What was wrong with the main copy (`ERR_KEYSTORE_CORRUPT`). */
  readonly reason: KeyStoreError;
}

/** Options of {@link FileKeyStore}. */
export interface FileKeyStoreOptions {
  /** The keyring file, e.g. `.mesh/keyring.json`; its directory is created (mode 0700) on first write. */
  path: string;
  /** How long a write waits for the inter-process lock. Default 10 s. */
  lockTimeoutMs?: number;
  /** Age after which a lock whose holder cannot be checked (another host) is broken. Default 30 s. */
  lockStaleMs?: number;
  /** Poll interval when `fs.watch` is unavailable. Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * Largest keyring file, default `MAX_KEYRING_DOCUMENT_BYTES` (16 MiB). Reading stops there (`stat` sizes
   * are not trusted; a larger file is `ERR_KEYSTORE_CORRUPT`), and a write whose file would be larger is
   * refused with `ERR_KEY_STATE` before anything is written, so the store never holds a file it would refuse.
   */
  maxFileBytes?: number;
  /**
   * Called each time the main copy is missing or damaged and the `.bak` copy is served instead. Without this
   * option (and without `onCorrupt`) the store emits a process warning with code `MESH_KEYSTORE_BACKUP_SERVED`:
   * a fallback is never silent.
   */
  onBackupServed?: (event: BackupServedEvent) => void;
  /** Older form of `onBackupServed`: called with the reason only. */
  onCorrupt?: (error: KeyStoreError) => void;
}

type Copy =
  | { kind: 'missing' }
  | { kind: 'ok'; doc: StoredKeyring }
  | { kind: 'corrupt'; error: KeyStoreError };

/**
 * A {@link KeyStore} in one JSON file, safe against crashes and concurrent processes.
 *
 * @example
 * ```ts
 * import { FileKeyStore, KeyManager } from '@mesh/keys';
 * const store = new FileKeyStore({ path: '.mesh/keyring.json' });
 * const keys = await KeyManager.open({ store, kek: { env: 'MESH_KEK' } });
 * ```
 */
export class FileKeyStore implements KeyStore {
  /** Absolute path of the keyring file. */
  readonly path: string;
  /** Absolute path of the last good copy. */
  readonly backupPath: string;
  readonly #dir: string;
  readonly #base: string;
  readonly #lockPath: string;
  readonly #options: Required<Omit<FileKeyStoreOptions, 'onCorrupt' | 'onBackupServed' | 'path'>>;
  readonly #onCorrupt: ((error: KeyStoreError) => void) | undefined;
  readonly #onBackupServed: ((event: BackupServedEvent) => void) | undefined;
  readonly #unwatchers = new Set<() => void>();
  #closed = false;
  #backupServed = 0;

  constructor(options: FileKeyStoreOptions) {
    if (typeof options?.path !== 'string' || options.path === '') {
      throw new KeyStoreError('ERR_CONFIG_INVALID', 'FileKeyStore needs a path');
    }
    this.path = resolve(options.path);
    this.backupPath = `${this.path}.bak`;
    this.#dir = dirname(this.path);
    this.#base = basename(this.path);
    this.#lockPath = `${this.path}.lock`;
    this.#options = {
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      lockStaleMs: options.lockStaleMs ?? 30_000,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      maxFileBytes: options.maxFileBytes ?? MAX_KEYRING_DOCUMENT_BYTES,
    };
    if (!Number.isSafeInteger(this.#options.maxFileBytes) || this.#options.maxFileBytes < 1) {
      throw new KeyStoreError('ERR_CONFIG_INVALID', 'maxFileBytes must be a positive integer');
    }
    this.#onCorrupt = options.onCorrupt;
    this.#onBackupServed = options.onBackupServed;
  }

  /** How many times this store served the `.bak` copy because the main copy was missing or damaged. */
  get backupServedCount(): number {
    return this.#backupServed;
  }

  /** Where keyring `name` lives, for operator messages: the file path. */
  location(_name: string): string {
    return this.path;
  }

  async load(name: string): Promise<StoredKeyring | undefined> {
    this.#checkOpen();
    const doc = await this.#readCurrent();
    if (doc && doc.name !== name) {
      throw new KeyStoreError(
        'ERR_CONFIG_INVALID',
        `${this.path} holds keyring '${doc.name}', not '${name}'`,
      );
    }
    return doc;
  }

  async compareAndSwap(
    name: string,
    expectedVersion: number | undefined,
    next: StoredKeyring,
    options?: CompareAndSwapOptions,
  ): Promise<boolean> {
    this.#checkOpen();
    refuseCondition('FileKeyStore', options);
    const doc = documentToStore(name, next);
    const text = serialize(doc);
    // Before the lock, the temp file or the backup: a file this store would refuse to read is never written.
    const size = utf8Length(text);
    if (size > this.#options.maxFileBytes) {
      throw new KeyStoreError(
        'ERR_KEY_STATE',
        `keyring '${name}' would be a ${size}-byte file, over maxFileBytes (${this.#options.maxFileBytes}) of ${this.path}`,
      );
    }
    await this.#ensureDir();
    const lock = await acquireFileLock(this.#lockPath, {
      timeoutMs: this.#options.lockTimeoutMs,
      staleMs: this.#options.lockStaleMs,
    });
    try {
      await this.#removeLeftovers();
      const main = await readCopy(this.path, this.#options.maxFileBytes);
      const current = main.kind === 'ok' ? main.doc : await this.#fallback(main);
      if (current && current.name !== name) {
        throw new KeyStoreError('ERR_CONFIG_INVALID', `${this.path} holds keyring '${current.name}'`);
      }
      if (current?.version !== expectedVersion) return false;

      const token = base64UrlEncode(randomBytes(9));
      const tmp = join(this.#dir, `${this.#base}.tmp-${token}`);
      try {
        await writeDurably(tmp, text, 0o600);
      } catch (e) {
        throw unavailable(`cannot write ${tmp}`, e);
      }
      try {
        if (main.kind === 'ok') {
          // Keep the last good copy: a second name for the current inode, then an atomic rename.
          const bakTmp = join(this.#dir, `${this.#base}.bak.tmp-${token}`);
          await link(this.path, bakTmp);
          await rename(bakTmp, this.backupPath);
        }
        if (!(await lock.stillHeld())) {
          throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `lost lock ${this.#lockPath} before commit`);
        }
        await rename(tmp, this.path);
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw e instanceof KeyStoreError ? e : unavailable(`cannot write ${this.path}`, e);
      }
      await fsyncDir(this.#dir);
      return true;
    } finally {
      await lock.release();
    }
  }

  /**
   * Calls `onChange` when the keyring file is replaced. Uses `fs.watch` on the directory; where that is
   * unsupported, polls with `fs.watchFile` every `pollIntervalMs`. Watchers do not keep the process alive.
   */
  watch(_name: string, onChange: () => void): () => void {
    this.#checkOpen();
    let stop: () => void;
    let watcher: FSWatcher | undefined;
    try {
      watcher = fsWatch(this.#dir, { persistent: false }, (_event, file) => {
        if (file === null || file === this.#base) onChange();
      });
      watcher.on('error', () => {});
      stop = () => watcher?.close();
    } catch {
      const listener = () => onChange();
      watchFile(this.path, { persistent: false, interval: this.#options.pollIntervalMs }, listener);
      stop = () => unwatchFile(this.path, listener);
    }
    const unsubscribe = () => {
      if (this.#unwatchers.delete(unsubscribe)) stop();
    };
    this.#unwatchers.add(unsubscribe);
    return unsubscribe;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const u of [...this.#unwatchers]) u();
  }

  #checkOpen(): void {
    if (this.#closed) throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'key store is closed');
  }

  async #readCurrent(): Promise<StoredKeyring | undefined> {
    const main = await readCopy(this.path, this.#options.maxFileBytes);
    return main.kind === 'ok' ? main.doc : this.#fallback(main);
  }

  /** The main copy is missing or damaged: serve the last good copy if there is one. */
  async #fallback(main: Copy): Promise<StoredKeyring | undefined> {
    const bak = await readCopy(this.backupPath, this.#options.maxFileBytes);
    if (bak.kind === 'ok') {
      const reason =
        main.kind === 'corrupt'
          ? main.error
          : new KeyStoreError('ERR_KEYSTORE_CORRUPT', `${this.path} is missing; using ${this.backupPath}`);
      this.#backupServed++;
      const event: BackupServedEvent = {
        path: this.path,
        backupPath: this.backupPath,
        version: bak.doc.version,
        reason,
      };
      // Never silent: a fallback may be a rollback (see README, "What a fresh process can detect").
      if (this.#onBackupServed) this.#onBackupServed(event);
      if (this.#onCorrupt) this.#onCorrupt(reason);
      if (!this.#onBackupServed && !this.#onCorrupt) {
        process.emitWarning(
          `${reason.message}; serving ${this.backupPath} (keyring version ${bak.doc.version})`,
          { type: 'MeshKeyStoreWarning', code: 'MESH_KEYSTORE_BACKUP_SERVED' },
        );
      }
      return bak.doc;
    }
    if (main.kind === 'corrupt') throw main.error;
    if (bak.kind === 'corrupt') throw bak.error;
    return undefined;
  }

  async #ensureDir(): Promise<void> {
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw unavailable(`cannot create ${this.#dir}`, e);
    }
  }

  /** Temp files of writers that crashed; only called under the lock, when no writer is active. */
  async #removeLeftovers(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return;
    }
    const prefixes = [`${this.#base}.tmp-`, `${this.#base}.bak.tmp-`];
    await Promise.all(
      names
        .filter((n) => prefixes.some((p) => n.startsWith(p)))
        .map((n) => unlink(join(this.#dir, n)).catch(() => {})),
    );
    // Owner records of lock waiters (and broken locks) that were killed: a live waiter gives up after
    // lockTimeoutMs, so anything much older is abandoned.
    const lockPrefix = `${this.#base}.lock.`;
    const cutoff = Date.now() - Math.max(10 * this.#options.lockTimeoutMs, 600_000);
    await Promise.all(
      names
        .filter((n) => n.startsWith(lockPrefix))
        .map(async (n) => {
          const p = join(this.#dir, n);
          try {
            if ((await stat(p)).mtimeMs < cutoff) await unlink(p);
          } catch {
            // Gone already.
          }
        }),
    );
  }

  /** Shows the paths only. */
  toJSON(): { path: string; backupPath: string } {
    return { path: this.path, backupPath: this.backupPath };
  }

  [inspectSymbol](): string {
    return `FileKeyStore { path: ${JSON.stringify(this.path)} }`;
  }
}

function unavailable(message: string, cause: unknown): KeyStoreError {
  return new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', message, { cause });
}

function checksum(doc: StoredKeyring): string {
  return base64UrlEncode(sha256(utf8Encode(canonicalJson(doc))));
}

/** UTF-8 length of `text`, counted without encoding it. */
function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function serialize(doc: StoredKeyring): string {
  return `${JSON.stringify({ format: KEYSTORE_FILE_FORMAT, sha256: checksum(doc), keyring: doc }, null, 2)}\n`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readCopy(path: string, maxBytes: number): Promise<Copy> {
  const corrupt = (what: string, cause?: unknown): Copy => ({
    kind: 'corrupt',
    error: new KeyStoreError('ERR_KEYSTORE_CORRUPT', `${path}: ${what}`, { cause }),
  });
  let text: string;
  try {
    text = utf8.decode(await readRegularFile(path, maxBytes));
  } catch (e) {
    if (e instanceof BoundedReadError)
      return corrupt(
        e.reason === 'too-large' ? `file larger than ${maxBytes} bytes` : 'not a regular file',
        e,
      );
    if (e instanceof TypeError) return corrupt('not UTF-8 text', e);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw unavailable(`cannot read ${path}`, e);
  }
  let wrapper: { format?: unknown; sha256?: unknown; keyring?: unknown };
  try {
    wrapper = JSON.parse(text) as typeof wrapper;
  } catch {
    // No cause: V8's SyntaxError quotes the text it failed on, and a file named here by mistake (the KEK
    // file, a secrets file) would then put part of a secret into the error chain and every log of it.
    return corrupt('not valid JSON');
  }
  if (typeof wrapper !== 'object' || wrapper === null || wrapper.format !== KEYSTORE_FILE_FORMAT) {
    return corrupt(`not a ${KEYSTORE_FILE_FORMAT} file`);
  }
  let doc: StoredKeyring;
  try {
    doc = parseStoredKeyring(wrapper.keyring);
  } catch (e) {
    return corrupt('invalid keyring', e);
  }
  if (wrapper.sha256 !== checksum(doc)) return corrupt('checksum mismatch');
  return { kind: 'ok', doc };
}
