/**
 * Canary test of `@mesh/keys`: key managers opened with canary KEKs from every source (raw key, environment,
 * file, passphrase), with the wrong KEK, on tampered and misplaced documents, with bad configuration that
 * contains a secret; password keys, subkeys and RSA key files; and the objects that hold keys. Nothing thrown,
 * logged or warned, and nothing those objects print, may hold a canary in any encoding.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64UrlEncode } from '@mesh/crypto-core';
import {
  derivePasswordKey,
  deriveSubkey,
  FileKeyStore,
  KeyManager,
  loadRsaPrivateKey,
  loadRsaPublicKey,
  MemoryKeyStore,
  PasswordKeyCache,
  type StoredKeyring,
  saveRsaKeyPair,
} from '@mesh/keys';
import { afterAll, describe, it } from 'vitest';
import { Canaries, expectPrintsClean, Probe } from './scanner.js';

const canaries = new Canaries();
const probe = new Probe(canaries);
const dir = mkdtempSync(join(tmpdir(), 'mesh-canary-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kek = canaries.bytes('raw KEK');
const wrongKek = canaries.bytes('wrong raw KEK');
const passphrase = canaries.text('KEK passphrase');
const secretText = canaries.text('secret pasted into a config value');
const ITERATIONS = 1_000;

/** Registers every key the manager holds (their material is what must never show). */
async function registerKeys(manager: KeyManager, label: string): Promise<void> {
  for (const info of manager.keys()) {
    if (info.state === 'retired') continue;
    const active = await manager.getDecryptionKey(info.id);
    canaries.add(`${label} key ${info.id}`, active.material);
  }
}

describe('KeyManager and its KEK sources', () => {
  it('raw KEK: open, use, rotate, import a Fernet key; the wrong KEK; a tampered document', async () => {
    const store = new MemoryKeyStore();
    const manager = await probe.succeeds('open (raw KEK)', () =>
      KeyManager.open({ store, kek: { key: kek } }),
    );
    const fernetKey = canaries.bytes('imported fernet key');
    await probe.succeeds('import a Fernet key', () => manager.importFernetKey(base64UrlEncode(fernetKey)));
    await probe.succeeds('rotate', () => manager.rotate());
    await registerKeys(manager, 'raw');
    const active = await probe.succeeds('acquire', () => manager.acquireEncryptionKey());
    await probe.fails('unknown key id', () => manager.getDecryptionKey(12345), 'ERR_KEY_NOT_FOUND');
    await probe.fails('import a Fernet key that is a secret text', () => manager.importFernetKey(secretText));
    await probe.fails('import a Fernet key in hex', () =>
      manager.importFernetKey(Buffer.from(fernetKey).toString('hex')),
    );
    expectPrintsClean(
      canaries,
      'manager, active key, store',
      manager,
      active,
      store,
      manager.keys(),
      manager.stats(),
    );
    await manager.close();

    await probe.fails(
      'open with the wrong KEK',
      () => KeyManager.open({ store, kek: { key: wrongKek } }),
      'ERR_DECRYPTION_FAILED',
    );
    const stored = (await store.load('default'))!;
    const sealed = stored.keys.find((k) => k.sealed !== undefined)!.sealed!;
    const tampered: StoredKeyring = {
      ...stored,
      keys: stored.keys.map((k) => (k.sealed === sealed ? { ...k, sealed: `${sealed.slice(0, -3)}AAA` } : k)),
    };
    const tamperedStore = new MemoryKeyStore();
    await tamperedStore.compareAndSwap('default', undefined, tampered);
    await probe.fails('open a tampered document', () =>
      KeyManager.open({ store: tamperedStore, kek: { key: kek } }),
    );
    await probe.fails('KEK of 31 secret bytes', () =>
      KeyManager.open({ store: new MemoryKeyStore(), kek: { key: kek.subarray(1) } }),
    );
    await probe.fails('a KEK source that is a secret string', () =>
      KeyManager.open({ store: new MemoryKeyStore(), kek: secretText as never }),
    );
  });

  it('environment and file KEKs: good, malformed (the value is a secret), missing', async () => {
    process.env.MESH_CANARY_KEK = Buffer.from(kek).toString('hex');
    const store = new MemoryKeyStore();
    const manager = await probe.succeeds('open (env KEK)', () =>
      KeyManager.open({ store, kek: { env: 'MESH_CANARY_KEK' } }),
    );
    await registerKeys(manager, 'env');
    await manager.close();
    process.env.MESH_CANARY_KEK = secretText;
    await probe.fails('env KEK that is not a KEK', () =>
      KeyManager.open({ store, kek: { env: 'MESH_CANARY_KEK' } }),
    );
    process.env.MESH_CANARY_KEK = Buffer.from(wrongKek).toString('base64');
    await probe.fails('env KEK that is the wrong KEK', () =>
      KeyManager.open({ store, kek: { env: 'MESH_CANARY_KEK' } }),
    );
    delete process.env.MESH_CANARY_KEK;
    await probe.fails('env KEK unset', () => KeyManager.open({ store, kek: { env: 'MESH_CANARY_KEK' } }));

    const file = join(dir, 'kek.hex');
    writeFileSync(file, `${Buffer.from(kek).toString('hex')}\n`);
    (await probe.succeeds('open (file KEK)', () => KeyManager.open({ store, kek: { file } }))).close();
    writeFileSync(file, `${secretText}\n`);
    await probe.fails('file KEK that is not a KEK', () => KeyManager.open({ store, kek: { file } }));
    writeFileSync(file, Buffer.from(wrongKek).toString('base64url'));
    await probe.fails('file KEK that is the wrong KEK', () => KeyManager.open({ store, kek: { file } }));
    await probe.fails('file KEK missing', () => KeyManager.open({ store, kek: { file: join(dir, 'none') } }));
  });

  it('passphrase KEK: open, rekey, the wrong passphrase', async () => {
    const store = new MemoryKeyStore();
    const source = { passphrase, iterations: ITERATIONS };
    const manager = await probe.succeeds('open (passphrase)', () => KeyManager.open({ store, kek: source }));
    await registerKeys(manager, 'passphrase');
    const next = canaries.text('new KEK passphrase');
    await probe.succeeds('rekey', () => manager.rekey({ passphrase: next, iterations: ITERATIONS }));
    expectPrintsClean(canaries, 'manager after rekey', manager, store);
    await manager.close();
    await probe.fails('open with the old passphrase', () => KeyManager.open({ store, kek: source }));
    await probe.fails('open with a wrong passphrase', () =>
      KeyManager.open({ store, kek: { passphrase: `${next}x`, iterations: ITERATIONS } }),
    );
    await probe.fails('passphrase with a lone surrogate', () =>
      KeyManager.open({
        store: new MemoryKeyStore(),
        kek: { passphrase: `${passphrase}\uD800`, iterations: ITERATIONS },
      }),
    );
  });
});

describe('FileKeyStore', () => {
  it('good file, a damaged main copy (backup served), and the KEK file given as the keyring path', async () => {
    const path = join(dir, 'keyring.json');
    const store = new FileKeyStore({ path });
    const manager = await probe.succeeds('open (file store)', () =>
      KeyManager.open({ store, kek: { key: kek } }),
    );
    await registerKeys(manager, 'file');
    await probe.succeeds('rotate (file store)', () => manager.rotate());
    await manager.close();
    // A damaged main copy: the store serves the backup and says so (a process warning without a handler).
    writeFileSync(path, `${secretText}\n`);
    await probe.succeeds('load with a damaged main copy', () => new FileKeyStore({ path }).load('default'));
    // An operator's mistake: the KEK file (or any file holding a secret) named as the keyring file.
    const kekFile = join(dir, 'kek-as-keyring');
    writeFileSync(kekFile, `${Buffer.from(kek).toString('hex')}\n`);
    await probe.fails('the KEK file as the keyring file', () =>
      new FileKeyStore({ path: kekFile }).load('default'),
    );
    const secretFile = join(dir, 'secret-as-keyring');
    writeFileSync(secretFile, `{"token": ${secretText}}`);
    await probe.fails('a file of secrets as the keyring file', () =>
      new FileKeyStore({ path: secretFile }).load('default'),
    );
    expectPrintsClean(canaries, 'file store', store);
  });
});

describe('password keys, subkeys, RSA key files', () => {
  it('derive, cache, subkeys; bad parameters', async () => {
    const password = canaries.text('password');
    const derived = await probe.succeeds('derive a password key', () =>
      derivePasswordKey(password, { iterations: ITERATIONS }),
    );
    canaries.add('password-derived key', derived.key);
    const cache = new PasswordKeyCache();
    const cached = await probe.succeeds('derive through the cache', () =>
      cache.derive(password, derived.params),
    );
    await probe.fails('derive with a salt of secret bytes, too short', () =>
      derivePasswordKey(password, { salt: derived.key.subarray(0, 4), iterations: ITERATIONS }),
    );
    await probe.fails('derive with too few iterations', () =>
      derivePasswordKey(password, { iterations: 10 }),
    );
    await probe.fails('derive with an empty password', () => derivePasswordKey(''));
    expectPrintsClean(canaries, 'derived key, cached key, cache', derived, cached, cache);
    const subkey = await probe.succeeds('subkey', () => deriveSubkey(kek, 'orders'));
    canaries.add('subkey', subkey);
    await probe.fails('subkey of a short secret', () => deriveSubkey(kek.subarray(0, 8), 'orders'));
    await probe.fails('subkey with a bad length', () => deriveSubkey(kek, 'orders', 0));
  });

  it('save and load RSA key files; the wrong passphrase; a file that is not a key', async () => {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    canaries.add(
      'rsa private key PEM body',
      Buffer.from(pair.privateKey.split('\n').slice(1, -2).join(''), 'base64'),
    );
    const rsaPassphrase = canaries.text('rsa passphrase');
    const files = await probe.succeeds('save an RSA pair', () =>
      saveRsaKeyPair(dir, { publicKeyPem: pair.publicKey, privateKeyPem: pair.privateKey }, rsaPassphrase, {
        iterations: ITERATIONS,
      }),
    );
    await probe.succeeds('load the private key', () =>
      loadRsaPrivateKey(files.privateKeyPath, rsaPassphrase),
    );
    await probe.fails('load with the wrong passphrase', () =>
      loadRsaPrivateKey(files.privateKeyPath, `${rsaPassphrase}x`),
    );
    const notAKey = join(dir, 'not-a-key.pem');
    writeFileSync(notAKey, `${secretText}\n`);
    await probe.fails('load a public key file that holds a secret', () => loadRsaPublicKey(notAKey));
    await probe.fails('load a private key file that holds a secret', () =>
      loadRsaPrivateKey(notAKey, rsaPassphrase),
    );
    writeFileSync(notAKey, pair.privateKey);
    await probe.fails('load an unencrypted private key', () => loadRsaPrivateKey(notAKey, rsaPassphrase));
    await probe.fails('load a private key as a public key', () => loadRsaPublicKey(notAKey));
  });
});
