/**
 * Node.js `stream.Transform` adapters for streaming encryption (algorithm 0x03).
 *
 * Backpressure is Node's own: each `_transform` pushes the segments its chunk completed and calls back; the
 * Transform does not ask for the next chunk while its readable side is above `readableHighWaterMark`
 * (one sealed segment). So at most one segment plus the current chunk sit in memory.
 *
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';
import { DEFAULT_SEGMENT_SIZE, SEGMENT_TAG_LENGTH } from './format.js';
import type { Emit } from './sealer.js';
import {
  DecryptSession,
  EncryptSession,
  type StreamDeps,
  type StreamOptions,
  type StreamSession,
} from './session.js';

/** A Transform that drives a {@link StreamSession}. */
class SessionTransform extends Transform {
  readonly #session: StreamSession;
  readonly #emit: Emit = (bytes) => {
    this.push(bytes);
  };

  constructor(session: StreamSession, readableHighWaterMark: number) {
    super({ readableHighWaterMark });
    this.#session = session;
  }

  override _transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#settle(() => this.#session.write(chunk, this.#emit), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#settle(() => this.#session.end(this.#emit), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#session.abort(error ?? undefined);
    callback(error);
  }

  #settle(step: () => Promise<void> | undefined, callback: TransformCallback): void {
    let pending: Promise<void> | undefined;
    try {
      pending = step();
    } catch (error) {
      callback(this.#session.fail(error));
      return;
    }
    if (pending === undefined) callback();
    else
      pending.then(
        () => callback(),
        (error: unknown) => callback(this.#session.fail(error)),
      );
  }
}

/**
 * @internal Wraps a session (tests build sessions with fixed salt and nonce prefix).
 */
export function nodeTransformFor(session: StreamSession, segmentSize = DEFAULT_SEGMENT_SIZE): Transform {
  return new SessionTransform(session, segmentSize + SEGMENT_TAG_LENGTH);
}

/**
 * Creates a Node.js Transform that encrypts everything written to it into one Mesh stream (envelope v1,
 * algorithm 0x03). One key reservation per stream; the key is acquired when the first chunk (or the end)
 * arrives. Errors: `ERR_INVALID_INPUT` for bad options (thrown at once), key errors from the keyring, and
 * `ERR_PLAINTEXT_TOO_LARGE` past 2^32 segments (emitted as the stream's error).
 *
 * Reached through the facade as `enc.encryptStream(options)`, which passes its keyring and metrics as `deps`.
 *
 * @example
 * ```ts
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { createEncryption } from '@mesh/encryption';
 *
 * const enc = await createEncryption({ service: 'backups' });
 * await pipeline(
 *   createReadStream('backup.tar'),
 *   enc.encryptStream({ context: 'nightly' }), // = createNodeEncryptStream({ keys, metrics }, options)
 *   createWriteStream('backup.tar.mesh'),
 * );
 * ```
 */
export function createNodeEncryptStream(deps: StreamDeps, options?: StreamOptions): Transform {
  const session = new EncryptSession(deps, options);
  return nodeTransformFor(session, options?.segmentSize ?? DEFAULT_SEGMENT_SIZE);
}

/**
 * Creates a Node.js Transform that decrypts one Mesh stream. The segment size comes from the stream header.
 * Each segment's plaintext is pushed only after its tag verified; a stream that ends before its last segment,
 * or has bytes after it, fails with `ERR_DECRYPTION_FAILED` (as does any other tampering). An unknown key id
 * fails with `ERR_KEY_NOT_FOUND`. Plaintext already pushed stays authentic; a caller that must not act on a
 * partial result waits for `'finish'`/`'end'` (or `pipeline`) to resolve without error.
 *
 * Reached through the facade as `enc.decryptStream(options)`.
 *
 * @example
 * ```ts
 * import { createReadStream, createWriteStream } from 'node:fs';
 * import { pipeline } from 'node:stream/promises';
 * import { createEncryption } from '@mesh/encryption';
 *
 * const enc = await createEncryption({ service: 'backups' });
 * await pipeline(
 *   createReadStream('backup.tar.mesh'),
 *   enc.decryptStream({ context: 'nightly' }), // = createNodeDecryptStream({ keys, metrics }, options)
 *   createWriteStream('backup.tar'),
 * );
 * ```
 */
export function createNodeDecryptStream(deps: StreamDeps, options?: StreamOptions): Transform {
  return nodeTransformFor(new DecryptSession(deps, options));
}
