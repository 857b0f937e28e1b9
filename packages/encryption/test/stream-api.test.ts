/**
 * The public stream factories: option checks, backpressure (a stalled consumer stops the source), key and
 * input errors, and the metrics a stream reports.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshCryptoError } from '@mesh/crypto-core';
import type { KeyManager } from '@mesh/keys';
import { describe, expect, it } from 'vitest';
import {
  createNodeDecryptStream,
  createNodeEncryptStream,
  createWebDecryptStream,
  createWebEncryptStream,
} from '../src/stream/index.js';
import {
  concat,
  expectCode,
  makeKeyring,
  payload,
  RecordingMetrics,
  runNode,
  runWeb,
} from './stream-fixtures.js';

const MiB = 1024 * 1024;

/** A Node source of `total` bytes in `chunkSize` pieces, made only when read; counts what it produced. */
function countingNodeSource(total: number, chunkSize: number): { source: Readable; produced: () => number } {
  let produced = 0;
  const block = payload(chunkSize, 1);
  const source = new Readable({
    highWaterMark: chunkSize,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkSize, total - produced);
      produced += n;
      this.push(block.subarray(0, n));
    },
  });
  return { source, produced: () => produced };
}

describe('options', () => {
  it.each([15, 16 * MiB + 1, 1.5, Number.NaN, -1, 2 ** 32])(
    'segmentSize %s is rejected at once',
    async (size) => {
      const { deps } = await makeKeyring();
      for (const create of [createNodeEncryptStream, createWebEncryptStream]) {
        expect(() => create(deps, { segmentSize: size })).toThrowError(
          expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
        );
      }
    },
  );

  it('the bounds themselves are accepted', async () => {
    const ring = await makeKeyring();
    for (const segmentSize of [16, 16 * MiB]) {
      const plain = payload(100, segmentSize);
      const sealed = await runWeb(createWebEncryptStream(ring.deps, { segmentSize }), [plain]);
      expect(Buffer.compare(await runNode(createNodeDecryptStream(ring.deps), [sealed]), plain)).toBe(0);
    }
  });

  it('a non-string context and missing deps are rejected at once', async () => {
    const { deps } = await makeKeyring();
    const creators = [
      createNodeEncryptStream,
      createNodeDecryptStream,
      createWebEncryptStream,
      createWebDecryptStream,
    ];
    for (const create of creators) {
      expect(() => create(deps, { context: 42 as unknown as string })).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
      );
      expect(() => create({ keys: deps.keys } as never)).toThrowError(
        expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
      );
    }
  });

  it('decryption reads the segment size from the header and ignores the option', async () => {
    const ring = await makeKeyring();
    const plain = payload(10_000, 2);
    const sealed = await runNode(createNodeEncryptStream(ring.deps, { segmentSize: 4096 }), [plain]);
    const back = await runWeb(createWebDecryptStream(ring.deps, { segmentSize: 16 }), [sealed]);
    expect(Buffer.compare(back, plain)).toBe(0);
  });

  it('the web flavour rejects chunks that are not Uint8Array', async () => {
    const { deps } = await makeKeyring();
    await expectCode(
      runWeb(createWebEncryptStream(deps), ['text' as unknown as Uint8Array]),
      'ERR_INVALID_INPUT',
    );
  });
});

describe('backpressure', () => {
  it('Node encrypt: a stalled consumer stops the source after about one segment plus one chunk', async () => {
    const ring = await makeKeyring();
    const { source, produced } = countingNodeSource(64 * MiB, 64 * 1024);
    const encrypt = createNodeEncryptStream(ring.deps);
    source.pipe(encrypt); // nobody reads `encrypt`
    await sleep(100);
    const stalledAt = produced();
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThanOrEqual(512 * 1024);
    await sleep(50);
    expect(produced()).toBe(stalledAt);
    // Resuming drains everything, and it still decrypts.
    let total = 0;
    await pipeline(
      encrypt,
      createNodeDecryptStream(ring.deps),
      new Writable({
        write(c: Buffer, _e, cb) {
          total += c.length;
          cb();
        },
      }),
    );
    expect(total).toBe(64 * MiB);
  });

  it('Node decrypt: a stalled consumer stops the ciphertext source too', async () => {
    const ring = await makeKeyring();
    const sealed = await runNode(createNodeEncryptStream(ring.deps, { segmentSize: 4096 }), [
      payload(8 * MiB, 3),
    ]);
    let offered = 0;
    const source = new Readable({
      read() {
        if (offered >= sealed.length) return void this.push(null);
        const piece = sealed.subarray(offered, offered + 10_000);
        offered += piece.length;
        this.push(piece);
      },
    });
    source.pipe(createNodeDecryptStream(ring.deps));
    await sleep(100);
    expect(offered).toBeGreaterThan(0);
    expect(offered).toBeLessThanOrEqual(512 * 1024);
  });

  it('web encrypt: a reader that stops reading stops the pulls', async () => {
    const ring = await makeKeyring();
    let pulled = 0;
    const block = payload(64 * 1024, 4);
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += block.length;
        controller.enqueue(block);
        if (pulled >= 64 * MiB) controller.close();
      },
    });
    const reader = source.pipeThrough(createWebEncryptStream(ring.deps)).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await sleep(100);
    const stalledAt = pulled;
    expect(stalledAt).toBeLessThanOrEqual(512 * 1024);
    await sleep(50);
    expect(pulled).toBe(stalledAt);
    await reader.cancel();
  });
});

describe('keys and failures', () => {
  it('a key store failure while acquiring the key errors the stream with its own code', async () => {
    const metrics = new RecordingMetrics();
    const keys = {
      acquireEncryptionKey: async () => {
        throw new MeshCryptoError('ERR_KEYSTORE_UNAVAILABLE', 'store down');
      },
    } as unknown as KeyManager;
    await expectCode(
      runNode(createNodeEncryptStream({ keys, metrics }), [payload(10)]),
      'ERR_KEYSTORE_UNAVAILABLE',
    );
    await expectCode(
      runWeb(createWebEncryptStream({ keys, metrics }), [payload(10)]),
      'ERR_KEYSTORE_UNAVAILABLE',
    );
    expect(metrics.of('recordFailure')).toEqual([['keystore_unavailable'], ['keystore_unavailable']]);
  });

  it('a stream under a key this keyring does not hold fails with ERR_KEY_NOT_FOUND', async () => {
    const writer = await makeKeyring();
    const reader = await makeKeyring();
    const sealed = await runNode(createNodeEncryptStream(writer.deps), [payload(1000)]);
    await expectCode(runNode(createNodeDecryptStream(reader.deps), [sealed]), 'ERR_KEY_NOT_FOUND');
    await expectCode(runWeb(createWebDecryptStream(reader.deps), [sealed]), 'ERR_KEY_NOT_FOUND');
    expect(reader.metrics.of('recordFailure')).toEqual([['key_not_found'], ['key_not_found']]);
  });

  it('a source error mid-stream fails the pipeline and is counted once', async () => {
    const ring = await makeKeyring();
    const source = new Readable({
      read() {
        this.push(payload(1000));
        this.destroy(new Error('disk gone'));
      },
    });
    const encrypt = createNodeEncryptStream(ring.deps);
    await expect(pipeline(source, encrypt, new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toThrow(
      'disk gone',
    );
    const ops = ring.metrics.of('recordOperation');
    expect(ops).toHaveLength(1);
    expect(ops[0]?.slice(0, 3)).toEqual(['encrypt_stream', 'stream-aes-256-gcm', 'failure']);
    // Not the stream's fault and not a Mesh error: the closed set's fallback.
    expect(ring.metrics.of('recordFailure')).toEqual([['internal']]);
  });

  it('an exception thrown by the consumer passes through unchanged, not as a decryption failure', async () => {
    const ring = await makeKeyring();
    const sealed = await runNode(createNodeEncryptStream(ring.deps, { segmentSize: 100 }), [
      payload(1000, 6),
    ]);
    const bug = new Error('consumer bug');
    const throwing = new Writable({
      write() {
        throw bug;
      },
    });
    const decrypt = createNodeDecryptStream(ring.deps);
    const error = await pipeline(Readable.from([sealed]), decrypt, throwing).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBe(bug);
    expect(ring.metrics.of('recordFailure').at(-1)).toEqual(['internal']);
  });

  it('the output chunks of one stream are distinct buffers (safe to keep)', async () => {
    const ring = await makeKeyring();
    const out: Uint8Array[] = [];
    await pipeline(
      Readable.from([payload(10_000, 8)]),
      createNodeEncryptStream(ring.deps, { segmentSize: 1000 }),
      new Writable({
        write(c: Buffer, _e, cb) {
          out.push(c);
          cb();
        },
      }),
    );
    // The header on its own, then each sealed segment as two chunks: its ciphertext, then its tag.
    expect(out.map((c) => c.length)).toEqual([34, ...new Array(10).fill([1000, 16]).flat()]);
    expect(new Set(out.map((c) => c.buffer)).size).toBe(out.length);
    const back = await runWeb(createWebDecryptStream(ring.deps), [concat(out)]);
    expect(Buffer.compare(back, payload(10_000, 8))).toBe(0);
    // Fed those very chunks (ciphertext and tag apart), the decryptor opens them as they are.
    const again = await runWeb(createWebDecryptStream(ring.deps), out);
    expect(Buffer.compare(again, payload(10_000, 8))).toBe(0);
  });
});
