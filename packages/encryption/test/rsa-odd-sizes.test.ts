/**
 * RSA keys whose modulus is not a multiple of 8 bits (2050, 3070) are valid and OpenSSL makes them. Their
 * modulus length in bytes is rounded up (RFC 8017 §2: k = ceil(bits / 8)); rounding down made every
 * `decryptWith` fail, even on envelopes the library had just sealed. Keys come from `openssl genpkey`, and
 * OpenSSL is the peer both ways: it opens our 0x04 blocks and 0x02 wrapped keys, and seals blocks we open.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aesGcmEncrypt, importRsaPrivateKey, randomBytes, rsaKeyId } from '@mesh/crypto-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEncryption } from './support/setup.js';

const OAEP = [
  '-pkeyopt',
  'rsa_padding_mode:oaep',
  '-pkeyopt',
  'rsa_oaep_md:sha256',
  '-pkeyopt',
  'rsa_mgf1_md:sha256',
];

function openssl(args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync('openssl', args, { input });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.toString()}`);
  }
  return r.stdout;
}

const label = (bytes: Uint8Array) => ['-pkeyopt', `rsa_oaep_label:${Buffer.from(bytes).toString('hex')}`];
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

interface Pair {
  bits: number;
  priv: string; // path
  pub: string; // path
  privateKeyPem: string;
  publicKeyPem: string;
}

let dir: string;
const pairs: Pair[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-rsa-odd-'));
  for (const bits of [2050, 3070]) {
    const priv = join(dir, `k${bits}.pem`);
    const pub = join(dir, `k${bits}.pub.pem`);
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', priv]);
    openssl(['pkey', '-in', priv, '-pubout', '-out', pub]);
    pairs.push({
      bits,
      priv,
      pub,
      privateKeyPem: readFileSync(priv, 'utf8'),
      publicKeyPem: readFileSync(pub, 'utf8'),
    });
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function header(algorithm: number, keyId: number): Uint8Array {
  return Uint8Array.of(
    1,
    algorithm,
    0,
    keyId >>> 24,
    (keyId >>> 16) & 0xff,
    (keyId >>> 8) & 0xff,
    keyId & 0xff,
  );
}

describe('RSA keys of a size that is not a multiple of 8 (openssl genpkey 2050, 3070)', () => {
  it('encryptFor / decryptWith round-trip, direct and hybrid', async () => {
    const enc = await makeEncryption();
    for (const p of pairs) {
      expect(importRsaPrivateKey(p.privateKeyPem).bits).toBe(p.bits);
      for (const [data, algorithm] of [
        ['short secret', 'rsa-oaep-sha256'],
        ['y'.repeat(600), 'hybrid-rsa-oaep-aes-256-gcm'],
      ] as const) {
        const sealed = await enc.encryptFor(p.publicKeyPem, data, { context: 'ctx' });
        expect(enc.inspect(sealed).algorithm).toBe(algorithm);
        const opened = await enc.decryptWith(p.privateKeyPem, sealed, { context: 'ctx' });
        expect(new TextDecoder().decode(opened), `${p.bits} ${algorithm}`).toBe(data);
      }
    }
  });

  it('openssl opens what we seal (0x04 block, 0x02 wrapped key)', async () => {
    const enc = await makeEncryption();
    for (const p of pairs) {
      const k = Math.ceil(p.bits / 8);
      const direct = await enc.encryptFor(p.publicKeyPem, 'for openssl', { context: 'ctx' });
      expect(direct.length).toBe(7 + k);
      const aad = concat(direct.subarray(0, 7), new TextEncoder().encode('ctx'));
      const plain = openssl(
        ['pkeyutl', '-decrypt', '-inkey', p.priv, ...OAEP, ...label(aad)],
        direct.subarray(7),
      );
      expect(plain.toString()).toBe('for openssl');
      const hybrid = await enc.encryptFor(p.publicKeyPem, 'z'.repeat(600));
      const w = (hybrid[7]! << 8) | hybrid[8]!;
      expect(w).toBe(k);
      const dataKey = openssl(['pkeyutl', '-decrypt', '-inkey', p.priv, ...OAEP], hybrid.subarray(9, 9 + w));
      expect(dataKey.length).toBe(32);
    }
  });

  it('we open what openssl seals (0x04 block, 0x02 wrapped key)', async () => {
    const enc = await makeEncryption();
    for (const p of pairs) {
      const keyId = rsaKeyId(p.publicKeyPem);
      const h4 = header(0x04, keyId);
      const block = openssl(
        ['pkeyutl', '-encrypt', '-pubin', '-inkey', p.pub, ...OAEP, ...label(h4)],
        new TextEncoder().encode('sealed by openssl'),
      );
      const opened = await enc.decryptWith(p.privateKeyPem, concat(h4, block));
      expect(new TextDecoder().decode(opened)).toBe('sealed by openssl');

      const h2 = header(0x02, keyId);
      const dataKey = randomBytes(32);
      const wrapped = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', p.pub, ...OAEP], dataKey);
      const nonce = randomBytes(12);
      const body = aesGcmEncrypt(dataKey, nonce, 'hybrid by openssl', h2);
      const envelope = concat(
        h2,
        Uint8Array.of(wrapped.length >> 8, wrapped.length & 0xff),
        wrapped,
        nonce,
        body,
      );
      expect(new TextDecoder().decode(await enc.decryptWith(p.privateKeyPem, envelope))).toBe(
        'hybrid by openssl',
      );
    }
  });
});
