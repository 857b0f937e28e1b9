/**
 * Interleaved rounds on tinybench: every candidate of a group runs once per round, for the same time slice,
 * in an order that rotates from round to round. A burst of load from another process on this shared machine
 * then lands on every candidate alike instead of on whichever happened to be measured at that moment, and
 * the per-round figures give both a median and a spread.
 *
 * Each tinybench iteration is a batch of calls (sized so that one batch takes roughly 0.2 ms), so the timer
 * reads and tinybench's own bookkeeping are amortised over many calls; `overriddenDuration` hands tinybench
 * the per-call mean of the batch.
 *
 * Time is this process's CPU time (user + system, `process.cpuUsage`), not wall-clock: on a shared machine a
 * candidate that is descheduled for a few milliseconds must not be charged for it. GC helper threads and
 * page faults are CPU time of this process, so they still count. Wall-clock rates are kept beside them.
 *
 * @module
 */
import { Bench } from 'tinybench';

/** One operation under test; may return a promise (it is awaited inside the timed window). */
export type Op = () => unknown;

/** A named operation with the payload size it processes per call. */
export interface Candidate {
  readonly id: string;
  readonly op: Op;
  /** Run once before the first round and discarded: JIT, lazily created pools, metric series. */
  readonly warmupCalls?: number;
}

/** How long and how often. */
export interface RoundPlan {
  readonly rounds: number;
  /** Time budget of one candidate in one round, ms. */
  readonly sliceMs: number;
}

/** ops/s of each candidate, one entry per round (index = round). */
export type RoundSamples = Record<string, number[]>;

const TARGET_BATCH_MS = 0.2;

/** This process's CPU time in ms (user + system, all threads; microsecond resolution). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Calls per batch so that one batch lasts about {@link TARGET_BATCH_MS} (wall-clock probe, close enough). */
async function batchSize(op: Op): Promise<number> {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await op();
    const elapsed = performance.now() - t0;
    if (elapsed >= TARGET_BATCH_MS || calls >= 4096) {
      return Math.max(1, Math.min(4096, Math.round((calls * TARGET_BATCH_MS) / Math.max(elapsed, 1e-3))));
    }
    calls *= 4;
  }
}

function isAsync(op: Op): boolean {
  const r = op();
  return r instanceof Promise;
}

/**
 * Runs `candidates` in `plan.rounds` interleaved rounds and returns each one's ops/s per round.
 * `between` (if given) runs after every round: the Python peer uses it to run its own round, A B A B.
 */
export async function runRounds(
  candidates: readonly Candidate[],
  plan: RoundPlan,
  between?: (round: number) => Promise<void>,
  wall?: RoundSamples,
): Promise<RoundSamples> {
  const samples: RoundSamples = {};
  const batches = new Map<string, { n: number; async: boolean }>();
  for (const c of candidates) {
    const async = isAsync(c.op);
    if (async) await c.op();
    for (let i = 0; i < (c.warmupCalls ?? 0); i++) await c.op();
    batches.set(c.id, { n: await batchSize(c.op), async });
    samples[c.id] = [];
    if (wall) wall[c.id] = [];
  }
  const wallMs = new Map<string, { ms: number; calls: number }>();
  for (let round = 0; round < plan.rounds; round++) {
    wallMs.clear();
    const addWall = (id: string, ms: number, calls: number) => {
      const w = wallMs.get(id) ?? { ms: 0, calls: 0 };
      w.ms += ms;
      w.calls += calls;
      wallMs.set(id, w);
    };
    const bench = new Bench({
      time: plan.sliceMs,
      iterations: 1,
      warmup: false,
      throws: true,
      retainSamples: false,
    });
    // Rotate the order each round so no candidate always runs first (or right after a heavy one).
    const order = candidates.map((_, i) => candidates[(i + round) % candidates.length]!);
    for (const c of order) {
      const { n, async } = batches.get(c.id)!;
      const op = c.op;
      if (async) {
        bench.add(c.id, async () => {
          const w0 = performance.now();
          const t0 = cpuMs();
          for (let i = 0; i < n; i++) await op();
          const d = cpuMs() - t0;
          addWall(c.id, performance.now() - w0, n);
          return { overriddenDuration: d / n, overriddenIterationCost: d };
        });
      } else {
        bench.add(c.id, () => {
          const w0 = performance.now();
          const t0 = cpuMs();
          for (let i = 0; i < n; i++) op();
          const d = cpuMs() - t0;
          addWall(c.id, performance.now() - w0, n);
          return { overriddenDuration: d / n, overriddenIterationCost: d };
        });
      }
    }
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== 'completed')
        throw new Error(`benchmark task ${task.name} did not complete: ${r.state}`);
      // Mean per-call latency over the slice (GC and page faults included, as a caller pays them).
      samples[task.name]!.push(1000 / r.latency.mean);
      const w = wallMs.get(task.name);
      if (wall && w) wall[task.name]!.push((w.calls * 1000) / w.ms);
    }
    if (between) await between(round);
  }
  return samples;
}
