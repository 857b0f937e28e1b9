/**
 * WHATWG `TransformStream` adapters for streaming encryption (algorithm 0x03), byte-identical to the Node
 * adapters.
 *
 * Backpressure: both sides use a byte-length queuing strategy of one sealed segment, so the writable side
 * stops accepting once about a segment waits, and `transform` is not called while the readable queue is full.
 *
 * @module
 */
// Types only (erased): the runtime uses the global TransformStream, so this module runs wherever one exists.
import type { Transformer } from 'node:stream/web';
import { MeshCryptoError } from '@mesh/crypto-core';
import { DEFAULT_SEGMENT_SIZE, SEGMENT_TAG_LENGTH } from './format.js';
import type { Emit } from './sealer.js';
import {
  DecryptSession,
  EncryptSession,
  type StreamDeps,
  type StreamOptions,
  type StreamSession,
} from './session.js';

/**
 * @internal Wraps a session (tests build sessions with fixed salt and nonce prefix).
 */
export function webTransformFor(
  session: StreamSession,
  segmentSize = DEFAULT_SEGMENT_SIZE,
): TransformStream<Uint8Array, Uint8Array> {
  let emit: Emit = () => {};
  const run = (step: () => Promise<void> | undefined): Promise<void> | undefined => {
    let pending: Promise<void> | undefined;
    try {
      pending = step();
    } catch (error) {
      throw session.fail(error);
    }
    return pending?.catch((error: unknown) => {
      throw session.fail(error);
    });
  };
  // A byte-length strategy whose size() tolerates non-bytes: ByteLengthQueuingStrategy would error the
  // writable side alone on a string chunk (NaN size) and leave the readable side hanging; this way the chunk
  // reaches transform() and errors both sides with ERR_INVALID_INPUT.
  const strategy: QueuingStrategy<Uint8Array> = {
    highWaterMark: segmentSize + SEGMENT_TAG_LENGTH,
    size: (chunk) => (chunk instanceof Uint8Array ? chunk.byteLength : 0),
  };
  const transformer: Transformer<Uint8Array, Uint8Array> = {
    start(controller) {
      emit = (bytes) => controller.enqueue(bytes);
    },
    transform(chunk) {
      return run(() => {
        // A byte stream only: strings or other objects are a caller bug, not something to coerce.
        if (!(chunk instanceof Uint8Array)) {
          throw new MeshCryptoError('ERR_INVALID_INPUT', 'stream chunks must be Uint8Array');
        }
        return session.write(chunk, emit);
      });
    },
    flush() {
      return run(() => session.end(emit));
    },
  };
  // `cancel` (WHATWG streams 2023) runs when the consumer cancels or the producer aborts; older runtimes
  // ignore it, and then only the wiping of this stream's key is skipped.
  (transformer as { cancel?: (reason: unknown) => void }).cancel = (reason) => {
    session.abort(reason ?? undefined);
  };
  return new TransformStream<Uint8Array, Uint8Array>(transformer, strategy, strategy);
}

/**
 * Creates a WHATWG TransformStream that encrypts its input into one Mesh stream (envelope v1, algorithm 0x03);
 * the output is byte-for-byte what {@link createNodeEncryptStream} would produce with the same salt and nonce
 * prefix, and either decryptor reads it.
 *
 * Reached through the facade as `enc.encryptWebStream(options)`.
 *
 * @example
 * ```ts
 * import { createEncryption } from '@mesh/encryption';
 *
 * const enc = await createEncryption({ service: 'exports' });
 * const plain = new Blob(['a large export']).stream();
 * const sealed = plain.pipeThrough(enc.encryptWebStream({ context: 'tenant-7' }));
 * const bytes = new Uint8Array(await new Response(sealed).arrayBuffer()); // header, then segments
 * ```
 */
export function createWebEncryptStream(
  deps: StreamDeps,
  options?: StreamOptions,
): TransformStream<Uint8Array, Uint8Array> {
  return webTransformFor(new EncryptSession(deps, options), options?.segmentSize ?? DEFAULT_SEGMENT_SIZE);
}

/**
 * Creates a WHATWG TransformStream that decrypts one Mesh stream, enqueueing each segment's plaintext only
 * after its tag verified. Truncation, reordering, duplication, appended bytes and any tampering error the
 * stream with `ERR_DECRYPTION_FAILED`; an unknown key id with `ERR_KEY_NOT_FOUND`.
 *
 * Reached through the facade as `enc.decryptWebStream(options)`.
 *
 * @example
 * ```ts
 * import { createEncryption } from '@mesh/encryption';
 *
 * const enc = await createEncryption({ service: 'exports' });
 * const sealed = new Blob([bytes]).stream(); // bytes from encryptWebStream
 * const plain = sealed.pipeThrough(enc.decryptWebStream({ context: 'tenant-7' }));
 * console.log(await new Response(plain).text()); // 'a large export'
 * ```
 */
export function createWebDecryptStream(
  deps: StreamDeps,
  options?: StreamOptions,
): TransformStream<Uint8Array, Uint8Array> {
  return webTransformFor(new DecryptSession(deps, options));
}
