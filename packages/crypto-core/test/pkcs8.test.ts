/**
 * Encrypted PKCS#8 (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) on every backend, and interop with the openssl
 * CLI in both directions (`openssl pkey -passin` opens ours; `openssl genpkey -aes-256-cbc` and
 * `openssl pkcs8 -topk8` output opens here).
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeBackend, nodeBackend } from '../src/backends/index.js';
import type { CryptoBackend } from '../src/backends/types.js';
import { DecryptionError, isMeshError } from '../src/errors.js';
import { pemDecode, pemEncode } from '../src/pem.js';
import {
  DER_NULL,
  DerReader,
  decryptPrivateKeyPem,
  derSmallInteger,
  derTlv,
  encryptPrivateKeyPem,
  PKCS8_DEFAULT_ITERATIONS,
  TAG,
} from '../src/pkcs8.js';
import { importRsaPrivateKey } from '../src/rsa.js';

const hasOpenssl = (() => {
  const r = spawnSync('openssl', ['version']);
  return r.error === undefined && r.status === 0;
})();
if (!hasOpenssl) console.log('SKIPPED: openssl CLI not found, encrypted PKCS#8 openssl interop not run');

function openssl(args: string[], input?: string): string {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (e) {
    if (isMeshError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const { privateKey: privateKeyPem } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const PASS = 'correct horse battery staple';
/** Low count for speed on forge (3-4 s at 600,000); the default is checked once on node below. */
const FAST = 1_000;

/** Read the PBKDF2 salt and iteration count back out of an encrypted PEM (RFC 8018 A.2 layout). */
function pbkdf2ParamsOf(encryptedPem: string): { salt: Uint8Array; iterations: number; iv: Uint8Array } {
  const info = DerReader.top(pemDecode(encryptedPem, 'ENCRYPTED PRIVATE KEY').der);
  const alg = info.sequence();
  alg.anyOid();
  const params = alg.sequence();
  const kdf = params.sequence();
  kdf.anyOid();
  const kdfParams = kdf.sequence();
  const salt = kdfParams.read(TAG.OCTET_STRING);
  const iterations = kdfParams.smallInteger();
  const enc = params.sequence();
  enc.anyOid();
  return { salt, iterations, iv: enc.read(TAG.OCTET_STRING) };
}

describe.each([nodeBackend, forgeBackend])('encrypted PKCS#8 on $name', (backend: CryptoBackend) => {
  it('round-trips, and the other backend opens it too', async () => {
    const other = backend === nodeBackend ? forgeBackend : nodeBackend;
    const sealed = await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: FAST, backend });
    expect(sealed).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(sealed).not.toContain(privateKeyPem.split('\n')[1]); // no plaintext line survives
    expect(await decryptPrivateKeyPem(sealed, PASS, { backend })).toBe(privateKeyPem);
    expect(await decryptPrivateKeyPem(sealed, PASS, { backend: other })).toBe(privateKeyPem);
    const params = pbkdf2ParamsOf(sealed);
    expect(params.iterations).toBe(FAST);
    expect(params.salt.length).toBe(16);
    expect(params.iv.length).toBe(16);
  });

  it('uses a fresh salt and IV every time', async () => {
    const a = pbkdf2ParamsOf(await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: FAST, backend }));
    const b = pbkdf2ParamsOf(await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: FAST, backend }));
    expect(Buffer.from(a.salt).equals(Buffer.from(b.salt))).toBe(false);
    expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
  });

  it('gives ERR_DECRYPTION_FAILED for wrong passphrases and for a damaged padding block', async () => {
    const sealed = await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: FAST, backend });
    for (const wrong of ['', 'correct horse battery stapl', 'Correct horse battery staple', `${PASS} `]) {
      await expect(decryptPrivateKeyPem(sealed, wrong, { backend }), wrong).rejects.toBeInstanceOf(
        DecryptionError,
      );
    }
    // Flip the top bit of the last byte of the second-to-last block: CBC turns it into a padding byte >= 0x80.
    const der = Uint8Array.from(pemDecode(sealed, 'ENCRYPTED PRIVATE KEY').der);
    const at = der.length - 17;
    der[at] = (der[at] as number) ^ 0x80;
    const damaged = pemEncode('ENCRYPTED PRIVATE KEY', der);
    await expect(decryptPrivateKeyPem(damaged, PASS, { backend })).rejects.toBeInstanceOf(DecryptionError);
  });

  it('accepts a passphrase given as UTF-8 text or as the same bytes', async () => {
    const sealed = await encryptPrivateKeyPem(privateKeyPem, 'pässwörd ✓', { iterations: FAST, backend });
    const bytes = new TextEncoder().encode('pässwörd ✓');
    expect(await decryptPrivateKeyPem(sealed, bytes, { backend })).toBe(privateKeyPem);
  });
});

describe('encrypted PKCS#8 parameters', () => {
  it('writes 600,000 iterations by default and keeps the event loop turning meanwhile (node)', async () => {
    expect(PKCS8_DEFAULT_ITERATIONS).toBe(600_000);
    let turns = 0;
    const ticker = setInterval(() => turns++, 1);
    const sealed = await encryptPrivateKeyPem(privateKeyPem, PASS);
    clearInterval(ticker);
    // A synchronous PBKDF2 would resolve before any timer could fire.
    expect(turns).toBeGreaterThan(0);
    expect(pbkdf2ParamsOf(sealed).iterations).toBe(600_000);
  });

  it('refuses iteration counts outside 1,000..10,000,000 when writing', async () => {
    for (const iterations of [0, 999, 10_000_001, 1_000.5, Number.NaN]) {
      expect(
        await codeOf(encryptPrivateKeyPem(privateKeyPem, PASS, { iterations })),
        String(iterations),
      ).toBe('ERR_KEY_DERIVATION');
    }
  });

  it('caps the iteration count read from a file before doing any work', async () => {
    const sealed = await encryptPrivateKeyPem(privateKeyPem, PASS, { iterations: 2_000 });
    expect(await codeOf(decryptPrivateKeyPem(sealed, PASS, { maxIterations: 1_999 }))).toBe(
      'ERR_KEY_DERIVATION',
    );
    // A hostile file asking for 2^31 iterations (about 10 minutes on node) fails at once under the default cap.
    const { salt, iv } = pbkdf2ParamsOf(sealed);
    const hostile = pemEncode(
      'ENCRYPTED PRIVATE KEY',
      derTlv(
        TAG.SEQUENCE,
        derTlv(
          TAG.SEQUENCE,
          derTlv(TAG.OID, new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d])),
          derTlv(
            TAG.SEQUENCE,
            derTlv(
              TAG.SEQUENCE,
              derTlv(TAG.OID, new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c])),
              derTlv(
                TAG.SEQUENCE,
                derTlv(TAG.OCTET_STRING, salt),
                derSmallInteger(2 ** 31),
                derTlv(
                  TAG.SEQUENCE,
                  derTlv(TAG.OID, new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09])),
                  DER_NULL,
                ),
              ),
            ),
            derTlv(
              TAG.SEQUENCE,
              derTlv(TAG.OID, new Uint8Array([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a])),
              derTlv(TAG.OCTET_STRING, iv),
            ),
          ),
        ),
        derTlv(TAG.OCTET_STRING, new Uint8Array(32)),
      ),
    );
    expect(await codeOf(decryptPrivateKeyPem(hostile, PASS))).toBe('ERR_KEY_DERIVATION');
  });

  it('rejects bad input with typed errors', async () => {
    const { publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(await codeOf(encryptPrivateKeyPem(publicKey, PASS, { iterations: FAST }))).toBe(
      'ERR_INVALID_INPUT',
    );
    expect(await codeOf(encryptPrivateKeyPem(privateKeyPem, '', { iterations: FAST }))).toBe(
      'ERR_INVALID_INPUT',
    );
    const garbage = pemEncode('PRIVATE KEY', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]));
    expect(await codeOf(encryptPrivateKeyPem(garbage, PASS, { iterations: FAST }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(decryptPrivateKeyPem(privateKeyPem, PASS))).toBe('ERR_INVALID_INPUT'); // not encrypted
    const truncated = pemEncode('ENCRYPTED PRIVATE KEY', new Uint8Array([0x30, 0x05, 0x30, 0x03]));
    expect(await codeOf(decryptPrivateKeyPem(truncated, PASS))).toBe('ERR_INVALID_INPUT');
  });
});

describe.skipIf(!hasOpenssl)('encrypted PKCS#8 interop with openssl', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-pkcs8-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([nodeBackend, forgeBackend])('openssl pkey -passin opens what $name wrote', async (backend) => {
    const file = join(dir, `ours-${backend.name}.pem`);
    const pass = 'p@ss wörd';
    writeFileSync(file, await encryptPrivateKeyPem(privateKeyPem, pass, { iterations: 2_048, backend }));
    const out = openssl(['pkey', '-in', file, '-passin', `pass:${pass}`]);
    expect(out).toBe(privateKeyPem);
    expect(() => openssl(['pkey', '-in', file, '-passin', 'pass:wrong'])).toThrow();
  });

  it('openssl pkey -passin opens the default 600,000-iteration output (node)', async () => {
    const file = join(dir, 'ours-default.pem');
    writeFileSync(file, await encryptPrivateKeyPem(privateKeyPem, PASS));
    expect(openssl(['pkey', '-in', file, '-passin', `pass:${PASS}`])).toBe(privateKeyPem);
  });

  it.each([nodeBackend, forgeBackend])(
    'openssl genpkey -aes-256-cbc output opens on $name',
    async (backend) => {
      const file = join(dir, `genpkey-${backend.name}.pem`);
      openssl([
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        'rsa_keygen_bits:2048',
        '-aes-256-cbc',
        '-pass',
        `pass:${PASS}`,
        '-out',
        file,
      ]);
      const encrypted = readFileSync(file, 'utf8');
      const plain = await decryptPrivateKeyPem(encrypted, PASS, { backend });
      expect(plain).toBe(openssl(['pkey', '-in', file, '-passin', `pass:${PASS}`]));
      expect(importRsaPrivateKey(plain).bits).toBe(2048);
      await expect(decryptPrivateKeyPem(encrypted, 'nope', { backend })).rejects.toBeInstanceOf(
        DecryptionError,
      );
    },
  );

  it('opens openssl pkcs8 -topk8 -v2 aes-256-cbc output with an explicit iteration count', async () => {
    const src = join(dir, 'plain.pem');
    writeFileSync(src, privateKeyPem, { mode: 0o600 });
    const args = ['pkcs8', '-topk8', '-in', src, '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA256'];
    const encrypted = openssl([...args, '-iter', '5000', '-passout', `pass:${PASS}`]);
    expect(pbkdf2ParamsOf(encrypted).iterations).toBe(5000);
    expect(await decryptPrivateKeyPem(encrypted, PASS)).toBe(privateKeyPem);
  });

  it('reports other PBE schemes, PRFs and ciphers as ERR_UNSUPPORTED_ALGORITHM', async () => {
    const src = join(dir, 'plain2.pem');
    writeFileSync(src, privateKeyPem, { mode: 0o600 });
    const variants = [
      ['-v2', 'aes-128-cbc'],
      ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1'],
      ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA512'],
      ['-v1', 'PBE-SHA1-3DES'],
    ];
    for (const v of variants) {
      const encrypted = openssl(['pkcs8', '-topk8', '-in', src, ...v, '-passout', `pass:${PASS}`]);
      expect(await codeOf(decryptPrivateKeyPem(encrypted, PASS)), v.join(' ')).toBe(
        'ERR_UNSUPPORTED_ALGORITHM',
      );
    }
  });
});
