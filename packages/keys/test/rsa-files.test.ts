import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateRsaKeyPair, pemDecode, type RsaKeyPairPem } from '@mesh/crypto-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRsaPrivateKey, loadRsaPublicKey, saveRsaKeyPair } from '../src/index.js';
import { containsKey, haveOpenssl, tempDir } from './helpers.js';

let pair: RsaKeyPairPem;
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  pair = await generateRsaKeyPair(2048);
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

const PASS = 'rsa passphrase ünïcode';

describe('RSA key files', () => {
  it('saves the public key as PEM and the private key only as encrypted PKCS#8 (0600), and loads it back', async () => {
    const paths = await saveRsaKeyPair(dir, pair, PASS); // default 600,000 iterations
    expect(paths).toEqual({
      publicKeyPath: join(dir, 'rsa-public.pem'),
      privateKeyPath: join(dir, 'rsa-private.pem'),
    });
    expect((await stat(paths.privateKeyPath)).mode & 0o777).toBe(0o600);
    const text = await readFile(paths.privateKeyPath, 'utf8');
    expect(text).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(text).not.toContain('BEGIN PRIVATE KEY');
    expect(await loadRsaPrivateKey(paths.privateKeyPath, PASS)).toBe(pair.privateKeyPem);
    expect(await loadRsaPublicKey(paths.publicKeyPath)).toBe(pair.publicKeyPem);
  });

  it('the private-key file holds no raw key bytes (PKCS#8 DER, d, p, q in any encoding)', async () => {
    const bytes = await readFile(join(dir, 'rsa-private.pem'));
    const jwk = createPrivateKey(pair.privateKeyPem).export({ format: 'jwk' });
    const secrets = [
      pemDecode(pair.privateKeyPem).der,
      ...(['d', 'p', 'q', 'dp', 'dq', 'qi'] as const).map((f) => Buffer.from(jwk[f]!, 'base64url')),
    ];
    for (const s of secrets) expect(containsKey(bytes, s)).toBe(false);
  });

  it('opens with `openssl pkey -passin` and gives the same key', async (ctx) => {
    if (!haveOpenssl()) return ctx.skip();
    const out = execFileSync(
      'openssl',
      ['pkey', '-in', join(dir, 'rsa-private.pem'), '-passin', 'env:MESH_TEST_PASS'],
      { encoding: 'utf8', env: { ...process.env, MESH_TEST_PASS: PASS } },
    );
    expect(out.trim()).toBe(pair.privateKeyPem.trim());
    const wrong = spawnSync('openssl', ['pkey', '-in', join(dir, 'rsa-private.pem'), '-passin', 'pass:nope']);
    expect(wrong.status).not.toBe(0);
  });

  it('a wrong passphrase gives ERR_DECRYPTION_FAILED', async () => {
    await expect(loadRsaPrivateKey(join(dir, 'rsa-private.pem'), 'wrong')).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
  });

  it('never overwrites key files unless asked', async () => {
    const other = await generateRsaKeyPair(2048);
    await expect(saveRsaKeyPair(dir, other, PASS, { iterations: 1000 })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    expect(await loadRsaPublicKey(join(dir, 'rsa-public.pem'))).toBe(pair.publicKeyPem);
    const paths = await saveRsaKeyPair(dir, other, PASS, {
      iterations: 1000,
      overwrite: true,
      basename: 'peer',
    });
    expect(await loadRsaPrivateKey(paths.privateKeyPath, PASS)).toBe(other.privateKeyPem);
  });

  it('refuses mismatched pairs, empty passphrases, plain private keys and missing files', async () => {
    const other = await generateRsaKeyPair(2048);
    await expect(
      saveRsaKeyPair(dir, { publicKeyPem: other.publicKeyPem, privateKeyPem: pair.privateKeyPem }, PASS, {
        basename: 'mixed',
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(saveRsaKeyPair(dir, pair, '', { basename: 'nopass' })).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    const plain = join(dir, 'plain.pem');
    await writeFile(plain, pair.privateKeyPem);
    await expect(loadRsaPrivateKey(plain, PASS)).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    await expect(loadRsaPrivateKey(join(dir, 'absent.pem'), PASS)).rejects.toMatchObject({
      code: 'ERR_KEY_NOT_FOUND',
    });
  });
});
