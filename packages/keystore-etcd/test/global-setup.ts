/**
 * Builds `dist/` when it is older than `src/`: the multi-process tests spawn node scripts that import the
 * built package, exactly as a user's process would.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const newestSrc = Math.max(
    ...readdirSync(join(root, 'src')).map((f) => statSync(join(root, 'src', f)).mtimeMs),
  );
  let built = 0;
  try {
    built = statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestSrc) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
