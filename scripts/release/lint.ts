/**
 * Package linting of the packed tarballs, exactly as a consumer receives them: publint (package.json
 * fields against the files that ship) and Are the Types Wrong (types and runtime resolve alike under every
 * TypeScript module mode).
 *
 * The one attw rule ignored is `cjs-resolves-to-esm`: the packages are ES modules only, and CommonJS code
 * loads them with `require()` on Node >= 20.19 (require of ESM, on by default there), which the install-alone
 * test proves for every package. Every other rule, and every publint message down to suggestions, fails.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import type { PackedPackage } from './pack.js';
import { repoRoot } from './workspace.js';

/** attw rules this project accepts, with the reason above. */
export const ATTW_IGNORED_RULES: readonly string[] = ['cjs-resolves-to-esm'];

/** The outcome for one tarball. */
export interface PackageLintResult {
  readonly name: string;
  /** publint messages, formatted; empty when clean. */
  readonly publint: readonly string[];
  /** attw's report when it found a problem; empty when clean. */
  readonly attw: string;
  readonly ok: boolean;
}

/** publint over a tarball: every message, suggestions included, formatted as publint prints it. */
export async function publintTarball(tarball: string): Promise<string[]> {
  const bytes = readFileSync(tarball);
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { messages, pkg } = await publint({ pack: { tarball: data }, level: 'suggestion', strict: true });
  return messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`);
}

/** attw's problem kinds this project accepts (`cjs-resolves-to-esm` on the command line), with the reason above. */
const ATTW_IGNORED_KINDS: ReadonlySet<string> = new Set(['CJSResolvesToESM']);

/**
 * attw over a tarball; '' when clean, else one line per problem. A package without types fails too (attw
 * itself only notes it): every package here ships its own.
 */
export function attwTarball(tarball: string): string {
  const bin = join(repoRoot, 'node_modules', '.bin', 'attw');
  const args = [
    tarball,
    '--no-definitely-typed',
    '--format',
    'json',
    '--ignore-rules',
    ...ATTW_IGNORED_RULES,
  ];
  let stdout: string;
  try {
    stdout = execFileSync(bin, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    // attw exits 1 when it found problems; the JSON report is on stdout all the same.
    const e = error as { stdout?: string; stderr?: string; message: string };
    if (!e.stdout) return `attw failed: ${e.stderr ?? e.message}`;
    stdout = e.stdout;
  }
  const report = JSON.parse(stdout) as {
    analysis: { types: unknown };
    problems?: Record<string, Array<{ kind: string; entrypoint?: string; resolutionKind?: string }>>;
  };
  if (report.analysis.types === false) return 'the package ships no types';
  const lines: string[] = [];
  for (const [kind, list] of Object.entries(report.problems ?? {})) {
    if (ATTW_IGNORED_KINDS.has(kind)) continue;
    for (const p of list) lines.push(`${kind} at ${p.entrypoint ?? '?'} (${p.resolutionKind ?? 'any'})`);
  }
  return lines.join('\n');
}

/** Lints every packed package. */
export async function lintPacked(packed: readonly PackedPackage[]): Promise<PackageLintResult[]> {
  const results: PackageLintResult[] = [];
  for (const p of packed) {
    const publintMessages = await publintTarball(p.tarball);
    const attw = attwTarball(p.tarball);
    results.push({
      name: p.name,
      publint: publintMessages,
      attw,
      ok: publintMessages.length === 0 && attw === '',
    });
  }
  return results;
}
