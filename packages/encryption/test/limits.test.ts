/**
 * Every bound the facade puts on attacker-controlled work, at the boundary: exactly at the limit is accepted,
 * one past it is refused with the typed error of the SECURITY.md "Limits" table, at every entry point, before
 * any real work. Cheap by construction: an oversized input is a zero-filled `Uint8Array` (the kernel maps its
 * pages lazily, and a refused call never touches them) or a repeated string (a rope whose length is known
 * without building it); the one real round trip at the plaintext limit is 256 MiB, about a second.
 */
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createEncryption, type Encryption, inspect } from '../src/index.js';
import {
  checkCiphertextSize,
  checkCiphertextTextLength,
  checkPlaintextSize,
  MAX_CIPHERTEXT_BYTES,
  MAX_CIPHERTEXT_TEXT_LENGTH,
  MAX_CONTEXT_BYTES,
  MAX_PLAINTEXT_BYTES,
  MAX_SERVICE_NAME_LENGTH,
  utf8LengthUpTo,
} from '../src/limits.js';
import { MAX_PADDING_BUCKET } from '../src/padding.js';
import {
  deriveStreamKey,
  encodeStreamHeader,
  MAX_SEGMENT_INDEX,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  STREAM_HEADER_LENGTH,
} from '../src/stream/format.js';
import { SegmentOpener } from '../src/stream/opener.js';
import { SegmentSealer } from '../src/stream/sealer.js';
import { codeOf, makeEncryption, rsaPair, syncCodeOf } from './support/setup.js';

/** A zero-filled array of `length` with a first byte: never written past that, so it costs no memory. */
function lazyBytes(length: number, first: number): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes[0] = first;
  return bytes;
}

/** The error of a rejected promise, for its code and cause (fails the test when it resolves). */
async function errorOf(promise: Promise<unknown>): Promise<{ code: string; cause?: { code?: string } }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string };
  }
  throw new Error('resolved');
}

async function run(stream: NodeJS.ReadWriteStream, input: Uint8Array[]): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Uint8Array) => out.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from(input).pipe(stream as unknown as NodeJS.WritableStream);
  await done;
  return Uint8Array.from(Buffer.concat(out));
}

describe('largest in-memory plaintext (MAX_PLAINTEXT_BYTES)', () => {
  it('the check: exactly MAX_PLAINTEXT_BYTES passes, one byte more is ERR_PLAINTEXT_TOO_LARGE (bytes and UTF-8)', () => {
    expect(syncCodeOf(() => checkPlaintextSize(new Uint8Array(MAX_PLAINTEXT_BYTES)))).toBe('returned');
    expect(syncCodeOf(() => checkPlaintextSize(new Uint8Array(MAX_PLAINTEXT_BYTES + 1)))).toBe(
      'ERR_PLAINTEXT_TOO_LARGE',
    );
    // Strings are measured in UTF-8 without being encoded: 2-, 3- and 4-byte characters at a small limit.
    for (const [text, bytes] of [
      ['é'.repeat(50), 100],
      ['€'.repeat(30) + 'ab', 92],
      ['😀'.repeat(25), 100],
    ] as const) {
      expect(utf8LengthUpTo(text, 1_000)).toBe(bytes);
      expect(syncCodeOf(() => checkPlaintextSize(text, bytes))).toBe('returned');
      expect(syncCodeOf(() => checkPlaintextSize(text, bytes - 1))).toBe('ERR_PLAINTEXT_TOO_LARGE');
    }
  });

  it('every sealing entry point refuses one byte more, before any work', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem } = await rsaPair();
    const over = lazyBytes(MAX_PLAINTEXT_BYTES + 1, 0x41);
    const overText = 'a'.repeat(MAX_PLAINTEXT_BYTES + 1); // a rope: its length is known without building it
    const overUtf8 = '€'.repeat(Math.floor(MAX_PLAINTEXT_BYTES / 3) + 1); // fewer characters, more bytes
    for (const data of [over, overText]) {
      expect(await codeOf(enc.encrypt(data))).toBe('ERR_PLAINTEXT_TOO_LARGE');
      expect(await codeOf(enc.encryptToString(data))).toBe('ERR_PLAINTEXT_TOO_LARGE');
      expect(await codeOf(enc.encryptFor(publicKeyPem, data))).toBe('ERR_PLAINTEXT_TOO_LARGE');
      expect(await codeOf(enc.fernet.encrypt(data))).toBe('ERR_PLAINTEXT_TOO_LARGE');
    }
    expect(await codeOf(enc.encrypt(overUtf8))).toBe('ERR_PLAINTEXT_TOO_LARGE');
  });

  it('the ciphertext bound holds the largest plaintext under the largest padding bucket, in every format', () => {
    // Padding adds less than one bucket; the largest header overhead is hybrid RSA at 16384 bits
    // (7 + 2 + 2048 + 12 + 16 bytes); a Fernet token adds at most 73 bytes.
    expect(MAX_CIPHERTEXT_BYTES).toBeGreaterThanOrEqual(
      MAX_PLAINTEXT_BYTES + MAX_PADDING_BUCKET + 7 + 2 + 2048 + 12 + 16,
    );
    expect(MAX_CIPHERTEXT_BYTES).toBeGreaterThanOrEqual(MAX_PLAINTEXT_BYTES + 73);
  });

  it('a plaintext of exactly MAX_PLAINTEXT_BYTES seals, into an envelope the reading side accepts', async () => {
    const enc = await makeEncryption();
    const sealed = await enc.encrypt(lazyBytes(MAX_PLAINTEXT_BYTES, 0x42), { compress: false });
    expect(sealed.length).toBe(MAX_PLAINTEXT_BYTES + 35);
    expect(sealed.length).toBeLessThanOrEqual(MAX_CIPHERTEXT_BYTES);
    // Reading it back is the same size check as inspect's (readHeader), shown at the bound below; decrypting
    // 256 MiB here would double this test's cost for no other check.
    expect(inspect(sealed)).toMatchObject({ algorithm: 'aes-256-gcm', compressed: false });
  });
});

describe('largest in-memory ciphertext (MAX_CIPHERTEXT_BYTES, MAX_CIPHERTEXT_TEXT_LENGTH)', () => {
  it('bytes: exactly MAX_CIPHERTEXT_BYTES is read, one more is ERR_TOKEN_MALFORMED at every entry point', async () => {
    const enc = await makeEncryption();
    const { privateKeyPem } = await rsaPair();
    // A GCM header (version 1, algorithm 1, flags 0): the envelope's structure is all inspect() reads.
    const atLimit = lazyBytes(MAX_CIPHERTEXT_BYTES, 0x01);
    atLimit[1] = 0x01;
    expect(inspect(atLimit)).toMatchObject({ format: 'envelope-v1', algorithm: 'aes-256-gcm' });
    expect(syncCodeOf(() => checkCiphertextSize(MAX_CIPHERTEXT_BYTES))).toBe('returned');

    for (const first of [0x01, 0x80, 0x67]) {
      // envelope bytes (the decrypt fast path), Fernet bytes, Fernet token text as bytes
      const over = lazyBytes(MAX_CIPHERTEXT_BYTES + 1, first);
      over[1] = 0x01;
      expect(
        syncCodeOf(() => inspect(over)),
        `inspect 0x${first.toString(16)}`,
      ).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.decrypt(over)), `decrypt 0x${first.toString(16)}`).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.decryptWith(privateKeyPem, over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.rewrap(over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.fernet.decrypt(over))).toBe('ERR_TOKEN_MALFORMED');
    }
  });

  it('text: exactly MAX_CIPHERTEXT_TEXT_LENGTH passes, one character more is refused before decoding', async () => {
    expect(syncCodeOf(() => checkCiphertextTextLength(MAX_CIPHERTEXT_TEXT_LENGTH))).toBe('returned');
    // The text bound is the base64 of the byte bound: every envelope we can write has a text form under it.
    expect(MAX_CIPHERTEXT_TEXT_LENGTH).toBeGreaterThanOrEqual(Math.ceil((MAX_CIPHERTEXT_BYTES * 4) / 3));
    expect(MAX_CIPHERTEXT_TEXT_LENGTH).toBeLessThan(2 ** 29 - 24); // V8's longest string
    const enc = await makeEncryption();
    const { privateKeyPem } = await rsaPair();
    for (const first of ['A', 'g']) {
      const over = first.repeat(MAX_CIPHERTEXT_TEXT_LENGTH + 1);
      expect(syncCodeOf(() => inspect(over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.decrypt(over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.decryptToString(over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.decryptWith(privateKeyPem, over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.rewrap(over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.fernet.decrypt(over))).toBe('ERR_TOKEN_MALFORMED');
      expect(await codeOf(enc.fernet.rotate(over))).toBe('ERR_TOKEN_MALFORMED');
    }
  });
});

describe('context length (MAX_CONTEXT_BYTES)', () => {
  const atLimit = [
    'c'.repeat(MAX_CONTEXT_BYTES),
    'é'.repeat(MAX_CONTEXT_BYTES / 2),
    '😀'.repeat(MAX_CONTEXT_BYTES / 4),
  ];
  const past = [
    'c'.repeat(MAX_CONTEXT_BYTES + 1),
    `${'é'.repeat(MAX_CONTEXT_BYTES / 2)}c`,
    `${'😀'.repeat(MAX_CONTEXT_BYTES / 4)}c`,
  ];

  it('envelopes, RSA and rewrap accept a context of exactly MAX_CONTEXT_BYTES and refuse one byte more', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    for (const context of atLimit) {
      const sealed = await enc.encrypt('x', { context });
      expect(await enc.decryptToString(await enc.rewrap(sealed, { context }), { context })).toBe('x');
      const forKey = await enc.encryptFor(publicKeyPem, 'x', { context });
      expect(new TextDecoder().decode(await enc.decryptWith(privateKeyPem, forKey, { context }))).toBe('x');
    }
    const sealed = await enc.encrypt('x');
    for (const context of past) {
      expect(await codeOf(enc.encrypt('x', { context }))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.decrypt(sealed, { context }))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.rewrap(sealed, { context }))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.encryptFor(publicKeyPem, 'x', { context }))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.decryptWith(privateKeyPem, sealed, { context }))).toBe('ERR_INVALID_INPUT');
    }
  });

  it('streams accept a context of exactly MAX_CONTEXT_BYTES and refuse one byte more at creation', async () => {
    const enc = await makeEncryption();
    const context = atLimit[2]!;
    const sealed = await run(enc.encryptStream({ context }), [new Uint8Array([1, 2, 3])]);
    expect([...(await run(enc.decryptStream({ context }), [sealed]))]).toEqual([1, 2, 3]);
    for (const bad of past) {
      expect(syncCodeOf(() => enc.encryptStream({ context: bad }))).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => enc.decryptStream({ context: bad }))).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => enc.encryptWebStream({ context: bad }))).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => enc.decryptWebStream({ context: bad }))).toBe('ERR_INVALID_INPUT');
    }
  });

  it("a service's configured context is held to the same bound (ERR_CONFIG_INVALID)", async () => {
    const ok = await makeEncryption({ services: { orders: { context: atLimit[1] } } });
    expect(await ok.decryptToString(await ok.encrypt('x'))).toBe('x');
    expect(await codeOf(createEncryption({ services: { orders: { context: past[1] } } }))).toBe(
      'ERR_CONFIG_INVALID',
    );
  });
});

describe('service name length (MAX_SERVICE_NAME_LENGTH)', () => {
  it('calls and the config accept names of exactly MAX_SERVICE_NAME_LENGTH and refuse one more', async () => {
    const name = 's'.repeat(MAX_SERVICE_NAME_LENGTH);
    const longer = `${name}s`;
    const enc = await makeEncryption({ service: name, services: { [name]: { keyDerivation: true } } });
    expect(await enc.decryptToString(await enc.encrypt('x', { service: name }), { service: name })).toBe('x');
    expect(await codeOf(enc.encrypt('x', { service: longer }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(enc.decrypt(await enc.encrypt('x'), { service: longer }))).toBe('ERR_INVALID_INPUT');
    expect(syncCodeOf(() => enc.encryptStream({ service: longer }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(createEncryption({ service: longer }))).toBe('ERR_CONFIG_INVALID');
    expect(await codeOf(createEncryption({ services: { [longer]: {} } }))).toBe('ERR_CONFIG_INVALID');
  });
});

describe('decompressed size', () => {
  it('maxInflatedBytes may be MAX_PLAINTEXT_BYTES but not one more (it would serve no envelope of ours)', async () => {
    const top = await makeEncryption({ compression: { maxInflatedBytes: MAX_PLAINTEXT_BYTES } });
    expect(top.config.compressionPolicy('orders', undefined).maxInflatedBytes).toBe(MAX_PLAINTEXT_BYTES);
    for (const compression of [
      { maxInflatedBytes: MAX_PLAINTEXT_BYTES + 1 },
      { services: { payments: { maxInflatedBytes: MAX_PLAINTEXT_BYTES + 1 } } },
    ]) {
      expect(await codeOf(createEncryption({ compression }))).toBe('ERR_CONFIG_INVALID');
    }
    expect(
      await codeOf(
        createEncryption({ services: { p: { compression: { maxInflatedBytes: MAX_PLAINTEXT_BYTES + 1 } } } }),
      ),
    ).toBe('ERR_CONFIG_INVALID');
  });

  it('decrypt inflates exactly maxInflatedBytes and refuses a payload one byte larger', async () => {
    const enc: Encryption = await makeEncryption({
      compression: { services: { small: { maxInflatedBytes: 10_000 } } },
    });
    const exact = await enc.encrypt('a'.repeat(10_000));
    const over = await enc.encrypt('a'.repeat(10_001));
    expect(inspect(exact).compressed).toBe(true);
    expect(inspect(over).compressed).toBe(true);
    expect((await enc.decrypt(exact, { service: 'small' })).length).toBe(10_000);
    expect(await codeOf(enc.decrypt(over, { service: 'small' }))).toBe('ERR_COMPRESSION_LIMIT');
    expect((await enc.decrypt(over)).length).toBe(10_001); // the default service's limit is larger
  });
});

describe('streams: segment size and count', () => {
  it(`segmentSize ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE} is accepted when encrypting, one outside refused`, async () => {
    const enc = await makeEncryption();
    for (const segmentSize of [MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE]) {
      const sealed = await run(enc.encryptStream({ segmentSize }), [new Uint8Array(40).fill(7)]);
      expect((await run(enc.decryptStream(), [sealed])).length).toBe(40);
    }
    for (const segmentSize of [MIN_SEGMENT_SIZE - 1, MAX_SEGMENT_SIZE + 1]) {
      expect(syncCodeOf(() => enc.encryptStream({ segmentSize }))).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => enc.encryptWebStream({ segmentSize }))).toBe('ERR_INVALID_INPUT');
    }
  });

  it('a received header naming a segment size one outside the bounds is refused before any key lookup', async () => {
    const enc = await makeEncryption();
    const sealed = await run(enc.encryptStream({ segmentSize: MAX_SEGMENT_SIZE }), [new Uint8Array(40)]);
    const sizeAt = STREAM_HEADER_LENGTH - 4;
    for (const size of [MIN_SEGMENT_SIZE - 1, MAX_SEGMENT_SIZE + 1]) {
      const forged = Uint8Array.from(sealed);
      new DataView(forged.buffer).setUint32(sizeAt, size, false);
      const error = await errorOf(run(enc.decryptStream(), [forged]));
      // Indistinguishable from tampering to the caller; the cause says which bound.
      expect(error.code).toBe('ERR_DECRYPTION_FAILED');
      expect(error.cause?.code).toBe('ERR_TOKEN_MALFORMED');
    }
  });

  it('segment 2^32 - 1 is sealed and opened; one more is refused on both sides (the u32 counter never wraps)', () => {
    const key = new Uint8Array(32).fill(3);
    const prefix = new Uint8Array(7).fill(5);
    const header = encodeStreamHeader(1, new Uint8Array(16), prefix, MIN_SEGMENT_SIZE);
    const streamKey = () => deriveStreamKey(key, header, '');
    const chunks: Uint8Array[] = [];
    const emit = (c: Uint8Array) => chunks.push(c);

    // Sealer: the last index the counter can name seals, the next one is ERR_PLAINTEXT_TOO_LARGE.
    const sealer = new SegmentSealer(streamKey(), header, prefix, MIN_SEGMENT_SIZE);
    sealer.startAt(MAX_SEGMENT_INDEX);
    sealer.write(new Uint8Array(MIN_SEGMENT_SIZE).fill(1), emit); // segment 2^32 - 1, held as "not last"
    sealer.write(new Uint8Array(1), emit); // releases it; the byte would be segment 2^32
    expect(syncCodeOf(() => sealer.end(emit))).toBe('ERR_PLAINTEXT_TOO_LARGE');
    const atLast = chunks.slice(1); // header first, then that segment's ciphertext and tag
    expect(atLast.map((c) => c.length)).toEqual([MIN_SEGMENT_SIZE, 16]);

    // Opener: segment 2^32 - 1 opens at its index...
    const opened: Uint8Array[] = [];
    const opener = new SegmentOpener(streamKey(), prefix, MIN_SEGMENT_SIZE);
    opener.startAt(MAX_SEGMENT_INDEX);
    opener.write(Uint8Array.from(Buffer.concat(atLast)), (c) => opened.push(c));
    expect(opened.map((c) => c.length)).toEqual([MIN_SEGMENT_SIZE]);

    // ... and at index 2^32, where a u32 nonce would wrap to 0, a real segment 0 is refused.
    chunks.length = 0;
    const first = new SegmentSealer(streamKey(), header, prefix, MIN_SEGMENT_SIZE);
    first.write(new Uint8Array(MIN_SEGMENT_SIZE).fill(2), emit);
    first.write(new Uint8Array(1), emit); // releases segment 0 as "not last"
    const segmentZero = Uint8Array.from(Buffer.concat(chunks.slice(1, 3)));
    const fresh = new SegmentOpener(streamKey(), prefix, MIN_SEGMENT_SIZE);
    const zeroOpened: Uint8Array[] = [];
    fresh.write(segmentZero, (c) => zeroOpened.push(c));
    expect(zeroOpened).toHaveLength(1); // it is a valid segment 0
    const wrapped = new SegmentOpener(streamKey(), prefix, MIN_SEGMENT_SIZE);
    wrapped.startAt(MAX_SEGMENT_INDEX + 1);
    const released: Uint8Array[] = [];
    wrapped.write(segmentZero, (c) => released.push(c));
    expect(released).toHaveLength(0); // not opened as segment 2^32 (its nonce would be segment 0's)
    expect(syncCodeOf(() => wrapped.end(() => {}))).toBe('ERR_DECRYPTION_FAILED');
  });
});

describe('utf8LengthUpTo', () => {
  it('counts like TextEncoder on both of its paths (short loop, long native count)', () => {
    const samples = ['', 'a', 'é', '€', '😀', 'a€😀é', '\uD800', '\uDC00x', 'x\uD800'];
    for (const base of samples) {
      for (const text of [base, base.repeat(2_000)]) {
        const expected = Buffer.byteLength(text, 'utf8');
        expect(utf8LengthUpTo(text, 1e9), JSON.stringify(text.slice(0, 8))).toBe(expected);
        if (expected > 0) expect(utf8LengthUpTo(text, expected - 1)).toBeUndefined();
        expect(utf8LengthUpTo(text, expected)).toBe(expected);
      }
    }
  });
});

describe('the call-plan cache is bounded in total, not per service', () => {
  it('16 services x 1,024 contexts of 4,000 bytes: the retained heap stays far below what they weigh', async () => {
    // Each plan keeps its context string and its UTF-8 bytes (~8 KB here). A bound per service only
    // (1,024 plans each, times any number of services) let a caller choosing both `service` and `context`
    // pin 1,024 x 1,024 plans; 16 x 1,024 of these weigh ~130 MB, a total bound keeps ~8 MB.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const enc = await createEncryption({ service: 'orders', compression: false });
    try {
      const payload = new Uint8Array(1);
      await enc.encrypt(payload, { context: 'warm-up' });
      gc();
      const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      for (let s = 0; s < 16; s++) {
        for (let c = 0; c < 1024; c++) {
          await enc.encrypt(payload, { service: `svc-${s}`, context: `${s}:${c}:`.padEnd(4000, 'x') });
        }
      }
      gc();
      const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - before;
      expect(grown).toBeLessThan(48 * 1024 * 1024);
    } finally {
      await enc.close();
    }
  });
});
