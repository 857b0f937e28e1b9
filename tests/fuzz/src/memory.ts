/**
 * How much memory one case took, and whether memory grows across cases.
 *
 * Per case, two measures, the larger counts:
 * - the peak resident set size during the case, above the resident size at its start. On Linux the kernel
 *   keeps the peak (`VmHWM` in /proc/self/status) and lets a process reset it (writing `5` to
 *   /proc/self/clear_refs), so the peak of synchronous code is seen exactly, with no sampling thread;
 * - the growth of `process.memoryUsage().arrayBuffers` from the start to the end of the case, before any
 *   forced collection: buffers allocated by the case that the garbage collector has not freed yet. This sees
 *   large allocations that were never written (zero pages are not resident, so the peak RSS misses them).
 *
 * Across cases: the live heap plus external memory after full collections, sampled between batches.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const CLEAR_REFS = '/proc/self/clear_refs';
const STATUS = '/proc/self/status';

function canResetPeak(): boolean {
  try {
    writeFileSync(CLEAR_REFS, '5');
    return readPeakRss() > 0;
  } catch {
    return false;
  }
}

function readPeakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(STATUS, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Measures one case at a time: {@link start} before it, {@link bytes} after it. */
export class CaseMemoryProbe {
  /** True when the kernel's peak RSS is used (Linux); otherwise only array buffer growth is measured. */
  readonly peakRss: boolean = canResetPeak();
  #rssAtStart = 0;
  #buffersAtStart = 0;

  start(): void {
    if (this.peakRss) writeFileSync(CLEAR_REFS, '5');
    const usage = process.memoryUsage();
    this.#rssAtStart = usage.rss;
    this.#buffersAtStart = usage.arrayBuffers;
  }

  /** Bytes the case took: the larger of peak RSS growth and array buffer growth. */
  bytes(): number {
    const buffers = process.memoryUsage().arrayBuffers - this.#buffersAtStart;
    const rss = this.peakRss ? readPeakRss() - this.#rssAtStart : 0;
    return Math.max(0, buffers, rss);
  }
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection (`global.gc`, exposed at run time when the process was not started with it). */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') {
      gcFunction = exposed;
    } else {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
    }
  }
  gcFunction();
}

/** Lets the event loop turn once: callbacks deferred with `process.nextTick` or `setImmediate` run. */
export function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Live heap plus external memory (array buffers, native zlib state) after full collections: what the process
 * keeps. The event loop turns first, so that what a closed stream releases on its next tick is released;
 * twice over, because native memory is freed by finalizers that run after the collection that found it dead.
 */
export async function retainedBytes(): Promise<number> {
  for (let i = 0; i < 2; i++) {
    await turnEventLoop();
    collectGarbage();
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}
