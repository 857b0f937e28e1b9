/**
 * One target in its own process (started by `main.ts` with a capped heap): runs it and sends the report to
 * the parent over IPC. A heartbeat every second tells the parent that the event loop still turns; a case
 * that blocks it (a synchronous hang) stops the heartbeat, and the parent kills this process by its pid.
 *
 * @module
 */
import type { RunOptions, TargetReport } from './runner.js';
import type { FuzzTarget } from './target.js';

/** What the parent sends (as the first command-line argument, JSON). */
export interface ChildJob {
  readonly target: string;
  readonly options: Omit<RunOptions, 'onProgress'>;
}

/** Messages to the parent. */
export type ChildMessage =
  | { readonly type: 'heartbeat'; readonly cases: number }
  | { readonly type: 'progress'; readonly cases: number }
  | { readonly type: 'report'; readonly report: TargetReport }
  | { readonly type: 'error'; readonly message: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
// The deliberately broken targets load alone (the tests start them, and need not wait for every package).
const candidates: readonly FuzzTarget[] = job.target.startsWith('selftest/')
  ? (await import('./targets/selftest.js')).SELFTEST_TARGETS
  : (await import('./registry.js')).TARGETS;
const target = candidates.find((t) => t.name === job.target);
const { runTarget } = await import('./runner.js');
const counter = { cases: 0 };
// Loaded: from now on the parent holds the child to the stall bound.
send({ type: 'heartbeat', cases: 0 });
const heartbeat = setInterval(() => send({ type: 'heartbeat', cases: counter.cases }), 1000);
try {
  if (!target) throw new Error(`no target ${job.target}`);
  const report = await runTarget(target, {
    ...job.options,
    counter,
    onProgress: (cases) => send({ type: 'progress', cases }),
  });
  send({ type: 'report', report });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
} finally {
  clearInterval(heartbeat);
  process.disconnect?.();
}
