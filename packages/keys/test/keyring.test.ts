import { DecryptionError, randomBytes } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { KeyManager, MemoryKeyStore, parseDuration, type StoredKeyring } from '../src/index.js';
import { decodeRawKek, resolveKek } from '../src/kek.js';
import {
  canonicalJson,
  finishDocument,
  KEYRING_FORMAT,
  openMaterial,
  parseStoredKeyring,
  sealMaterial,
  verifyDocument,
} from '../src/keyring.js';
import { containsKey, rawKek } from './helpers.js';

describe('parseDuration', () => {
  it.each([
    [1500, 1500],
    ['30s', 30_000],
    ['90m', 5_400_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
  ])('%s -> %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });
  it.each([['-1'], ['1y'], [''], ['h'], ['1h30m'], [-5], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'rejects %s',
    (input) => {
      expect(() => parseDuration(input as string)).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
      );
    },
  );
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('raw KEK encodings', () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
  it.each([
    ['hex', Buffer.from(bytes).toString('hex')],
    ['HEX', Buffer.from(bytes).toString('hex').toUpperCase()],
    ['base64', Buffer.from(bytes).toString('base64')],
    ['base64url', Buffer.from(bytes).toString('base64url')],
    ['base64 with newline', `  ${Buffer.from(bytes).toString('base64')}\n`],
  ])('decodes %s', (_, text) => {
    expect(decodeRawKek(text, 'test')).toEqual(bytes);
  });
  it.each([
    ['31 bytes hex', Buffer.from(bytes.subarray(1)).toString('hex')],
    ['mixed alphabets', `${Buffer.from(bytes).toString('base64').slice(0, 42)}-/`],
    ['a passphrase', 'correct horse battery staple'],
  ])('rejects %s without echoing it', (_, text) => {
    let err: unknown;
    try {
      decodeRawKek(text, 'test');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    expect((err as Error).message).not.toContain(text.trim());
  });
});

describe('sealing', () => {
  const key = { id: 42, algorithm: 'aes-256-gcm' as const, createdInVersion: 3 };

  it('opens what it sealed; moving a blob to another id, keyring, algorithm, version or KEK fails', async () => {
    const kek = await resolveKek(rawKek(), undefined);
    const material = randomBytes(32);
    const sealed = sealMaterial(kek, 'orders', key, material);
    expect(openMaterial(kek, 'orders', key, sealed)).toEqual(material);
    const attempts = [
      () => openMaterial(kek, 'orders', { ...key, id: 43 }, sealed),
      () => openMaterial(kek, 'payments', key, sealed),
      () => openMaterial(kek, 'orders', { ...key, algorithm: 'fernet' }, sealed),
      () => openMaterial(kek, 'orders', { ...key, createdInVersion: 4 }, sealed),
    ];
    for (const attempt of attempts) expect(attempt).toThrow(DecryptionError);
    const otherKek = await resolveKek(rawKek(), undefined);
    expect(() => openMaterial(otherKek, 'orders', key, sealed)).toThrow(DecryptionError);
    expect(containsKey(new TextEncoder().encode(sealed), material)).toBe(false);
  });

  it('a sealed blob swapped between two keys of a stored keyring fails to load', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const m = await KeyManager.open({ store, kek });
    const doc = (await store.load('default')) as StoredKeyring;
    const [a, b] = doc.keys;
    [a!.sealed, b!.sealed] = [b!.sealed, a!.sealed];
    // Re-MAC with the right KEK, as an attacker holding the KEK-less store cannot; the AAD still catches it.
    const kk = await resolveKek(kek, doc.kek);
    const { mac: _m, kekCheck: _c, ...body } = doc;
    const forged = finishDocument(kk, { ...body, version: doc.version + 1 });
    expect(await store.compareAndSwap('default', doc.version, forged)).toBe(true);
    await expect(KeyManager.open({ store, kek })).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_CORRUPT',
      cause: { code: 'ERR_DECRYPTION_FAILED' },
    });
    await m.close();
  });

  it('an authentic document whose live key has empty sealed material is refused, never served keyless', async () => {
    // Found by the fuzzer (tests/fuzz, keys/file-key-store and keystore-etcd/etcd-value): a document with a
    // valid MAC (what a buggy writer holding the KEK could store) whose primary had `sealed: ''` was adopted
    // with no material; getDecryptionKey called the primary retired and acquireEncryptionKey returned
    // undefined, so the facade's encrypt failed on a TypeError.
    const store = new MemoryKeyStore();
    const kek = rawKek();
    await (await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'] })).close();
    const doc = (await store.load('default')) as StoredKeyring;
    const kk = await resolveKek(kek, doc.kek);
    const { mac: _m, kekCheck: _c, ...body } = doc;
    const keys = body.keys.map((k) => ({ ...k, sealed: '' }));
    const forged = finishDocument(kk, { ...body, keys, version: doc.version + 1 });
    // Every store runs the schema check: the document is not written.
    await expect(store.compareAndSwap('default', doc.version, forged)).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_CORRUPT',
    });
    // A store that hands it over unchecked (another implementation): the manager refuses it too.
    const unchecked = new MemoryKeyStore();
    unchecked.load = async () => structuredClone(forged);
    await expect(
      KeyManager.open({ store: unchecked, kek, algorithms: ['aes-256-gcm'], watch: false }),
    ).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
  });

  it('a stored document whose check value or MAC is not base64url text is corrupt, never invalid input', async () => {
    // Found by the fuzzer (tests/fuzz, keys/file-key-store): JSON can carry a lone surrogate ("\ud800"), and
    // such a kekCheck reached the KEK check's UTF-8 encoding, which threw ERR_INVALID_INPUT for a damaged file.
    const store = new MemoryKeyStore();
    const kek = rawKek();
    await (await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'] })).close();
    const doc = (await store.load('default')) as StoredKeyring;
    for (const damaged of [
      { ...doc, version: doc.version + 1, kekCheck: `${doc.kekCheck.slice(0, -1)}\uD800` },
      { ...doc, version: doc.version + 1, mac: `${doc.mac.slice(0, -1)}\uDFFF` },
    ]) {
      const writeThenOpen = async () => {
        await store.compareAndSwap('default', doc.version, damaged);
        await KeyManager.open({ store, kek, watch: false });
      };
      await expect(writeThenOpen()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    }
  });

  it('the document MAC catches a changed state or counter (ERR_KEYSTORE_CORRUPT)', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    await KeyManager.open({
      store,
      kek,
      algorithms: ['aes-256-gcm'],
      rotation: { maxEncryptionsPerKey: 100 },
    });
    const doc = (await store.load('default')) as StoredKeyring;
    const tampered = structuredClone(doc);
    tampered.version = doc.version + 1;
    tampered.keys[0]!.reserved = 0; // try to reset a usage counter
    expect(await store.compareAndSwap('default', doc.version, tampered)).toBe(true);
    await expect(KeyManager.open({ store, kek })).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    const kk = await resolveKek(kek, doc.kek);
    expect(() => verifyDocument(kk, doc)).not.toThrow();
    expect(() => verifyDocument(kk, tampered)).toThrow(
      expect.objectContaining({ code: 'ERR_KEYSTORE_CORRUPT' }),
    );
  });

  it('the stored document holds no raw key material', async () => {
    const store = new MemoryKeyStore();
    const m = await KeyManager.open({ store, kek: rawKek() });
    const text = new TextEncoder().encode(JSON.stringify(await store.load('default')));
    for (const alg of ['aes-256-gcm', 'fernet'] as const) {
      for (const k of m.decryptionKeys(alg)) expect(containsKey(text, k.material)).toBe(false);
    }
  });
});

describe('parseStoredKeyring', () => {
  const valid = {
    format: KEYRING_FORMAT,
    name: 'default',
    version: 1,
    updatedAt: 1,
    kek: { type: 'raw' },
    kekCheck: 'x',
    mac: 'y',
    keys: [
      {
        id: 1,
        algorithm: 'aes-256-gcm',
        state: 'primary',
        createdAt: 1,
        createdInVersion: 1,
        reserved: 0,
        sealed: 'a',
      },
    ],
  };
  it('accepts a well-formed document and drops unknown fields', () => {
    const doc = parseStoredKeyring({ ...valid, extra: 'ignored' });
    expect(doc).toEqual(valid);
  });
  it.each([
    ['wrong format', { ...valid, format: 'mesh-keyring/v2' }],
    ['version 0', { ...valid, version: 0 }],
    ['bad name', { ...valid, name: '../x' }],
    ['two primaries', { ...valid, keys: [valid.keys[0], { ...valid.keys[0], id: 2 }] }],
    ['duplicate ids', { ...valid, keys: [valid.keys[0], { ...valid.keys[0], state: 'decrypt-only' }] }],
    ['id above u32', { ...valid, keys: [{ ...valid.keys[0], id: 2 ** 32 }] }],
    ['unknown state', { ...valid, keys: [{ ...valid.keys[0], state: 'active' }] }],
    ['retired with material', { ...valid, keys: [{ ...valid.keys[0], state: 'retired' }] }],
    ['live key without material', { ...valid, keys: [{ ...valid.keys[0], sealed: undefined }] }],
    ['live key with empty material', { ...valid, keys: [{ ...valid.keys[0], sealed: '' }] }],
    ['material with a lone surrogate', { ...valid, keys: [{ ...valid.keys[0], sealed: 'a\uD800' }] }],
    ['material outside base64url', { ...valid, keys: [{ ...valid.keys[0], sealed: 'a+b/' }] }],
    ['kekCheck with a lone surrogate', { ...valid, kekCheck: 'x\uDFFF' }],
    ['mac outside base64url', { ...valid, mac: 'y=' }],
    ['negative counter', { ...valid, keys: [{ ...valid.keys[0], reserved: -1 }] }],
    ['not an object', [valid]],
  ])('rejects %s with ERR_KEYSTORE_CORRUPT', (_, doc) => {
    expect(() => parseStoredKeyring(doc)).toThrow(expect.objectContaining({ code: 'ERR_KEYSTORE_CORRUPT' }));
  });
});
