import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMeshError, utf8Decode } from '@mesh/crypto-core';
import { deriveSubkey } from '@mesh/keys';
import { type MetricsCollector, PrometheusCollector } from '@mesh/metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { openGcmEnvelope } from '../src/envelope.js';
import { codeOf, jsonPayload, makeEncryption, rsaPair } from './support/setup.js';

const SMALL = 'hello, mesh';
const JSON_4K = jsonPayload(4096);

describe('round trips: every mode x compression on/off x with/without context', () => {
  for (const compression of [true, false]) {
    for (const context of [undefined, 'orders->payments']) {
      const label = `compression ${compression ? 'on' : 'off'}, ${context ? 'with' : 'without'} context`;

      it(`envelope bytes and text (${label})`, async () => {
        const enc = await makeEncryption({ compression });
        for (const data of [SMALL, JSON_4K, '', new Uint8Array([0, 1, 2, 255])]) {
          const sealed = await enc.encrypt(data, { context });
          const expectCompressed = compression && data === JSON_4K;
          expect(enc.inspect(sealed)).toMatchObject({
            format: 'envelope-v1',
            algorithm: 'aes-256-gcm',
            compressed: expectCompressed,
          });
          const expected = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
          expect(Buffer.from(await enc.decrypt(sealed, { context }))).toEqual(expected);
          const text = await enc.encryptToString(data, { context });
          expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(Buffer.from(await enc.decrypt(text, { context }))).toEqual(expected);
          if (expectCompressed) expect(sealed.length).toBeLessThan(JSON_4K.length / 2);
        }
      });

      it(`encryptFor / decryptWith, direct and hybrid (${label})`, async () => {
        const enc = await makeEncryption({ compression });
        const { publicKeyPem, privateKeyPem } = await rsaPair();
        // 190 bytes is the exact OAEP-SHA256 limit at 2048 bits; 191 switches to hybrid (below the 1 KiB
        // compression threshold, so compression does not change the choice).
        for (const [data, algorithm] of [
          [SMALL, 'rsa-oaep-sha256'],
          ['x'.repeat(190), 'rsa-oaep-sha256'],
          ['x'.repeat(191), 'hybrid-rsa-oaep-aes-256-gcm'],
          [JSON_4K, 'hybrid-rsa-oaep-aes-256-gcm'],
        ] as const) {
          const sealed = await enc.encryptFor(publicKeyPem, data, { context });
          const info = enc.inspect(sealed);
          expect(info.algorithm).toBe(algorithm);
          expect(info.compressed).toBe(false); // RSA envelopes are never compressed (no sender authentication)
          expect(utf8Decode(await enc.decryptWith(privateKeyPem, sealed, { context }))).toBe(data);
        }
      });
    }
  }

  it('Fernet mode (no context by design; compression never applies)', async () => {
    const enc = await makeEncryption();
    for (const data of [SMALL, JSON_4K, '']) {
      const token = await enc.fernet.encrypt(data);
      expect(token.startsWith('gAAAAA')).toBe(true);
      expect(await enc.fernet.decryptToString(token)).toBe(data);
      expect(await enc.decryptToString(token)).toBe(data); // decrypt recognises Fernet by itself
      expect(await enc.decryptToString(Buffer.from(token, 'base64url'))).toBe(data); // raw 0x80 bytes
      expect(await enc.decryptToString(Buffer.from(token, 'ascii'))).toBe(data); // the token's ASCII bytes
    }
  });

  it('with keyDerivation, the envelope key is HKDF(data key, info = service) and services are isolated', async () => {
    const enc = await makeEncryption({ keyDerivation: true, services: { billing: { keyDerivation: true } } });
    const sealed = await enc.encrypt(SMALL);
    const key = await enc.keys.getDecryptionKey(enc.inspect(sealed).keyId!, 'aes-256-gcm');
    expect(utf8Decode(openGcmEnvelope(deriveSubkey(key.material, 'orders'), sealed, undefined))).toBe(SMALL);
    expect(await codeOf(Promise.resolve().then(() => openGcmEnvelope(key.material, sealed, undefined)))).toBe(
      'ERR_DECRYPTION_FAILED',
    );
    expect(await codeOf(enc.decrypt(sealed, { service: 'billing' }))).toBe('ERR_DECRYPTION_FAILED');
    const billing = await enc.encrypt(SMALL, { service: 'billing' });
    expect(await enc.decryptToString(billing, { service: 'billing' })).toBe(SMALL);
  });

  it('streams are exposed by the facade (Node and web) and read each other', async () => {
    const enc = await makeEncryption();
    const input = Buffer.from(JSON_4K.repeat(40));
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from([input]),
      enc.encryptStream({ context: 'backup', segmentSize: 4096 }),
      async (source) => {
        for await (const c of source) chunks.push(c as Buffer);
      },
    );
    const sealed = Buffer.concat(chunks);
    expect(enc.inspect(sealed)).toMatchObject({ algorithm: 'stream-aes-256-gcm' });
    const decrypted = new Response(
      new Blob([sealed]).stream().pipeThrough(enc.decryptWebStream({ context: 'backup' })),
    );
    expect(Buffer.from(await decrypted.arrayBuffer())).toEqual(input);
  });
});

describe('context binding', () => {
  it('a different, missing or extra context fails with ERR_DECRYPTION_FAILED in every mode', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const sealedWith = [
      {
        open: (c: Uint8Array, context?: string) => enc.decrypt(c, { context }),
        sealed: await enc.encrypt(JSON_4K, { context: 'a' }),
      },
      {
        open: (c: Uint8Array, context?: string) => enc.decrypt(c, { context }),
        sealed: await enc.encrypt(SMALL, { context: 'a' }),
      },
      {
        open: (c: Uint8Array, context?: string) => enc.decryptWith(privateKeyPem, c, { context }),
        sealed: await enc.encryptFor(publicKeyPem, SMALL, { context: 'a' }),
      },
      {
        open: (c: Uint8Array, context?: string) => enc.decryptWith(privateKeyPem, c, { context }),
        sealed: await enc.encryptFor(publicKeyPem, JSON_4K, { context: 'a' }),
      },
    ];
    for (const { open, sealed } of sealedWith) {
      expect((await open(sealed, 'a')).length).toBeGreaterThan(0);
      for (const wrong of ['b', 'A', 'a ', undefined])
        expect(await codeOf(open(sealed, wrong))).toBe('ERR_DECRYPTION_FAILED');
    }
    const noContext = await enc.encrypt(SMALL);
    expect(await codeOf(enc.decrypt(noContext, { context: 'a' }))).toBe('ERR_DECRYPTION_FAILED');
  });

  it('a Fernet token is refused where a context is expected (no downgrade around context binding)', async () => {
    const enc = await makeEncryption({ services: { tenants: { context: 'tenant-1' } } });
    const token = await enc.fernet.encrypt(SMALL);
    expect(await codeOf(enc.decrypt(token, { context: 'tenant-1' }))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    expect(await codeOf(enc.decrypt(token, { service: 'tenants' }))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    expect(await enc.decryptToString(token)).toBe(SMALL);
  });

  it('service defaults: a bound default context, and requireContext', async () => {
    const enc = await makeEncryption({
      services: { tenants: { context: 'tenant-1' }, strict: { requireContext: true } },
    });
    const sealed = await enc.encrypt(SMALL, { service: 'tenants' });
    expect(await enc.decryptToString(sealed, { context: 'tenant-1' })).toBe(SMALL);
    expect(await codeOf(enc.decrypt(sealed))).toBe('ERR_DECRYPTION_FAILED');
    expect(await codeOf(enc.encrypt(SMALL, { service: 'strict' }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(enc.encrypt(SMALL, { service: 'strict', context: '' }))).toBe('ERR_INVALID_INPUT');
    const ok = await enc.encrypt(SMALL, { service: 'strict', context: 'x' });
    expect(await enc.decryptToString(ok, { service: 'strict', context: 'x' })).toBe(SMALL);
  });
});

describe('header integrity: flipping any bit of the 7 header bytes fails with the right code', () => {
  /**
   * Expected code when bit `bit` of header byte `byte` is flipped. The compressed (bit0) and padded (bit1)
   * flags are authenticated; on an RSA envelope the compressed flag is refused outright (`rsa`). `gcmLength` is the length of a GCM
   * envelope: flipping bit 2 of its algorithm byte names XChaCha20-Poly1305 (0x05), a known algorithm, so its
   * 47-byte minimum applies, then a key of the wrong algorithm (the GCM key id is no XChaCha key).
   */
  function expectedCode(byte: number, bit: number, rsa = false, gcmLength?: number): string {
    if (gcmLength !== undefined && byte === 1 && bit === 2) {
      return gcmLength < 47 ? 'ERR_TOKEN_MALFORMED' : 'ERR_KEY_NOT_FOUND';
    }
    if (byte <= 1) return 'ERR_UNSUPPORTED_ALGORITHM'; // version / algorithm
    if (byte === 2) return bit === 1 || (bit === 0 && !rsa) ? 'ERR_DECRYPTION_FAILED' : 'ERR_TOKEN_MALFORMED';
    return 'ERR_KEY_NOT_FOUND'; // key id: no such key (after re-reading the store)
  }

  for (const [name, compressed] of [
    ['plain', false],
    ['compressed', true],
  ] as const) {
    it(`GCM envelope (${name}) through decrypt, bytes and text`, async () => {
      const enc = await makeEncryption();
      const sealed = await enc.encrypt(compressed ? JSON_4K : SMALL, { context: 'ctx' });
      expect(enc.inspect(sealed).compressed).toBe(compressed);
      const seen: Record<string, number> = {};
      for (let byte = 0; byte < 7; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = Uint8Array.from(sealed);
          tampered[byte]! ^= 1 << bit;
          const code = await codeOf(enc.decrypt(tampered, { context: 'ctx' }));
          expect(code, `byte ${byte} bit ${bit}`).toBe(expectedCode(byte, bit, false, sealed.length));
          expect(
            await codeOf(enc.decrypt(Buffer.from(tampered).toString('base64url'), { context: 'ctx' })),
          ).toBe(code);
          seen[code] = (seen[code] ?? 0) + 1;
        }
      }
      console.log(`header bit flips (${name}):`, seen);
      expect(Object.values(seen).reduce((a, b) => a + b)).toBe(56);
    });
  }

  it('RSA direct and hybrid envelopes through decryptWith', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    for (const data of [SMALL, 'y'.repeat(500)]) {
      const sealed = await enc.encryptFor(publicKeyPem, data, { context: 'ctx' });
      for (let byte = 0; byte < 7; byte++) {
        for (let bit = 0; bit < 8; bit++) {
          const tampered = Uint8Array.from(sealed);
          tampered[byte]! ^= 1 << bit;
          const code = await codeOf(enc.decryptWith(privateKeyPem, tampered, { context: 'ctx' }));
          expect(code, `${data.length} byte ${byte} bit ${bit}`).toBe(expectedCode(byte, bit, true));
        }
      }
    }
  });

  it('every bit of nonce, ciphertext and tag is authenticated too', async () => {
    const enc = await makeEncryption();
    const sealed = await enc.encrypt(SMALL);
    for (let i = 7 * 8; i < sealed.length * 8; i++) {
      const tampered = Uint8Array.from(sealed);
      tampered[i >> 3]! ^= 1 << (i & 7);
      expect(await codeOf(enc.decrypt(tampered))).toBe('ERR_DECRYPTION_FAILED');
    }
  });
});

describe('rewrap', () => {
  it('re-encrypts envelopes under the current primary, keeps flag, form and context, never returns plaintext', async () => {
    const enc = await makeEncryption();
    const bytes = await enc.encrypt(JSON_4K, { context: 'c' });
    const text = await enc.encryptToString(SMALL);
    const oldId = enc.inspect(bytes).keyId;
    await enc.rotate();
    const primary = enc.keys.keys().find((k) => k.state === 'primary' && k.algorithm === 'aes-256-gcm')!;
    expect(primary.id).not.toBe(oldId);
    const rewrapped = await enc.rewrap(bytes, { context: 'c' });
    expect(rewrapped).toBeInstanceOf(Uint8Array);
    expect(enc.inspect(rewrapped)).toEqual({
      format: 'envelope-v1',
      algorithm: 'aes-256-gcm',
      keyId: primary.id,
      compressed: true,
      padded: false,
    });
    expect(await enc.decryptToString(rewrapped, { context: 'c' })).toBe(JSON_4K);
    expect(await codeOf(enc.decrypt(rewrapped))).toBe('ERR_DECRYPTION_FAILED'); // still bound to 'c'
    const rewrappedText = await enc.rewrap(text);
    expect(typeof rewrappedText).toBe('string');
    expect(enc.inspect(rewrappedText).keyId).toBe(primary.id);
    expect(await enc.decryptToString(rewrappedText)).toBe(SMALL);
    expect(await codeOf(enc.rewrap(bytes, { context: 'wrong' }))).toBe('ERR_DECRYPTION_FAILED');
  });

  it('Fernet tokens keep their timestamp (MultiFernet.rotate) and move to the new primary', async () => {
    let now = 1_700_000_000_000;
    const enc = await makeEncryption({ clock: () => now });
    const token = await enc.fernet.encrypt(SMALL);
    const ts = enc.inspect(token).timestamp;
    expect(ts).toBe(1_700_000_000);
    now += 3_600_000;
    await enc.rotate({ algorithm: 'fernet' });
    const rotated = await enc.rewrap(token);
    expect(rotated).not.toBe(token);
    expect(enc.inspect(rotated).timestamp).toBe(ts);
    expect(await enc.fernet.decryptToString(rotated)).toBe(SMALL);
    // Under the new primary alone: the old key is not needed any more.
    const primary = enc.keys.decryptionKeys('fernet')[0]!;
    const { Fernet } = await import('@mesh/crypto-core');
    expect(utf8Decode(new Fernet(primary.material).decrypt(rotated))).toBe(SMALL);
    expect(
      await codeOf(
        Promise.resolve().then(() =>
          new Fernet(enc.keys.decryptionKeys('fernet')[1]!.material).decrypt(rotated),
        ),
      ),
    ).toBe('ERR_DECRYPTION_FAILED');
    expect(await enc.fernet.rotate(token)).toMatch(/^gAAAAA/);
  });

  it('rewrapMany reports each item in order, failures in their slot', async () => {
    const enc = await makeEncryption();
    const a = await enc.encrypt('a');
    const b = await enc.encryptToString('b', { context: 't7' });
    const c = await enc.fernet.encrypt('c');
    await enc.rotate();
    const results = await enc.rewrapMany(
      [a, { ciphertext: b, context: 't7' }, c, 'not base64 !', new Uint8Array(3)],
      { concurrency: 2 },
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    expect(results.slice(3).map((r) => (r.ok ? '' : r.error.code))).toEqual([
      'ERR_TOKEN_MALFORMED',
      'ERR_TOKEN_MALFORMED',
    ]);
    const texts = await Promise.all(
      results
        .slice(0, 3)
        .map((r, i) => (r.ok ? enc.decryptToString(r.ciphertext, i === 1 ? { context: 't7' } : {}) : '')),
    );
    expect(texts).toEqual(['a', 'b', 'c']);
  });
});

describe('inspect', () => {
  it('reports format, algorithm, key id and compressed flag without a key', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem } = await rsaPair();
    const { importRsaPublicKey, rsaKeyId } = await import('@mesh/crypto-core');
    const gcmId = enc.keys.keys().find((k) => k.state === 'primary' && k.algorithm === 'aes-256-gcm')!.id;
    expect(enc.inspect(await enc.encrypt(SMALL))).toEqual({
      format: 'envelope-v1',
      algorithm: 'aes-256-gcm',
      keyId: gcmId,
      compressed: false,
      padded: false,
    });
    const rsaId = rsaKeyId(importRsaPublicKey(publicKeyPem));
    expect(enc.inspect(await enc.encryptFor(publicKeyPem, SMALL))).toEqual({
      format: 'envelope-v1',
      algorithm: 'rsa-oaep-sha256',
      keyId: rsaId,
      compressed: false,
      padded: false,
    });
    expect(enc.inspect(await enc.encryptFor(publicKeyPem, JSON_4K))).toEqual({
      format: 'envelope-v1',
      algorithm: 'hybrid-rsa-oaep-aes-256-gcm',
      keyId: rsaId,
      compressed: false, // never compressed: an RSA envelope authenticates no sender
      padded: false,
    });
    const t = await enc.fernet.encrypt(SMALL);
    expect(enc.inspect(t)).toMatchObject({ format: 'fernet', algorithm: 'fernet', compressed: false });
    expect(Math.abs(enc.inspect(t).timestamp! - Date.now() / 1000)).toBeLessThan(5);
  });
});

describe('metrics', () => {
  it('records every operation, failure reason, compression and rotation in Prometheus', async () => {
    const registry = new Registry();
    const enc = await makeEncryption({ metrics: new PrometheusCollector({ registry }) });
    const sealed = await enc.encrypt(JSON_4K);
    await enc.decrypt(sealed);
    await codeOf(enc.decrypt(new Uint8Array([1, 1, 0])));
    const tampered = Uint8Array.from(sealed);
    tampered[20]! ^= 1;
    await codeOf(enc.decrypt(tampered));
    await enc.fernet.encrypt('x');
    await enc.rotate();
    await enc.rewrap(sealed);
    const text = await registry.metrics();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(series));
      return line === undefined ? undefined : Number(line.slice(series.length).trim());
    };
    expect(
      value('mesh_crypto_operations_total{operation="encrypt",algorithm="aes-256-gcm",result="success"}'),
    ).toBe(1);
    expect(
      value('mesh_crypto_operations_total{operation="decrypt",algorithm="aes-256-gcm",result="success"}'),
    ).toBe(1);
    expect(
      value('mesh_crypto_operations_total{operation="decrypt",algorithm="aes-256-gcm",result="failure"}'),
    ).toBe(2);
    expect(
      value('mesh_crypto_operations_total{operation="fernet_encrypt",algorithm="fernet",result="success"}'),
    ).toBe(1);
    expect(
      value('mesh_crypto_operations_total{operation="rewrap",algorithm="aes-256-gcm",result="success"}'),
    ).toBe(1);
    expect(value('mesh_crypto_failures_total{reason="malformed"}')).toBe(1);
    expect(value('mesh_crypto_failures_total{reason="authentication"}')).toBe(1);
    // enc.rotate() rotates both algorithms of the keyring: two rotation events.
    expect(value('mesh_key_rotations_total{trigger="manual"}')).toBe(2);
    expect(value('mesh_compression_ratio_count')).toBe(1);
    expect(text).toMatch(/mesh_key_encryptions_total\{key_id="\d+"\} 1/);
  });

  it('a collector that throws never fails an operation', async () => {
    const throwing = new Proxy({} as MetricsCollector, {
      get: () => () => {
        throw new Error('metrics backend down');
      },
    });
    const enc = await makeEncryption({ metrics: throwing });
    const sealed = await enc.encrypt(JSON_4K);
    expect(await enc.decryptToString(sealed)).toBe(JSON_4K);
    await enc.rotate();
    expect(await codeOf(enc.decrypt(new Uint8Array(2)))).toBe('ERR_TOKEN_MALFORMED');
  });
});

describe('errors', () => {
  it('every failure is a Mesh error with a stable code and no payload in its message', async () => {
    const enc = await makeEncryption();
    const secret = 'SECRET-PAYLOAD-1234';
    const sealed = await enc.encrypt(secret, { context: 'tenant-secret-context' });
    try {
      await enc.decrypt(sealed, { context: 'other' });
      expect.unreachable();
    } catch (error) {
      expect(isMeshError(error)).toBe(true);
      expect(String((error as Error).message)).not.toContain(secret);
      expect(String((error as Error).message)).not.toContain('tenant-secret-context');
    }
  });

  it('disabled features fail with ERR_UNSUPPORTED_ALGORITHM', async () => {
    const enc = await makeEncryption({ fernet: false, asymmetric: false });
    const { publicKeyPem } = await rsaPair();
    expect(await codeOf(enc.fernet.encrypt('x'))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    expect(await codeOf(enc.encryptFor(publicKeyPem, 'x'))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    expect(enc.keys.keys().map((k) => k.algorithm)).toEqual(['aes-256-gcm']);
  });
});

describe('inspect edge cases', () => {
  it('a streaming header with a flag other than padded set is malformed (streams define only bit1)', async () => {
    const { inspect } = await import('../src/index.js');
    const stream = Uint8Array.from([1, 3, 0, 0, 0, 0, 9, ...new Array(27).fill(0)]);
    expect(inspect(stream)).toEqual({
      format: 'envelope-v1',
      algorithm: 'stream-aes-256-gcm',
      keyId: 9,
      compressed: false,
      padded: false,
    });
    stream[2] = 2;
    expect(inspect(stream)).toMatchObject({ compressed: false, padded: true });
    stream[2] = 1;
    expect(() => inspect(stream)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_MALFORMED' }));
    expect(() => inspect(stream.subarray(0, 33))).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_MALFORMED' }),
    );
  });
});

describe('Fernet across nodes', () => {
  it('a token under a key this node has not seen yet decrypts after one store re-read', async () => {
    const { KeyManager, MemoryKeyStore } = await import('@mesh/keys');
    const store = new MemoryKeyStore();
    const kek = { key: new Uint8Array(32).fill(7) };
    // Node A does not watch the store: only the re-read on a miss can teach it about B's rotation.
    const keysA = await KeyManager.open({ store, kek, watch: false });
    const a = await makeEncryption({ keyManager: keysA });
    const b = await makeEncryption({ keyManager: await KeyManager.open({ store, kek, watch: false }) });
    await b.rotate({ algorithm: 'fernet' });
    const token = await b.fernet.encrypt('from node B');
    expect(await a.decryptToString(token)).toBe('from node B');
    const forged = Buffer.from(token, 'base64url');
    forged[forged.length - 1]! ^= 1; // bad MAC: no key opens it, even after the re-read
    expect(await codeOf(a.decrypt(forged))).toBe('ERR_DECRYPTION_FAILED');
    await keysA.close();
  });
});
