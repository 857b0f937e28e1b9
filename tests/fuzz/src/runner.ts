/**
 * Runs one target under the oracle with fast-check: every case timed, measured and classified, the run
 * replayable from its seed (and the failing case from its path).
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { CaseMemoryProbe, retainedBytes, turnEventLoop } from './memory.js';
import { preview } from './mutate.js';
import { typedCode, Violation, type ViolationKind } from './oracle.js';
import type { FuzzTarget, OpenTarget } from './target.js';

/** Bounds and budget of one run. */
export interface RunOptions {
  /** fast-check seed: the same seed gives the same cases. */
  readonly seed: number;
  /** Cases to run. */
  readonly runs: number;
  /** fast-check replay path of a failing case (from a failure report). */
  readonly path?: string;
  /**
   * A case slower than this fails (`slow-case`). Generous on purpose: it catches runaway work (a loop over a
   * claimed length, a PBKDF2 count from the input), not a slow machine. Default 2000 ms.
   */
  readonly caseTimeBoundMs?: number;
  /** A case whose promise has not settled after this long fails as a hang. Default 10 s. */
  readonly hangBoundMs?: number;
  /** A case that takes more memory than this fails (`memory`). Default 64 MiB. */
  readonly caseMemoryBoundBytes?: number;
  /** Retained memory growing by more than this from the first batch to the last fails. Default 64 MiB. */
  readonly heapGrowthBoundBytes?: number;
  /** Cases between retained-memory samples (a full GC each). Default 1000. */
  readonly batch?: number;
  /** Called after every batch with the cases run so far (the CLI's progress line). */
  readonly onProgress?: (cases: number) => void;
  /** Incremented before every case (the child's heartbeat reports it, so a crash says where it happened). */
  readonly counter?: { cases: number };
  /**
   * A file the index of the case about to run is written to, synchronously, before it runs: when the process
   * dies in a case (out of memory, a native abort), the parent reads it and reports `--path <index>`, which
   * makes fast-check replay exactly that case.
   */
  readonly caseLog?: string;
  /** Shrink a failing case (default true; the short test budget keeps it). */
  readonly shrink?: boolean;
}

/** What a run found. */
export interface TargetReport {
  readonly target: string;
  readonly pkg: string;
  readonly seed: number;
  /** Cases fast-check ran before stopping (all of them unless one failed). */
  readonly runs: number;
  /** Cases executed in all, shrinking included. */
  readonly executed: number;
  /** Typed error codes seen, with counts. */
  readonly codes: Record<string, number>;
  /** The first message seen for each code (what a caller reads). */
  readonly examples: Record<string, string>;
  /** Cases that returned, by the label the target gave. */
  readonly returned: Record<string, number>;
  readonly maxCaseMs: number;
  readonly maxCaseBytes: number;
  /** Retained memory (after GC) at the last batch minus at the first. */
  readonly heapGrowthBytes: number;
  readonly elapsedMs: number;
  /** Whether per-case memory used the kernel's peak RSS (Linux) or array buffer growth only. */
  readonly peakRss: boolean;
  readonly failure?: {
    readonly kind: ViolationKind;
    readonly message: string;
    readonly counterexample: string;
    readonly path: string | undefined;
    /** The command that replays the failing case. */
    readonly replay: string;
  };
}

const MiB = 1024 * 1024;

function withTimeout<T>(value: Promise<T> | T, ms: number): Promise<T> | T {
  if (!(value instanceof Promise)) return value;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Violation('hang', `case did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([value, timeout]).finally(() => clearTimeout(timer));
}

/** The `pnpm fuzz` command that replays a run (and, with `path`, just its failing case). */
export function replayCommand(target: string, seed: number, path?: string | null): string {
  return `pnpm fuzz --target ${target} --seed ${seed}${path ? ` --path ${path}` : ''}`;
}

/** Runs `target` for `options.runs` cases; never throws for a violation (it is in the report). */
export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<TargetReport> {
  const started = performance.now();
  const open = await target.open();
  try {
    return await runOpen(target, open, options, started);
  } finally {
    await open.close?.();
  }
}

async function runOpen(
  target: FuzzTarget,
  open: OpenTarget,
  options: RunOptions,
  started: number,
): Promise<TargetReport> {
  const timeBound = options.caseTimeBoundMs ?? 2000;
  const hangBound = options.hangBoundMs ?? 10_000;
  const memoryBound = options.caseMemoryBoundBytes ?? 64 * MiB;
  const growthBound = options.heapGrowthBoundBytes ?? 64 * MiB;
  const batch = options.batch ?? 1000;
  const probe = new CaseMemoryProbe();
  const codes: Record<string, number> = {};
  const examples: Record<string, string> = {};
  const returned: Record<string, number> = {};
  let executed = 0;
  let maxCaseMs = 0;
  let maxCaseBytes = 0;
  let firstRetained: number | undefined;
  let heapGrowth = 0;
  let lastViolation: Violation | undefined;

  /** Retained memory (after a full GC) against the first sample; a violation past the bound. */
  const sampleRetained = async (): Promise<Violation | undefined> => {
    const retained = await retainedBytes();
    if (firstRetained === undefined) firstRetained = retained;
    heapGrowth = Math.max(heapGrowth, retained - firstRetained);
    if (heapGrowth <= growthBound) return undefined;
    return new Violation(
      'heap-growth',
      `retained memory grew by ${(heapGrowth / MiB).toFixed(1)} MiB over ${executed} cases (bound ${growthBound / MiB} MiB)`,
    );
  };

  const property = fc.asyncProperty(open.inputs, async (input) => {
    // After a whole-run violation (heap growth) every further case passes: nothing to shrink.
    if (lastViolation?.kind === 'heap-growth') return;
    executed++;
    if (options.counter) options.counter.cases = executed;
    // Every case starts on a fresh turn of the event loop, as each request of a server would: what the
    // last case deferred (a stream's close on the next tick) runs first, and timers (the child's heartbeat)
    // fire. Without it a run of synchronous cases is one long chain of microtasks that never yields.
    await turnEventLoop();
    // fast-check's path of run N (counting from 0) is "N": only primary runs are logged, not shrinking.
    if (options.caseLog && lastViolation === undefined) writeFileSync(options.caseLog, String(executed - 1));
    if (executed % batch === 0) {
      // Between batches: what the process keeps. Growth past the bound is a leak (an unbounded cache, a
      // listener per call); the first sample is taken after one batch so lazy set-up does not count.
      const violation = await sampleRetained();
      options.onProgress?.(executed);
      if (violation) throw remember(violation);
    }
    probe.start();
    const t0 = performance.now();
    let label: string;
    // A synchronous case is measured the moment it returns: a collection before the next await could free
    // a large buffer it allocated (and never wrote, so that only array-buffer memory ever saw it).
    let syncBytes = 0;
    try {
      const value = open.run(input);
      if (!(value instanceof Promise)) syncBytes = probe.bytes();
      label = `${(await withTimeout(value, hangBound)) ?? 'returned'}`;
    } catch (error) {
      if (syncBytes === 0) syncBytes = probe.bytes();
      if (error instanceof Violation) throw remember(error);
      let code: string | undefined;
      try {
        code = open.codeOf?.(error) ?? typedCode(error, open.extraCodes);
      } catch (violation) {
        throw remember(violation as Violation);
      }
      codes[code] = (codes[code] ?? 0) + 1;
      examples[code] ??= String((error as { message?: unknown }).message).slice(0, 200);
      label = '';
    }
    const ms = performance.now() - t0;
    const bytes = Math.max(syncBytes, probe.bytes());
    maxCaseMs = Math.max(maxCaseMs, ms);
    maxCaseBytes = Math.max(maxCaseBytes, bytes);
    if (bytes > memoryBound) {
      throw remember(
        new Violation(
          'memory',
          `case took ${(bytes / MiB).toFixed(1)} MiB (bound ${(memoryBound / MiB).toFixed(0)} MiB)`,
        ),
      );
    }
    if (ms > timeBound) {
      throw remember(new Violation('slow-case', `case took ${ms.toFixed(0)} ms (bound ${timeBound} ms)`));
    }
    if (label !== '') returned[label] = (returned[label] ?? 0) + 1;
  });

  function remember(v: Violation): Violation {
    lastViolation = v;
    return v;
  }

  const details = await fc.check(property, {
    seed: options.seed,
    numRuns: options.runs,
    ...(options.path === undefined ? {} : { path: options.path }),
    endOnFailure: options.shrink === false,
  });
  // The last sample, after the last case: a leak shows even when the run is shorter than a few batches.
  const finalViolation = details.failed || executed < batch ? undefined : await sampleRetained();
  const failure = finalViolation
    ? {
        kind: finalViolation.kind,
        message: finalViolation.message,
        counterexample: '(the whole run: memory retained across cases)',
        path: undefined,
        replay: replayCommand(target.name, details.seed),
      }
    : details.failed
      ? {
          kind: failureKind(details.errorInstance, lastViolation),
          message:
            details.errorInstance instanceof Error
              ? details.errorInstance.message
              : String(details.errorInstance ?? 'failed'),
          counterexample: preview(details.counterexample?.[0]),
          path: details.counterexamplePath ?? undefined,
          replay: replayCommand(target.name, details.seed, details.counterexamplePath),
        }
      : undefined;
  return {
    target: target.name,
    pkg: target.pkg,
    seed: details.seed,
    runs: details.numRuns,
    executed,
    codes,
    examples,
    returned,
    maxCaseMs,
    maxCaseBytes,
    heapGrowthBytes: heapGrowth,
    elapsedMs: performance.now() - started,
    peakRss: probe.peakRss,
    ...(failure ? { failure } : {}),
  };
}

function failureKind(error: unknown, last: Violation | undefined): ViolationKind {
  if (error instanceof Violation) return error.kind;
  return last?.kind ?? 'untyped-error';
}
