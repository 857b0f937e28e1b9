/**
 * Packs the release once for every test file: each public package built from a clean dist/ and packed
 * exactly as `pnpm release:pack` does, into a temporary folder (the repository's dist-packages/ is left
 * alone). The folder's path reaches the tests through `inject('packedDir')`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { packAll } from '../../../scripts/release/pack.js';
import { repoRoot } from '../../../scripts/release/workspace.js';

declare module 'vitest' {
  export interface ProvidedContext {
    packedDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  // Everything the README examples import, private packages included (turbo: cached, usually instant).
  execFileSync('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  const dir = mkdtempSync(join(tmpdir(), 'mesh-release-packed-'));
  packAll({ outDir: dir, log: (line) => console.log(`[release] ${line}`) });
  project.provide('packedDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
