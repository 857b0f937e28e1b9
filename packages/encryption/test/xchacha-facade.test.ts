/**
 * XChaCha20-Poly1305 envelopes (0x05) through the facade: per-service choice (aes-256-gcm stays the default),
 * round trips with and without compression and context, every header/nonce/ciphertext/tag/context bit flip,
 * readers that never encrypt with XChaCha, rewrap migrating between ciphers, rotation without a usage
 * trigger, metrics labels, and buffer ownership.
 */
import { KeyManager, MemoryKeyStore } from '@mesh/keys';
import { PrometheusCollector } from '@mesh/metrics';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { readHeader as readHeaderBytes } from '../src/envelope.js';
import { codeOf, jsonPayload, makeEncryption } from './support/setup.js';

const SMALL = 'hello, mesh';
const JSON_4K = jsonPayload(4096);
const XCHACHA = { services: { fast: { algorithm: 'xchacha20-poly1305' as const } } };

function expectOwnsBuffer(a: Uint8Array): void {
  expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
  expect(a.byteOffset).toBe(0);
  expect(a.buffer.byteLength).toBe(a.length);
}

describe('XChaCha20-Poly1305 envelopes (0x05)', () => {
  it('a service that chooses it gets 0x05 envelopes; others keep aes-256-gcm (the default)', async () => {
    const enc = await makeEncryption(XCHACHA);
    const fast = await enc.encrypt(SMALL, { service: 'fast' });
    const other = await enc.encrypt(SMALL);
    expect(readHeaderBytes(fast).algorithm).toBe(0x05);
    expect(readHeaderBytes(other).algorithm).toBe(0x01);
    expect(enc.inspect(fast)).toMatchObject({
      format: 'envelope-v1',
      algorithm: 'xchacha20-poly1305',
      compressed: false,
    });
    expect(fast.length).toBe(7 + 24 + SMALL.length + 16);
    // Decryption needs no choice: the header names the cipher, whichever service reads it.
    expect(await enc.decryptToString(fast)).toBe(SMALL);
    expect(await enc.decryptToString(fast, { service: 'fast' })).toBe(SMALL);
    expect(await enc.decryptToString(other, { service: 'fast' })).toBe(SMALL);
    const keys = enc.keys
      .keys()
      .filter((k) => k.state === 'primary')
      .map((k) => k.algorithm);
    expect(keys.sort()).toEqual(['aes-256-gcm', 'fernet', 'xchacha20-poly1305']);
  });

  it('a top-level algorithm applies to every service without its own', async () => {
    const enc = await makeEncryption({
      algorithm: 'xchacha20-poly1305',
      services: { legacy: { algorithm: 'aes-256-gcm' } },
    });
    expect(readHeaderBytes(await enc.encrypt(SMALL)).algorithm).toBe(0x05);
    expect(readHeaderBytes(await enc.encrypt(SMALL, { service: 'other' })).algorithm).toBe(0x05);
    expect(readHeaderBytes(await enc.encrypt(SMALL, { service: 'legacy' })).algorithm).toBe(0x01);
    const plain = await makeEncryption();
    expect(plain.keys.keys().some((k) => k.algorithm === 'xchacha20-poly1305')).toBe(false);
  });

  for (const compression of [true, false]) {
    for (const context of [undefined, 'orders->payments']) {
      it(`round trips, compression ${compression ? 'on' : 'off'}, ${context ? 'with' : 'without'} context`, async () => {
        const enc = await makeEncryption({ ...XCHACHA, compression });
        for (const data of [SMALL, JSON_4K, '', new Uint8Array([0, 1, 2, 255])]) {
          const sealed = await enc.encrypt(data, { service: 'fast', context });
          expectOwnsBuffer(sealed);
          const expectCompressed = compression && data === JSON_4K;
          expect(enc.inspect(sealed)).toMatchObject({
            algorithm: 'xchacha20-poly1305',
            compressed: expectCompressed,
          });
          if (expectCompressed) expect(sealed.length).toBeLessThan(JSON_4K.length / 2);
          const opened = await enc.decrypt(sealed, { service: 'fast', context });
          expectOwnsBuffer(opened);
          expect(Buffer.from(opened)).toEqual(
            Buffer.from(typeof data === 'string' ? Buffer.from(data) : data),
          );
          const text = await enc.encryptToString(data, { service: 'fast', context });
          expect(Buffer.from(await enc.decrypt(text, { service: 'fast', context }))).toEqual(
            Buffer.from(opened),
          );
          // Another context, or none where one was bound, fails authentication.
          expect(await codeOf(enc.decrypt(sealed, { context: context ? 'x' : 'y' }))).toBe(
            'ERR_DECRYPTION_FAILED',
          );
        }
      });
    }
  }

  it('with keyDerivation the service subkey seals and opens', async () => {
    const enc = await makeEncryption({ ...XCHACHA, keyDerivation: true });
    const sealed = await enc.encrypt(SMALL, { service: 'fast' });
    expect(await enc.decryptToString(sealed, { service: 'fast' })).toBe(SMALL);
    expect(await codeOf(enc.decrypt(sealed, { service: 'other' }))).toBe('ERR_DECRYPTION_FAILED');
  });
});

/**
 * A facade over a KeyManager that re-reads the store on every unknown key id (the default rate-limits misses
 * to one re-read per second): the 32 key-id bit flips below each meet an unknown id.
 */
async function withFastMisses() {
  const keys = await KeyManager.open({
    store: new MemoryKeyStore(),
    kek: { key: new Uint8Array(32).fill(3) },
    algorithms: ['aes-256-gcm', 'xchacha20-poly1305'],
    missReloadIntervalMs: 0,
  });
  afterAll(() => keys.close());
  return makeEncryption({ ...XCHACHA, keyManager: keys, fernet: false });
}

describe('XChaCha envelope bit flips', () => {
  /** Code for a flip of bit `bit` of header byte `byte` of an XChaCha envelope. */
  function expectedHeaderCode(byte: number, bit: number, compressed: boolean): string {
    // 0x05 -> 0x01 names AES-256-GCM: long enough (>= 35), but the XChaCha key id is no GCM key.
    if (byte === 1 && bit === 2) return 'ERR_KEY_NOT_FOUND';
    // 0x05 -> 0x04 names RSA-OAEP direct, on which the compressed flag is refused outright.
    if (byte === 1 && bit === 0 && compressed) return 'ERR_TOKEN_MALFORMED';
    if (byte <= 1) return 'ERR_UNSUPPORTED_ALGORITHM';
    if (byte === 2) return bit <= 1 ? 'ERR_DECRYPTION_FAILED' : 'ERR_TOKEN_MALFORMED'; // bit0, bit1: authenticated
    return 'ERR_KEY_NOT_FOUND';
  }

  for (const [name, data] of [
    ['plain', SMALL],
    ['compressed', JSON_4K],
  ] as const) {
    it(`every header bit (${name}) fails with the code of the reader's order of checks`, async () => {
      const enc = await withFastMisses();
      const sealed = await enc.encrypt(data, { service: 'fast', context: 'ctx' });
      expect(enc.inspect(sealed).compressed).toBe(name === 'compressed');
      for (let byte = 0; byte < 7; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = Uint8Array.from(sealed);
          tampered[byte]! ^= 1 << bit;
          expect(await codeOf(enc.decrypt(tampered, { context: 'ctx' })), `byte ${byte} bit ${bit}`).toBe(
            expectedHeaderCode(byte, bit, name === 'compressed'),
          );
        }
      }
    });
  }

  it('every bit of nonce, ciphertext and tag, and of the context, fails with ERR_DECRYPTION_FAILED', async () => {
    const enc = await makeEncryption(XCHACHA);
    const context = 'orders->payments';
    const sealed = await enc.encrypt(SMALL, { service: 'fast', context });
    const seen = { nonce: 0, ciphertext: 0, tag: 0, context: 0 };
    for (let i = 7 * 8; i < sealed.length * 8; i++) {
      const tampered = Uint8Array.from(sealed);
      tampered[i >> 3]! ^= 1 << (i & 7);
      expect(await codeOf(enc.decrypt(tampered, { context }))).toBe('ERR_DECRYPTION_FAILED');
      const at = i >> 3;
      seen[at < 31 ? 'nonce' : at < sealed.length - 16 ? 'ciphertext' : 'tag']++;
    }
    const ctx = Buffer.from(context);
    for (let i = 0; i < ctx.length * 8; i++) {
      const flipped = Uint8Array.from(ctx);
      flipped[i >> 3]! ^= 1 << (i & 7);
      // Every flip is another context string (a byte that is no longer valid UTF-8 decodes to U+FFFD).
      const text = new TextDecoder().decode(flipped);
      const code = await codeOf(enc.decrypt(sealed, { context: text }));
      expect(code).toBe('ERR_DECRYPTION_FAILED');
      seen.context++;
    }
    expect(seen).toEqual({
      nonce: 24 * 8,
      ciphertext: SMALL.length * 8,
      tag: 16 * 8,
      context: ctx.length * 8,
    });
    // Truncation at every length: too short for nonce and tag is malformed, the rest fails authentication.
    for (let n = 7; n < sealed.length; n++) {
      expect(await codeOf(enc.decrypt(sealed.subarray(0, n), { context }))).toBe(
        n < 47 ? 'ERR_TOKEN_MALFORMED' : 'ERR_DECRYPTION_FAILED',
      );
    }
  });
});

describe('keyrings, readers and rewrap', () => {
  it('a facade whose services never choose XChaCha still reads 0x05 envelopes from the shared keyring', async () => {
    const store = new MemoryKeyStore();
    const kek = { key: new Uint8Array(32).fill(7) };
    const writer = await makeEncryption({ ...XCHACHA, keyStore: store, kek });
    const sealed = await writer.encrypt(SMALL, { service: 'fast', context: 'c' });
    const reader = await makeEncryption({ keyStore: store, kek });
    expect(await reader.decryptToString(sealed, { context: 'c' })).toBe(SMALL);
    // A key id of the wrong algorithm is not a key for this envelope.
    const gcm = await reader.encrypt(SMALL);
    const relabelled = Uint8Array.from(sealed);
    relabelled.set(gcm.subarray(3, 7), 3);
    expect(await codeOf(reader.decrypt(relabelled, { context: 'c' }))).toBe('ERR_KEY_NOT_FOUND');
  });

  it('rewrap re-seals with the service cipher: GCM -> XChaCha and back, flag and context kept', async () => {
    const enc = await makeEncryption(XCHACHA);
    const gcm = await enc.encrypt(JSON_4K, { context: 'c' });
    const moved = await enc.rewrap(gcm, { service: 'fast', context: 'c' });
    expect(enc.inspect(moved)).toMatchObject({ algorithm: 'xchacha20-poly1305', compressed: true });
    expect(await enc.decryptToString(moved, { context: 'c' })).toBe(JSON_4K);
    // Text in, text out; the default service (orders) seals with aes-256-gcm.
    const xText = await enc.encryptToString(SMALL, { service: 'fast' });
    const back = await enc.rewrap(xText);
    expect(typeof back).toBe('string');
    expect(enc.inspect(back)).toMatchObject({ algorithm: 'aes-256-gcm' });
    expect(await enc.decryptToString(back)).toBe(SMALL);
  });

  it('XChaCha keys never rotate by usage; AES-GCM keys do (same policy, same run)', async () => {
    const enc = await makeEncryption({
      ...XCHACHA,
      rotation: { maxEncryptionsPerKey: 3, usageLeaseSize: 1 },
    });
    for (let i = 0; i < 20; i++) {
      await enc.encrypt(SMALL, { service: 'fast' });
      await enc.encrypt(SMALL);
    }
    const infos = enc.keys.keys();
    const x = infos.filter((k) => k.algorithm === 'xchacha20-poly1305');
    const g = infos.filter((k) => k.algorithm === 'aes-256-gcm');
    expect(x.length).toBe(1);
    expect(x[0]!.reservedEncryptions).toBe(20); // still counted, one lease per use here
    expect(g.length).toBeGreaterThanOrEqual(7); // 20 uses / 3 per key
    expect(g.every((k) => k.reservedEncryptions <= 3)).toBe(true);
    await enc.rotate({ algorithm: 'xchacha20-poly1305' });
    expect(enc.keys.keys().filter((k) => k.algorithm === 'xchacha20-poly1305').length).toBe(2);
  });

  it('XChaCha keys rotate by interval like every key', async () => {
    let t = 1_700_000_000_000;
    const store = new MemoryKeyStore();
    const keys = await KeyManager.open({
      store,
      kek: { key: new Uint8Array(32).fill(1) },
      algorithms: ['aes-256-gcm', 'xchacha20-poly1305'],
      rotation: { interval: '1h' },
      clock: () => t,
    });
    const enc = await makeEncryption({ ...XCHACHA, keyManager: keys });
    const first = await enc.encrypt(SMALL, { service: 'fast' });
    t += 2 * 3600_000;
    const second = await enc.encrypt(SMALL, { service: 'fast' });
    expect(enc.inspect(second).keyId).not.toBe(enc.inspect(first).keyId);
    expect(await enc.decryptToString(first)).toBe(SMALL);
    await keys.close();
  });

  it('config: an unknown algorithm is ERR_CONFIG_INVALID naming the field', async () => {
    expect(await codeOf(makeEncryption({ algorithm: 'aes-128-gcm' as never }))).toBe('ERR_CONFIG_INVALID');
    const err = await makeEncryption({ services: { x: { algorithm: 'chacha' as never } } }).catch((e) => e);
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toContain('services.x.algorithm');
  });

  it('metrics carry the xchacha20-poly1305 algorithm label', async () => {
    const registry = new Registry();
    const enc = await makeEncryption({ ...XCHACHA, metrics: new PrometheusCollector({ registry }) });
    const sealed = await enc.encrypt(SMALL, { service: 'fast' });
    await enc.decrypt(sealed);
    const tampered = Uint8Array.from(sealed);
    tampered[40]! ^= 1;
    await codeOf(enc.decrypt(tampered));
    const text = await registry.metrics();
    for (const series of [
      'mesh_crypto_operations_total{operation="encrypt",algorithm="xchacha20-poly1305",result="success"} 1',
      'mesh_crypto_operations_total{operation="decrypt",algorithm="xchacha20-poly1305",result="success"} 1',
      'mesh_crypto_operations_total{operation="decrypt",algorithm="xchacha20-poly1305",result="failure"} 1',
    ]) {
      expect(text).toContain(series);
    }
  });
});
