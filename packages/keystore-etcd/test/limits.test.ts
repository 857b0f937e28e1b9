/**
 * The keyring document bound of `EtcdKeyStore` (`maxDocumentBytes`), against a real etcd: exactly at the bound
 * is written and read back, one byte past it is refused with a typed error before any JSON work (reads) or
 * any round trip (writes). The documents are structurally valid but unsealed (the store checks structure; the
 * manager checks seals and MACs), so no cryptography is needed to build one of a chosen size.
 */
import { MAX_KEYRING_DOCUMENT_BYTES, type StoredKey, type StoredKeyring } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ETCD_MAX_DOCUMENT_BYTES, EtcdKeyStore } from '../src/index.js';
import { newName } from './helpers/util.js';

let etcd: EtcdProcess;
let raw: Etcd3;
const stores: EtcdKeyStore[] = [];
const open = (maxDocumentBytes?: number) => {
  const s = new EtcdKeyStore({
    endpoints: etcd.endpoint,
    prefix: 'limits/',
    callTimeoutMs: 5_000,
    ...(maxDocumentBytes === undefined ? {} : { maxDocumentBytes }),
  });
  stores.push(s);
  return s;
};

beforeAll(async () => {
  etcd = await EtcdProcess.start();
  raw = new Etcd3({ hosts: etcd.endpoint });
});
afterAll(async () => {
  for (const s of stores) await s.close();
  raw?.close();
  await etcd?.stop();
});

async function outcomeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    // The mesh error marker (keystore-etcd does not depend on crypto-core for isMeshError).
    const marked = (e as Record<symbol, unknown>)[Symbol.for('mesh.error')] === true;
    expect(marked, `untyped error: ${String(e)}`).toBe(true);
    return (e as { code: string }).code;
  }
}

/** A structurally valid keyring document of `count` decrypt-only records (about 330 bytes each). */
function documentOf(name: string, count: number): StoredKeyring {
  const keys: StoredKey[] = [];
  for (let i = 0; i < count; i++) {
    keys.push({
      id: 0xffff_ffff - i,
      algorithm: 'aes-256-gcm',
      state: i === 0 ? 'primary' : 'decrypt-only',
      createdAt: 1_700_000_000_000,
      promotedAt: 1_700_000_000_000,
      ...(i === 0 ? {} : { demotedAt: 1_700_000_000_000 }),
      createdInVersion: 1_000_000 + i,
      reserved: 2 ** 32,
      sealed: 'A'.repeat(80),
    });
  }
  return {
    format: 'mesh-keyring/v1',
    name,
    version: 1,
    updatedAt: 1_700_000_000_000,
    kek: { type: 'raw' },
    kekCheck: 'c'.repeat(22),
    keys,
    mac: 'm'.repeat(43),
  };
}

/** The document's JSON padded with spaces (valid JSON still) to exactly `bytes`. */
function paddedValue(doc: StoredKeyring, bytes: number): Buffer {
  const json = JSON.stringify(doc);
  expect(json.length).toBeLessThanOrEqual(bytes);
  return Buffer.from(json + ' '.repeat(bytes - json.length));
}

describe('EtcdKeyStore maxDocumentBytes', () => {
  it('writes a document of exactly maxDocumentBytes and refuses one byte more without a round trip', async () => {
    const name = newName();
    const doc = documentOf(name, 3);
    const size = Buffer.byteLength(JSON.stringify(doc));
    expect(await outcomeOf(() => open(size - 1).compareAndSwap(name, undefined, doc))).toBe('ERR_KEY_STATE');
    expect(await raw.get(`limits/keyrings/${name}`).string()).toBeNull(); // nothing written
    const exact = open(size);
    expect(await exact.compareAndSwap(name, undefined, doc)).toBe(true);
    expect((await exact.load(name))?.keys).toHaveLength(3);
  });

  it('reads a stored value of exactly maxDocumentBytes and refuses one byte more as corrupt', async () => {
    const name = newName();
    const doc = documentOf(name, 2);
    const bound = 4_096;
    await raw.put(`limits/keyrings/${name}`).value(paddedValue(doc, bound));
    expect((await open(bound).load(name))?.version).toBe(1);
    await raw.put(`limits/keyrings/${name}`).value(paddedValue(doc, bound + 1));
    expect(await outcomeOf(() => open(bound).load(name))).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it(`defaults to DEFAULT_ETCD_MAX_DOCUMENT_BYTES (${DEFAULT_ETCD_MAX_DOCUMENT_BYTES}) on both sides`, async () => {
    const name = newName();
    const store = open();
    expect(store.maxDocumentBytes).toBe(DEFAULT_ETCD_MAX_DOCUMENT_BYTES);
    const doc = documentOf(name, 2);
    await raw.put(`limits/keyrings/${name}`).value(paddedValue(doc, DEFAULT_ETCD_MAX_DOCUMENT_BYTES));
    expect((await store.load(name))?.version).toBe(1);
    await raw.put(`limits/keyrings/${name}`).value(paddedValue(doc, DEFAULT_ETCD_MAX_DOCUMENT_BYTES + 1));
    expect(await outcomeOf(() => store.load(name))).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it("a document etcd itself would refuse (over its 1.5 MiB request limit) gets ERR_KEY_STATE, not 'unavailable'", async () => {
    const name = newName();
    const doc = documentOf(name, 6_000);
    expect(Buffer.byteLength(JSON.stringify(doc))).toBeGreaterThan(1.5 * 1024 * 1024);
    const store = open();
    expect(await outcomeOf(() => store.compareAndSwap(name, undefined, doc))).toBe('ERR_KEY_STATE');
    expect(store.available).toBe(true);
    // Raised past etcd's limit, the same write reaches etcd and is refused there: that is why the default
    // stays below it.
    expect(await outcomeOf(() => open(MAX_KEYRING_DOCUMENT_BYTES).compareAndSwap(name, undefined, doc))).toBe(
      'ERR_KEYSTORE_UNAVAILABLE',
    );
  });

  it(`accepts a bound of 1 to MAX_KEYRING_DOCUMENT_BYTES (${MAX_KEYRING_DOCUMENT_BYTES}) and refuses one outside`, async () => {
    expect(open(1).maxDocumentBytes).toBe(1);
    expect(open(MAX_KEYRING_DOCUMENT_BYTES).maxDocumentBytes).toBe(MAX_KEYRING_DOCUMENT_BYTES);
    for (const bad of [0, MAX_KEYRING_DOCUMENT_BYTES + 1, 1.5]) {
      expect(await outcomeOf(async () => open(bad)), String(bad)).toBe('ERR_CONFIG_INVALID');
    }
  });
});
