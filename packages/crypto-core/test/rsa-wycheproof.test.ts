/**
 * Wycheproof RSA-OAEP decryption vectors (SHA-256, MGF1-SHA256) on every backend: the three per-size files
 * and the SHA-256/MGF1-SHA256 groups of `rsa_oaep_misc_test.json` (1024 to 8192 bits).
 *
 * valid: exact plaintext; invalid: `DecryptionError`; acceptable: either, but both backends must agree, and
 * the count of each outcome is logged.
 */
import {
  eachTest,
  hexToBytes,
  type RsaOaepGroup,
  type RsaOaepTest,
  rsaOaepMiscGroups,
  rsaOaepVectors,
} from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import { forgeBackend, nodeBackend } from '../src/backends/index.js';
import type { CryptoBackend } from '../src/backends/types.js';
import { DecryptionError } from '../src/errors.js';
import { importRsaPrivateKey, type RsaPrivateKey, rsaOaepDecrypt } from '../src/rsa.js';

interface Source {
  readonly file: string;
  readonly groups: readonly RsaOaepGroup[];
  /** Applicable tests, counted by hand from the file (see data/README.md); the run must match. */
  readonly expected: number;
}

const sources: Source[] = [
  ...([2048, 3072, 4096] as const).map((bits) => ({
    file: `rsa_oaep_${bits}_sha256_mgf1sha256_test.json`,
    groups: rsaOaepVectors(bits).testGroups.filter((g) => g.sha === 'SHA-256' && g.mgfSha === 'SHA-256'),
    expected: 37,
  })),
  // 3 tests at each of 1024, 1536, 2048, 3072, 4096, 8192 bits, plus 9 at 2688 and 7 at 4032.
  {
    file: 'rsa_oaep_misc_test.json',
    groups: rsaOaepMiscGroups({ sha: 'SHA-256', mgfSha: 'SHA-256' }),
    expected: 34,
  },
];

/** Outcome per `file#tcId`, per backend, for the acceptable-vector consistency check. */
const outcomes = new Map<string, Map<string, 'decrypted' | 'rejected'>>();

function keyOf(group: RsaOaepGroup, cache: Map<RsaOaepGroup, RsaPrivateKey>): RsaPrivateKey {
  let key = cache.get(group);
  if (key === undefined) {
    key = importRsaPrivateKey(group.privateKeyPem);
    // The PEM and the PKCS#8 DER given beside it are the same key.
    expect(importRsaPrivateKey(hexToBytes(group.privateKeyPkcs8)).pkcs8Der).toEqual(key.pkcs8Der);
    expect(key.bits).toBe(group.keySize);
    cache.set(group, key);
  }
  return key;
}

function run(backend: CryptoBackend, key: RsaPrivateKey, test: RsaOaepTest): Uint8Array | DecryptionError {
  try {
    return rsaOaepDecrypt(key, hexToBytes(test.ct), { label: hexToBytes(test.label), backend });
  } catch (e) {
    if (e instanceof DecryptionError) return e;
    throw e;
  }
}

describe.each([nodeBackend, forgeBackend])('Wycheproof RSA-OAEP-SHA256 on $name', (backend) => {
  const keys = new Map<RsaOaepGroup, RsaPrivateKey>();

  it.each(sources)('$file', ({ file, groups, expected }) => {
    const counts = { valid: 0, invalid: 0, acceptableDecrypted: 0, acceptableRejected: 0 };
    for (const { group, test } of eachTest(groups)) {
      const key = keyOf(group, keys);
      const result = run(backend, key, test);
      const where = `${file} tcId ${test.tcId} (${test.comment})`;
      if (test.result === 'valid') {
        expect(result, where).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(result as Uint8Array).toString('hex'), where).toBe(test.msg);
        counts.valid++;
      } else if (test.result === 'invalid') {
        expect(result, where).toBeInstanceOf(DecryptionError);
        counts.invalid++;
      } else {
        if (result instanceof Uint8Array) {
          // If we accept it, it must still be the right plaintext.
          expect(Buffer.from(result).toString('hex'), where).toBe(test.msg);
          counts.acceptableDecrypted++;
        } else {
          counts.acceptableRejected++;
        }
        const id = `${file}#${test.tcId}`;
        const byBackend = outcomes.get(id) ?? new Map();
        byBackend.set(backend.name, result instanceof Uint8Array ? 'decrypted' : 'rejected');
        outcomes.set(id, byBackend);
      }
    }
    const total = counts.valid + counts.invalid + counts.acceptableDecrypted + counts.acceptableRejected;
    console.log(
      `${total} vectors ran for ${file} on ${backend.name} (valid ${counts.valid}, invalid ${counts.invalid}, ` +
        `acceptable decrypted ${counts.acceptableDecrypted}, acceptable rejected ${counts.acceptableRejected})`,
    );
    expect(total).toBe(expected);
  });
});

describe('Wycheproof RSA-OAEP acceptable vectors', () => {
  it('get the same outcome on both backends', () => {
    // Runs after both backend suites (vitest runs a file's tests in order).
    expect(outcomes.size).toBe(2); // SmallIntegerCiphertext at 2688 and 4032 bits
    for (const [id, byBackend] of outcomes) {
      expect(byBackend.size, id).toBe(2);
      expect(byBackend.get('forge'), id).toBe(byBackend.get('node'));
    }
  });
});
