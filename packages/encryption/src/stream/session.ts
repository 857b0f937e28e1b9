/**
 * One stream's life, shared by the Node and WHATWG adapters: option checks, the key (acquired or looked up
 * once per stream), header handling, byte counts, metrics and error mapping. The adapters only move chunks.
 *
 * `write`/`end` return `undefined` when they finished synchronously (every chunk after the first) and a
 * promise only while the key is being fetched, so the hot path pays no microtask per chunk.
 *
 * @module
 */
import { DecryptionError, isMeshError, MeshCryptoError, randomBytes, utf8Encode } from '@mesh/crypto-core';
import type { KeyManager } from '@mesh/keys';
import { failureReasonOf, type MetricsCollector } from '@mesh/metrics';
import type { PaddingPolicy } from '../padding.js';
import {
  DEFAULT_SEGMENT_SIZE,
  deriveStreamKey,
  encodeStreamHeader,
  isValidSegmentSize,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  parseStreamHeader,
  STREAM_FLAG_PADDED,
  STREAM_HEADER_LENGTH,
  STREAM_KEY_LENGTH,
  STREAM_NONCE_PREFIX_LENGTH,
  STREAM_SALT_LENGTH,
} from './format.js';
import { SegmentOpener } from './opener.js';
import { type Emit, SegmentSealer } from './sealer.js';

/** What a stream needs from the facade: the keyring, the metrics sink and the service's padding policy. */
export interface StreamDeps {
  keys: KeyManager;
  metrics: MetricsCollector;
  /**
   * Encryption only: pad the last segment to this policy's bucket, capped at the segment size (header flag
   * bit1). The facade passes the calling service's `padding`. Decryption follows the header.
   */
  padding?: PaddingPolicy;
}

/** Options of one encryption or decryption stream. */
export interface StreamOptions {
  /**
   * Caller context (service, tenant, route) bound into the stream key; decryption must pass the same.
   * Through the facade, the same rule as `encrypt`: when absent or `''`, the service's default context
   * applies, and a service with `requireContext` refuses a stream without one (`ERR_INVALID_INPUT`).
   * Default `''`.
   */
  context?: string;
  /** Through the facade: whose context rules apply (as for `encrypt`). Default: `config.service`. */
  service?: string;
  /**
   * Plaintext bytes per segment when encrypting: an integer in [16, 16 MiB], default 65536. Decryption reads
   * the size from the authenticated stream header and ignores this option.
   */
  segmentSize?: number;
}

/**
 * Test-only overrides of the per-stream randomness, so tests can show that the ciphertext does not depend on
 * how the input was chunked. Not reachable through the public API.
 *
 * @internal
 */
export interface StreamTestHooks {
  salt?: Uint8Array;
  noncePrefix?: Uint8Array;
}

/** The operations a stream session offers its adapter. */
export interface StreamSession {
  /** Consumes one input chunk; a promise only while the key is fetched. */
  write(chunk: Uint8Array, emit: Emit): Promise<void> | undefined;
  /** Ends the input, emitting what remains; a promise only while the key is fetched. */
  end(emit: Emit): Promise<void> | undefined;
  /** Maps a failure to the error the caller sees, records it once and wipes state. */
  fail(error: unknown): Error;
  /** Aborted from outside (destroy/cancel): wipes state, records a failure if one was given. */
  abort(error?: unknown): void;
}

/** Wraps an error thrown by the consumer of our output, so it is passed on unchanged. */
class DownstreamFailure extends Error {
  constructor(cause: unknown) {
    super('stream consumer failed', { cause });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

const ALGORITHM = 'stream-aes-256-gcm';
const KEY_ALGORITHM = 'aes-256-gcm';

type Operation = 'encrypt_stream' | 'decrypt_stream';

/** Bookkeeping common to both directions. */
abstract class BaseSession implements StreamSession {
  protected readonly deps: StreamDeps;
  protected readonly context: string;
  protected bytesIn = 0;
  protected bytesOut = 0;
  #started = 0;
  #settled = false;
  #rawEmit: Emit | undefined;
  #countedEmit: Emit | undefined;
  abstract readonly operation: Operation;

  constructor(deps: StreamDeps, options: StreamOptions | undefined) {
    if (deps === null || typeof deps !== 'object' || deps.keys === undefined || deps.metrics === undefined) {
      throw new MeshCryptoError('ERR_INVALID_INPUT', 'stream deps need keys and metrics');
    }
    const context = options?.context ?? '';
    if (typeof context !== 'string')
      throw new MeshCryptoError('ERR_INVALID_INPUT', 'context must be a string');
    // At once, not at the first chunk: a context that is not well-formed UTF-16 has no UTF-8 encoding
    // (the stream key's HKDF info), and would otherwise merge with others as U+FFFD.
    utf8Encode(context, 'context');
    this.deps = deps;
    this.context = context;
  }

  abstract write(chunk: Uint8Array, emit: Emit): Promise<void> | undefined;
  abstract end(emit: Emit): Promise<void> | undefined;
  protected abstract dispose(): void;
  /** Maps a low-level failure to the caller-facing error. */
  protected abstract mapError(error: unknown): Error;

  fail(error: unknown): Error {
    this.dispose();
    if (error instanceof DownstreamFailure) {
      // Not a verdict on the bytes: the consumer's own error goes on unchanged, counted as 'internal'.
      this.#record('failure', null);
      return asError(error.cause);
    }
    const mapped = this.mapError(error);
    this.#record('failure', mapped);
    return mapped;
  }

  abort(error?: unknown): void {
    this.dispose();
    // Failed from outside (source, sink or caller): counted, with the reason its code gives ('internal' else).
    if (error !== undefined && error !== null) this.#record('failure', error);
  }

  protected start(): void {
    if (this.#started === 0) this.#started = performance.now();
  }

  /** Wraps the adapter's emit to count output bytes; cached, adapters pass the same function each time. */
  protected emitCounted(emit: Emit): Emit {
    if (this.#rawEmit !== emit || this.#countedEmit === undefined) {
      this.#rawEmit = emit;
      this.#countedEmit = (bytes) => {
        this.bytesOut += bytes.length;
        try {
          emit(bytes);
        } catch (error) {
          // Thrown by the consumer (a Node push can run the next stream's write synchronously): not ours
          // to reinterpret as a decryption failure.
          throw new DownstreamFailure(error);
        }
      };
    }
    return this.#countedEmit;
  }

  protected succeed(): void {
    this.#record('success', undefined);
  }

  protected keyUsed(keyId: number): void {
    this.#safely(() => this.deps.metrics.recordKeyUse(keyId));
  }

  /** `error` gives the failure reason (`null`: 'internal'); `undefined` on success. */
  #record(result: 'success' | 'failure', error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    const seconds = this.#started === 0 ? 0 : (performance.now() - this.#started) / 1000;
    // docs/DESIGN.md §6: a metrics failure never fails an encryption.
    this.#safely(() =>
      this.deps.metrics.recordOperation(
        this.operation,
        ALGORITHM,
        result,
        seconds,
        this.bytesIn,
        this.bytesOut,
      ),
    );
    if (error !== undefined) this.#safely(() => this.deps.metrics.recordFailure(failureReasonOf(error)));
  }

  #safely(record: () => void): void {
    try {
      record();
    } catch {
      // Metrics are best effort by design.
    }
  }
}

/** Encrypts one stream: acquires the key on first use, then seals segments. */
export class EncryptSession extends BaseSession {
  readonly operation = 'encrypt_stream' as const;
  readonly #segmentSize: number;
  readonly #hooks: StreamTestHooks | undefined;
  #sealer: SegmentSealer | undefined;
  #disposed = false;

  constructor(deps: StreamDeps, options?: StreamOptions, hooks?: StreamTestHooks) {
    super(deps, options);
    const segmentSize = options?.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!isValidSegmentSize(segmentSize)) {
      throw new MeshCryptoError(
        'ERR_INVALID_INPUT',
        `segmentSize must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}]`,
      );
    }
    this.#segmentSize = segmentSize;
    this.#hooks = hooks;
  }

  write(chunk: Uint8Array, emit: Emit): Promise<void> | undefined {
    this.bytesIn += chunk.length;
    const sealer = this.#sealer;
    if (sealer !== undefined) {
      sealer.write(chunk, this.emitCounted(emit));
      return undefined;
    }
    return this.#open().then((opened) => opened.write(chunk, this.emitCounted(emit)));
  }

  end(emit: Emit): Promise<void> | undefined {
    const finish = (sealer: SegmentSealer): void => {
      sealer.end(this.emitCounted(emit));
      this.succeed();
    };
    const sealer = this.#sealer;
    if (sealer !== undefined) {
      finish(sealer);
      return undefined;
    }
    return this.#open().then(finish);
  }

  protected dispose(): void {
    this.#disposed = true;
    this.#sealer?.dispose();
  }

  protected mapError(error: unknown): Error {
    return isMeshError(error)
      ? error
      : new MeshCryptoError('ERR_INVALID_INPUT', 'stream encryption failed', { cause: error });
  }

  async #open(): Promise<SegmentSealer> {
    this.start();
    // One reservation per stream: HKDF over a fresh random salt makes every stream key unique.
    const key = await this.deps.keys.acquireEncryptionKey(KEY_ALGORITHM);
    if (key.material.length !== STREAM_KEY_LENGTH) {
      throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'stream encryption needs an AES-256 key');
    }
    this.keyUsed(key.id);
    const salt = this.#hooks?.salt ?? randomBytes(STREAM_SALT_LENGTH);
    const noncePrefix = this.#hooks?.noncePrefix ?? randomBytes(STREAM_NONCE_PREFIX_LENGTH);
    const padding = this.deps.padding;
    const flags = padding === undefined ? 0 : STREAM_FLAG_PADDED;
    const header = encodeStreamHeader(key.id, salt, noncePrefix, this.#segmentSize, flags);
    const sealer = new SegmentSealer(
      deriveStreamKey(key.material, header, this.context),
      header,
      noncePrefix,
      this.#segmentSize,
      padding,
    );
    // Aborted while the key was on its way: drop the new state too.
    if (this.#disposed) sealer.dispose();
    this.#sealer = sealer;
    return sealer;
  }
}

/**
 * Decrypts one stream: gathers the header, looks its key up once, then opens segments. The segment size is
 * read from the header; `options.segmentSize` is accepted for symmetry and ignored.
 */
export class DecryptSession extends BaseSession {
  readonly operation = 'decrypt_stream' as const;
  readonly #header = new Uint8Array(STREAM_HEADER_LENGTH);
  #headerFill = 0;
  #opener: SegmentOpener | undefined;
  #disposed = false;

  write(chunk: Uint8Array, emit: Emit): Promise<void> | undefined {
    this.bytesIn += chunk.length;
    const opener = this.#opener;
    if (opener !== undefined) {
      opener.write(chunk, this.emitCounted(emit));
      return undefined;
    }
    this.start();
    const take = Math.min(STREAM_HEADER_LENGTH - this.#headerFill, chunk.length);
    this.#header.set(chunk.subarray(0, take), this.#headerFill);
    this.#headerFill += take;
    if (this.#headerFill < STREAM_HEADER_LENGTH) return undefined;
    const rest = chunk.subarray(take);
    return this.#open().then((opened) => {
      if (rest.length > 0) opened.write(rest, this.emitCounted(emit));
    });
  }

  end(emit: Emit): Promise<void> | undefined {
    const opener = this.#opener;
    // Cut inside the header (or no input at all): never a complete stream.
    if (opener === undefined) throw new DecryptionError();
    opener.end(this.emitCounted(emit));
    this.succeed();
    return undefined;
  }

  protected dispose(): void {
    this.#disposed = true;
    this.#opener?.dispose();
  }

  protected mapError(error: unknown): Error {
    // Key lookup failures keep their own code (ERR_KEY_NOT_FOUND, ERR_KEYSTORE_UNAVAILABLE, ...), as in
    // the in-memory envelope; everything else about the bytes is one indistinguishable failure.
    if (error instanceof DecryptionError) return error;
    if (isMeshError(error) && error.code.startsWith('ERR_KEY')) return error;
    return new DecryptionError({ cause: error });
  }

  async #open(): Promise<SegmentOpener> {
    const header = parseStreamHeader(this.#header);
    const key = await this.deps.keys.getDecryptionKey(header.keyId, KEY_ALGORITHM);
    // No recordKeyUse here: mesh_key_encryptions_total counts encryptions only.
    if (key.material.length !== STREAM_KEY_LENGTH) throw new DecryptionError();
    const opener = new SegmentOpener(
      deriveStreamKey(key.material, header.bytes, this.context),
      header.noncePrefix,
      header.segmentSize,
      header.padded,
    );
    if (this.#disposed) opener.dispose();
    this.#opener = opener;
    return opener;
  }
}
