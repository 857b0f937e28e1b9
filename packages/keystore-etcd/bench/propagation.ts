/**
 * Rotation propagation latency: from the staged keyring write until every node has acked it, measured from
 * etcd's own watch stream (the revision order etcd applied them in). Each node is a separate Node process
 * running createEncryption + RotationCoordinator (test/fleet/fleet-node.mjs, importing the built packages).
 * Used by `bench/index.ts` (the CLI) and, through that CLI, by the repository's `pnpm bench`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { announcePeers, FleetNode, nextEvent } from '../test/helpers/fleet.js';

/** `3.4.23` from `etcd --version` of the binary the harness starts (`MESH_ETCD_BINARY` or `etcd`). */
export function etcdVersion(): string {
  const text = execFileSync(process.env.MESH_ETCD_BINARY ?? 'etcd', ['--version'], { encoding: 'utf8' });
  return /etcd Version:\s*(\S+)/.exec(text)?.[1] ?? text.split('\n')[0]!.trim();
}

/** The nearest-rank percentile `p` (0-100) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** One fleet configuration to measure. */
export interface PropagationOptions {
  /** Node processes in the fleet. */
  readonly nodes: number;
  /** Rotations the leader runs, one after another with {@link settleMs} between them. */
  readonly rotations: number;
  /** Directory etcd's temporary data directory is made in (default the OS temp dir; `/dev/shm` for tmpfs). */
  readonly dataRoot?: string | undefined;
  /** Pause after each promotion, so this measures propagation, not back-to-back rotation throughput. */
  readonly settleMs?: number;
}

/** What one configuration measured: every rotation's latency, and the summary of them. */
export interface PropagationResult {
  readonly nodes: number;
  readonly rotations: number;
  /** Staged write -> last node's ack, ms, one per rotation every node acked, in rotation order. */
  readonly samplesMs: number[];
  /** The leader's own stage -> all-acked time (`promoted` event's `ackMs`), ms, one per rotation. */
  readonly leaderAckMs: number[];
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly leaderP50: number;
}

/**
 * Starts its own etcd and `nodes` node processes, has the leader rotate `rotations` times and times each
 * rotation from etcd's watch stream; stops every process it started and removes etcd's data directory.
 */
export async function measurePropagation(options: PropagationOptions): Promise<PropagationResult> {
  const nodeCount = options.nodes;
  const dataRoot = options.dataRoot;
  const settleMs = options.settleMs ?? 100;
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
    for (let r = 0; r < options.rotations; r++) {
      const promoted = nextEvent([leader], (e) => e.event === 'promoted' && e.algorithm === 'aes-256-gcm');
      await leader.call('request-rotation');
      leaderAck.push((await promoted).ackMs as number);
      // Let the fleet settle: this measures propagation, not back-to-back rotation throughput.
      await new Promise((r) => setTimeout(r, settleMs));
    }
    await watcher.cancel();
    const samples: number[] = [];
    for (const [version, t0] of [...stagedAt].sort((a, b) => a[0] - b[0])) {
      const acks = ackedAt.get(version)!;
      if (acks.size < nodeCount) continue;
      samples.push(Math.max(...acks.values()) - t0);
    }
    if (samples.length === 0) throw new Error(`no rotation was acked by all ${nodeCount} nodes`);
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      nodes: nodeCount,
      rotations: options.rotations,
      samplesMs: samples,
      leaderAckMs: leaderAck,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1]!,
      leaderP50: percentile(
        [...leaderAck].sort((a, b) => a - b),
        50,
      ),
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    watchClient.close();
    await etcd.stop();
  }
}
