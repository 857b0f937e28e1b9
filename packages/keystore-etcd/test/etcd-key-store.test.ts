import { KeyManager, KeyStoreError, type StoredKeyring, WriteConditionFailedError } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD_TXN_CONDITION, EtcdKeyStore } from '../src/index.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { eventually, kek, newName, scanEtcdForMaterial } from './helpers/util.js';

let etcd: EtcdProcess;
const stores: EtcdKeyStore[] = [];
const open = (extra: ConstructorParameters<typeof EtcdKeyStore>[0] = {}) => {
  const s = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix: 'test/', callTimeoutMs: 2_000, ...extra });
  stores.push(s);
  return s;
};

beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await etcd?.stop();
});

async function rawGet(key: string): Promise<string | undefined> {
  const c = new Etcd3({ hosts: etcd.endpoint });
  try {
    return (await c.get(key).string()) ?? undefined;
  } finally {
    c.close();
  }
}

describe('EtcdKeyStore', () => {
  it('keeps the sealed keyring as one etcd key that another node reads back', async () => {
    const name = newName();
    const a = open();
    expect(await a.load(name)).toBeUndefined();
    const key = kek();
    const keys = await KeyManager.open({ store: a, kek: { key }, name });
    const raw = await rawGet(`test/keyrings/${name}`);
    expect(raw).toBeDefined();
    const doc = JSON.parse(raw!) as StoredKeyring;
    expect(doc.format).toBe('mesh-keyring/v1');
    expect(doc.version).toBe(keys.version);
    const b = open();
    const other = await KeyManager.open({ store: b, kek: { key }, name, watch: false });
    const k = await keys.acquireEncryptionKey();
    expect(Buffer.from((await other.getDecryptionKey(k.id)).material).equals(Buffer.from(k.material))).toBe(
      true,
    );
    await keys.close();
    await other.close();
  });

  it('compare-and-swap writes only on the expected version; of two racing writers exactly one wins', async () => {
    const name = newName();
    const a = open();
    const b = open();
    const keys = await KeyManager.open({ store: a, kek: { key: kek() }, name, watch: false });
    const doc = (await a.load(name))!;
    expect(await a.compareAndSwap(name, doc.version + 5, { ...doc, version: doc.version + 6 })).toBe(false);
    expect(await a.compareAndSwap(name, undefined, { ...doc, version: doc.version + 1 })).toBe(false);
    await b.load(name);
    const results = await Promise.all([
      a.compareAndSwap(name, doc.version, { ...doc, version: doc.version + 1, updatedAt: 1 }),
      b.compareAndSwap(name, doc.version, { ...doc, version: doc.version + 1, updatedAt: 2 }),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const stored = JSON.parse((await rawGet(`test/keyrings/${name}`))!) as StoredKeyring;
    expect(stored.version).toBe(doc.version + 1);
    expect(stored.updatedAt).toBe(results[0] ? 1 : 2);
    // The loser's remembered revision is stale; its next CAS on the new version still works.
    const loser = results[0] ? b : a;
    expect(await loser.compareAndSwap(name, doc.version + 1, { ...stored, version: doc.version + 2 })).toBe(
      true,
    );
    await keys.close();
  });

  it('refuses documents for another name and conditions of other stores', async () => {
    const name = newName();
    const a = open();
    const keys = await KeyManager.open({ store: a, kek: { key: kek() }, name, watch: false });
    const doc = (await a.load(name))!;
    await expect(a.compareAndSwap('other', doc.version, doc)).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    await expect(
      a.compareAndSwap(
        name,
        doc.version,
        { ...doc, version: doc.version + 1 },
        { condition: { kind: 'file' } },
      ),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    await keys.close();
  });

  it('a fenced write whose condition fails throws WriteConditionFailedError and writes nothing', async () => {
    const name = newName();
    const a = open();
    const keys = await KeyManager.open({ store: a, kek: { key: kek() }, name, watch: false });
    const doc = (await a.load(name))!;
    const c = new Etcd3({ hosts: etcd.endpoint });
    await c.put('test/fence').value('1');
    const modRev = (await c.get('test/fence').exec()).kvs[0]!.mod_revision;
    const condition = {
      kind: ETCD_TXN_CONDITION,
      description: 'fence unchanged',
      compares: [
        {
          key: Buffer.from('test/fence'),
          target: 'Mod' as const,
          result: 'Equal' as const,
          mod_revision: modRev,
        },
      ],
    };
    expect(
      await a.compareAndSwap(name, doc.version, { ...doc, version: doc.version + 1 }, { condition }),
    ).toBe(true);
    await c.put('test/fence').value('2');
    const err = await a
      .compareAndSwap(name, doc.version + 1, { ...doc, version: doc.version + 2 }, { condition })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WriteConditionFailedError);
    expect(err).toBeInstanceOf(KeyStoreError);
    expect(err.code).toBe('ERR_KEY_STATE');
    expect((JSON.parse((await rawGet(`test/keyrings/${name}`))!) as StoredKeyring).version).toBe(
      doc.version + 1,
    );
    // A version conflict stays a plain `false` even with a condition (the manager re-reads and re-decides).
    expect(
      await a.compareAndSwap(name, doc.version, { ...doc, version: doc.version + 2 }, { condition }),
    ).toBe(false);
    c.close();
    await keys.close();
  });

  it('a damaged value is ERR_KEYSTORE_CORRUPT', async () => {
    const name = newName();
    const c = new Etcd3({ hosts: etcd.endpoint });
    await c.put(`test/keyrings/${name}`).value('{not json');
    await expect(open().load(name)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    await c.put(`test/keyrings/${name}`).value('{"format":"other"}');
    await expect(open().load(name)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    c.close();
  });

  it('watch pushes another node’s rotation to a running manager', async () => {
    const name = newName();
    const key = kek();
    const a = await KeyManager.open({ store: open(), kek: { key }, name });
    const b = await KeyManager.open({ store: open(), kek: { key }, name });
    const before = b.version;
    await a.rotate();
    await eventually(() => b.version === a.version);
    expect(b.version).toBeGreaterThan(before);
    const k = await a.acquireEncryptionKey();
    expect((await b.getDecryptionKey(k.id)).id).toBe(k.id);
    await a.close();
    await b.close();
  });

  it('a watch from a compacted revision (etcd3: empty cancel reason) re-reads and watches again', async () => {
    const name = newName();
    const key = kek();
    const writerStore = open();
    const writer = await KeyManager.open({ store: writerStore, kek: { key }, name, watch: false });
    const s = open();
    await s.load(name); // remembers the revision of this read: the watch would start right after it
    for (let i = 0; i < 3; i++) await writer.rotate();
    const c = new Etcd3({ hosts: etcd.endpoint });
    const rev = (await c.get('anything').exec()).header.revision;
    await c.kv.compact({ revision: rev, physical: true });
    const restarted: { detail: string; fromRevision: string }[] = [];
    s.on('watch-restarted', (e) => restarted.push(e));
    let changes = 0;
    const stop = s.watch(name, () => changes++);
    await eventually(() => restarted.length === 1 && changes >= 1);
    expect(restarted[0]!.detail).toBe('Watcher canceled: ');
    expect(BigInt(restarted[0]!.fromRevision)).toBeGreaterThan(BigInt(rev));
    const seen = changes;
    await writer.rotate();
    await eventually(() => changes > seen);
    expect(restarted).toHaveLength(1);
    stop();
    c.close();
    await writer.close();
  });

  it('a watch that reconnects after its start revision was compacted re-reads and watches again', async () => {
    const name = newName();
    const key = kek();
    const writer = await KeyManager.open({ store: open(), kek: { key }, name, watch: false });
    const proxy = await TcpProxy.start(etcd.clientPort);
    const s = new EtcdKeyStore({ endpoints: proxy.endpoint, prefix: 'test/', callTimeoutMs: 1_000 });
    const reader = await KeyManager.open({ store: s, kek: { key }, name });
    const restarted: string[] = [];
    s.on('watch-restarted', (e) => restarted.push(e.detail));
    // Cut the link hard (existing streams die, new ones stall) while the keyring moves on and etcd compacts.
    proxy.blackhole();
    proxy.reset();
    for (let i = 0; i < 3; i++) await writer.rotate();
    const c = new Etcd3({ hosts: etcd.endpoint });
    await c.kv.compact({ revision: (await c.get('x').exec()).header.revision, physical: true });
    c.close();
    proxy.heal();
    await eventually(() => reader.version === writer.version && restarted.length > 0);
    expect(restarted).toEqual(['Watcher canceled: ']);
    await writer.rotate();
    await eventually(() => reader.version === writer.version);
    await reader.close();
    await writer.close();
    await s.close();
    await proxy.close();
  });

  it('ERR_KEYSTORE_UNAVAILABLE instead of a hang when etcd is frozen, and recovers after', async () => {
    const own = await EtcdProcess.start();
    try {
      const s = new EtcdKeyStore({ endpoints: own.endpoint, callTimeoutMs: 500 });
      const name = newName();
      const keys = await KeyManager.open({ store: s, kek: { key: kek() }, name });
      await keys.acquireEncryptionKey(); // takes a usage lease while etcd is up
      // The lease write comes back through the watch, and a load right after a pushed change answers from
      // that event without a round trip. Let the push arrive and consume it, so the load below must ask etcd.
      await eventually(async () => (await s.load(name))?.version === keys.version);
      await new Promise((r) => setTimeout(r, 200));
      await s.load(name);
      own.freeze();
      const err = await s.load(name).catch((e) => e);
      expect(err).toBeInstanceOf(KeyStoreError);
      expect(err.code).toBe('ERR_KEYSTORE_UNAVAILABLE');
      const rot = await keys.rotate().catch((e) => e);
      expect(rot.code).toBe('ERR_KEYSTORE_UNAVAILABLE');
      // The cached keyring and the usage lease still serve.
      const k = await keys.acquireEncryptionKey();
      expect((await keys.getDecryptionKey(k.id)).id).toBe(k.id);
      own.thaw();
      const v = keys.version;
      // The channel may reconnect once after the freeze: the first calls can still fail, then it resyncs.
      await eventually(async () => {
        await keys.rotate();
        return true;
      });
      expect(keys.version).toBeGreaterThan(v);
      await keys.close();
      await s.close();
    } finally {
      await own.stop();
    }
  });

  it('ERR_KEYSTORE_UNAVAILABLE when nothing listens, and when the link is black-holed', async () => {
    const dead = new EtcdKeyStore({ endpoints: 'http://127.0.0.1:1', callTimeoutMs: 500 });
    await expect(dead.load('x')).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    await dead.close();
    const proxy = await TcpProxy.start(etcd.clientPort);
    const s = new EtcdKeyStore({ endpoints: proxy.endpoint, prefix: 'test/', callTimeoutMs: 500 });
    const name = newName();
    const keys = await KeyManager.open({ store: s, kek: { key: kek() }, name, watch: false });
    proxy.blackhole();
    await expect(s.load(name)).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    const doc = (await open().load(name))!;
    await expect(
      s.compareAndSwap(name, doc.version, { ...doc, version: doc.version + 1 }),
    ).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_UNAVAILABLE',
    });
    proxy.heal();
    await eventually(async () => (await s.load(name).catch(() => undefined)) !== undefined);
    await keys.close();
    await s.close();
    await proxy.close();
  });

  it('the watch survives etcd SIGKILL and restart on its data directory', async () => {
    const own = await EtcdProcess.start();
    try {
      const key = kek();
      const name = newName();
      const sa = new EtcdKeyStore({ endpoints: own.endpoint, callTimeoutMs: 1_000 });
      const sb = new EtcdKeyStore({ endpoints: own.endpoint, callTimeoutMs: 1_000 });
      const a = await KeyManager.open({ store: sa, kek: { key }, name });
      const b = await KeyManager.open({ store: sb, kek: { key }, name });
      let reconnected = 0;
      sb.on('watch-reconnected', () => reconnected++);
      await own.kill();
      await own.restart();
      await eventually(async () => {
        await a.rotate();
        return true;
      });
      await eventually(() => b.version === a.version);
      expect(reconnected).toBeGreaterThanOrEqual(1);
      await a.close();
      await b.close();
      await sa.close();
      await sb.close();
    } finally {
      await own.stop();
    }
  });

  it('refuses keepalive pings more often than every 10 s (etcd answers too_many_pings)', () => {
    expect(() => new EtcdKeyStore({ keepaliveMs: 5_000 })).toThrow(KeyStoreError);
    expect(() => new EtcdKeyStore({ endpoints: 'ftp://x' })).toThrow(/endpoints/);
    expect(() => new EtcdKeyStore({ prefix: 'bad prefix' })).toThrow(/prefix/);
  });
});

describe('etcd holds no raw key material', () => {
  it('no value under the prefix contains any key in raw, hex, base64 or base64url form', async () => {
    const name = newName();
    const key = kek();
    const keys = await KeyManager.open({ store: open(), kek: { key }, name, watch: false });
    await keys.rotate();
    await keys.rotate();
    const materials: Uint8Array[] = [key];
    for (const info of keys.keys()) {
      if (info.state === 'retired') continue;
      materials.push((await keys.getDecryptionKey(info.id)).material);
    }
    expect(materials.length).toBeGreaterThanOrEqual(5);
    const clean = await scanEtcdForMaterial(etcd.endpoint, materials);
    expect(clean.values).toBeGreaterThan(0);
    expect(clean.hits).toEqual([]);
    // The scan finds planted material in each encoding (so the check above can fail).
    const c = new Etcd3({ hosts: etcd.endpoint });
    const planted = materials[1]!;
    for (const [i, enc] of ['hex', 'base64', 'base64url'].entries()) {
      await c.put(`planted/${i}`).value(`x${Buffer.from(planted).toString(enc as BufferEncoding)}x`);
      expect((await scanEtcdForMaterial(etcd.endpoint, [planted])).hits).toContain(`planted/${i}`);
      await c.delete().key(`planted/${i}`);
    }
    await c.put('planted/raw').value(Buffer.concat([Buffer.from('x'), Buffer.from(planted)]));
    expect((await scanEtcdForMaterial(etcd.endpoint, [planted])).hits).toContain('planted/raw');
    await c.delete().key('planted/raw');
    c.close();
    await keys.close();
  });
});
