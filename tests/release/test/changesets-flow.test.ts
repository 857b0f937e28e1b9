/**
 * The changesets flow, on a temporary copy of the repository (the real `changeset version` is run only when
 * a release is cut, see docs/RELEASING.md):
 * 1. the pending changesets, versioned as the next release would be: bumps and CHANGELOG entries;
 * 2. one new changeset on the lowest layer: the package bumps, its direct internal dependents get a patch with an
 *    "Updated dependencies" entry, unrelated packages stay, and the packed dependent names the new version
 *    (`workspace:^` becomes `^0.x.y`).
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tarFile } from '../../../scripts/release/pack.js';
import {
  listPublicPackages,
  listWorkspacePackages,
  repoRoot,
  tarballName,
  workspaceClosure,
} from '../../../scripts/release/workspace.js';

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** The repository's files (tracked and new, not ignored) in a temporary folder, sharing node_modules. */
function copyRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-changesets-'));
  copies.push(dir);
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(repoRoot, f)));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(repoRoot, f), join(dir, f));
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function changeset(dir: string, ...args: string[]): string {
  return execFileSync(process.execPath, [join(repoRoot, 'node_modules/@changesets/cli/bin.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
}

function pendingChangesets(dir: string): string[] {
  return readdirSync(join(dir, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
}

function versions(dir: string): Record<string, string> {
  return Object.fromEntries(listWorkspacePackages(dir).map((p) => [p.name, p.version]));
}

function changelog(dir: string, relDir: string): string | undefined {
  const path = join(dir, relDir, 'CHANGELOG.md');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

describe('changesets flow on a copy of the repository', () => {
  it('versions the pending changesets: bumps and CHANGELOG entries for the next release', () => {
    const dir = copyRepo();
    const pending = pendingChangesets(dir);
    const before = versions(dir);
    // What each pending changeset says, to find it again in a CHANGELOG.
    const summaries = pending.map((f) => {
      const text = readFileSync(join(dir, '.changeset', f), 'utf8');
      const [, front = '', body = ''] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? [];
      const names = [...front.matchAll(/"([^"]+)":\s*(major|minor|patch)/g)].map((m) => m[1]!);
      return { file: f, names, firstLine: body.trim().split('\n')[0]! };
    });
    changeset(dir, 'version');
    const after = versions(dir);
    expect(pendingChangesets(dir)).toEqual([]);
    const bumped = Object.keys(after).filter((n) => after[n] !== before[n]);
    console.log(
      `next release from ${pending.length} pending changesets: ${bumped.map((n) => `${n} ${before[n]} -> ${after[n]}`).join(', ') || 'nothing'}`,
    );
    for (const s of summaries) {
      for (const name of s.names) {
        expect(after[name], `${s.file} bumps ${name}`).not.toBe(before[name]);
        const pkg = listWorkspacePackages(dir).find((p) => p.name === name)!;
        const log = changelog(dir, pkg.relDir);
        expect(log, `${pkg.relDir}/CHANGELOG.md`).toBeDefined();
        expect(log).toContain(`## ${after[name]}`);
        expect(log).toContain(s.firstLine);
      }
    }
    // Internal ranges stay workspace ranges in the repository; pnpm pack turns them into versions.
    for (const p of listPublicPackages(dir)) {
      for (const [dep, range] of Object.entries(p.manifest.dependencies ?? {})) {
        if (dep.startsWith('@mesh/')) expect(range).toMatch(/^workspace:/);
      }
    }
  });

  it('a new changeset on the lowest layer bumps it and its dependents, and packs with real versions', () => {
    const dir = copyRepo();
    for (const f of pendingChangesets(dir)) rmSync(join(dir, '.changeset', f));
    const before = versions(dir);
    const untouchedLogs = ['packages/compression', 'packages/metrics'].map((d) => changelog(dir, d));
    writeFileSync(
      join(dir, '.changeset', 'release-flow-test.md'),
      '---\n"@mesh/crypto-core": minor\n---\n\nRelease flow test: a new primitive.\n',
    );
    changeset(dir, 'version');
    const after = versions(dir);
    const workspace = listWorkspacePackages(dir);
    const minor = (v: string): string => {
      const [major, mid] = v.split('.').map(Number) as [number, number];
      return major === 0 ? `0.${mid + 1}.0` : `${major}.${mid + 1}.0`;
    };
    const patch = (v: string): string => {
      const [a, b, c] = v.split('.').map(Number) as [number, number, number];
      return `${a}.${b}.${c + 1}`;
    };
    expect(after['@mesh/crypto-core']).toBe(minor(before['@mesh/crypto-core']!));
    expect(changelog(dir, 'packages/crypto-core')).toMatch(
      new RegExp(
        `## ${after['@mesh/crypto-core']!.replace(/\./g, '\\.')}\\n\\n### Minor Changes\\n\\n- Release flow test: a new primitive\\.`,
      ),
    );
    // Direct dependents leave their range (^0.1.0 does not take 0.2.0), so each gets a patch. A package that
    // reaches crypto-core only through one of them keeps its version: their patch stays inside its range.
    const publicPackages = listPublicPackages(dir).filter((p) => p.name !== '@mesh/crypto-core');
    const dependents = publicPackages
      .filter((p) => '@mesh/crypto-core' in (p.manifest.dependencies ?? {}))
      .map((p) => p.name);
    const indirect = publicPackages
      .filter(
        (p) =>
          !dependents.includes(p.name) && workspaceClosure(p.name, workspace).includes('@mesh/crypto-core'),
      )
      .map((p) => p.name);
    expect(dependents).toEqual(expect.arrayContaining(['@mesh/keys', '@mesh/encryption']));
    expect(indirect).toEqual(expect.arrayContaining(['@mesh/keystore-etcd']));
    for (const name of indirect) expect(after[name], `${name} untouched`).toBe(before[name]);
    for (const name of dependents) {
      const pkg = workspace.find((p) => p.name === name)!;
      expect(after[name], `${name} bumped`).toBe(patch(before[name]!));
      const log = changelog(dir, pkg.relDir)!;
      expect(log).toContain(`## ${after[name]}\n\n### Patch Changes\n\n- Updated dependencies`);
      expect(log).toContain(`@mesh/crypto-core@${after['@mesh/crypto-core']}`);
    }
    // Packages the change does not reach keep their version and their CHANGELOG exactly as it was (absent
    // before the first release, the released history after it).
    ['@mesh/compression', '@mesh/metrics'].forEach((name, i) => {
      expect(after[name], `${name} untouched`).toBe(before[name]);
      expect(changelog(dir, workspace.find((p) => p.name === name)!.relDir)).toBe(untouchedLogs[i]);
    });
    console.log(
      `crypto-core minor: ${Object.keys(after)
        .filter((n) => after[n] !== before[n])
        .map((n) => `${n} ${before[n]} -> ${after[n]}`)
        .join(', ')}`,
    );

    // Pack the dependent as a release would: its tarball names the new version, not workspace:^. The link
    // is the one `pnpm install` would make; pack reads the linked package's version through it.
    const keysDir = join(dir, 'packages/keys');
    mkdirSync(join(keysDir, 'node_modules/@mesh'), { recursive: true });
    symlinkSync(join(dir, 'packages/crypto-core'), join(keysDir, 'node_modules/@mesh/crypto-core'), 'dir');
    const out = join(dir, 'out');
    execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: keysDir, stdio: 'ignore' });
    const manifest = JSON.parse(
      tarFile(join(out, tarballName('@mesh/keys', after['@mesh/keys']!)), 'package/package.json'),
    ) as {
      version: string;
      dependencies: Record<string, string>;
    };
    expect(manifest.version).toBe(after['@mesh/keys']);
    expect(manifest.dependencies['@mesh/crypto-core']).toBe(`^${after['@mesh/crypto-core']}`);
  });
});
