/**
 * Length hiding through the facade (config `padding`, header flag bit1): every mode with a flags byte pads to
 * the service's bucket and strips it on the way back; the ciphertext length shows the bucket only; the
 * compression side channel (a secret beside attacker-chosen text) closes within a bucket; tampering with the
 * flag or the padding fails like any forgery; every output owns its ArrayBuffer.
 */
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from '@mesh/crypto-core';
import { KeyManager, MemoryKeyStore } from '@mesh/keys';
import { afterAll, describe, expect, it } from 'vitest';
import { sealForPublicKey } from '../src/asymmetric.js';
import { FLAG_PADDED, readHeader, sealGcmEnvelope } from '../src/envelope.js';
import { type Encryption, type EncryptionConfig, paddedLength } from '../src/index.js';
import type { PaddingPolicy } from '../src/padding.js';
import { deriveStreamKey, encodeStreamHeader, STREAM_FLAG_PADDED } from '../src/stream/format.js';
import { SegmentSealer } from '../src/stream/sealer.js';
import { concat, decryptWith, payload, pinnedKeyring, runNode, runWeb } from './stream-fixtures.js';
import { codeOf, makeEncryption, rsaPair } from './support/setup.js';

const GCM_OVERHEAD = 7 + 12 + 16;
const XCHACHA_OVERHEAD = 7 + 24 + 16;
const MULTIPLE: PaddingPolicy = { multipleOf: 32 };
const POW2: PaddingPolicy = { powerOfTwo: true, minBytes: 16, maxBytes: 64 };
const NO_COMPRESSION: EncryptionConfig = { compression: false };

/** One keyring shared by a padded and an unpadded facade, so each reads the other's envelopes. */
async function sharedKeyring(): Promise<KeyManager> {
  const keys = await KeyManager.open({
    store: new MemoryKeyStore(),
    kek: { key: randomBytes(32) },
    algorithms: ['aes-256-gcm', 'xchacha20-poly1305'],
    watch: false,
  });
  afterAll(() => keys.close());
  return keys;
}

/** Runs chunks through a Node Transform and returns the chunks it emitted, as emitted. */
async function nodeChunks(transform: Transform, input: readonly Uint8Array[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  await pipeline(
    Readable.from(input),
    transform,
    new Writable({
      write(c: Uint8Array, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return out;
}

function expectOwned(name: string, bytes: Uint8Array): void {
  expect(bytes.byteOffset, `${name}: byteOffset`).toBe(0);
  expect(bytes.buffer.byteLength, `${name}: buffer.byteLength`).toBe(bytes.length);
}

describe('bucket sizes: every plaintext length 0 .. 3 buckets', () => {
  for (const [cipher, overhead] of [
    ['aes-256-gcm', GCM_OVERHEAD],
    ['xchacha20-poly1305', XCHACHA_OVERHEAD],
  ] as const) {
    for (const [name, policy, max, buckets] of [
      ['multipleOf 32', MULTIPLE, 96, [32, 64, 96, 128]],
      ['powerOfTwo 16..64', POW2, 64, [16, 32, 64, 128]],
    ] as const) {
      it(`${cipher}, ${name}: lengths are bucket sizes only; padding off shows every length`, async () => {
        const padded = await makeEncryption({ ...NO_COMPRESSION, algorithm: cipher, padding: policy });
        const plain = await makeEncryption({ ...NO_COMPRESSION, algorithm: cipher });
        const paddedSizes = new Set<number>();
        const plainSizes = new Set<number>();
        const data = payload(max + 1, 7);
        // 0 .. 3 buckets of plaintext; the last length needs the marker byte, so it lands in the 4th.
        for (let n = 0; n <= max; n++) {
          const sealed = await padded.encrypt(data.subarray(0, n), { context: 't' });
          expect(readHeader(sealed).padded).toBe(true);
          expect(sealed.length - overhead, `length ${n}`).toBe(paddedLength(policy, n));
          paddedSizes.add(sealed.length - overhead);
          const opened = await padded.decrypt(sealed, { context: 't' });
          expect(Buffer.from(opened).equals(Buffer.from(data.subarray(0, n))), `round trip ${n}`).toBe(true);
          plainSizes.add((await plain.encrypt(data.subarray(0, n))).length - overhead);
        }
        expect([...paddedSizes].sort((a, b) => a - b)).toEqual(buckets);
        expect(plainSizes.size).toBe(max + 1); // unpadded: one length per plaintext length
      });
    }
  }

  it('a padded envelope over 64 KiB (uninitialised allocation) round-trips: its zeros were written', async () => {
    const enc = await makeEncryption({ ...NO_COMPRESSION, padding: { multipleOf: 4096 } });
    const data = payload(70_000, 3);
    const sealed = await enc.encrypt(data);
    expect(sealed.length).toBe(GCM_OVERHEAD + 73_728);
    expectOwned('padded 70 kB envelope', sealed);
    const opened = await enc.decrypt(sealed);
    expectOwned('its plaintext', opened);
    expect(Buffer.from(opened).equals(Buffer.from(data))).toBe(true);
  });
});

describe('the compression length side channel (a secret beside attacker-chosen text)', () => {
  const SECRET = 'session=7fc3a9e1b2d4f6a8';
  const page = (guess: string) => `{"user":"alice","${SECRET}","search":"${guess}","results":[]}`;
  // The attacker knows all but the last character and tries each hex digit in the text it controls.
  const guesses = [...'0123456789abcdef'].map((c) => `session=7fc3a9e1b2d4f6a${c}`);
  const compressAlways = { compression: { thresholdBytes: 0, minSavingsRatio: 0 } };

  async function lengths(config: EncryptionConfig): Promise<Map<string, number>> {
    const enc = await makeEncryption(config);
    const out = new Map<string, number>();
    for (const g of guesses) {
      const sealed = await enc.encrypt(page(g));
      expect(enc.inspect(sealed).compressed).toBe(true);
      expect(await enc.decryptToString(sealed)).toBe(page(g));
      out.set(g, sealed.length);
    }
    return out;
  }

  it('padding off: the right guess gives the shortest ciphertext, so the length leaks the secret', async () => {
    const byGuess = await lengths(compressAlways);
    const right = byGuess.get(SECRET)!;
    for (const [g, length] of byGuess) if (g !== SECRET) expect(length, g).toBeGreaterThan(right);
  });

  it('padding on: every guess gives the same ciphertext length (one bucket)', async () => {
    for (const padding of [{ multipleOf: 64 }, { powerOfTwo: true as const, minBytes: 128 }]) {
      const byGuess = await lengths({ ...compressAlways, padding });
      expect(new Set(byGuess.values()).size, JSON.stringify(padding)).toBe(1);
    }
  });
});

describe('the compressed flag under padding (default policy: keep only a 10% saving)', () => {
  // The same length of attacker-chosen bytes beside a secret, once incompressible and once all zeros: with
  // the default policy the saving test decides the compressed flag, and the flag is in the clear header.
  const secret = new TextEncoder().encode('token=7fc3a9e1b2d4f6a8;');
  const withAttacker = (attacker: Uint8Array) => {
    const out = new Uint8Array(secret.length + attacker.length);
    out.set(secret);
    out.set(attacker, secret.length);
    return out;
  };
  const attackerTexts = [randomBytes(1500), new Uint8Array(1500), randomBytes(1500).fill(0x41, 0, 700)];

  async function sealedBy(config: EncryptionConfig): Promise<Array<{ compressed: boolean; length: number }>> {
    const enc = await makeEncryption(config);
    const out: Array<{ compressed: boolean; length: number }> = [];
    for (const attacker of attackerTexts) {
      const plaintext = withAttacker(attacker);
      const sealed = await enc.encrypt(plaintext);
      expect(await enc.decrypt(sealed)).toEqual(plaintext);
      out.push({ compressed: enc.inspect(sealed).compressed, length: sealed.length });
    }
    return out;
  }

  it('padding off: the attacker’s bytes flip the compressed flag (the saving test leaks)', async () => {
    const flags = (await sealedBy({})).map((s) => s.compressed);
    expect(new Set(flags).size).toBe(2);
  });

  it('padding on: the flag depends on the length only (always compressed above the threshold), one bucket', async () => {
    for (const padding of [{ multipleOf: 4096 }, { powerOfTwo: true as const, minBytes: 2048 }]) {
      const sealed = await sealedBy({ padding });
      expect(new Set(sealed.map((s) => s.compressed)), JSON.stringify(padding)).toEqual(new Set([true]));
      expect(new Set(sealed.map((s) => s.length)).size, JSON.stringify(padding)).toBe(1);
    }
    // Below the threshold nothing is compressed, whatever the content: the length decides, not the bytes.
    const enc = await makeEncryption({ padding: { multipleOf: 4096 } });
    for (const small of [randomBytes(500), new Uint8Array(500)]) {
      expect(enc.inspect(await enc.encrypt(small)).compressed).toBe(false);
    }
  });
});

describe('tampering with the padded flag or the padding', () => {
  it('flipping bit1 either way, or any byte of a padded envelope, is ERR_DECRYPTION_FAILED', async () => {
    const enc = await makeEncryption({ ...NO_COMPRESSION, padding: MULTIPLE });
    const plain = await makeEncryption({ ...NO_COMPRESSION, keyManager: enc.keys });
    const padded = await enc.encrypt('attack at dawn', { context: 'c' });
    const unpadded = await plain.encrypt('attack at dawn', { context: 'c' });
    for (const sealed of [padded, unpadded]) {
      const flipped = Uint8Array.from(sealed);
      flipped[2]! ^= FLAG_PADDED;
      expect(await codeOf(enc.decrypt(flipped, { context: 'c' }))).toBe('ERR_DECRYPTION_FAILED');
    }
    // Every byte of the body, the padding region included (after the 14 bytes of text: marker, zeros).
    for (let i = 7; i < padded.length; i++) {
      const t = Uint8Array.from(padded);
      t[i]! ^= 0x01;
      expect(await codeOf(enc.decrypt(t, { context: 'c' })), `byte ${i}`).toBe('ERR_DECRYPTION_FAILED');
    }
  });

  it('an authentic payload with the flag but no valid padding is ERR_DECRYPTION_FAILED (GCM, RSA)', async () => {
    const enc = await makeEncryption({ ...NO_COMPRESSION });
    const key = await enc.keys.acquireEncryptionKey('aes-256-gcm');
    // A key holder that does not follow the format: flag bit1 set, payload without a 0x80 marker.
    for (const payloadBytes of [new Uint8Array(0), new Uint8Array(32), Uint8Array.from([1, 2, 3, 0, 0])]) {
      const forged = sealGcmEnvelope(key.material, key.id, FLAG_PADDED, payloadBytes, undefined);
      expect(await codeOf(enc.decrypt(forged))).toBe('ERR_DECRYPTION_FAILED');
    }
    // Anyone with the public key can do the same to an RSA envelope (direct and hybrid).
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const { importRsaPublicKey } = await import('@mesh/crypto-core');
    const pub = importRsaPublicKey(publicKeyPem);
    for (const size of [10, 400]) {
      const forged = sealForPublicKey(pub, new Uint8Array(size).fill(7), FLAG_PADDED, undefined);
      expect(readHeader(forged).padded).toBe(true);
      expect(await codeOf(enc.decryptWith(privateKeyPem, forged))).toBe('ERR_DECRYPTION_FAILED');
    }
  });

  it('unknown flag bits are still refused from the header alone (ERR_TOKEN_MALFORMED)', async () => {
    const enc = await makeEncryption({ padding: MULTIPLE });
    const sealed = await enc.encrypt('x');
    for (const bit of [0x04, 0x08, 0x80]) {
      const t = Uint8Array.from(sealed);
      t[2]! |= bit;
      expect(await codeOf(enc.decrypt(t))).toBe('ERR_TOKEN_MALFORMED');
    }
  });
});

describe('readers and writers across policies', () => {
  it('padding is the writer’s choice: readers open padded and unpadded envelopes whatever theirs', async () => {
    const keys = await sharedKeyring();
    const padded = await makeEncryption({ keyManager: keys, padding: POW2 });
    const plain = await makeEncryption({ keyManager: keys });
    const a = await padded.encrypt('from a padding service');
    const b = await plain.encrypt('from an old writer');
    expect(padded.inspect(a)).toMatchObject({ padded: true });
    expect(plain.inspect(b)).toMatchObject({ padded: false });
    expect(await plain.decryptToString(a)).toBe('from a padding service');
    expect(await padded.decryptToString(b)).toBe('from an old writer');
  });

  it('per service: services.<name>.padding overrides the top level, false included', async () => {
    const enc = await makeEncryption({
      ...NO_COMPRESSION,
      padding: MULTIPLE,
      services: { audit: { padding: false }, search: { padding: { multipleOf: 128 } } },
    });
    expect((await enc.encrypt('x')).length).toBe(GCM_OVERHEAD + 32);
    expect((await enc.encrypt('x', { service: 'audit' })).length).toBe(GCM_OVERHEAD + 1);
    expect((await enc.encrypt('x', { service: 'search' })).length).toBe(GCM_OVERHEAD + 128);
  });

  it('compression then padding: a compressed padded envelope (flags 0x03) inflates back', async () => {
    const enc = await makeEncryption({ padding: { multipleOf: 256 } });
    const json = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, status: 'shipped' })));
    const sealed = await enc.encrypt(json);
    expect(sealed[2]).toBe(0x03);
    expect((sealed.length - GCM_OVERHEAD) % 256).toBe(0);
    expect(sealed.length).toBeLessThan(json.length);
    const opened = await enc.decrypt(sealed);
    expectOwned('inflated plaintext', opened);
    expect(new TextDecoder().decode(opened)).toBe(json);
  });

  it('rewrap keeps the payload as sealed: padded flag and bucket carry over', async () => {
    const enc = await makeEncryption({ ...NO_COMPRESSION, padding: MULTIPLE });
    const sealed = await enc.encrypt('keep me padded', { context: 'c' });
    await enc.rotate();
    const moved = await enc.rewrap(sealed, { context: 'c' });
    expect(readHeader(moved).keyId).not.toBe(readHeader(sealed).keyId);
    expect(moved[2]).toBe(FLAG_PADDED);
    expect(moved.length).toBe(sealed.length);
    expect(await enc.decryptToString(moved, { context: 'c' })).toBe('keep me padded');
  });

  it('Fernet tokens are not padded (the format has no flag for it): same length with or without', async () => {
    const padded = await makeEncryption({ padding: { multipleOf: 1024 } });
    const plain = await makeEncryption();
    expect((await padded.fernet.encrypt('same')).length).toBe((await plain.fernet.encrypt('same')).length);
  });
});

describe('RSA (0x04 direct, 0x02 hybrid)', () => {
  it('direct while the padded size fits one OAEP block, hybrid above; both padded and round-trip', async () => {
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const enc = await makeEncryption({ padding: { multipleOf: 64 } });
    const plain = await makeEncryption();
    // 2048-bit key: direct holds 190 bytes; buckets of 64: 128 fits, 192 does not.
    for (const [n, algorithm, body] of [
      [0, 0x04, 256],
      [127, 0x04, 256],
      [128, 0x02, 192], // bucket 192 > 190: hybrid, although 128 bytes alone would fit direct
      [190, 0x02, 192],
      [300, 0x02, 320],
    ] as const) {
      const data = payload(n, n);
      const sealed = await enc.encryptFor(publicKeyPem, data, { context: 'p' });
      expect(sealed[1], `${n}`).toBe(algorithm);
      expect(sealed[2], `${n}`).toBe(FLAG_PADDED);
      // direct: header + one block; hybrid: header + u16 + wrapped key + nonce + padded payload + tag
      expect(sealed.length, `${n}`).toBe(algorithm === 0x04 ? 7 + 256 : 7 + 2 + 256 + 12 + body + 16);
      const opened = await enc.decryptWith(privateKeyPem, sealed, { context: 'p' });
      expectOwned(`decryptWith ${n}`, opened);
      expect(Buffer.from(opened).equals(Buffer.from(data)), `${n}`).toBe(true);
      // A reader without a policy opens it too; without padding the same 128 bytes would go direct.
      expect(Buffer.from(await plain.decryptWith(privateKeyPem, sealed, { context: 'p' })).equals(data)).toBe(
        true,
      );
    }
    expect((await plain.encryptFor(publicKeyPem, payload(128)))[1]).toBe(0x04);
  });
});

describe('streams (0x03): the last segment is padded', () => {
  const SEGMENT = 16;

  /** Encrypts `data` with `enc` (segments of 16), checks it decrypts back; the sealed bytes and chunks. */
  async function sealedStream(
    enc: Encryption,
    data: Uint8Array,
    flavour: 'node' | 'web' = 'node',
  ): Promise<{ sealed: Uint8Array; chunks: Uint8Array[] }> {
    const options = { segmentSize: SEGMENT, context: 's' };
    const chunks =
      flavour === 'node'
        ? await nodeChunks(enc.encryptStream(options), [data])
        : [await runWeb(enc.encryptWebStream(options), [data])];
    const sealed = concat(chunks);
    const opened =
      flavour === 'node'
        ? concat(await nodeChunks(enc.decryptStream({ context: 's' }), [sealed]))
        : await runWeb(enc.decryptWebStream({ context: 's' }), [sealed]);
    expect(Buffer.from(opened).equals(Buffer.from(data)), `round trip ${data.length}`).toBe(true);
    return { sealed, chunks };
  }

  it('every length 0..3 segments: the total reveals the segment count and last bucket only', async () => {
    const data = payload(3 * SEGMENT + 1, 9);
    const enc = await makeEncryption({ padding: { multipleOf: 8 } });
    const plain = await makeEncryption();
    const sizes = new Set<number>();
    for (let n = 0; n <= 3 * SEGMENT; n++) {
      const { sealed } = await sealedStream(enc, data.subarray(0, n));
      expect(sealed[2]).toBe(STREAM_FLAG_PADDED);
      // padded plaintext = n + marker rounded up to 8 (8 divides the segment size, so this is the bucket)
      const paddedTotal = Math.ceil((n + 1) / 8) * 8;
      const segments = Math.ceil(paddedTotal / SEGMENT);
      expect(sealed.length, `length ${n}`).toBe(34 + paddedTotal + 16 * segments);
      sizes.add(sealed.length);
    }
    expect(sizes.size).toBe((3 * SEGMENT) / 8 + 1);
    const unpadded = new Set<number>();
    for (let n = 0; n <= 3 * SEGMENT; n++) {
      unpadded.add((await sealedStream(plain, data.subarray(0, n))).sealed.length);
    }
    expect(unpadded.size).toBe(3 * SEGMENT + 1);
  });

  it('powerOfTwo is capped at the segment size; web streams pad the same way', async () => {
    const enc = await makeEncryption({ padding: { powerOfTwo: true, minBytes: 16, maxBytes: 1024 } });
    for (const flavour of ['node', 'web'] as const) {
      // 20 bytes + marker: one full data segment, then 4 bytes + marker padded to min(16, 16) = 16.
      const { sealed } = await sealedStream(enc, payload(20), flavour);
      expect(sealed.length).toBe(34 + 2 * (SEGMENT + 16));
      const { sealed: empty } = await sealedStream(enc, new Uint8Array(0), flavour);
      expect(empty.length).toBe(34 + SEGMENT + 16);
    }
  });

  it('the opener never emits padding; every chunk either side owns its buffer', async () => {
    const enc = await makeEncryption({ padding: MULTIPLE });
    const data = payload(40, 2);
    const { sealed, chunks } = await sealedStream(enc, data);
    for (const c of chunks) expectOwned('encrypted chunk', c);
    const out = await nodeChunks(enc.decryptStream({ context: 's' }), [sealed]);
    for (const c of out) expectOwned('decrypted chunk', c);
    expect(out.reduce((n, c) => n + c.length, 0)).toBe(40);
    expect(Buffer.from(concat(out)).equals(Buffer.from(data))).toBe(true);
  });

  it('flag flipped, padding bytes flipped, or an authentic last segment without marker: ERR_DECRYPTION_FAILED', async () => {
    const enc = await makeEncryption({ padding: MULTIPLE });
    const sealed = await runNode(enc.encryptStream({ segmentSize: SEGMENT }), [payload(20)]);
    const flag = Uint8Array.from(sealed);
    flag[2]! ^= STREAM_FLAG_PADDED;
    await expect(runNode(enc.decryptStream(), [flag])).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    const last = Uint8Array.from(sealed);
    last[last.length - 20]! ^= 1; // inside the last segment's padding
    await expect(runNode(enc.decryptStream(), [last])).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });

    // A key holder that sets the flag but writes no padding: the last segment opens, its padding does not.
    const key = new Uint8Array(32).fill(5);
    const ring = pinnedKeyring(key, 77);
    const salt = new Uint8Array(16).fill(1);
    const prefix = new Uint8Array(7).fill(2);
    const header = encodeStreamHeader(77, salt, prefix, SEGMENT, STREAM_FLAG_PADDED);
    const parts: Uint8Array[] = [];
    const sealer = new SegmentSealer(deriveStreamKey(key, header, ''), header, prefix, SEGMENT);
    sealer.write(Uint8Array.from([1, 2, 3, 4, 5]), (c) => parts.push(c));
    sealer.end((c) => parts.push(c));
    for (const flavour of ['node', 'web'] as const) {
      await expect(decryptWith(flavour, ring.deps, [concat(parts)])).rejects.toMatchObject({
        code: 'ERR_DECRYPTION_FAILED',
      });
    }
  });
});
