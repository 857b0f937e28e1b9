/**
 * The monitor: scrapes every live service's `/metrics` (prom-client) once per tick and turns the scrapes
 * into what the dashboard, the live line and the final summary show. A restarted service starts its counters
 * from zero; the monitor carries the totals of the killed process forward (its last ~tick is lost with it).
 */
import type { Fleet } from './fleet.js';
import { histogramBuckets, parseSamples, type Sample, sumOf } from './metrics-text.js';
import { bucketIncrease, histogramQuantile } from './stats.js';

/** Counters of one service process, from its `/metrics`. */
export interface ServiceTotals {
  /** Envelopes sealed: its requests to peers and its replies to peers' requests. */
  encrypts: number;
  /** Envelopes opened: peers' requests to it and the replies to its own requests. */
  decrypts: number;
  /** Crypto operations that failed (`mesh_crypto_failures_total`). */
  cryptoFailures: number;
  /** Calls it made to a peer that completed. */
  callsOk: number;
  /** Calls it made that failed (not counting a peer that was down). */
  callsFailed: number;
  /** Calls it could not make because the peer was down (the driver sent those requests elsewhere). */
  peerUnavailable: number;
  /** Peer requests it opened and answered. */
  served: number;
  /** Bytes given to compression, and what came out, over the bodies compressed by policy. */
  compressionIn: number;
  compressionOut: number;
  /** Bodies compressed. */
  compressed: number;
  /** New AES-256-GCM primaries it took up that it had held staged first (two-phase), and that it had not. */
  promotionsStagedFirst: number;
  promotionsNotStaged: number;
  /** Promotions it made as the rotation leader (etcd mode), and their stage -> all-acked time, summed. */
  leaderPromotions: number;
  stageAckSecondsSum: number;
}

const ZERO: ServiceTotals = {
  encrypts: 0,
  decrypts: 0,
  cryptoFailures: 0,
  callsOk: 0,
  callsFailed: 0,
  peerUnavailable: 0,
  served: 0,
  compressionIn: 0,
  compressionOut: 0,
  compressed: 0,
  promotionsStagedFirst: 0,
  promotionsNotStaged: 0,
  leaderPromotions: 0,
  stageAckSecondsSum: 0,
};

function totalsOf(s: readonly Sample[]): ServiceTotals {
  return {
    encrypts: sumOf(s, 'mesh_crypto_operations_total', { operation: 'encrypt', result: 'success' }),
    decrypts: sumOf(s, 'mesh_crypto_operations_total', { operation: 'decrypt', result: 'success' }),
    cryptoFailures: sumOf(s, 'mesh_crypto_failures_total'),
    callsOk: sumOf(s, 'mesh_demo_calls_total', { result: 'ok' }),
    callsFailed: sumOf(s, 'mesh_demo_calls_total', { result: 'failed' }),
    peerUnavailable: sumOf(s, 'mesh_demo_calls_total', { result: 'peer_unavailable' }),
    served: sumOf(s, 'mesh_demo_requests_served_total'),
    compressionIn: sumOf(s, 'mesh_compression_bytes_total', { stage: 'original' }),
    compressionOut: sumOf(s, 'mesh_compression_bytes_total', { stage: 'compressed' }),
    compressed: sumOf(s, 'mesh_compression_ratio_count'),
    promotionsStagedFirst: sumOf(s, 'mesh_demo_promotions_seen_total', {
      algorithm: 'aes-256-gcm',
      staged_first: 'yes',
    }),
    promotionsNotStaged: sumOf(s, 'mesh_demo_promotions_seen_total', {
      algorithm: 'aes-256-gcm',
      staged_first: 'no',
    }),
    leaderPromotions: sumOf(s, 'mesh_demo_stage_ack_seconds_count'),
    stageAckSecondsSum: sumOf(s, 'mesh_demo_stage_ack_seconds_sum'),
  };
}

function add(a: ServiceTotals, b: ServiceTotals): ServiceTotals {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof ServiceTotals)[]) out[k] += b[k];
  return out;
}

/** One node as the dashboard shows it. */
export interface NodeView {
  name: string;
  port: number;
  pid: number | undefined;
  status: 'starting' | 'up' | 'down';
  /**
   * Key version it encrypts under: 1 for the key the run started with, +1 per rotation (from the primary
   * AES-256-GCM key id in its last scrape); null when that key is not one this run made.
   */
  keyVersion: number | null;
  /** That key's id, hex. */
  primaryKeyId: string | null;
  /** Keys it holds, by state (both algorithms). */
  keys: Record<string, number>;
  restarts: number;
  /** etcd mode: whether it is the rotation leader, and whether it reports itself degraded. */
  leader: boolean | null;
  degraded: boolean | null;
  totals: ServiceTotals;
}

/** One point of the dashboard's time series. */
export interface SeriesPoint {
  /** Seconds since the traffic started. */
  t: number;
  /** Completed calls per second over the last tick, from the services' `mesh_demo_calls_total`. */
  callsPerSecond: number;
  /** Call latency quantiles in ms over the last tick, from `mesh_demo_call_duration_seconds`. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Failures so far: failed requests plus failed crypto operations. */
  failures: number;
  /** Rotations so far. */
  rotations: number;
  /** Key version of each node (null while it is down). */
  versions: Record<string, number | null>;
}

/** A rotation: the key version it produced, the new key's id, who made it, when. */
export interface RotationEvent {
  t: number;
  keyVersion: number;
  keyId: string;
  by: string;
}

/** Everything the dashboard shows, sent as JSON over server-sent events. */
export interface Snapshot {
  t: number;
  durationS: number;
  store: string;
  nodes: NodeView[];
  series: SeriesPoint[];
  rotations: RotationEvent[];
  events: { t: number; text: string }[];
  failedRequests: number;
  done: boolean;
}

interface Tracked {
  pid: number | undefined;
  samples: Sample[] | undefined;
  /** Totals of earlier processes of this service (before a kill). */
  carried: ServiceTotals;
  prevBuckets: Map<number, number> | undefined;
  prevCallsOk: number;
}

const SERIES_LIMIT = 3600;

function flag(s: readonly Sample[], metric: string): boolean | null {
  const sample = s.find((x) => x.name === metric);
  return sample ? sample.value === 1 : null;
}

function hex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** Scrapes the fleet and keeps the history the dashboard draws. */
export class Monitor {
  readonly series: SeriesPoint[] = [];
  readonly rotations: RotationEvent[] = [];
  readonly events: { t: number; text: string }[] = [];
  private readonly tracked = new Map<string, Tracked>();
  /** Key id -> key version (1 = the key the run started with). */
  private readonly keyVersions = new Map<number, number>();
  private lastTick = performance.now();
  /** Calls and latency buckets scraped since the last series point. */
  private pendingCalls = 0;
  private pendingBuckets = new Map<number, number>();

  constructor(
    private readonly fleet: Fleet,
    private readonly startedAt: () => number,
    private readonly failedRequests: () => number,
  ) {
    for (const n of fleet.nodes) {
      this.tracked.set(n.name, {
        pid: undefined,
        samples: undefined,
        carried: ZERO,
        prevBuckets: undefined,
        prevCallsOk: 0,
      });
    }
  }

  /** Seconds since the traffic started. */
  elapsed(): number {
    return (Date.now() - this.startedAt()) / 1000;
  }

  /** Records an event for the dashboard's log. */
  note(text: string): void {
    this.events.push({ t: this.elapsed(), text });
  }

  /** Records the key the run starts with (key version 1). */
  initialKey(keyId: number): void {
    this.keyVersions.set(keyId, 1);
  }

  /** Records a rotation to `keyId`; returns its key version. */
  rotated(keyId: number, by: string): number {
    const keyVersion = this.rotations.length + 2;
    this.keyVersions.set(keyId, keyVersion);
    this.rotations.push({ t: this.elapsed(), keyVersion, keyId: hex(keyId), by });
    return keyVersion;
  }

  /** Key version of a key id, if this run made that key. */
  keyVersionOf(keyId: number): number | null {
    return this.keyVersions.get(keyId) ?? null;
  }

  /** Key version of the newest rotation (1 before the first). */
  currentKeyVersion(): number {
    return this.rotations.length + 1;
  }

  /**
   * Scrapes every live service once and, unless `record` is false, appends a series point covering the
   * time since the last point (a scrape without a point, e.g. just before a kill, carries into the next).
   */
  async tick(record = true): Promise<void> {
    await Promise.all(
      this.fleet.nodes.map(async (node) => {
        if (node.status !== 'up') return;
        const pid = node.pid;
        let text: string;
        try {
          const r = await fetch(`http://127.0.0.1:${node.port}/metrics`, {
            signal: AbortSignal.timeout(3000),
          });
          text = await r.text();
        } catch {
          return; // killed between the check and the scrape
        }
        const t = this.tracked.get(node.name)!;
        if (t.pid !== pid) {
          // A new process of this service: keep what the old one counted, start its counters from zero.
          if (t.samples) t.carried = add(t.carried, totalsOf(t.samples));
          t.pid = pid;
          t.prevBuckets = undefined;
          t.prevCallsOk = 0;
        }
        t.samples = parseSamples(text);
        const buckets = histogramBuckets(t.samples, 'mesh_demo_call_duration_seconds');
        const inc = bucketIncrease(buckets, t.prevBuckets);
        t.prevBuckets = buckets;
        for (const [le, c] of inc) this.pendingBuckets.set(le, (this.pendingBuckets.get(le) ?? 0) + c);
        const ok = sumOf(t.samples, 'mesh_demo_calls_total', { result: 'ok' });
        this.pendingCalls += ok - t.prevCallsOk;
        t.prevCallsOk = ok;
      }),
    );
    if (!record) return;
    const now = performance.now();
    const dt = Math.max((now - this.lastTick) / 1000, 0.001);
    this.lastTick = now;
    const window = this.pendingBuckets;
    const calls = this.pendingCalls;
    this.pendingBuckets = new Map();
    this.pendingCalls = 0;
    const p50 = histogramQuantile(window, 0.5);
    const p99 = histogramQuantile(window, 0.99);
    const nodes = this.nodes();
    this.series.push({
      t: this.elapsed(),
      callsPerSecond: calls / dt,
      p50Ms: Number.isNaN(p50) ? null : p50 * 1000,
      p99Ms: Number.isNaN(p99) ? null : p99 * 1000,
      failures: this.failedRequests() + nodes.reduce((s, n) => s + n.totals.cryptoFailures, 0),
      rotations: this.rotations.length,
      versions: Object.fromEntries(nodes.map((n) => [n.name, n.status === 'up' ? n.keyVersion : null])),
    });
    if (this.series.length > SERIES_LIMIT) this.series.shift();
  }

  /** Every node with its latest scrape and its totals over all its processes. */
  nodes(): NodeView[] {
    return this.fleet.nodes.map((node) => {
      const t = this.tracked.get(node.name)!;
      const s = t.samples ?? [];
      const keys: Record<string, number> = {};
      for (const x of s)
        if (x.name === 'mesh_demo_keys') keys[x.labels.state!] = (keys[x.labels.state!] ?? 0) + x.value;
      const primary = s.find(
        (x) => x.name === 'mesh_demo_primary_key_id' && x.labels.algorithm === 'aes-256-gcm',
      );
      return {
        name: node.name,
        port: node.port,
        pid: node.pid,
        status: node.status,
        keyVersion: primary ? this.keyVersionOf(primary.value) : null,
        primaryKeyId: primary ? hex(primary.value) : null,
        keys,
        restarts: node.restarts,
        leader: flag(s, 'mesh_demo_fleet_leader'),
        degraded: flag(s, 'mesh_demo_fleet_degraded'),
        totals: add(t.carried, totalsOf(s)),
      };
    });
  }

  /** The dashboard's view of the run so far. */
  snapshot(durationS: number, store: string, done: boolean): Snapshot {
    return {
      t: this.elapsed(),
      durationS,
      store,
      nodes: this.nodes(),
      series: this.series,
      rotations: this.rotations,
      events: this.events,
      failedRequests: this.failedRequests(),
      done,
    };
  }
}
