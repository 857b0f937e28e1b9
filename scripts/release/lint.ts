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

import { readFileSync } from 'node:fs';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import type { PackedPackage } from './pack.js';

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

/**
 * attw's problem kinds this project accepts, reason above. The same check by hand:
 * `pnpm exec attw dist-packages/<tarball> --ignore-rules cjs-resolves-to-esm`.
 */
const ATTW_IGNORED_KINDS: ReadonlySet<string> = new Set(['CJSResolvesToESM']);

/**
 * Are the Types Wrong over a tarball, in process (the engine of the `attw` CLI, same version, without a
 * TypeScript start-up per package); '' when clean, else one line per problem. A package without types
 * fails too (attw itself only notes it): every package here ships its own. No @types lookup on the network.
 */
export async function attwTarball(tarball: string): Promise<string> {
  const bytes = readFileSync(tarball);
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(bytes)));
  if (!analysis.types) return 'the package ships no types';
  return analysis.problems
    .filter((p) => !ATTW_IGNORED_KINDS.has(p.kind))
    .map((p) => {
      const where = p as { entrypoint?: string; resolutionKind?: string; fileName?: string };
      return `${p.kind} at ${where.entrypoint ?? where.fileName ?? '?'} (${where.resolutionKind ?? 'any'})`;
    })
    .join('\n');
}

/** Lints every packed package. */
export async function lintPacked(packed: readonly PackedPackage[]): Promise<PackageLintResult[]> {
  const results: PackageLintResult[] = [];
  for (const p of packed) {
    const publintMessages = await publintTarball(p.tarball);
    const attw = await attwTarball(p.tarball);
    results.push({
      name: p.name,
      publint: publintMessages,
      attw,
      ok: publintMessages.length === 0 && attw === '',
    });
  }
  return results;
}
