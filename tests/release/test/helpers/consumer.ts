/**
 * A consumer project: a fresh folder outside the repository with a package.json, `dist-packages/` linked
 * to the packed release, and npm configured as a team's machine would be, except for one shared cache
 * (so the third-party packages come from the npm registry once per machine, then from the cache).
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../../scripts/release/workspace.js';

/** npm's cache for every consumer project of a run (and the next run on this machine). */
export const NPM_CACHE = join(repoRoot, 'node_modules', '.cache', 'mesh-release-npm');

/** The environment of a consumer's shell: this one without pnpm's npm_* settings, plus quiet npm. */
export function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && !/^(PNPM|VITEST|TURBO)_/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  }
  mkdirSync(NPM_CACHE, { recursive: true });
  return {
    ...env,
    npm_config_cache: NPM_CACHE,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'warn',
    ...extra,
  };
}

/** Creates an empty ESM project with `dist-packages/` pointing at `packedDir`. */
export function createConsumer(label: string, packedDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mesh-consumer-${label.replace(/[^\w-]/g, '_')}-`));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  symlinkSync(packedDir, join(dir, 'dist-packages'), 'dir');
  return dir;
}

/** What npm installed, from its hidden lockfile: name -> versions (a name may be installed twice). */
export function installedPackages(dir: string): Map<string, Set<string>> {
  const lock = JSON.parse(readFileSync(join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; link?: boolean }>;
  };
  const installed = new Map<string, Set<string>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.link) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const versions = installed.get(name) ?? new Set<string>();
    versions.add(entry.version ?? '?');
    installed.set(name, versions);
  }
  return installed;
}
