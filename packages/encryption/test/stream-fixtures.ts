/**
 * Shared helpers of the stream*.test.ts suites: a keyring, a recording metrics collector, deterministic
 * payloads, and one function per direction and flavour that runs bytes through a stream with a given chunking.
 */
import { createCipheriv } from 'node:crypto';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MeshCryptoError, randomBytes } from '@mesh/crypto-core';
import { type ActiveKey, KeyManager, MemoryKeyStore } from '@mesh/keys';
import type { MetricsCollector } from '@mesh/metrics';
import { expect } from 'vitest';
import { nodeTransformFor } from '../src/stream/node.js';
import {
  DecryptSession,
  EncryptSession,
  type StreamDeps,
  type StreamOptions,
  type StreamTestHooks,
} from '../src/stream/session.js';
import { webTransformFor } from '../src/stream/web.js';

/** One call the recording collector saw. */
export type MetricCall = { method: keyof MetricsCollector; args: unknown[] };

/** A MetricsCollector that remembers every call (and can be told to throw, to prove metrics never fail work). */
export class RecordingMetrics implements MetricsCollector {
  readonly calls: MetricCall[] = [];
  throwOnRecord = false;
  #note(method: keyof MetricsCollector, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.throwOnRecord) throw new Error('metrics backend down');
  }
  recordOperation(...args: Parameters<MetricsCollector['recordOperation']>): void {
    this.#note('recordOperation', args);
  }
  recordFailure(...args: Parameters<MetricsCollector['recordFailure']>): void {
    this.#note('recordFailure', args);
  }
  recordCompression(...args: Parameters<MetricsCollector['recordCompression']>): void {
    this.#note('recordCompression', args);
  }
  recordRotation(...args: Parameters<MetricsCollector['recordRotation']>): void {
    this.#note('recordRotation', args);
  }
  recordKeyUse(...args: Parameters<MetricsCollector['recordKeyUse']>): void {
    this.#note('recordKeyUse', args);
  }
  setKeyAge(...args: Parameters<MetricsCollector['setKeyAge']>): void {
    this.#note('setKeyAge', args);
  }
  removeKey(...args: Parameters<MetricsCollector['removeKey']>): void {
    this.#note('removeKey', args);
  }
  of(method: keyof MetricsCollector): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
}

/** A keyring plus the recording collector, wired as stream deps. */
export interface TestKeyring {
  deps: StreamDeps;
  metrics: RecordingMetrics;
  keys: KeyManager;
  /** Id of the aes-256-gcm primary when the keyring was made. */
  primaryId: number;
  /** Uses reserved so far on key `id` (the keyring's own count). */
  encryptions: (id?: number) => number;
}

/** A real KeyManager on a MemoryKeyStore (raw KEK: no PBKDF2 cost per test). */
export async function makeKeyring(): Promise<TestKeyring> {
  const keys = await KeyManager.open({
    store: new MemoryKeyStore(),
    kek: { key: randomBytes(32) },
    algorithms: ['aes-256-gcm'],
    watch: false,
  });
  const info = (id?: number) =>
    keys
      .keys()
      .find((k) => (id === undefined ? k.state === 'primary' && k.algorithm === 'aes-256-gcm' : k.id === id));
  const primary = info();
  if (primary === undefined) throw new Error('keyring without an aes-256-gcm primary');
  const metrics = new RecordingMetrics();
  return {
    deps: { keys, metrics },
    metrics,
    keys,
    primaryId: primary.id,
    encryptions: (id = primary.id) => info(id)?.encryptions ?? Number.NaN,
  };
}

/**
 * A KeyManager-shaped keyring holding one pinned key, implementing only the two methods streams call: for
 * known-answer vectors and for "same id, other material", which a real keyring cannot be made to hold.
 */
export function pinnedKeyring(material: Uint8Array, id: number): TestKeyring {
  const key: ActiveKey = { id, algorithm: 'aes-256-gcm', material };
  let acquired = 0;
  const keys = {
    async acquireEncryptionKey(algorithm?: string): Promise<ActiveKey> {
      expect(algorithm).toBe('aes-256-gcm');
      acquired++;
      return key;
    },
    async getDecryptionKey(keyId: number, algorithm?: string): Promise<ActiveKey> {
      expect(algorithm).toBe('aes-256-gcm');
      if (keyId !== key.id) throw new MeshCryptoError('ERR_KEY_NOT_FOUND', 'unknown key id');
      return key;
    },
  } as unknown as KeyManager;
  const metrics = new RecordingMetrics();
  return { deps: { keys, metrics }, metrics, keys, primaryId: id, encryptions: () => acquired };
}

/** Deterministic pseudo-random bytes (AES-128-CTR keystream of a seed): big payloads without fast-check cost. */
export function payload(length: number, seed = 0): Uint8Array {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  const ctr = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return new Uint8Array(ctr.update(Buffer.alloc(length)));
}

/** Splits `data` by cycling through `sizes` (0 allowed: an empty chunk). */
export function chunk(data: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (sizes.length === 0 || sizes.every((s) => s === 0)) return [data];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(data.subarray(off, off + size));
    off += size;
  }
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Runs chunks through a Node Transform, returning what it emitted (throws the stream's error). */
export async function runNode(transform: Transform, chunks: readonly Uint8Array[]): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  await pipeline(
    Readable.from(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))),
    transform,
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c); // kept by reference: an output buffer reused by the stream would corrupt the result
        cb();
      },
    }),
  );
  return concat(out);
}

/** Runs chunks through a WHATWG TransformStream, returning what it emitted (throws the stream's error). */
export async function runWeb(
  transform: TransformStream<Uint8Array, Uint8Array>,
  chunks: readonly Uint8Array[],
): Promise<Uint8Array> {
  let i = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
  const out: Uint8Array[] = [];
  for await (const c of source.pipeThrough(transform)) {
    expect(c).toBeInstanceOf(Uint8Array);
    out.push(c);
  }
  return concat(out);
}

export type Flavour = 'node' | 'web';

/** Encrypts `chunks` with the chosen adapter; `hooks` pins salt and nonce prefix. */
export function encryptWith(
  flavour: Flavour,
  deps: StreamDeps,
  chunks: readonly Uint8Array[],
  options?: StreamOptions,
  hooks?: StreamTestHooks,
): Promise<Uint8Array> {
  const session = new EncryptSession(deps, options, hooks);
  return flavour === 'node'
    ? runNode(nodeTransformFor(session, options?.segmentSize), chunks)
    : runWeb(webTransformFor(session, options?.segmentSize), chunks);
}

/** Decrypts `chunks` with the chosen adapter. */
export function decryptWith(
  flavour: Flavour,
  deps: StreamDeps,
  chunks: readonly Uint8Array[],
  options?: StreamOptions,
): Promise<Uint8Array> {
  const session = new DecryptSession(deps, options);
  return flavour === 'node'
    ? runNode(nodeTransformFor(session), chunks)
    : runWeb(webTransformFor(session), chunks);
}

/** Asserts that `promise` rejects with a Mesh error of exactly `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a rejection with ${code}`).toBeDefined();
  expect((error as { code?: unknown }).code).toBe(code);
}

/** Sealed length of a plaintext of `length` bytes (docs/FORMAT.md, Streaming (0x03)). */
export function sealedLength(length: number, segmentSize: number): number {
  return 34 + length + 16 * Math.max(1, Math.ceil(length / segmentSize));
}

/** Decrypts and returns both what was released before any failure and the failure itself. */
export async function attemptDecrypt(
  flavour: Flavour,
  deps: StreamDeps,
  chunks: readonly Uint8Array[],
  options?: StreamOptions,
): Promise<{ released: Uint8Array; error: unknown }> {
  const released: Uint8Array[] = [];
  const session = new DecryptSession(deps, options);
  try {
    if (flavour === 'node') {
      await pipeline(
        Readable.from(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))),
        nodeTransformFor(session),
        new Writable({
          write(c: Buffer, _e, cb) {
            released.push(c);
            cb();
          },
        }),
      );
    } else {
      let i = 0;
      const source = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (i < chunks.length) controller.enqueue(chunks[i++]!);
          else controller.close();
        },
      });
      for await (const c of source.pipeThrough(webTransformFor(session))) released.push(c);
    }
    return { released: concat(released), error: undefined };
  } catch (error) {
    return { released: concat(released), error };
  }
}
