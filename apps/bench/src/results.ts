/**
 * The machine-readable result of a run (`bench/results/latest.json`) and what is derived from it: per
 * candidate summaries, the ratio list (ours / each peer) and the targets. Tables and the chart are rendered
 * from this object alone, so a committed JSON can be re-rendered without re-measuring.
 *
 * @module
 */
import type { RoundSamples } from './rounds.js';
import { bestOf, ratioOf, type Summary, summarize } from './stats.js';
import type { EtcdResult } from './suites/etcd.js';
import type { CompressionResult, KdfResult, RsaResult, StreamingResult } from './suites/extras.js';
import type { PaddingResult } from './suites/padding.js';
import type { SymmetricResult } from './suites/symmetric.js';

/** Everything one run measured, with the machine and versions it ran on. Every round is kept. */
export interface BenchResults {
  readonly schema: 1;
  readonly createdAt: string;
  readonly mode: 'full' | 'quick';
  readonly command: string;
  readonly durationSeconds: number;
  readonly machine: Record<string, unknown>;
  readonly versions: Record<string, string | undefined>;
  readonly plan: { sizes: number[]; rounds: number; sliceMs: number; streamBytes: number };
  /** Per size (bytes, as a string key): per candidate `impl:op`, ops/s of CPU time in each round. */
  readonly symmetric: SymmetricResult;
  /** The same loops' rates per wall-clock second (for reference; the report uses CPU time). */
  readonly symmetricWall: SymmetricResult;
  readonly compression: CompressionResult[];
  /** 1 KiB facade encrypt/decrypt with the default, no-op and Prometheus collectors. */
  readonly metrics: RoundSamples;
  readonly streaming: StreamingResult | undefined;
  readonly kdf: KdfResult | undefined;
  readonly rsa: RsaResult | undefined;
  /** Facade GCM with a padding policy against the same facade without, per size (absent in older JSON). */
  readonly padding?: PaddingResult | undefined;
  /**
   * etcd rotation propagation (staged write -> every node acked, ms) per fleet size and etcd storage, from
   * `@mesh/keystore-etcd`'s benchmark; undefined when not run (absent `etcd` binary: see `absent`).
   */
  readonly etcd?: EtcdResult | undefined;
  /** Peers or features that were not measured, with the reason. */
  readonly absent: Record<string, string>;
}

/** One ratio of the report: ours / a peer at one size and operation, median of per-round ratios. */
export interface Ratio {
  readonly group: string;
  readonly label: string;
  readonly size: number;
  readonly op: 'encrypt' | 'decrypt';
  readonly ratio: Summary;
}

/** Pairs (ours, peer) the ratio table and chart show, per operation. */
const COMPARISONS: readonly {
  group: string;
  label: string;
  ours: string;
  peer: string | readonly string[];
  ops: readonly ('encrypt' | 'decrypt')[];
}[] = [
  {
    group: 'GCM',
    label: 'facade / raw node:crypto',
    ours: 'facade',
    peer: ['raw-naive', 'raw-one-output', 'raw'],
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'GCM',
    label: 'facade with context / raw node:crypto',
    ours: 'facade-ctx',
    peer: ['raw-naive', 'raw-one-output', 'raw'],
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'GCM',
    label: 'facade / Python AESGCM',
    ours: 'facade',
    peer: 'python-aesgcm',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'GCM',
    label: 'facade / AWS SDK 0x0478',
    ours: 'facade',
    peer: 'aws-0478',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'GCM',
    label: 'facade / AWS SDK 0x0578',
    ours: 'facade',
    peer: 'aws-0578',
    ops: ['encrypt', 'decrypt'],
  },
  { group: 'GCM', label: 'facade / openssl speed', ours: 'facade', peer: 'openssl-gcm', ops: ['encrypt'] },
  {
    group: 'GCM',
    label: 'Prometheus / no-op metrics',
    ours: 'facade-prom',
    peer: 'facade',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'Fernet',
    label: 'Fernet mode / Python Fernet',
    ours: 'fernet-facade',
    peer: 'python-fernet',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'Fernet',
    label: 'Fernet mode / fernet-nodejs',
    ours: 'fernet-facade',
    peer: 'fernet-nodejs',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'Fernet',
    label: 'Fernet mode / npm fernet',
    ours: 'fernet-facade',
    peer: 'npm-fernet',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'Fernet',
    label: 'forge backend / npm fernet',
    ours: 'fernet-core-forge',
    peer: 'npm-fernet',
    ops: ['encrypt', 'decrypt'],
  },
  {
    group: 'Fernet',
    label: 'Fernet mode / openssl speed AES-128-CBC',
    ours: 'fernet-facade',
    peer: 'openssl-cbc',
    ops: ['encrypt'],
  },
];

/** The rounds of `impl:op` at a size; for a list of peers, the best of those present, round by round. */
function series(
  r: BenchResults,
  size: number,
  impl: string | readonly string[],
  op: string,
): number[] | undefined {
  const at = r.symmetric[String(size)];
  if (at === undefined) return undefined;
  if (typeof impl === 'string') return at[`${impl}:${op}`];
  const present = impl.map((i) => at[`${i}:${op}`]).filter((s): s is number[] => s !== undefined);
  return present.length === 0 ? undefined : bestOf(...present);
}

/** Every ratio whose two sides were measured. */
export function ratios(r: BenchResults): Ratio[] {
  const out: Ratio[] = [];
  for (const c of COMPARISONS) {
    for (const op of c.ops) {
      for (const size of r.plan.sizes) {
        const a = series(r, size, c.ours, op);
        const b = series(r, size, c.peer, op);
        if (a === undefined || b === undefined || a.length === 0 || b.length === 0) continue;
        out.push({ group: c.group, label: c.label, size, op, ratio: ratioOf(a, b) });
      }
    }
  }
  return out;
}

/** A target of the issue, evaluated on this run. */
export interface Target {
  readonly name: string;
  readonly required: string;
  /** The measured figure (a ratio, or for the metrics cost 1 - ratio), median and spread. */
  readonly measured: Summary | undefined;
  readonly met: boolean | undefined;
}

function atLeast(name: string, required: number, s: Summary | undefined): Target {
  return {
    name,
    required: `>= ${required.toFixed(2)}x`,
    measured: s,
    met: s === undefined || Number.isNaN(s.median) ? undefined : s.median >= required,
  };
}

/** The targets, as ratios in this run. */
export function targets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const all = ratios(r);
  const find = (label: string, size: number, op: string) =>
    all.find((x) => x.label === label && x.size === size && x.op === op)?.ratio;
  for (const size of r.plan.sizes) {
    for (const op of ['encrypt', 'decrypt'] as const) {
      out.push(
        atLeast(
          `facade GCM ${op} / raw node:crypto, ${sizeLabel(size)}`,
          1,
          find('facade / raw node:crypto', size, op),
        ),
      );
    }
  }
  for (const size of r.plan.sizes) {
    for (const op of ['encrypt', 'decrypt'] as const) {
      out.push(
        atLeast(
          `Fernet mode ${op} / Python Fernet, ${sizeLabel(size)}`,
          1,
          find('Fernet mode / Python Fernet', size, op),
        ),
      );
    }
  }
  for (const size of r.plan.sizes) {
    for (const op of ['encrypt', 'decrypt'] as const) {
      out.push(
        atLeast(
          `forge backend Fernet ${op} / npm fernet, ${sizeLabel(size)}`,
          2,
          find('forge backend / npm fernet', size, op),
        ),
      );
    }
  }
  for (const op of ['encrypt', 'decrypt'] as const) {
    const a = r.metrics[`prometheus:${op}`];
    const b = r.metrics[`noop:${op}`];
    out.push(
      atLeast(
        `Prometheus metrics / no-op, ${op} 1 KiB (cost <= 5%)`,
        0.95,
        a && b ? ratioOf(a, b) : undefined,
      ),
    );
  }
  const s = r.streaming;
  out.push(
    atLeast(
      'streaming encrypt / in-memory GCM encrypt, 1 MiB messages',
      0.8,
      s ? ratioOf(s.slices.stream, s.slices.inMemory) : undefined,
    ),
  );
  return out;
}

/** Summaries of every symmetric candidate at every size. */
export function symmetricSummaries(r: BenchResults): Record<string, Record<string, Summary>> {
  const out: Record<string, Record<string, Summary>> = {};
  for (const [size, rounds] of Object.entries(r.symmetric)) {
    out[size] = {};
    for (const [id, s] of Object.entries(rounds)) out[size]![id] = summarize(s);
  }
  return out;
}

export function sizeLabel(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}
