/**
 * Every bound crypto-core puts on attacker-controlled work, tested at the boundary: exactly at the limit is
 * accepted, one past it is refused with the typed error the SECURITY.md "Limits" table names. Cheap by
 * construction: where accepting the limit would mean real work (10,000,000 PBKDF2 iterations, a 4096-bit key
 * generation), a backend that delegates to the real node backend but stops at the expensive call shows the
 * check let the value through, and the refusal one past it happens before any work at all.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../src/backends/index.js';
import type { CryptoBackend } from '../src/backends/types.js';
import {
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  generateRsaKeyPair,
  HKDF_SHA256_MAX_LENGTH,
  hkdfSha256,
  importRsaPrivateKey,
  importRsaPublicKey,
  isMeshError,
  MAX_PBKDF2_ITERATIONS,
  MAX_PBKDF2_LENGTH,
  MAX_PEM_LENGTH,
  MIN_ACCEPTED_PBKDF2_ITERATIONS,
  PKCS8_MAX_ITERATIONS,
  PKCS8_MIN_ITERATIONS,
  pbkdf2Sha256,
  pemDecode,
  pemEncode,
  RSA_MAX_IMPORT_BITS,
  RSA_MIN_ENCRYPT_BITS,
  RSA_MIN_IMPORT_BITS,
  rsaOaepEncrypt,
} from '../src/index.js';
import { DER_NULL, derSmallInteger, derTlv, derUnsignedInteger, TAG } from '../src/pkcs8.js';

/** The typed code of what `fn` throws or rejects with, 'ok' when it succeeds; anything untyped fails. */
async function outcomeOf(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
    return { code: 'ok', message: '' };
  } catch (e) {
    if (e instanceof ReachedBackend) return { code: 'reached-backend', message: e.message };
    expect(isMeshError(e), `untyped error: ${String(e)}`).toBe(true);
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
}

/** Thrown by {@link stopAt} when the call got past every check to the expensive backend operation. */
class ReachedBackend extends Error {}

/** The real node backend, except that `method` records its arguments and stops instead of working. */
function stopAt(method: 'pbkdf2Sha256' | 'generateRsaKeyPair', seen: unknown[][]): CryptoBackend {
  return {
    ...nodeBackend,
    [method]: async (...args: unknown[]) => {
      seen.push(args);
      throw new ReachedBackend(`${method} reached`);
    },
  } as CryptoBackend;
}

const RSA_ENCRYPTION = derTlv(
  TAG.SEQUENCE,
  derTlv(TAG.OID, new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])),
  DER_NULL,
);

/** An odd modulus of exactly `bits` bits (all ones): the public-key checks look at size and parity only. */
function modulus(bits: number): Uint8Array {
  const n = new Uint8Array(Math.ceil(bits / 8)).fill(0xff);
  const spare = n.length * 8 - bits;
  n[0] = 0xff >>> spare;
  return n;
}

function spki(bits: number): Uint8Array {
  const rsaPublicKey = derTlv(
    TAG.SEQUENCE,
    derUnsignedInteger(modulus(bits)),
    derUnsignedInteger(new Uint8Array([1, 0, 1])),
  );
  return derTlv(TAG.SEQUENCE, RSA_ENCRYPTION, derTlv(TAG.BIT_STRING, new Uint8Array([0]), rsaPublicKey));
}

describe('PEM text length (MAX_PEM_LENGTH)', () => {
  /** One well-formed PEM block of exactly `length` characters. */
  function pemOfLength(length: number): string {
    const head = '-----BEGIN PUBLIC KEY-----\n';
    const tail = '\n-----END PUBLIC KEY-----\n';
    // Base64 body in 4-character groups, plus trailing newlines to reach the exact length (trimmed on read).
    const room = length - head.length - tail.length;
    const body = 'AAAA'.repeat(Math.floor(room / 4));
    return `${head}${body}${tail}${'\n'.repeat(room - body.length)}`;
  }

  it('reads a block of exactly MAX_PEM_LENGTH characters and refuses one character more before parsing', async () => {
    const atLimit = pemOfLength(MAX_PEM_LENGTH);
    expect(atLimit.length).toBe(MAX_PEM_LENGTH);
    const bodyChars = atLimit.split('\n')[1]!.length;
    expect(pemDecode(atLimit, 'PUBLIC KEY').der.length).toBe((bodyChars / 4) * 3);
    const past = await outcomeOf(() => pemDecode(`${atLimit}\n`));
    expect(past.code).toBe('ERR_INVALID_INPUT');
    expect(past.message).toContain(`longer than ${MAX_PEM_LENGTH}`);
    // The same bound holds for every PEM entry point (keys are parsed through pemDecode).
    expect((await outcomeOf(() => importRsaPublicKey(`${atLimit}\n`))).message).toContain('longer than');
    expect((await outcomeOf(() => importRsaPrivateKey(`${atLimit}\n`))).message).toContain('longer than');
    const decrypt = await outcomeOf(() => decryptPrivateKeyPem(`${atLimit}\n`, 'pw'));
    expect(decrypt.message).toContain('longer than');
  });
});

describe('RSA key sizes', () => {
  it(`imports moduli of ${RSA_MIN_IMPORT_BITS} to ${RSA_MAX_IMPORT_BITS} bits and refuses one bit less or more`, async () => {
    expect(importRsaPublicKey(spki(RSA_MIN_IMPORT_BITS)).bits).toBe(RSA_MIN_IMPORT_BITS);
    expect(importRsaPublicKey(spki(RSA_MAX_IMPORT_BITS)).bits).toBe(RSA_MAX_IMPORT_BITS);
    for (const bits of [RSA_MIN_IMPORT_BITS - 1, RSA_MAX_IMPORT_BITS + 1]) {
      const r = await outcomeOf(() => importRsaPublicKey(spki(bits)));
      expect(r.code, String(bits)).toBe('ERR_INVALID_INPUT');
      expect(r.message).toContain(`got ${bits}`);
      // PEM text takes the same path.
      const pem = pemEncode('PUBLIC KEY', spki(bits));
      expect((await outcomeOf(() => importRsaPublicKey(pem))).message).toContain(`got ${bits}`);
    }
  });

  it('refuses an oversized private key on its modulus, before any arithmetic on the other components', async () => {
    // Components that are not even numbers of the right size: only the modulus check can be what refuses it.
    const junk = derUnsignedInteger(new Uint8Array([3]));
    const rsaPrivateKey = derTlv(
      TAG.SEQUENCE,
      derSmallInteger(0),
      derUnsignedInteger(modulus(RSA_MAX_IMPORT_BITS + 1)),
      derUnsignedInteger(new Uint8Array([1, 0, 1])),
      junk,
      junk,
      junk,
      junk,
      junk,
      junk,
    );
    const pkcs8 = derTlv(
      TAG.SEQUENCE,
      derSmallInteger(0),
      RSA_ENCRYPTION,
      derTlv(TAG.OCTET_STRING, rsaPrivateKey),
    );
    const r = await outcomeOf(() => importRsaPrivateKey(pemEncode('PRIVATE KEY', pkcs8)));
    expect(r.code).toBe('ERR_INVALID_INPUT');
    expect(r.message).toContain(`got ${RSA_MAX_IMPORT_BITS + 1}`);
  });

  it(`encrypts to keys of ${RSA_MIN_ENCRYPT_BITS} bits and refuses one bit less`, async () => {
    expect(rsaOaepEncrypt(importRsaPublicKey(spki(RSA_MIN_ENCRYPT_BITS)), new Uint8Array(16)).length).toBe(
      RSA_MIN_ENCRYPT_BITS / 8,
    );
    const r = await outcomeOf(() =>
      rsaOaepEncrypt(importRsaPublicKey(spki(RSA_MIN_ENCRYPT_BITS - 1)), new Uint8Array(16)),
    );
    expect(r.code).toBe('ERR_INVALID_INPUT');
    expect(r.message).toContain(`under ${RSA_MIN_ENCRYPT_BITS} bits`);
  });

  it('generates 2048 (real) to 4096 bits and refuses sizes outside, before any generation', async () => {
    const { privateKeyPem } = await generateRsaKeyPair(2048);
    expect(importRsaPrivateKey(privateKeyPem).bits).toBe(2048);
    const seen: unknown[][] = [];
    expect((await outcomeOf(() => generateRsaKeyPair(4096, stopAt('generateRsaKeyPair', seen)))).code).toBe(
      'reached-backend',
    );
    expect(seen).toEqual([[4096]]);
    for (const bits of [1024, 2047, 4097, 8192]) {
      const r = await outcomeOf(() => generateRsaKeyPair(bits as 2048, stopAt('generateRsaKeyPair', seen)));
      expect(r.code, String(bits)).toBe('ERR_INVALID_INPUT');
    }
    expect(seen).toHaveLength(1);
  });
});

describe('PBKDF2 iterations and lengths', () => {
  it('pbkdf2Sha256 accepts up to MAX_PBKDF2_ITERATIONS by default and refuses one more before deriving', async () => {
    const seen: unknown[][] = [];
    const backend = stopAt('pbkdf2Sha256', seen);
    const at = await outcomeOf(() => pbkdf2Sha256('pw', 'salt', MAX_PBKDF2_ITERATIONS, 32, { backend }));
    expect(at.code).toBe('ERR_KEY_DERIVATION'); // the backend's stop, wrapped as a derivation failure
    expect(seen.map((args) => args[2])).toEqual([MAX_PBKDF2_ITERATIONS]);
    const past = await outcomeOf(() =>
      pbkdf2Sha256('pw', 'salt', MAX_PBKDF2_ITERATIONS + 1, 32, { backend }),
    );
    expect(past.code).toBe('ERR_KEY_DERIVATION');
    expect(past.message).toContain(`[1, ${MAX_PBKDF2_ITERATIONS}]`);
    expect(seen).toHaveLength(1);
    // A caller's own cap, exactly at and one past (real derivations, cheap counts).
    expect((await pbkdf2Sha256('pw', 'salt', 2_000, 32, { maxIterations: 2_000 })).length).toBe(32);
    expect(
      (await outcomeOf(() => pbkdf2Sha256('pw', 'salt', 2_001, 32, { maxIterations: 2_000 }))).code,
    ).toBe('ERR_KEY_DERIVATION');
  });

  it(`pbkdf2Sha256 derives up to MAX_PBKDF2_LENGTH (${MAX_PBKDF2_LENGTH}) bytes and refuses one more`, async () => {
    expect((await pbkdf2Sha256('pw', 'salt', 1, MAX_PBKDF2_LENGTH)).length).toBe(MAX_PBKDF2_LENGTH);
    expect((await outcomeOf(() => pbkdf2Sha256('pw', 'salt', 1, MAX_PBKDF2_LENGTH + 1))).code).toBe(
      'ERR_KEY_DERIVATION',
    );
  });

  it(`hkdfSha256 derives up to HKDF_SHA256_MAX_LENGTH (${HKDF_SHA256_MAX_LENGTH}) bytes and refuses one more`, async () => {
    const ikm = new Uint8Array(32).fill(7);
    expect(hkdfSha256(ikm, '', 'info', HKDF_SHA256_MAX_LENGTH).length).toBe(HKDF_SHA256_MAX_LENGTH);
    expect((await outcomeOf(() => hkdfSha256(ikm, '', 'info', HKDF_SHA256_MAX_LENGTH + 1))).code).toBe(
      'ERR_KEY_DERIVATION',
    );
  });
});

describe('encrypted PKCS#8: iterations read from the file', () => {
  const { privateKey: privateKeyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const PASS = 'correct horse battery staple';

  /** An encrypted PKCS#8 structure claiming `iterations` (ciphertext is junk: the bound is checked first). */
  function claiming(iterations: number): string {
    const oid = (bytes: number[]) => derTlv(TAG.OID, new Uint8Array(bytes));
    return pemEncode(
      'ENCRYPTED PRIVATE KEY',
      derTlv(
        TAG.SEQUENCE,
        derTlv(
          TAG.SEQUENCE,
          oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d]),
          derTlv(
            TAG.SEQUENCE,
            derTlv(
              TAG.SEQUENCE,
              oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c]),
              derTlv(
                TAG.SEQUENCE,
                derTlv(TAG.OCTET_STRING, new Uint8Array(16).fill(1)),
                derSmallInteger(iterations),
                derTlv(TAG.SEQUENCE, oid([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09]), DER_NULL),
              ),
            ),
            derTlv(
              TAG.SEQUENCE,
              oid([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a]),
              derTlv(TAG.OCTET_STRING, new Uint8Array(16).fill(2)),
            ),
          ),
        ),
        derTlv(TAG.OCTET_STRING, new Uint8Array(32)),
      ),
    );
  }

  it(`reads files of ${PKCS8_MIN_ITERATIONS} iterations and refuses one fewer before deriving`, async () => {
    expect(PKCS8_MIN_ITERATIONS).toBe(MIN_ACCEPTED_PBKDF2_ITERATIONS);
    const sealed = await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: PKCS8_MIN_ITERATIONS });
    expect(await decryptPrivateKeyPem(sealed, PASS)).toBe(privateKeyPem);
    const seen: unknown[][] = [];
    const backend = stopAt('pbkdf2Sha256', seen);
    // At the floor the structure reaches the derivation; one below it never does.
    expect(
      (await outcomeOf(() => decryptPrivateKeyPem(claiming(PKCS8_MIN_ITERATIONS), PASS, { backend }))).code,
    ).toBe('reached-backend');
    const below = await outcomeOf(() =>
      decryptPrivateKeyPem(claiming(PKCS8_MIN_ITERATIONS - 1), PASS, { backend }),
    );
    expect(below.code).toBe('ERR_KEY_DERIVATION');
    expect(seen.map((args) => args[2])).toEqual([PKCS8_MIN_ITERATIONS]);
  });

  it(`reads files of up to PKCS8_MAX_ITERATIONS (${PKCS8_MAX_ITERATIONS}) by default and refuses one more`, async () => {
    expect(PKCS8_MAX_ITERATIONS).toBe(MAX_PBKDF2_ITERATIONS);
    const seen: unknown[][] = [];
    const backend = stopAt('pbkdf2Sha256', seen);
    expect(
      (await outcomeOf(() => decryptPrivateKeyPem(claiming(PKCS8_MAX_ITERATIONS), PASS, { backend }))).code,
    ).toBe('reached-backend');
    const past = await outcomeOf(() =>
      decryptPrivateKeyPem(claiming(PKCS8_MAX_ITERATIONS + 1), PASS, { backend }),
    );
    expect(past.code).toBe('ERR_KEY_DERIVATION');
    expect(seen.map((args) => args[2])).toEqual([PKCS8_MAX_ITERATIONS]);
    // A caller's own cap, with real derivations: exactly at decrypts, one past is refused.
    const sealed = await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: 1_500 });
    expect(await decryptPrivateKeyPem(sealed, PASS, { maxIterations: 1_500 })).toBe(privateKeyPem);
    expect((await outcomeOf(() => decryptPrivateKeyPem(sealed, PASS, { maxIterations: 1_499 }))).code).toBe(
      'ERR_KEY_DERIVATION',
    );
  });

  it(`writes ${PKCS8_MIN_ITERATIONS}..${PKCS8_MAX_ITERATIONS} iterations and refuses one outside, before deriving`, async () => {
    const seen: unknown[][] = [];
    const backend = stopAt('pbkdf2Sha256', seen);
    for (const iterations of [PKCS8_MIN_ITERATIONS, PKCS8_MAX_ITERATIONS]) {
      const r = await outcomeOf(() => encryptPrivateKeyPem(privateKeyPem, PASS, { iterations, backend }));
      expect(r.code, String(iterations)).toBe('reached-backend');
    }
    for (const iterations of [PKCS8_MIN_ITERATIONS - 1, PKCS8_MAX_ITERATIONS + 1]) {
      const r = await outcomeOf(() => encryptPrivateKeyPem(privateKeyPem, PASS, { iterations, backend }));
      expect(r.code, String(iterations)).toBe('ERR_KEY_DERIVATION');
    }
    expect(seen.map((args) => args[2])).toEqual([PKCS8_MIN_ITERATIONS, PKCS8_MAX_ITERATIONS]);
  });
});
