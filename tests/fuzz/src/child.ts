/**
 * One target in its own process (started by `main.ts` with a capped heap): runs it and sends the report to
 * the parent over IPC. A heartbeat every second tells the parent that the event loop still turns; a case
 * that blocks it (a synchronous hang) stops the heartbeat, and the parent kills this process by its pid.
 *
 * @module
 */
import { selectTargets, TARGETS } from './registry.js';
import { type RunOptions, runTarget } from './runner.js';
import { SELFTEST_TARGETS } from './targets/selftest.js';

/** What the parent sends (as the first command-line argument, JSON). */
export interface ChildJob {
  readonly target: string;
  readonly options: Omit<RunOptions, 'onProgress'>;
}

/** Messages to the parent. */
export type ChildMessage =
  | { readonly type: 'heartbeat'; readonly cases: number }
  | { readonly type: 'progress'; readonly cases: number }
  | { readonly type: 'report'; readonly report: import('./runner.js').TargetReport }
  | { readonly type: 'error'; readonly message: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
const [target] = selectTargets([job.target], [...TARGETS, ...SELFTEST_TARGETS]);
const counter = { cases: 0 };
const heartbeat = setInterval(() => send({ type: 'heartbeat', cases: counter.cases }), 1000);
try {
  if (!target) throw new Error(`no target ${job.target}`);
  const report = await runTarget(target, {
    ...job.options,
    onProgress: (cases) => send({ type: 'progress', cases }),
  });
  send({ type: 'report', report });
} catch (error) {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
} finally {
  clearInterval(heartbeat);
  process.disconnect?.();
}
