/**
 * Rotation propagation latency: from the staged keyring write until every node has acked it, measured from
 * etcd's own watch stream (the revision order etcd applied them in), with 3 and with 10 node processes on
 * one local etcd. Each node is a separate Node process running createEncryption + RotationCoordinator
 * (test/fleet/fleet-node.mjs). Target: p99 < 200 ms on loopback.
 *
 * Run: `pnpm bench` (or `pnpm --filter @mesh/keystore-etcd bench`). Env MESH_BENCH_ROTATIONS (default 100).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Etcd3 } from 'etcd3';
import { EtcdProcess } from '../test/helpers/etcd-process.js';
import { announcePeers, FleetNode, nextEvent } from '../test/helpers/fleet.js';

const ROTATIONS = Number(process.env.MESH_BENCH_ROTATIONS ?? 100);

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function run(
  nodeCount: number,
  dataRoot: string | undefined,
): Promise<{ p50: number; p99: number; max: number; n: number; leaderP50: number }> {
  const etcd = await EtcdProcess.start(dataRoot ? { dataRoot } : {});
  const prefix = 'bench/';
  const nodes: FleetNode[] = [];
  const watchClient = new Etcd3({ hosts: etcd.endpoint });
  try {
    const kekHex = randomBytes(32).toString('hex');
    for (let i = 0; i < nodeCount; i++) {
      nodes.push(
        await FleetNode.start({
          nodeId: `n${i}`,
          endpoint: etcd.endpoint,
          prefix,
          keyring: 'default',
          kekHex,
          ttlSeconds: 5,
          // A fleet keeps a bounded keyring: the leader retires all but the newest decrypt-only keys.
          rotation: { maxRetainedKeys: 4 },
        }),
      );
    }
    announcePeers(nodes);
    // Stage time and ack times from etcd's watch (one clock: this process's, at event arrival).
    const stagedAt = new Map<number, number>(); // staged keyring version -> time seen
    const ackedAt = new Map<number, Map<string, number>>();
    const watcher = await watchClient.watch().prefix(prefix).create();
    const stagedIds = new Set<number>();
    watcher.on('put', (kv) => {
      const key = kv.key.toString();
      const now = performance.now();
      if (key === `${prefix}keyrings/default`) {
        const doc = JSON.parse(kv.value.toString()) as {
          version: number;
          keys: { id: number; state: string; createdInVersion: number }[];
        };
        for (const k of doc.keys) {
          if (k.state === 'staged' && !stagedIds.has(k.id)) {
            stagedIds.add(k.id);
            stagedAt.set(k.createdInVersion, now);
            ackedAt.set(k.createdInVersion, new Map());
          }
        }
      } else if (key.startsWith(`${prefix}nodes/`)) {
        const rec = JSON.parse(kv.value.toString()) as { nodeId: string; acks: Record<string, number> };
        const ack = rec.acks.default ?? 0;
        for (const [version, acks] of ackedAt) {
          if (ack >= version && !acks.has(rec.nodeId)) acks.set(rec.nodeId, now);
        }
      }
    });
    let leader: FleetNode | undefined;
    for (let i = 0; i < 200 && !leader; i++) {
      for (const n of nodes) if ((await n.stats()).leader) leader = n;
      if (!leader) await new Promise((r) => setTimeout(r, 50));
    }
    if (!leader) throw new Error('no leader');
    const leaderAck: number[] = [];
    for (let r = 0; r < ROTATIONS; r++) {
      const promoted = nextEvent([leader], (e) => e.event === 'promoted' && e.algorithm === 'aes-256-gcm');
      await leader.call('request-rotation');
      leaderAck.push((await promoted).ackMs as number);
      // Let the fleet settle: this measures propagation, not back-to-back rotation throughput.
      await new Promise((r) => setTimeout(r, 100));
    }
    await watcher.cancel();
    const samples: number[] = [];
    for (const [version, t0] of stagedAt) {
      const acks = ackedAt.get(version)!;
      if (acks.size < nodeCount) continue;
      samples.push(Math.max(...acks.values()) - t0);
    }
    samples.sort((a, b) => a - b);
    leaderAck.sort((a, b) => a - b);
    return {
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples[samples.length - 1]!,
      n: samples.length,
      leaderP50: percentile(leaderAck, 50),
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    watchClient.close();
    await etcd.stop();
  }
}

// etcd fsyncs its WAL on every write; with a tmpfs data directory the same run shows what is left without
// the disk (both are printed, so the disk's share is visible in one run).
const storages: Array<[string, string | undefined]> = [['disk (OS temp dir)', undefined]];
if (existsSync('/dev/shm')) storages.push(['tmpfs (/dev/shm)', '/dev/shm']);
const rows: string[] = [];
const load = loadavg()[0]!.toFixed(1);
for (const [label, root] of storages) {
  for (const count of [3, 10]) {
    const r = await run(count, root);
    rows.push(
      `| ${count} | ${label} | ${r.n} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.leaderP50.toFixed(1)} | ${r.p99 < 200 ? 'yes' : 'NO'} |`,
    );
  }
}
console.log('\nRotation propagation: staged write -> every node acked (ms, from etcd watch events)');
console.log(`${cpus().length} CPUs, load average ${load} at start\n`);
console.log('| nodes | etcd data dir | rotations | p50 | p99 | max | leader-measured p50 | p99 < 200 ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
