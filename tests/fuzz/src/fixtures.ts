/**
 * Valid inputs to mutate, made once per process: RSA keys in every form the library reads (and keys it must
 * refuse: EC, Ed25519), an encrypted PKCS#8 key.
 *
 * Keys the library makes come from its own `generateRsaKeyPair`; the other forms (PKCS#1, 1024-bit, EC) are
 * exported by node:crypto, as any peer would write them.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { encryptPrivateKeyPem, generateRsaKeyPair, PKCS8_MIN_ITERATIONS, pemDecode } from '@mesh/crypto-core';

/** The passphrase of {@link KeyFixtures.encryptedPem}. */
export const FIXTURE_PASSPHRASE = 'correct horse battery staple';

export interface KeyFixtures {
  readonly publicPems: readonly string[];
  readonly privatePems: readonly string[];
  /** DER of every public and private key above (SPKI, PKCS#8, PKCS#1). */
  readonly publicDers: readonly Uint8Array[];
  readonly privateDers: readonly Uint8Array[];
  /** PKCS#8 PEM of the 2048-bit key (the one `encryptedPem` holds). */
  readonly rsa2048PrivatePem: string;
  readonly rsa2048PublicPem: string;
  /** `rsa2048PrivatePem` under {@link FIXTURE_PASSPHRASE}, PBES2 at the fewest iterations allowed. */
  readonly encryptedPem: string;
}

let fixtures: Promise<KeyFixtures> | undefined;

/** The fixtures, made on first use. */
export function keyFixtures(): Promise<KeyFixtures> {
  fixtures ??= make();
  return fixtures;
}

async function make(): Promise<KeyFixtures> {
  const rsa2048 = await generateRsaKeyPair(2048);
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const pkcs1 = createPrivateKey(rsa2048.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }) as string;
  const pem = (k: { export(o: object): string | Buffer }, type: string) =>
    k.export({ type, format: 'pem' }) as string;
  const publicPems = [
    rsa2048.publicKeyPem,
    pem(rsa1024.publicKey, 'spki'),
    pem(ec.publicKey, 'spki'),
    pem(ed.publicKey, 'spki'),
    createPublicKey(rsa2048.publicKeyPem).export({ type: 'pkcs1', format: 'pem' }) as string,
  ];
  const privatePems = [
    rsa2048.privateKeyPem,
    pkcs1,
    pem(rsa1024.privateKey, 'pkcs8'),
    pem(ec.privateKey, 'pkcs8'),
    pem(ed.privateKey, 'pkcs8'),
  ];
  return {
    publicPems,
    privatePems,
    publicDers: publicPems.map((p) => pemDecode(p).der),
    privateDers: privatePems.map((p) => pemDecode(p).der),
    rsa2048PrivatePem: rsa2048.privateKeyPem,
    rsa2048PublicPem: rsa2048.publicKeyPem,
    encryptedPem: await encryptPrivateKeyPem(rsa2048.privateKeyPem, FIXTURE_PASSPHRASE, {
      iterations: PKCS8_MIN_ITERATIONS,
    }),
  };
}
