import { KeyManager, WriteConditionFailedError } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EtcdKeyStore,
  LeaderElection,
  type Leadership,
  listFleetNodes,
  NodeRegistration,
} from '../src/index.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { eventually, kek, newName } from './helpers/util.js';

let etcd: EtcdProcess;
const closers: Array<() => Promise<void>> = [];
const store = (endpoint = etcd.endpoint, prefix = 'fleet/') => {
  const s = new EtcdKeyStore({ endpoints: endpoint, prefix, callTimeoutMs: 1_000 });
  closers.push(() => s.close());
  return s;
};

beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await etcd?.stop();
});

describe('NodeRegistration', () => {
  it('registers under <prefix>nodes/<id> on its own lease, records acks, leaves on close', async () => {
    const prefix = `${newName()}/`;
    const s = store(etcd.endpoint, prefix);
    const a = await NodeRegistration.start({ store: s, nodeId: 'a', ttlSeconds: 3, acks: { default: 1 } });
    const b = await NodeRegistration.start({
      store: store(etcd.endpoint, prefix),
      nodeId: 'b',
      ttlSeconds: 3,
    });
    expect(a.leaseId).toBeDefined();
    expect(a.leaseId).not.toBe(b.leaseId);
    await a.ack('default', 4);
    await a.ack('default', 2); // never lowers
    const live = await b.liveNodes();
    expect(live.nodes.map((n) => n.nodeId).sort()).toEqual(['a', 'b']);
    const na = live.nodes.find((n) => n.nodeId === 'a')!;
    expect(na.acks).toEqual({ default: 4 });
    const c = new Etcd3({ hosts: etcd.endpoint });
    const kv = (await c.get(`${prefix}nodes/a`).exec()).kvs[0]!;
    expect(kv.lease).toBe(a.leaseId);
    c.close();
    expect(a.health().state).toBe('healthy');
    await a.close();
    expect((await b.liveNodes()).nodes.map((n) => n.nodeId)).toEqual(['b']);
    await b.close();
  });

  it('listFleetNodes reads the live set and acks without registering the caller; skips foreign values', async () => {
    const prefix = `${newName()}/`;
    const reader = store(etcd.endpoint, prefix);
    expect((await listFleetNodes(reader)).nodes).toEqual([]);
    const a = await NodeRegistration.start({
      store: store(etcd.endpoint, prefix),
      nodeId: 'a',
      ttlSeconds: 3,
      acks: { default: 3 },
    });
    const c = new Etcd3({ hosts: etcd.endpoint });
    await c.put(`${prefix}nodes/not-json`).value('{oops');
    const live = await listFleetNodes(reader);
    expect(live.nodes.map((n) => [n.nodeId, n.acks, n.lease])).toEqual([['a', { default: 3 }, a.leaseId]]);
    expect(BigInt(live.revision)).toBeGreaterThan(0n);
    // The reader left no registration of its own: only the foreign value and a's key are there.
    const keys = (await c.getAll().prefix(`${prefix}nodes/`).keys()).sort();
    expect(keys).toEqual([`${prefix}nodes/a`, `${prefix}nodes/not-json`]);
    await a.close();
    expect((await listFleetNodes(reader)).nodes).toEqual([]);
    c.close();
  });

  it('cut off: degraded after 0.8x TTL (before etcd3 reports the lease lost), out of the live set after the TTL, back after healing', async () => {
    const prefix = `${newName()}/`;
    const proxy = await TcpProxy.start(etcd.clientPort);
    closers.push(() => proxy.close());
    const cut = await NodeRegistration.start({
      store: store(proxy.endpoint, prefix),
      nodeId: 'cut',
      ttlSeconds: 2,
      acks: { default: 7 },
    });
    const watcher = await NodeRegistration.start({
      store: store(etcd.endpoint, prefix),
      nodeId: 'w',
      ttlSeconds: 2,
    });
    const events: string[] = [];
    cut.on('degraded', (e) => events.push(`degraded:${e.reason}`));
    cut.on('registered', () => events.push('registered'));
    cut.on('healthy', () => events.push('healthy'));
    proxy.blackhole();
    const cutAt = Date.now();
    await eventually(() => cut.health().state === 'degraded');
    const degradedAfter = Date.now() - cutAt;
    expect(events[0]).toBe('degraded:keepalive-overdue');
    // etcd expires the lease; the registration disappears from the live set.
    await eventually(async () => !(await watcher.liveNodes()).nodes.some((n) => n.nodeId === 'cut'));
    const goneAfter = Date.now() - cutAt;
    expect(degradedAfter).toBeLessThan(goneAfter);
    proxy.heal();
    await eventually(async () => (await watcher.liveNodes()).nodes.some((n) => n.nodeId === 'cut'));
    await eventually(() => cut.health().state === 'healthy');
    expect(events).toContain('registered');
    const back = (await watcher.liveNodes()).nodes.find((n) => n.nodeId === 'cut')!;
    expect(back.acks).toEqual({ default: 7 });
    expect(back.lease).toBe(cut.leaseId);
    await cut.close();
    await watcher.close();
  });
});

describe('LeaderElection', () => {
  it('elects exactly one leader per keyring; fenced writes of a former leader fail in etcd', async () => {
    const name = newName();
    const s1 = store();
    const s2 = store();
    const key = kek();
    const keys = await KeyManager.open({ store: s1, kek: { key }, name, watch: false });
    const e1 = new LeaderElection({ store: s1, keyring: name, nodeId: 'n1', ttlSeconds: 2 });
    const e2 = new LeaderElection({ store: s2, keyring: name, nodeId: 'n2', ttlSeconds: 2 });
    e1.start();
    await eventually(() => e1.isLeader);
    e2.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(e2.isLeader).toBe(false);
    expect(await e2.leader()).toBe('n1');
    const old: Leadership = e1.leadership!;
    const fence = e1.fence();
    const doc = (await s1.load(name))!;
    expect(
      await s1.compareAndSwap(name, doc.version, { ...doc, version: doc.version + 1 }, { condition: fence }),
    ).toBe(true);
    expect(() => e2.fence()).toThrow(/not the leader/);
    await e1.close();
    await eventually(() => e2.isLeader);
    expect(BigInt(e2.leadership!.createRevision)).toBeGreaterThan(BigInt(old.createRevision));
    // The old fence no longer holds: etcd refuses the write.
    const err = await s1
      .compareAndSwap(name, doc.version + 1, { ...doc, version: doc.version + 2 }, { condition: fence })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WriteConditionFailedError);
    expect(
      await s2.compareAndSwap(
        name,
        doc.version + 1,
        { ...doc, version: doc.version + 2 },
        { condition: e2.fence() },
      ),
    ).toBe(true);
    await e2.close();
    await keys.close();
  });

  it('a leader cut off from etcd steps down by itself within 0.8x TTL; another takes over; its fence is dead', async () => {
    const name = newName();
    const proxy = await TcpProxy.start(etcd.clientPort);
    closers.push(() => proxy.close());
    const sCut = store(proxy.endpoint);
    const sOk = store();
    const cut = new LeaderElection({ store: sCut, keyring: name, nodeId: 'cut', ttlSeconds: 2 });
    const ok = new LeaderElection({ store: sOk, keyring: name, nodeId: 'ok', ttlSeconds: 2 });
    cut.start();
    await eventually(() => cut.isLeader);
    ok.start();
    const fence = cut.fence();
    const reasons: string[] = [];
    cut.on('stepped-down', (e) => reasons.push(e.reason));
    proxy.blackhole();
    const t0 = Date.now();
    await eventually(() => !cut.isLeader);
    const steppedDownAfter = Date.now() - t0;
    await eventually(() => ok.isLeader);
    const takenOverAfter = Date.now() - t0;
    expect(reasons).toEqual(['keepalive-overdue']);
    // Stepped down before the new leader could act (etcd expires the old lease only after the TTL).
    expect(steppedDownAfter).toBeLessThan(takenOverAfter);
    // The cut-off leader's fence is refused even when its write reaches etcd.
    const name2 = newName();
    const keys = await KeyManager.open({ store: sOk, kek: { key: kek() }, name: name2, watch: false });
    const doc = (await sOk.load(name2))!;
    const err = await sOk
      .compareAndSwap(name2, doc.version, { ...doc, version: doc.version + 1 }, { condition: fence })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WriteConditionFailedError);
    proxy.heal();
    // Back online it campaigns again, behind the new leader: never two leaders.
    await new Promise((r) => setTimeout(r, 500));
    expect(cut.isLeader).toBe(false);
    expect(ok.isLeader).toBe(true);
    await keys.close();
    await cut.close();
    await ok.close();
  });

  it('etcd3 fault: a campaign that failed (lease lost while cut off) later emits elected; it is ignored', async () => {
    const name = newName();
    const proxy = await TcpProxy.start(etcd.clientPort);
    closers.push(() => proxy.close());
    const first = new LeaderElection({ store: store(), keyring: name, nodeId: 'first', ttlSeconds: 2 });
    first.start();
    await eventually(() => first.isLeader);
    const cut = new LeaderElection({
      store: store(proxy.endpoint),
      keyring: name,
      nodeId: 'cut',
      ttlSeconds: 2,
    });
    const stale: unknown[] = [];
    cut.on('stale-elected', (e) => stale.push(e.error));
    const elected: Leadership[] = [];
    cut.on('elected', (l) => elected.push(l));
    cut.start();
    // Let the campaign queue behind `first` (it now waits for first's key to go).
    const c = new Etcd3({ hosts: etcd.endpoint });
    await eventually(async () => (await c.getAll().prefix(`fleet/election/${name}/`).keys()).length === 2);
    await new Promise((r) => setTimeout(r, 500)); // and its watch for first's key to go is set up
    const failed = new Promise((r) => cut.on('campaign-failed', r));
    proxy.blackhole();
    // After 2x TTL without a keepalive etcd3 declares the campaign's lease lost: the campaign emits `error`.
    await failed;
    proxy.heal();
    const healedAt = (await c.get('x').exec()).header.revision;
    await first.close();
    // The failed campaign's watch still sees first's key go and emits `elected`: reported, not obeyed.
    await eventually(() => stale.length > 0);
    // The retried campaign wins legitimately, with a key created after the heal.
    await eventually(() => cut.isLeader);
    expect(elected).toHaveLength(1);
    expect(BigInt(elected[0]!.createRevision)).toBeGreaterThan(BigInt(healedAt) - 1n);
    c.close();
    await cut.close();
  });
});
