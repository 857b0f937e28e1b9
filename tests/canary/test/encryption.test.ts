/**
 * Canary test of `@mesh/encryption`: a facade on a file keyring sealed under a canary KEK, with a real
 * prom-client registry (`@mesh/metrics`' PrometheusCollector) as its metrics sink, runs every public
 * operation with canary plaintexts and contexts on its success path and its failure paths (wrong key, wrong
 * context, tampered and truncated data, expired tokens, the wrong private key, bad input and bad config that
 * contain a secret). Nothing thrown, logged or warned, nothing a rewrapMany result reports, nothing the facade
 * and its parts print, and nothing in the metrics exposition may hold a canary.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { base64UrlEncode } from '@mesh/crypto-core';
import { createEncryption, type Encryption, inspect as inspectCiphertext } from '@mesh/encryption';
import { deriveSubkey, FileKeyStore, type KeyManager } from '@mesh/keys';
import { PrometheusCollector } from '@mesh/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Canaries, expectClean, expectPrintsClean, Probe } from './scanner.js';

const canaries = new Canaries();
const probe = new Probe(canaries);
const dir = mkdtempSync(join(tmpdir(), 'mesh-canary-encryption-'));
const kek = canaries.bytes('facade KEK');
const plaintext = canaries.text('facade plaintext', 64);
const binary = canaries.bytes('facade binary plaintext', 3000);
const context = canaries.text('facade context');
const secret = canaries.text('secret pasted into a config value');
const metrics = new PrometheusCollector();
let enc: Encryption;
let other: Encryption;

const rsa = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
const mine = rsa();
const theirs = rsa();
for (const [label, pem] of [
  ['rsa', mine.privateKey],
  ['other rsa', theirs.privateKey],
] as const) {
  canaries.add(
    `${label} private key DER`,
    Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64').subarray(40),
  );
}

async function registerKeys(keys: KeyManager, label: string, services: string[]): Promise<void> {
  for (const info of keys.keys()) {
    if (info.state === 'retired') continue;
    const { material } = await keys.getDecryptionKey(info.id);
    canaries.add(`${label} key ${info.id}`, material);
    for (const s of services) canaries.add(`${label} key ${info.id} subkey ${s}`, deriveSubkey(material, s));
  }
}

async function run(stream: NodeJS.ReadWriteStream, input: Uint8Array[]): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Uint8Array) => out.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from(input).pipe(stream as unknown as NodeJS.WritableStream);
  await done;
  return Uint8Array.from(Buffer.concat(out));
}

beforeAll(async () => {
  const keyStore = new FileKeyStore({ path: join(dir, 'keyring.json') });
  enc = await createEncryption({
    service: 'orders',
    keyStore,
    kek: { key: kek },
    metrics,
    services: { derived: { keyDerivation: true }, chacha: { algorithm: 'xchacha20-poly1305' } },
  });
  await enc.keys.importFernetKey(base64UrlEncode(canaries.bytes('facade fernet key')));
  other = await createEncryption({ service: 'orders', kek: { key: canaries.bytes('other facade KEK') } });
  await registerKeys(enc.keys, 'facade', ['derived']);
  await registerKeys(other.keys, 'other facade', []);
});
afterAll(async () => {
  await enc?.close();
  await other?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the facade', () => {
  it('envelopes (GCM, XChaCha, derived subkeys): success, wrong key, context, tampering, truncation', async () => {
    for (const service of ['orders', 'derived', 'chacha']) {
      for (const data of [plaintext, binary]) {
        const sealed = await probe.succeeds('encrypt', () => enc.encrypt(data, { context, service }));
        const text = await probe.succeeds('encryptToString', () =>
          enc.encryptToString(data, { context, service }),
        );
        await probe.succeeds('decrypt', () => enc.decrypt(sealed, { context, service }));
        await probe.succeeds('decrypt text', () => enc.decrypt(text, { context, service }));
        await probe.fails('decrypt, wrong context', () =>
          enc.decrypt(sealed, { context: `${context}x`, service }),
        );
        await probe.fails('decrypt, no context', () => enc.decrypt(sealed, { service }));
        await probe.fails('decrypt with another keyring', () => other.decrypt(sealed, { context, service }));
        const tampered = Uint8Array.from(sealed);
        tampered[tampered.length - 20]! ^= 1;
        await probe.fails('decrypt tampered', () => enc.decrypt(tampered, { context, service }));
        await probe.fails('decrypt truncated', () =>
          enc.decrypt(sealed.subarray(0, 30), { context, service }),
        );
        await probe.fails('decrypt text truncated', () =>
          enc.decrypt(text.slice(0, -7), { context, service }),
        );
        const flipped = Uint8Array.from(sealed);
        flipped[5]! ^= 0xff;
        await probe.fails('decrypt, unknown key id', () => enc.decrypt(flipped, { context, service }));
        await probe.succeeds('rewrap', () => enc.rewrap(sealed, { context, service }));
        await probe.fails('rewrap, wrong context', () => enc.rewrap(sealed, { context: 'x', service }));
      }
    }
    const notUtf8 = await enc.encrypt(Uint8Array.from([...binary.subarray(0, 40), 0xff]), { context });
    await probe.fails('decryptToString of bytes that are not UTF-8', () =>
      enc.decryptToString(notUtf8, { context }),
    );
    await probe.fails('encrypt a plaintext with a lone surrogate', () => enc.encrypt(`${plaintext}\uD800`));
    await probe.fails('encrypt with a context with a lone surrogate', () =>
      enc.encrypt('x', { context: `${context}\uD800` }),
    );
    await probe.fails('encrypt with a secret as the service', () =>
      enc.encrypt('x', { service: `${secret}\uD800` }),
    );
    await probe.fails('decrypt a secret text', () => enc.decrypt(secret));
    await probe.fails('decrypt secret bytes', () => enc.decrypt(binary));
    await probe.fails('inspect secret bytes', () => inspectCiphertext(binary.subarray(0, 100)));
    await probe.fails('inspect a secret text', () => inspectCiphertext(secret));
  });

  it('rewrapMany reports failures as results: none of them holds a canary', async () => {
    const sealed = await enc.encrypt(plaintext, { context });
    const results = await probe.succeeds('rewrapMany', () =>
      enc.rewrapMany([
        sealed,
        { ciphertext: sealed, context: 'wrong' },
        secret,
        binary,
        { ciphertext: sealed, context },
      ]),
    );
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false, true]);
    expectClean(
      canaries,
      'rewrapMany failures',
      ...results.filter((r) => !r.ok).map((r) => (r as { error: unknown }).error),
    );
  });

  it('Fernet mode: success, wrong key, expired, tampered, a context where none can be bound', async () => {
    const token = await probe.succeeds('fernet encrypt', () => enc.fernet.encrypt(plaintext));
    await probe.succeeds('fernet decrypt', () => enc.fernet.decrypt(token));
    await probe.succeeds('decrypt a Fernet token', () => enc.decrypt(token));
    await probe.succeeds('fernet rotate', () => enc.fernet.rotate(token));
    await probe.fails('fernet decrypt, another keyring', () => other.fernet.decrypt(token));
    // An hour later (the same keyring, a clock an hour ahead), a token with a one-minute TTL has expired.
    const later = await createEncryption({
      service: 'orders',
      keyStore: new FileKeyStore({ path: join(dir, 'keyring.json') }),
      kek: { key: kek },
      clock: () => Date.now() + 3_600_000,
    });
    try {
      await probe.fails(
        'fernet decrypt, expired',
        () => later.fernet.decrypt(token, { ttl: 60 }),
        'ERR_TOKEN_EXPIRED',
      );
    } finally {
      await later.close();
    }
    await probe.fails('fernet decrypt, tampered', () =>
      enc.fernet.decrypt(`${token.slice(0, 30)}A${token.slice(31)}`),
    );
    await probe.fails('decrypt a Fernet token with a context', () => enc.decrypt(token, { context }));
    await probe.fails('fernet rotate of an envelope', () =>
      enc.encryptToString('x').then((t) => enc.fernet.rotate(t)),
    );
    await probe.fails('fernet decrypt of a secret', () => enc.fernet.decrypt(`g${secret}`));
  });

  it('RSA: direct and hybrid, the wrong private key, a private key that is not one', async () => {
    for (const data of [plaintext, binary]) {
      const sealed = await probe.succeeds('encryptFor', () =>
        enc.encryptFor(mine.publicKey, data, { context }),
      );
      await probe.succeeds('decryptWith', () => enc.decryptWith(mine.privateKey, sealed, { context }));
      await probe.fails('decryptWith the wrong key', () =>
        enc.decryptWith(theirs.privateKey, sealed, { context }),
      );
      await probe.fails('decryptWith, wrong context', () =>
        enc.decryptWith(mine.privateKey, sealed, { context: 'x' }),
      );
      const tampered = Uint8Array.from(sealed);
      tampered[tampered.length - 1]! ^= 1;
      await probe.fails('decryptWith tampered', () =>
        enc.decryptWith(mine.privateKey, tampered, { context }),
      );
      await probe.fails('decrypt an RSA envelope', () => enc.decrypt(sealed, { context }));
    }
    await probe.fails('decryptWith a secret as the key', () => enc.decryptWith(secret, new Uint8Array(300)));
    await probe.fails('encryptFor a private key', () => enc.encryptFor(mine.privateKey, plaintext));
    await probe.fails('encryptFor a secret as the key', () => enc.encryptFor(secret, plaintext));
  });

  it('streams (Node and web): success, tampered, truncated, wrong context', async () => {
    const sealed = await probe.succeeds('encryptStream', () =>
      run(enc.encryptStream({ context, segmentSize: 1024 }), [binary]),
    );
    await probe.succeeds('decryptStream', () => run(enc.decryptStream({ context }), [sealed]));
    const tampered = Uint8Array.from(sealed);
    tampered[100]! ^= 1;
    await probe.fails('decryptStream tampered', () => run(enc.decryptStream({ context }), [tampered]));
    await probe.fails('decryptStream truncated', () =>
      run(enc.decryptStream({ context }), [sealed.subarray(0, 1500)]),
    );
    await probe.fails('decryptStream, wrong context', () =>
      run(enc.decryptStream({ context: 'x' }), [sealed]),
    );
    await probe.fails('decryptStream of secret bytes', () => run(enc.decryptStream(), [binary]));
    const web = await probe.succeeds('web streams', async () => {
      const source = new Blob([binary]).stream().pipeThrough(enc.encryptWebStream({ context }));
      const back = source.pipeThrough(enc.decryptWebStream({ context }));
      return new Uint8Array(await new Response(back).arrayBuffer());
    });
    expect(web.length).toBe(binary.length);
    await probe.fails('web decrypt of secret bytes', async () => {
      const back = new Blob([binary]).stream().pipeThrough(enc.decryptWebStream({ context }));
      await new Response(back).arrayBuffer();
    });
    await probe.fails('stream with a context with a lone surrogate', () =>
      enc.encryptStream({ context: `${context}\uD800` }),
    );
    expectPrintsClean(
      canaries,
      'stream objects',
      enc.encryptStream({ context }),
      enc.decryptWebStream({ context }),
    );
  });

  it('bad configuration that contains a secret', async () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['service', { service: `${secret}\uD800` }],
      ['keyring', { keyring: secret.repeat(20) }],
      ['pbkdf2Iterations', { pbkdf2Iterations: secret }],
      ['compression level', { compression: { level: secret } }],
      ['compression threshold', { compression: { thresholdBytes: secret } }],
      ['fernet ttl', { fernet: { ttl: secret } }],
      ['keySize', { keySize: secret }],
      ['algorithm', { algorithm: secret }],
      ['service context', { services: { a: { context: `${secret}\uDFFF` } } }],
      ['metrics', { metrics: secret }],
      ['kek', { kek: secret }],
      ['kek key of 31 secret bytes', { kek: { key: kek.subarray(1) } }],
      ['rotation interval', { rotation: { interval: secret } }],
      ['passphrase KEK with bad iterations', { kek: { passphrase: secret, iterations: 5 } }],
    ];
    for (const [what, config] of bad)
      await probe.fails(`config: ${what}`, () => createEncryption(config as never));
  });

  it('the facade, its key manager and its Fernet mode print no key; the exposition holds no canary', async () => {
    await probe.succeeds('rotate', () => enc.rotate());
    await registerKeys(enc.keys, 'facade after rotation', ['derived']);
    expectPrintsClean(canaries, 'facade and parts', enc, enc.keys, enc.fernet, enc.config);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/mesh_crypto_operations_total\{[^}]*result="failure"/);
    expectClean(
      canaries,
      'prometheus exposition',
      text,
      JSON.stringify(await metrics.registry.getMetricsAsJSON()),
    );
  });
});
