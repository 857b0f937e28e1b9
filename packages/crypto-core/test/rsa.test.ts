/**
 * RSA wrappers (`rsa.ts`) on every backend: key generation, import, OAEP round trips and size limits,
 * one error for every decryption failure, key ids; plus the cross-backend property test.
 */
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  createPrivateKey as nodeCreatePrivateKey,
  publicEncrypt,
} from 'node:crypto';
import { inspect } from 'node:util';
import { rsaOaepMiscVectors, rsaOaepVectors } from '@mesh/test-vectors';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeBackend, nodeBackend } from '../src/backends/index.js';
import type { CryptoBackend } from '../src/backends/types.js';
import { DECRYPTION_FAILED_MESSAGE, DecryptionError, isMeshError, MeshCryptoError } from '../src/errors.js';
import { pemDecode, pemEncode } from '../src/pem.js';
import {
  generateRsaKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  type RsaModulusBits,
  rsaKeyId,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaOaepMaxPlaintextLength,
} from '../src/rsa.js';

const backends: CryptoBackend[] = [nodeBackend, forgeBackend];

/**
 * Keys from the Wycheproof files (made outside this code base, no key generation cost in the suite), with the
 * public half exported by OpenSSL itself.
 */
const keys = new Map<RsaModulusBits, { publicPem: string; privatePem: string }>();
beforeAll(() => {
  for (const bits of [2048, 3072, 4096] as const) {
    const group = rsaOaepVectors(bits).testGroups[0];
    if (group === undefined) throw new Error('no Wycheproof group');
    const publicPem = createPublicKey(group.privateKeyPem).export({ type: 'spki', format: 'pem' }) as string;
    keys.set(bits, { publicPem, privatePem: group.privateKeyPem });
  }
});
const keyPair = (bits: RsaModulusBits) => keys.get(bits) as { publicPem: string; privatePem: string };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isMeshError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('rsaOaepMaxPlaintextLength (RFC 8017 §7.1.1: k - 2*32 - 2)', () => {
  it('matches the spec formula at every supported size', () => {
    expect(rsaOaepMaxPlaintextLength(2048)).toBe(256 - 66);
    expect(rsaOaepMaxPlaintextLength(3072)).toBe(384 - 66);
    expect(rsaOaepMaxPlaintextLength(4096)).toBe(512 - 66);
    expect(rsaOaepMaxPlaintextLength(2047)).toBe(256 - 66); // k = ceil(bits / 8)
    expect(rsaOaepMaxPlaintextLength(2048)).toBe(190); // docs/DESIGN.md §4's figure
  });
  it('rejects sizes outside the importable range', () => {
    for (const bits of [0, 512, 1023, 16385, 2048.5, Number.NaN]) {
      expect(codeOf(() => rsaOaepMaxPlaintextLength(bits))).toBe('ERR_INVALID_INPUT');
    }
  });
});

describe.each(backends)('RSA-OAEP on $name', (backend) => {
  it.each([2048, 3072, 4096] as const)(
    'round-trips at %i bits, from the empty message to the maximum',
    (bits) => {
      const { publicPem, privatePem } = keyPair(bits);
      const priv = importRsaPrivateKey(privatePem);
      const max = rsaOaepMaxPlaintextLength(bits);
      for (const length of [0, 1, max]) {
        const message = nodeBackend.randomBytes(length);
        const ct = rsaOaepEncrypt(publicPem, message, { backend });
        expect(ct.length).toBe(bits / 8);
        expect(rsaOaepDecrypt(priv, ct, { backend })).toEqual(message);
      }
      // One more than the maximum: typed error, nothing encrypted.
      expect(codeOf(() => rsaOaepEncrypt(publicPem, new Uint8Array(max + 1), { backend }))).toBe(
        'ERR_PLAINTEXT_TOO_LARGE',
      );
    },
  );

  it('is randomised: the same message encrypts differently each time', () => {
    const { publicPem } = keyPair(2048);
    const a = rsaOaepEncrypt(publicPem, 'same', { backend });
    const b = rsaOaepEncrypt(publicPem, 'same', { backend });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('binds the label: string and byte labels are the same, a different label fails', () => {
    const { publicPem, privatePem } = keyPair(2048);
    const ct = rsaOaepEncrypt(publicPem, 'data key', { label: 'orders', backend });
    expect(
      Buffer.from(rsaOaepDecrypt(privatePem, ct, { label: Buffer.from('orders'), backend })).toString(),
    ).toBe('data key');
    expect(() => rsaOaepDecrypt(privatePem, ct, { label: 'payments', backend })).toThrow(DecryptionError);
    expect(() => rsaOaepDecrypt(privatePem, ct, { backend })).toThrow(DecryptionError);
    // An empty label is the absent label (RFC 8017 §7.1.1: L defaults to the empty string).
    const noLabel = rsaOaepEncrypt(publicPem, 'x', { label: new Uint8Array(0), backend });
    expect(Buffer.from(rsaOaepDecrypt(privatePem, noLabel, { backend })).toString()).toBe('x');
  });

  it('throws the same DecryptionError for every kind of failure', () => {
    const { publicPem, privatePem } = keyPair(2048);
    const other = importRsaPrivateKey(keyPair(3072).privatePem);
    const priv = importRsaPrivateKey(privatePem);
    const ct = rsaOaepEncrypt(publicPem, 'secret', { backend });
    const n = pemToModulus(publicPem);
    const failures: Array<[string, () => unknown]> = [
      ['flipped bit', () => rsaOaepDecrypt(priv, flip(ct, 100), { backend })],
      ['first byte flipped', () => rsaOaepDecrypt(priv, flip(ct, 0), { backend })],
      ['truncated', () => rsaOaepDecrypt(priv, ct.subarray(1), { backend })],
      ['extended', () => rsaOaepDecrypt(priv, Buffer.concat([ct, Buffer.alloc(1)]), { backend })],
      ['empty', () => rsaOaepDecrypt(priv, new Uint8Array(0), { backend })],
      ['all zero', () => rsaOaepDecrypt(priv, new Uint8Array(256), { backend })],
      ['equal to n', () => rsaOaepDecrypt(priv, n, { backend })],
      ['all 0xff (> n)', () => rsaOaepDecrypt(priv, new Uint8Array(256).fill(0xff), { backend })],
      ['wrong key', () => rsaOaepDecrypt(other, Buffer.concat([ct, Buffer.alloc(128)]), { backend })],
      ['wrong label', () => rsaOaepDecrypt(priv, ct, { label: 'x', backend })],
    ];
    for (const [what, fn] of failures) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(DecryptionError);
      expect((error as DecryptionError).code, what).toBe('ERR_DECRYPTION_FAILED');
      expect((error as DecryptionError).message, what).toBe(DECRYPTION_FAILED_MESSAGE);
      expect((error as DecryptionError).cause, what).toBeUndefined(); // no reason leaks through `cause`
    }
  });

  it('decrypts with a key from another 2048-bit pair only when it is the right one', () => {
    const a = keyPair(2048);
    // Another 2048-bit key from the misc file (several of its groups reuse a's key, so compare moduli).
    const mine = rsaOaepVectors(2048).testGroups[0]?.privateKey.modulus;
    const other = rsaOaepMiscVectors().testGroups.find(
      (g) => g.keySize === 2048 && g.privateKey.modulus !== mine,
    );
    if (other === undefined) throw new Error('no second 2048-bit key');
    const b = { privateKey: other.privateKeyPem };
    const ct = rsaOaepEncrypt(a.publicPem, 'for a', { backend });
    expect(() => rsaOaepDecrypt(b.privateKey, ct, { backend })).toThrow(DecryptionError);
    expect(Buffer.from(rsaOaepDecrypt(a.privatePem, ct, { backend })).toString()).toBe('for a');
  });

  it('refuses to encrypt to keys under 2048 bits but still decrypts with them', () => {
    const small = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(importRsaPublicKey(small.publicKey).bits).toBe(1024);
    expect(codeOf(() => rsaOaepEncrypt(small.publicKey, 'x', { backend }))).toBe('ERR_INVALID_INPUT');
    // A 1024-bit ciphertext made by OpenSSL itself still opens.
    const ct = publicEncrypt(
      { key: small.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from('legacy'),
    );
    expect(Buffer.from(rsaOaepDecrypt(small.privateKey, ct, { backend })).toString()).toBe('legacy');
  });
});

describe('cross-backend property (fast-check)', () => {
  it.each([2048, 3072] as const)('each backend decrypts the other one’s ciphertexts at %i bits', (bits) => {
    const { publicPem, privatePem } = keyPair(bits);
    const pub = importRsaPublicKey(publicPem);
    const priv = importRsaPrivateKey(privatePem);
    const max = rsaOaepMaxPlaintextLength(bits);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: max }),
        fc.option(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 32 })), {
          nil: undefined,
        }),
        (message, label) => {
          const opts = label === undefined ? {} : { label };
          const fromNode = rsaOaepEncrypt(pub, message, { ...opts, backend: nodeBackend });
          const fromForge = rsaOaepEncrypt(pub, message, { ...opts, backend: forgeBackend });
          expect(rsaOaepDecrypt(priv, fromNode, { ...opts, backend: forgeBackend })).toEqual(message);
          expect(rsaOaepDecrypt(priv, fromForge, { ...opts, backend: nodeBackend })).toEqual(message);
        },
      ),
      { numRuns: bits === 2048 ? 30 : 10 },
    );
  });
});

describe('key import', () => {
  it('re-encodes SPKI canonically and agrees with OpenSSL on the DER', () => {
    const { publicPem } = keyPair(3072);
    const pub = importRsaPublicKey(publicPem);
    expect(pub.bits).toBe(3072);
    expect(pub.pem).toBe(publicPem); // OpenSSL's PEM is already canonical
    expect(Buffer.from(pub.spkiDer).equals(Buffer.from(pemDecode(publicPem, 'PUBLIC KEY').der))).toBe(true);
    expect(importRsaPublicKey(pub.spkiDer).pem).toBe(publicPem); // DER input
    expect(importRsaPublicKey(publicPem)).toBe(pub); // PEM text is cached: same object, no re-parse
  });

  it('accepts PKCS#8 PEM, PKCS#8 DER and PKCS#1 PEM for the same private key', () => {
    const { privatePem, publicPem } = keyPair(2048);
    const priv = importRsaPrivateKey(privatePem);
    expect(priv.bits).toBe(2048);
    expect(priv.publicKey.pem).toBe(publicPem);
    expect(pemEncode('PRIVATE KEY', priv.pkcs8Der)).toBe(privatePem);
    expect(importRsaPrivateKey(priv.pkcs8Der).pkcs8Der).toEqual(priv.pkcs8Der);
    const pkcs1 = nodeCreatePrivateKey(privatePem).export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    expect(importRsaPrivateKey(pkcs1).pkcs8Der).toEqual(priv.pkcs8Der);
  });

  it('keeps private key material out of logs and JSON', () => {
    const priv = importRsaPrivateKey(keyPair(2048).privatePem);
    expect(priv.pkcs8Der.length).toBeGreaterThan(1000);
    expect(JSON.stringify(priv)).not.toContain('pkcs8Der');
    expect(inspect(priv, { depth: 5 })).not.toContain('pkcs8Der');
    expect(Object.isFrozen(priv)).toBe(true);
  });

  it('rejects non-RSA keys with ERR_UNSUPPORTED_ALGORITHM', () => {
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(codeOf(() => importRsaPublicKey(ec.publicKey))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    expect(codeOf(() => importRsaPrivateKey(ec.privateKey))).toBe('ERR_UNSUPPORTED_ALGORITHM');
    const pss = generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(codeOf(() => importRsaPublicKey(pss.publicKey))).toBe('ERR_UNSUPPORTED_ALGORITHM');
  });

  it('rejects malformed, wrongly labelled, encrypted and inconsistent keys with typed errors', () => {
    const { privatePem, publicPem } = keyPair(2048);
    const der = pemDecode(privatePem, 'PRIVATE KEY').der;
    expect(codeOf(() => importRsaPublicKey(privatePem))).toBe('ERR_INVALID_INPUT'); // wrong label
    expect(codeOf(() => importRsaPrivateKey(publicPem))).toBe('ERR_INVALID_INPUT');
    expect(codeOf(() => importRsaPrivateKey(der.subarray(0, der.length - 1)))).toBe('ERR_INVALID_INPUT');
    expect(codeOf(() => importRsaPrivateKey(Buffer.concat([der, Buffer.alloc(1)])))).toBe(
      'ERR_INVALID_INPUT',
    );
    expect(codeOf(() => importRsaPublicKey(new Uint8Array([0x30, 0x80, 0, 0])))).toBe('ERR_INVALID_INPUT'); // BER
    expect(codeOf(() => importRsaPrivateKey(pemEncode('ENCRYPTED PRIVATE KEY', der)))).toBe(
      'ERR_INVALID_INPUT',
    );
    expect(codeOf(() => importRsaPublicKey(42 as unknown as string))).toBe('ERR_INVALID_INPUT');

    // Change one byte of the private exponent d: the structure still parses, the RFC 8017 §3.2 check fails.
    const jwk = nodeCreatePrivateKey(privatePem).export({ format: 'jwk' });
    const d = Buffer.from(jwk.d as string, 'base64url');
    const at = Buffer.from(der).indexOf(d);
    expect(at).toBeGreaterThan(0);
    const broken = Uint8Array.from(der);
    broken[at + 10] = (broken[at + 10] as number) ^ 1;
    expect(codeOf(() => importRsaPrivateKey(broken))).toBe('ERR_INVALID_INPUT');
  });

  it('re-validates look-alike key objects instead of trusting their fields', () => {
    const { publicPem, privatePem } = keyPair(2048);
    const real = importRsaPublicKey(publicPem);
    const fake = { bits: 4096, spkiDer: real.spkiDer, pem: 'ignored' };
    // With bits taken at face value the 446-byte limit would apply; the real one is 190.
    expect(codeOf(() => rsaOaepEncrypt(fake, new Uint8Array(191)))).toBe('ERR_PLAINTEXT_TOO_LARGE');
    const ct = rsaOaepEncrypt(fake, 'ok');
    expect(Buffer.from(rsaOaepDecrypt(privatePem, ct)).toString()).toBe('ok');
    expect(codeOf(() => rsaOaepEncrypt({ bits: 2048 } as never, 'x'))).toBe('ERR_INVALID_INPUT');
  });
});

describe('rsaKeyId (docs/DESIGN.md §3: first 4 bytes of SHA-256 over SPKI DER, big-endian)', () => {
  it('matches an independent SHA-256 of the DER and is stable across PEM, DER and object input', () => {
    for (const bits of [2048, 3072, 4096] as const) {
      const { publicPem } = keyPair(bits);
      const der = pemDecode(publicPem, 'PUBLIC KEY').der;
      const expected = createHash('sha256').update(der).digest().readUInt32BE(0);
      expect(rsaKeyId(publicPem)).toBe(expected);
      expect(rsaKeyId(importRsaPublicKey(der))).toBe(expected);
      expect(rsaKeyId(importRsaPublicKey(der), forgeBackend)).toBe(expected);
    }
  });
});

describe.each(backends)('generateRsaKeyPair on $name', (backend) => {
  const sizes: RsaModulusBits[] = backend.name === 'node' ? [2048, 3072, 4096] : [2048];
  it.each(sizes)(
    'makes a %i-bit pair that OpenSSL reads and that works, without freezing the loop',
    async (bits) => {
      let turns = 0;
      const ticker = setInterval(() => turns++, 1);
      const pair = await generateRsaKeyPair(bits, backend);
      clearInterval(ticker);
      // The loop kept turning while the key was generated (thread pool for node, slices for forge).
      expect(turns).toBeGreaterThan(0);

      expect(pair.publicKeyPem).toMatch(
        /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/,
      );
      expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const openssl = nodeCreatePrivateKey(pair.privateKeyPem);
      expect(openssl.asymmetricKeyDetails?.modulusLength).toBe(bits);
      expect(openssl.asymmetricKeyDetails?.publicExponent).toBe(65537n);
      const priv = importRsaPrivateKey(pair.privateKeyPem);
      expect(priv.publicKey.pem).toBe(pair.publicKeyPem);
      const ct = rsaOaepEncrypt(pair.publicKeyPem, 'fresh', { backend: nodeBackend });
      expect(Buffer.from(rsaOaepDecrypt(priv, ct, { backend: nodeBackend })).toString()).toBe('fresh');
    },
  );

  it('rejects other sizes with ERR_INVALID_INPUT', async () => {
    for (const bits of [1024, 2047, 8192]) {
      await expect(generateRsaKeyPair(bits as RsaModulusBits, backend)).rejects.toMatchObject({
        code: 'ERR_INVALID_INPUT',
      });
    }
  });
});

describe('errors', () => {
  it('are MeshCryptoErrors', () => {
    expect(() => rsaOaepEncrypt(keyPair(2048).publicPem, new Uint8Array(500))).toThrow(MeshCryptoError);
  });
});

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = (copy[index] as number) ^ 0x01;
  return copy;
}

function pemToModulus(publicPem: string): Uint8Array {
  return Buffer.from(createPublicKey(publicPem).export({ format: 'jwk' }).n as string, 'base64url');
}
