/**
 * The fleet, for real: separate Node processes (test/fleet/fleet-node.mjs), each running createEncryption over
 * an EtcdKeyStore with a RotationCoordinator, encrypting for each other over loopback HTTP while the leader
 * rotates, and a real etcd that the tests freeze, kill, restart and cut off. An auditor replays etcd's own
 * history to check that no promotion happened while a live node lacked the staged key.
 */
import { randomBytes } from 'node:crypto';
import { KeyManager } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKeyStore } from '../src/index.js';
import { FleetAuditor } from './helpers/auditor.js';
import {
  announcePeers,
  FleetNode,
  type FleetNodeConfig,
  type NodeStats,
  nextEvent,
} from './helpers/fleet.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { eventually, scanEtcdForMaterial } from './helpers/util.js';

const TTL = 3;
let etcd: EtcdProcess;
const started: FleetNode[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  await Promise.all(started.map((n) => n.kill()));
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await etcd?.stop();
});

interface Setup {
  kekHex: string;
  prefix: string;
  keyring: string;
  auditor: FleetAuditor;
}

async function setup(endpoint: string, prefix: string): Promise<Setup> {
  const auditor = await FleetAuditor.start(endpoint, prefix, 'default');
  cleanups.push(() => auditor.close());
  return { kekHex: randomBytes(32).toString('hex'), prefix, keyring: 'default', auditor };
}

async function startNodes(
  s: Setup,
  ids: string[],
  endpoint: (id: string) => string,
  extra: Partial<FleetNodeConfig> = {},
): Promise<FleetNode[]> {
  const nodes: FleetNode[] = [];
  for (const nodeId of ids) {
    const n = await FleetNode.start({
      nodeId,
      endpoint: endpoint(nodeId),
      prefix: s.prefix,
      keyring: s.keyring,
      kekHex: s.kekHex,
      ttlSeconds: TTL,
      ...extra,
    });
    started.push(n);
    nodes.push(n);
  }
  announcePeers(nodes);
  return nodes;
}

const sum = (all: NodeStats[], f: (s: NodeStats) => number) => all.reduce((a, s) => a + f(s), 0);
const aesPromotions = (a: FleetAuditor) => a.promotions.filter((p) => p.algorithm === 'aes-256-gcm').length;
const leaderOf = async (nodes: FleetNode[]) => {
  for (const n of nodes) if (n.alive && (await n.stats()).leader) return n;
  return undefined;
};

describe.sequential('fleet of node processes on one etcd', () => {
  it('3 nodes: >=20 rotations, >=100,000 cross-node decryptions, zero failures; a late joiner reads old messages; etcd holds no key bytes', async () => {
    const s = await setup(etcd.endpoint, 'fleetA/');
    const nodes = await startNodes(s, ['a1', 'a2', 'a3'], () => etcd.endpoint, { interval: 250 });
    // Messages for a node that does not exist yet, made before most rotations.
    const old = await nodes[0]!.call<{ messages: { text: string; ciphertext: string }[] }>('encrypt', {
      n: 200,
      to: 'late',
    });
    await Promise.all(nodes.map((n) => n.call('traffic', { on: true, concurrency: 3, batchSize: 100 })));
    await eventually(
      async () => {
        const st = await Promise.all(nodes.map((n) => n.stats()));
        return sum(st, (x) => x.decrypted) >= 100_000 && aesPromotions(s.auditor) >= 20;
      },
      150_000,
      500,
    );
    await Promise.all(nodes.map((n) => n.call('traffic', { on: false })));
    const st = await Promise.all(nodes.map((n) => n.stats()));
    const decrypted = sum(st, (x) => x.decrypted);
    const failures = st.flatMap((x) => x.failures);
    console.log(
      `fleet: ${nodes.length} processes, ${aesPromotions(s.auditor)} aes-256-gcm rotations ` +
        `(${s.auditor.promotions.length} promotions in all), ${decrypted} cross-node decryptions, ` +
        `${sum(st, (x) => x.encrypted)} encryptions, ${failures.length} failures, ${sum(st, (x) => x.undelivered)} undelivered`,
    );
    expect(failures).toEqual([]);
    expect(decrypted).toBeGreaterThanOrEqual(100_000);
    expect(sum(st, (x) => x.undelivered)).toBe(0);
    expect(aesPromotions(s.auditor)).toBeGreaterThanOrEqual(20);
    expect(s.auditor.violations).toEqual([]);
    await eventually(
      async () => new Set((await Promise.all(nodes.map((n) => n.stats()))).map((x) => x.version)).size === 1,
    );

    // A node that joins late decrypts what was made for it before it started.
    const late = await FleetNode.start({
      nodeId: 'late',
      endpoint: etcd.endpoint,
      prefix: s.prefix,
      keyring: s.keyring,
      kekHex: s.kekHex,
      ttlSeconds: TTL,
    });
    started.push(late);
    const r = await late.call<{ ok: number; errors: string[] }>('decrypt', {
      from: 'a1',
      messages: old.messages,
    });
    console.log(
      `fleet: late joiner decrypted ${r.ok}/${old.messages.length} messages made before it started`,
    );
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(200);

    // No raw key bytes anywhere in etcd: read every key's material with the KEK, then scan every value.
    const store = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix: s.prefix });
    const keys = await KeyManager.open({
      store,
      kek: { key: Uint8Array.from(Buffer.from(s.kekHex, 'hex')) },
      watch: false,
    });
    const materials: Uint8Array[] = [Uint8Array.from(Buffer.from(s.kekHex, 'hex'))];
    for (const k of keys.keys()) {
      if (k.state !== 'retired') materials.push((await keys.getDecryptionKey(k.id)).material);
    }
    await keys.close();
    await store.close();
    const scan = await scanEtcdForMaterial(etcd.endpoint, materials);
    console.log(
      `fleet: scanned ${scan.values} etcd values for ${materials.length} keys: ${scan.hits.length} hits`,
    );
    expect(materials.length).toBeGreaterThan(40);
    expect(scan.hits).toEqual([]);
    await Promise.all([...nodes, late].map((n) => n.stop()));
  });

  it('SIGKILL of the leader between stage and promote: another node completes the rotation; zero failures', async () => {
    const s = await setup(etcd.endpoint, 'fleetB/');
    const nodes = await startNodes(s, ['b1', 'b2', 'b3'], () => etcd.endpoint);
    await eventually(async () => (await leaderOf(nodes)) !== undefined);
    await Promise.all(nodes.map((n) => n.call('traffic', { on: true, concurrency: 2, batchSize: 20 })));
    const leader = (await leaderOf(nodes))!;
    const [slow, other] = nodes.filter((n) => n !== leader) as [FleetNode, FleetNode];
    // A follower that cannot ack keeps the stage open; the leader dies inside that window.
    slow.signal('SIGSTOP');
    const staged = nextEvent([leader], (e) => e.event === 'staged' && e.algorithm === 'aes-256-gcm');
    await leader.call('request-rotation');
    const st = await staged;
    expect(leader.events.some((e) => e.event === 'promoted' && e.keyId === st.keyId)).toBe(false);
    const promoted = nextEvent([slow, other], (e) => e.event === 'promoted' && e.keyId === st.keyId);
    await leader.kill();
    slow.signal('SIGCONT');
    const done = await promoted;
    console.log(
      `fleet: leader ${leader.nodeId} killed after staging key ${st.keyId}; ${done.nodeId} promoted it`,
    );
    announcePeers([slow, other]);
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all([slow, other].map((n) => n.call('traffic', { on: false })));
    const stats = await Promise.all([slow, other].map((n) => n.stats()));
    console.log(
      `fleet: survivors decrypted ${sum(stats, (x) => x.decrypted)}, failures ${stats.flatMap((x) => x.failures).length}`,
    );
    expect(stats.flatMap((x) => x.failures)).toEqual([]);
    expect(sum(stats, (x) => x.decrypted)).toBeGreaterThan(0);
    expect(s.auditor.promotions.some((p) => p.keyId === st.keyId)).toBe(true);
    expect(s.auditor.violations).toEqual([]);
    await Promise.all([slow, other].map((n) => n.stop()));
  });

  it('one node cut off from etcd: rotations go on without it, it reports degraded, catches up after healing; failures only there, only while degraded', async () => {
    const s = await setup(etcd.endpoint, 'fleetD/');
    const proxy = await TcpProxy.start(etcd.clientPort);
    cleanups.push(() => proxy.close());
    const nodes = await startNodes(
      s,
      ['d1', 'd2', 'cut'],
      (id) => (id === 'cut' ? proxy.endpoint : etcd.endpoint),
      {
        interval: 400,
      },
    );
    const cut = nodes[2]!;
    await Promise.all(nodes.map((n) => n.call('traffic', { on: true, concurrency: 2, batchSize: 20 })));
    await eventually(() => aesPromotions(s.auditor) >= 2);
    const degraded = nextEvent([cut], (e) => e.event === 'degraded');
    proxy.blackhole();
    const before = aesPromotions(s.auditor);
    await degraded;
    await eventually(() => aesPromotions(s.auditor) >= before + 3, 60_000);
    const whileCut = aesPromotions(s.auditor) - before;
    proxy.heal();
    await eventually(async () => {
      const st = await Promise.all(nodes.map((n) => n.stats()));
      return (
        st[2]!.health.state === 'healthy' &&
        st[2]!.version >= st[0]!.version &&
        st[2]!.version >= st[1]!.version
      );
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all(nodes.map((n) => n.call('traffic', { on: false })));
    const st = await Promise.all(nodes.map((n) => n.stats()));
    const cutFailures = st[2]!.failures;
    console.log(
      `fleet: ${whileCut} rotations while 'cut' was cut off; failures: d1 ${st[0]!.failures.length}, d2 ${st[1]!.failures.length}, ` +
        `cut ${cutFailures.length} (${cutFailures.filter((f) => f.degraded).length} while degraded); decrypted ${sum(st, (x) => x.decrypted)}`,
    );
    expect(whileCut).toBeGreaterThanOrEqual(3);
    expect(st[0]!.failures).toEqual([]);
    expect(st[1]!.failures).toEqual([]);
    expect(cutFailures.filter((f) => !f.degraded)).toEqual([]);
    expect(cut.events.some((e) => e.event === 'healthy')).toBe(true);
    expect(s.auditor.violations).toEqual([]);
    await Promise.all(nodes.map((n) => n.stop()));
  });
});

describe.sequential('fleet through etcd faults', () => {
  it('etcd frozen longer than the lease TTL, then SIGKILLed and restarted: nodes serve from cache, converge, zero failures, no early promotion', async () => {
    const own = await EtcdProcess.start();
    cleanups.push(() => own.stop());
    const s = await setup(own.endpoint, 'fleetC/');
    const nodes = await startNodes(s, ['c1', 'c2', 'c3'], () => own.endpoint);
    await eventually(async () => (await leaderOf(nodes)) !== undefined);
    await Promise.all(nodes.map((n) => n.call('traffic', { on: true, concurrency: 2, batchSize: 20 })));
    const rotate = async () => {
      const before = aesPromotions(s.auditor);
      await eventually(
        async () => {
          await nodes[0]!.call('request-rotation');
          return true;
        },
        60_000,
        200,
      );
      await eventually(() => aesPromotions(s.auditor) > before, 60_000);
    };
    await rotate();
    await rotate();
    await new Promise((r) => setTimeout(r, 500)); // every node leases uses of the new primary
    own.freeze();
    await new Promise((r) => setTimeout(r, TTL * 1_000 + 1_500));
    own.thaw();
    // Every node resyncs by itself (its watch reconnects, its lease is re-granted) before the next rotation.
    const allHealthy = async () =>
      (await Promise.all(nodes.map((n) => n.stats()))).every((x) => x.health.state === 'healthy');
    await eventually(allHealthy, 60_000);
    await rotate();
    await own.kill();
    await new Promise((r) => setTimeout(r, 500));
    await own.restart();
    await eventually(allHealthy, 60_000);
    await rotate();
    await rotate();
    await eventually(
      async () => new Set((await Promise.all(nodes.map((n) => n.stats()))).map((x) => x.version)).size === 1,
      60_000,
    );
    await Promise.all(nodes.map((n) => n.call('traffic', { on: false })));
    const st = await Promise.all(nodes.map((n) => n.stats()));
    console.log(
      `fleet: through etcd freeze and restart: ${aesPromotions(s.auditor)} rotations, ${sum(st, (x) => x.decrypted)} decryptions, ` +
        `${st.flatMap((x) => x.failures).length} failures, versions ${st.map((x) => x.version).join('/')}`,
    );
    expect(st.flatMap((x) => x.failures)).toEqual([]);
    expect(sum(st, (x) => x.decrypted)).toBeGreaterThan(0);
    // Each node noticed the outage (degraded) and recovered (healthy) on its own.
    for (const n of nodes) {
      expect(n.events.some((e) => e.event === 'degraded')).toBe(true);
      expect(n.events.some((e) => e.event === 'healthy')).toBe(true);
    }
    expect(s.auditor.promotions.length).toBeGreaterThanOrEqual(5);
    expect(s.auditor.violations).toEqual([]);
    await Promise.all(nodes.map((n) => n.stop()));
  });
});
