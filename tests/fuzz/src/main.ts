/**
 * `pnpm fuzz`: the long budget. Every target (or those named with `--target`) in turn, each in its own
 * process with a capped heap, 100,000 cases by default, one seed for the whole run (printed first, and in
 * every failure's replay command).
 *
 *   pnpm fuzz                                   every target, 100,000 cases each, a fresh seed
 *   pnpm fuzz --target encryption/envelope-gcm  one target (or `encryption` for a package, `*stream*` to match)
 *   pnpm fuzz --seed 42 --runs 5000             a given seed and budget
 *   pnpm fuzz --target T --seed S --path P      replay one failing case (the report prints this command)
 *   pnpm fuzz --list                            the targets and what each tries
 *   pnpm fuzz --json results.json               also write the reports as JSON
 *
 * Exit status 0 when every target ran its budget with no violation, 1 otherwise, 2 for a usage error.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runInChild } from './launch.js';
import { selectTargets, TARGETS } from './registry.js';
import { runTarget, type TargetReport } from './runner.js';
import { SELFTEST_TARGETS } from './targets/selftest.js';

const USAGE =
  'usage: pnpm fuzz [--target NAME]... [--seed N] [--runs N] [--path P] [--list] [--json FILE] [--in-process]\n' +
  '       [--time-bound-ms N] [--memory-bound-mib N] [--heap-growth-bound-mib N] [--max-old-space-mib N]';

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    console.error(`pnpm fuzz: ${name} must be an integer\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const MiB = 1024 * 1024;

function formatCodes(codes: Record<string, number>): string {
  return Object.entries(codes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
}

/** One line per target, and the failure with its replay command. */
function formatReport(r: TargetReport): string {
  const head =
    `${r.failure ? 'FAIL' : 'ok  '} ${r.target}: ${r.runs} cases in ${(r.elapsedMs / 1000).toFixed(1)} s, ` +
    `max case ${r.maxCaseMs.toFixed(1)} ms, max case memory ${(r.maxCaseBytes / MiB).toFixed(1)} MiB, ` +
    `retained growth ${(r.heapGrowthBytes / MiB).toFixed(1)} MiB`;
  const lines = [head];
  if (Object.keys(r.codes).length > 0) lines.push(`     codes: ${formatCodes(r.codes)}`);
  if (Object.keys(r.returned).length > 0) lines.push(`     returned: ${formatCodes(r.returned)}`);
  if (r.failure) {
    lines.push(`     ${r.failure.message}`);
    lines.push(`     counterexample: ${r.failure.counterexample}`);
    lines.push(`     replay: ${r.failure.replay}`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    console.error(`pnpm fuzz: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values } = parsed;
  const all = values.selftest ? [...TARGETS, ...SELFTEST_TARGETS] : TARGETS;
  if (values.list) {
    for (const t of all) console.log(`${t.name} (${t.pkg})\n    ${t.description}`);
    return 0;
  }
  const targets = selectTargets(values.target ?? [], all);
  if (targets.length === 0) {
    console.error(`pnpm fuzz: no target matches ${(values.target ?? []).join(', ')} (see --list)`);
    return 2;
  }
  if (values.path !== undefined && targets.length !== 1) {
    console.error('pnpm fuzz: --path replays one case of one target: give exactly one --target');
    return 2;
  }
  const seed = integer(values.seed, '--seed', (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0);
  const runs = integer(values.runs, '--runs', 100_000);
  const options = {
    seed,
    runs,
    ...(values.path === undefined ? {} : { path: values.path }),
    caseTimeBoundMs: integer(values['time-bound-ms'], '--time-bound-ms', 2000),
    caseMemoryBoundBytes: integer(values['memory-bound-mib'], '--memory-bound-mib', 64) * MiB,
    heapGrowthBoundBytes: integer(values['heap-growth-bound-mib'], '--heap-growth-bound-mib', 64) * MiB,
  };
  console.log(`pnpm fuzz: seed ${seed}, ${runs} cases per target, ${targets.length} targets`);
  console.log(
    `replay this run: pnpm fuzz --seed ${seed} --runs ${runs}${targets.length < all.length ? targets.map((t) => ` --target ${t.name}`).join('') : ''}`,
  );
  const reports: TargetReport[] = [];
  for (const target of targets) {
    let lastPrint = performance.now();
    const onProgress = (cases: number) => {
      if (performance.now() - lastPrint > 15_000) {
        lastPrint = performance.now();
        console.log(`  ${target.name}: ${cases}/${runs} cases`);
      }
    };
    const report = values['in-process']
      ? await runTarget(target, { ...options, onProgress })
      : await runInChild(target, options, {
          maxOldSpaceMiB: integer(values['max-old-space-mib'], '--max-old-space-mib', 1024),
          onProgress,
        });
    reports.push(report);
    console.log(formatReport(report));
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ seed, runs, reports }, null, 2)}\n`);
  }
  const failed = reports.filter((r) => r.failure);
  console.log(
    `\npnpm fuzz: seed ${seed}: ${reports.length - failed.length} of ${reports.length} targets clean` +
      `, ${reports.reduce((s, r) => s + r.runs, 0)} cases`,
  );
  for (const r of failed)
    console.log(`  FAIL ${r.target}: ${r.failure!.kind}: replay with ${r.failure!.replay}`);
  return failed.length === 0 ? 0 : 1;
}

function parse() {
  return parseArgs({
    options: {
      target: { type: 'string', multiple: true },
      seed: { type: 'string' },
      runs: { type: 'string' },
      path: { type: 'string' },
      list: { type: 'boolean', default: false },
      json: { type: 'string' },
      'in-process': { type: 'boolean', default: false },
      selftest: { type: 'boolean', default: false },
      'time-bound-ms': { type: 'string' },
      'memory-bound-mib': { type: 'string' },
      'heap-growth-bound-mib': { type: 'string' },
      'max-old-space-mib': { type: 'string' },
    },
  });
}

process.exitCode = await main();
