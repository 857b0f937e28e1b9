/**
 * etcd rotation propagation latency, measured by `@mesh/keystore-etcd`'s own benchmark (its
 * `bench/index.ts --json`, spawned by path in this workspace; nothing of it is duplicated here): a real
 * local etcd and N node processes, each rotation timed from the staged keyring write until every node acked
 * it. Absent `etcd` binary (or keystore-etcd not in the repository) is reported as absent, never an error.
 *
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PACKAGE = join(ROOT, 'packages/keystore-etcd');
const SCRIPT = join(PACKAGE, 'bench/index.ts');

/** One fleet size on one etcd storage: every rotation's latency and the percentiles of them (ms). */
export interface EtcdPropagationRun {
  readonly nodes: number;
  /** `disk` (OS temp dir) or `tmpfs` (`/dev/shm`): where etcd's data directory (and its fsynced WAL) was. */
  readonly storage: string;
  readonly rotations: number;
  /** Staged write -> last node's ack, per rotation every node acked, in rotation order. */
  readonly samplesMs: number[];
  /** The leader's own stage -> all-acked time, per rotation. */
  readonly leaderAckMs: number[];
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly leaderP50: number;
}

/** The etcd section of `latest.json`. */
export interface EtcdResult {
  readonly etcdVersion: string;
  readonly loadavgStart: string;
  readonly runs: EtcdPropagationRun[];
}

/** What to measure. */
export interface EtcdOptions {
  readonly nodes: readonly number[];
  readonly rotations: number;
  readonly storages: readonly ('disk' | 'tmpfs')[];
  readonly log: (line: string) => void;
}

/** Why the etcd section cannot run here, or undefined when it can. */
export function etcdAbsence(): string | undefined {
  if (!existsSync(SCRIPT)) return `${SCRIPT} not in this repository`;
  const binary = process.env.MESH_ETCD_BINARY ?? 'etcd';
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) return `no \`${binary}\` binary on PATH`;
  return undefined;
}

/** Runs keystore-etcd's benchmark with `--json` and returns what it printed (its last stdout line). */
export async function runEtcdPropagation(options: EtcdOptions): Promise<EtcdResult> {
  const args = [
    '--import',
    'tsx',
    SCRIPT,
    '--json',
    '--nodes',
    options.nodes.join(','),
    '--rotations',
    String(options.rotations),
    '--storage',
    options.storages.join(','),
  ];
  options.log(
    `  keystore-etcd bench: ${options.nodes.join(', ')} nodes x ${options.rotations} rotations, ${options.storages.join(' + ')}`,
  );
  // cwd = the package, so `--import tsx` resolves from the workspace and the script's relative imports work.
  const child = spawn(process.execPath, args, { cwd: PACKAGE, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`keystore-etcd bench exited with ${code}`);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(last) as {
    schema: number;
    etcdVersion: string;
    loadavgStart: string;
    runs: (EtcdPropagationRun & { storageLabel?: string })[];
  };
  if (parsed.schema !== 1) throw new Error(`keystore-etcd bench: unknown schema ${parsed.schema}`);
  return {
    etcdVersion: parsed.etcdVersion,
    loadavgStart: parsed.loadavgStart,
    runs: parsed.runs.map(({ storageLabel: _, ...run }) => run),
  };
}
