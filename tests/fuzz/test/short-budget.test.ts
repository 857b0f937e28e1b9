/**
 * The short budget of `pnpm fuzz` inside `pnpm test`: every target, a few hundred cases, under the same
 * oracle (typed errors only, time and memory bounds, no forgery). The seed is random per run and printed;
 * `MESH_FUZZ_SEED=<seed> pnpm --filter @mesh/fuzz test` reruns it, and a failure prints the `pnpm fuzz`
 * command that replays just the failing case.
 */
import { describe, expect, it } from 'vitest';
import { TARGETS } from '../src/registry.js';
import { runTarget } from '../src/runner.js';

const seed = process.env.MESH_FUZZ_SEED
  ? Number(process.env.MESH_FUZZ_SEED)
  : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
/** Cases per target: the long budget is `pnpm fuzz` (100,000); these few keep the CI run short. */
const RUNS: Record<string, number> = { 'keystore-etcd/etcd-value': 150, 'keys/file-key-store': 200 };
const DEFAULT_RUNS = 300;

console.log(`fuzz short budget: seed ${seed} (rerun with MESH_FUZZ_SEED=${seed})`);

describe(`every fuzz target, short budget (seed ${seed})`, () => {
  for (const target of TARGETS) {
    it(`${target.name}: only typed errors, within the time and memory bounds`, async () => {
      // No retained-memory sampling (a full GC each): a leak shows over thousands of cases, in `pnpm fuzz`.
      const runs = RUNS[target.name] ?? DEFAULT_RUNS;
      const report = await runTarget(target, { seed, runs, batch: runs + 1 });
      const codes = Object.entries(report.codes)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      console.log(
        `${target.name}: ${report.runs} cases, max ${report.maxCaseMs.toFixed(1)} ms, codes ${codes || '-'}`,
      );
      expect(
        report.failure,
        report.failure && `${report.failure.message}\nreplay: ${report.failure.replay}`,
      ).toBeUndefined();
      expect(report.runs).toBe(RUNS[target.name] ?? DEFAULT_RUNS);
      // The cases reach past the first check: some typed errors, and (but for the config and CLI parsers,
      // where most inputs are wrong) more than one kind of them.
      expect(Object.keys(report.codes).length).toBeGreaterThan(0);
    });
  }
});
