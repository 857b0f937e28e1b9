/**
 * Build and pack every public workspace package into one directory of tarballs: what a release ships and
 * what the install-alone test installs. `pnpm pack` turns each `workspace:^` range into the real version
 * range (`^0.2.0`), so a tarball installs without the workspace.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listPublicPackages, repoRoot, tarballName, type WorkspacePackage } from './workspace.js';

/** What a tarball may hold, relative to its `package/` folder. */
const ALLOWED_ENTRY = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+)$/;
/** Build leftovers that must not ship even under dist/ (excluded by each package's `files`). */
const FORBIDDEN_IN_DIST = /(\.tsbuildinfo|\.map)$/;

/** One packed package. */
export interface PackedPackage {
  readonly name: string;
  readonly version: string;
  readonly relDir: string;
  /** Absolute path of the tarball. */
  readonly tarball: string;
  /** Entries of the tarball, relative to `package/`. */
  readonly files: readonly string[];
  /** `dependencies` of the packed package.json (workspace ranges already replaced). */
  readonly dependencies: Readonly<Record<string, string>>;
}

/** Options of {@link packAll}. */
export interface PackOptions {
  /** Where the tarballs go; emptied first. Default `<repo>/dist-packages`. */
  readonly outDir?: string;
  /** Run the build first (turbo, cached). Default true. */
  readonly build?: boolean;
  /** Delete each package's dist/ before building, so no file of an older build ships. Default true. */
  readonly clean?: boolean;
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
}

/** Lists a gzip tarball's entries with the system `tar`. */
export function tarEntries(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'));
}

/** Reads one file of a gzip tarball with the system `tar`. */
export function tarFile(tarball: string, entry: string): string {
  return execFileSync('tar', ['-xzOf', tarball, entry], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Why a packed tarball is not fit to ship; empty when it is. */
export function tarballProblems(
  pkg: WorkspacePackage,
  files: readonly string[],
  packedManifest: string,
): string[] {
  const problems: string[] = [];
  for (const file of files) {
    if (!ALLOWED_ENTRY.test(file))
      problems.push(`${file}: only dist/, README.md, CHANGELOG.md and LICENSE ship`);
    else if (file.startsWith('dist/') && FORBIDDEN_IN_DIST.test(file)) {
      problems.push(
        `${file}: build leftover; exclude it in "files" ("!dist/**/*.map", "!dist/.tsbuildinfo")`,
      );
    }
  }
  for (const required of ['package.json', 'README.md', 'LICENSE']) {
    if (!files.includes(required)) problems.push(`${required} missing`);
  }
  if (existsSync(join(pkg.dir, 'CHANGELOG.md')) && !files.includes('CHANGELOG.md')) {
    problems.push('CHANGELOG.md exists but is not packed: add it to "files"');
  }
  if (!files.some((f) => f.startsWith('dist/') && f.endsWith('.js')))
    problems.push('no dist/*.js: not built?');
  if (packedManifest.includes('workspace:')) problems.push('package.json still holds a workspace: range');
  return problems;
}

/** Builds (unless told not to) and packs every public package; returns them in directory order. */
export function packAll(options: PackOptions = {}): PackedPackage[] {
  const outDir = options.outDir ?? join(repoRoot, 'dist-packages');
  const log = options.log ?? (() => {});
  const packages = listPublicPackages();
  if (packages.length === 0) throw new Error('no public package in the workspace');

  if (options.build ?? true) {
    if (options.clean ?? true) {
      for (const pkg of packages) rmSync(join(pkg.dir, 'dist'), { recursive: true, force: true });
    }
    log(`build: ${packages.map((p) => p.name).join(', ')}`);
    execFileSync(
      'pnpm',
      [
        'exec',
        'turbo',
        'run',
        'build',
        '--output-logs=errors-only',
        ...packages.map((p) => `--filter=${p.name}`),
      ],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      },
    );
  }

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const packed: PackedPackage[] = [];
  for (const pkg of packages) {
    // pnpm pack adds the workspace root's LICENSE to a package that has none; tarballProblems checks it did.
    execFileSync('pnpm', ['pack', '--pack-destination', outDir], {
      cwd: pkg.dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = join(outDir, tarballName(pkg.name, pkg.version));
    if (!existsSync(tarball)) throw new Error(`${pkg.name}: pnpm pack wrote no ${tarball}`);
    const files = tarEntries(tarball).map((entry) => entry.replace(/^package\//, ''));
    const manifestText = tarFile(tarball, 'package/package.json');
    const problems = tarballProblems(pkg, files, manifestText);
    if (problems.length > 0)
      throw new Error(`${pkg.name}: tarball not fit to ship:\n  ${problems.join('\n  ')}`);
    const manifest = JSON.parse(manifestText) as { dependencies?: Record<string, string> };
    packed.push({
      name: pkg.name,
      version: pkg.version,
      relDir: pkg.relDir,
      tarball,
      files,
      dependencies: manifest.dependencies ?? {},
    });
    log(`packed ${pkg.name}@${pkg.version}: ${files.length} files -> ${tarball}`);
  }
  writeFileSync(
    join(outDir, 'manifest.json'),
    `${JSON.stringify(
      packed.map(({ name, version, tarball, dependencies }) => ({
        name,
        version,
        tarball: tarball.slice(outDir.length + 1),
        dependencies,
      })),
      null,
      2,
    )}\n`,
  );
  return packed;
}

/** Reads the tarballs a previous {@link packAll} wrote (for publishing or linting without packing again). */
export function readPacked(outDir: string = join(repoRoot, 'dist-packages')): PackedPackage[] {
  const manifestPath = join(outDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`${manifestPath} missing: run pnpm release:pack first`);
  const entries = JSON.parse(readFileSync(manifestPath, 'utf8')) as Array<{
    name: string;
    version: string;
    tarball: string;
    dependencies: Record<string, string>;
  }>;
  const byName = new Map(listPublicPackages().map((p) => [p.name, p]));
  return entries.map((e) => {
    const tarball = join(outDir, e.tarball);
    return {
      name: e.name,
      version: e.version,
      relDir: byName.get(e.name)?.relDir ?? '',
      tarball,
      files: tarEntries(tarball).map((entry) => entry.replace(/^package\//, '')),
      dependencies: e.dependencies,
    };
  });
}
