/**
 * Runs a target in a child process with a capped heap, and turns what can only be seen from outside into
 * report failures: a crash (the child died: out of memory, a native abort) and a synchronous hang (the
 * child's heartbeat stopped: its event loop is blocked). The child is killed by the pid it was started with.
 *
 * @module
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildJob, ChildMessage } from './child.js';
import type { ViolationKind } from './oracle.js';
import { type RunOptions, replayCommand, type TargetReport } from './runner.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** How long a child may take to load before its first heartbeat (a loaded machine transpiles slowly). */
const STARTUP_MS = 120_000;
const PACKAGE_DIR = dirname(HERE);

/** How the child is run and watched. */
export interface LaunchOptions {
  /** V8 heap cap of the child (`--max-old-space-size`), MiB. Default 1024. */
  readonly maxOldSpaceMiB?: number;
  /** The child is declared hung when its heartbeat has been silent this long. Default 60 s. */
  readonly stallMs?: number;
  /** Called with the cases done so far, after each batch. */
  readonly onProgress?: (cases: number) => void;
}

/** Runs `target` in a child process; always resolves with a report (failures included). */
export function runInChild(
  target: { name: string; pkg: string },
  options: Omit<RunOptions, 'onProgress'>,
  launch: LaunchOptions = {},
): Promise<TargetReport> {
  const logDir = mkdtempSync(join(tmpdir(), 'mesh-fuzz-case-'));
  const caseLog = join(logDir, 'case');
  const job: ChildJob = { target: target.name, options: { ...options, caseLog } };
  const started = performance.now();
  const child = fork(join(HERE, 'child.ts'), [JSON.stringify(job)], {
    cwd: PACKAGE_DIR,
    execArgv: ['--import', 'tsx', `--max-old-space-size=${launch.maxOldSpaceMiB ?? 1024}`, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const stallMs = launch.stallMs ?? 60_000;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve) => {
    let report: TargetReport | undefined;
    let childError: string | undefined;
    let cases = 0;
    let lastBeat = performance.now();
    let killedForStall = false;
    // Until its first message the child is loading (transpiling and importing every target): that gets the
    // start-up allowance, not the stall bound.
    let ready = false;
    const watchdog = setInterval(() => {
      const allowed = ready ? stallMs : Math.max(stallMs, STARTUP_MS);
      if (performance.now() - lastBeat > allowed && child.pid !== undefined && child.exitCode === null) {
        killedForStall = true;
        process.kill(child.pid, 'SIGKILL');
      }
    }, 1000);
    child.on('message', (m: ChildMessage) => {
      lastBeat = performance.now();
      ready = true;
      if (m.type === 'heartbeat') {
        cases = Math.max(cases, m.cases);
      } else if (m.type === 'progress') {
        cases = m.cases;
        launch.onProgress?.(m.cases);
      } else if (m.type === 'report') {
        report = m.report;
        // The report is in: a child kept alive by a stray handle is not waited for.
        setTimeout(() => {
          if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        }, 5000).unref();
      } else if (m.type === 'error') {
        childError = m.message;
      }
    });
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      let lastCase: string | undefined;
      try {
        lastCase = readFileSync(caseLog, 'utf8').trim() || undefined;
      } catch {
        lastCase = undefined;
      }
      rmSync(logDir, { recursive: true, force: true });
      if (report) return resolve(report);
      const kind: ViolationKind = killedForStall ? 'hang' : 'crash';
      const message = killedForStall
        ? `no heartbeat for ${stallMs} ms after ${cases} cases (event loop blocked): killed`
        : childError !== undefined
          ? `the target failed outside any case: ${childError}`
          : `child exited (${signal ?? `code ${code}`}) after about ${cases} cases: ${stderr
              .trim()
              .split('\n')
              .filter((l) => l.trim() !== '')
              .slice(-12)
              .join(' | ')}`;
      resolve({
        target: target.name,
        pkg: target.pkg,
        seed: options.seed,
        runs: cases,
        executed: cases,
        codes: {},
        examples: {},
        returned: {},
        maxCaseMs: 0,
        maxCaseBytes: 0,
        heapGrowthBytes: 0,
        elapsedMs: performance.now() - started,
        peakRss: false,
        failure: {
          kind,
          message,
          counterexample:
            lastCase === undefined
              ? '(not known: the process died)'
              : `case ${lastCase} of the run (the process died in it; --path ${lastCase} replays it)`,
          path: lastCase,
          replay: replayCommand(target.name, options.seed, lastCase),
        },
      });
    });
  });
}
