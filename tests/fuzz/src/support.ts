/**
 * Small helpers shared by the targets: byte identity, feeding chunked input to Node and WHATWG streams, and
 * arbitrary chunkings.
 *
 * @module
 */
import type { Transform } from 'node:stream';
import fc from 'fast-check';
import { Violation } from './oracle.js';

/** Hex of bytes, for sets of known plaintexts. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A set of known byte strings: a successful decryption must give one of them. */
export class KnownBytes {
  readonly #set = new Set<string>();
  add(bytes: Uint8Array): void {
    this.#set.add(hex(bytes));
  }
  /** Throws `wrong-result` unless `bytes` is known: altered input that opens to new data is a forgery. */
  expect(bytes: Uint8Array, what: string): void {
    if (!this.#set.has(hex(bytes))) {
      throw new Violation('wrong-result', `${what} gave ${bytes.length} bytes that were never sealed`);
    }
  }
}

/** Cut points for splitting an input into chunks: sizes 0 (an empty write) to 300, repeated. */
export const chunkSizes: fc.Arbitrary<number[]> = fc.array(fc.integer({ min: 0, max: 300 }), {
  minLength: 1,
  maxLength: 12,
});

/** `input` in chunks of the given sizes (cycled), the rest in one last chunk. */
export function chunk(input: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; off < input.length && i < 10_000; i++) {
    const size = sizes[i % sizes.length]!;
    // Each chunk in its own buffer, as a socket would deliver it.
    out.push(input.slice(off, off + size));
    off += size;
  }
  if (off < input.length) out.push(input.slice(off));
  return out;
}

/** Writes `chunks` into a Node Transform, ends it, and resolves with everything it emitted. */
export function throughNode(stream: Transform, chunks: readonly Uint8Array[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let settled = false;
    stream.on('data', (d: Uint8Array) => parts.push(d));
    stream.on('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    stream.on('end', () => {
      if (!settled) {
        settled = true;
        resolve(Buffer.concat(parts));
      }
    });
    for (const c of chunks) {
      if (stream.destroyed) break;
      stream.write(c);
    }
    if (!stream.destroyed) stream.end();
  });
}

/** Pipes `chunks` through a WHATWG TransformStream and resolves with everything it emitted. */
export async function throughWeb(
  stream: TransformStream<Uint8Array, Uint8Array>,
  chunks: readonly Uint8Array[],
): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  const parts: Uint8Array[] = [];
  const reader = source.pipeThrough(stream).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return Buffer.concat(parts);
}
