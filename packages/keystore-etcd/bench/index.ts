/**
 * Rotation propagation benchmark (CLI): a local etcd and N node processes; the leader rotates and each
 * rotation is timed from the staged keyring write until every node acked it (see `propagation.ts`).
 * Target: p99 < 200 ms on loopback.
 *
 * Run: `pnpm --filter @mesh/keystore-etcd bench [options]`, or `node --import tsx bench/index.ts` here.
 *   --nodes LIST       fleet sizes, comma-separated (default 3,10)
 *   --rotations N      rotations per fleet (default MESH_BENCH_ROTATIONS or 100)
 *   --storage LIST     etcd data dir: disk (OS temp dir), tmpfs (/dev/shm, when present); default both
 *   --json             print one JSON object (etcd version, machine, every rotation's latency) as the last
 *                      line of stdout instead of the Markdown table; `pnpm bench` (apps/bench) reads it
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { etcdVersion, measurePropagation, type PropagationResult } from './propagation.js';

// `pnpm ... bench -- --json` hands the script a literal `--` first: drop it rather than end option parsing.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    nodes: { type: 'string', default: '3,10' },
    rotations: { type: 'string', default: process.env.MESH_BENCH_ROTATIONS ?? '100' },
    storage: { type: 'string', default: 'disk,tmpfs' },
    json: { type: 'boolean', default: false },
  },
});
const positive = (text: string, name: string): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
};
const nodeCounts = values.nodes.split(',').map((s) => positive(s, 'nodes'));
const rotations = positive(values.rotations, 'rotations');
// etcd fsyncs its WAL on every write; with a tmpfs data directory the same run shows what is left without
// the disk (both are measured, so the disk's share is visible in one run).
const STORAGES: Record<string, [label: string, root: string | undefined]> = {
  disk: ['disk (OS temp dir)', undefined],
  tmpfs: ['tmpfs (/dev/shm)', '/dev/shm'],
};
const storages = values.storage.split(',').map((s) => {
  const entry = STORAGES[s];
  if (!entry) throw new Error(`--storage: unknown ${s} (disk, tmpfs)`);
  return [s, ...entry] as const;
});

const load = loadavg()[0]!.toFixed(1);
const runs: (PropagationResult & { storage: string; storageLabel: string })[] = [];
for (const [storage, label, root] of storages) {
  if (root !== undefined && !existsSync(root)) continue;
  for (const nodes of nodeCounts) {
    runs.push({
      storage,
      storageLabel: label,
      ...(await measurePropagation({ nodes, rotations, dataRoot: root })),
    });
  }
}
if (values.json) {
  const out = { schema: 1, etcdVersion: etcdVersion(), cpus: cpus().length, loadavgStart: load, runs };
  console.log(JSON.stringify(out));
} else {
  console.log('\nRotation propagation: staged write -> every node acked (ms, from etcd watch events)');
  console.log(`${cpus().length} CPUs, load average ${load} at start, etcd ${etcdVersion()}\n`);
  console.log('| nodes | etcd data dir | rotations | p50 | p99 | max | leader-measured p50 | p99 < 200 ms |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    console.log(
      `| ${r.nodes} | ${r.storageLabel} | ${r.samplesMs.length} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.leaderP50.toFixed(1)} | ${r.p99 < 200 ? 'yes' : 'NO'} |`,
    );
  }
}
