/**
 * The workspace as the release tooling sees it: every package the pnpm workspace globs name, read from disk
 * each time, so packages added later (by anyone) are released, linted and tested without a list to update.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a package.json the release tooling reads. */
export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly scripts?: Readonly<Record<string, string>>;
  readonly files?: readonly string[];
  readonly bin?: string | Readonly<Record<string, string>>;
}

/** One workspace package. */
export interface WorkspacePackage {
  readonly name: string;
  readonly version: string;
  readonly private: boolean;
  /** Absolute directory. */
  readonly dir: string;
  /** Directory relative to the repository root, with `/` separators (`packages/keys`). */
  readonly relDir: string;
  readonly manifest: PackageManifest;
}

/** The repository root: the directory holding pnpm-workspace.yaml above this file. */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The package globs of pnpm-workspace.yaml. Only the `packages:` list is read, and only `dir/*` and plain
 * `dir` entries are supported (what this repository uses); anything else is an error rather than a silent
 * omission.
 */
export function workspaceGlobs(root: string = repoRoot): string[] {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const globs: string[] = [];
  let inPackages = false;
  for (const line of text.split('\n')) {
    if (/^packages:\s*$/.test(line)) {
      inPackages = true;
      continue;
    }
    if (inPackages) {
      const item = /^\s+-\s+['"]?([^'"#\s]+)['"]?\s*(#.*)?$/.exec(line);
      if (item) {
        globs.push(item[1]!);
      } else if (/^\S/.test(line)) {
        inPackages = false;
      }
    }
  }
  for (const glob of globs) {
    if (!/^[\w.-]+(\/[\w.-]+)*(\/\*)?$/.test(glob)) {
      throw new Error(`pnpm-workspace.yaml: unsupported package glob ${JSON.stringify(glob)}`);
    }
  }
  return globs;
}

/** Every workspace package (the root excluded), sorted by directory. */
export function listWorkspacePackages(root: string = repoRoot): WorkspacePackage[] {
  const dirs: string[] = [];
  for (const glob of workspaceGlobs(root)) {
    if (glob.endsWith('/*')) {
      const parent = join(root, glob.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const entry of readdirSync(parent, { withFileTypes: true })) {
        if (entry.isDirectory()) dirs.push(join(parent, entry.name));
      }
    } else {
      dirs.push(join(root, glob));
    }
  }
  const packages: WorkspacePackage[] = [];
  for (const dir of dirs.sort()) {
    const manifestPath = join(dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackageManifest;
    packages.push({
      name: manifest.name,
      version: manifest.version,
      private: manifest.private === true,
      dir,
      relDir: relative(root, dir).split('\\').join('/'),
      manifest,
    });
  }
  return packages;
}

/** The packages a release publishes: every workspace package not marked `private`. */
export function listPublicPackages(root: string = repoRoot): WorkspacePackage[] {
  return listWorkspacePackages(root).filter((p) => !p.private);
}

/** Runtime dependency names of a manifest (dependencies, peer and optional dependencies). */
export function runtimeDependencyNames(manifest: PackageManifest): string[] {
  return [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ];
}

/**
 * The workspace packages `name` needs at run time, itself included: the transitive closure over runtime
 * dependencies that are workspace packages.
 */
export function workspaceClosure(name: string, packages: readonly WorkspacePackage[]): string[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    const pkg = byName.get(n);
    if (!pkg) return;
    seen.add(n);
    for (const dep of runtimeDependencyNames(pkg.manifest)) visit(dep);
  };
  visit(name);
  return [...seen].sort();
}

/** Packages ordered so that every package comes after the workspace packages it depends on. */
export function dependencyOrder(packages: readonly WorkspacePackage[]): WorkspacePackage[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const ordered: WorkspacePackage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (pkg: WorkspacePackage): void => {
    const s = state.get(pkg.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`dependency cycle through ${pkg.name}`);
    state.set(pkg.name, 'visiting');
    for (const dep of runtimeDependencyNames(pkg.manifest)) {
      const d = byName.get(dep);
      if (d) visit(d);
    }
    state.set(pkg.name, 'done');
    ordered.push(pkg);
  };
  for (const pkg of packages) visit(pkg);
  return ordered;
}

/** The file name `pnpm pack` gives a package's tarball: `@mesh/keys@0.2.0` -> `mesh-keys-0.2.0.tgz`. */
export function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}
