/**
 * Issue 3, "Must show": the package installs and works alone. Its dependency tree (as pnpm resolved it, and
 * as declared) holds no other @mesh package, no node-forge and no prom-client, and src imports only pako
 * and node: builtins.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const FORBIDDEN = (name: string) =>
  name.startsWith('@mesh/') || name === 'node-forge' || name === 'prom-client';

interface PnpmNode {
  dependencies?: Record<string, PnpmNode>;
  devDependencies?: Record<string, PnpmNode>;
  optionalDependencies?: Record<string, PnpmNode>;
}

function collect(node: PnpmNode, into: Set<string>): void {
  for (const group of [node.dependencies, node.optionalDependencies]) {
    for (const [name, child] of Object.entries(group ?? {})) {
      into.add(name);
      collect(child, into);
    }
  }
}

describe('dependency tree', () => {
  it('package.json declares only pako at runtime, pinned, and no peers', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.dependencies).toEqual({ pako: '3.0.3' });
    expect(pkg.peerDependencies).toBeUndefined();
    expect(Object.keys((pkg.devDependencies as object | undefined) ?? {}).filter(FORBIDDEN)).toEqual([]);
  });

  it('the tree pnpm resolved (all depths) holds no @mesh package, node-forge or prom-client', () => {
    const out = execFileSync(
      'pnpm',
      ['--filter', '@mesh/compression', 'list', '--prod', '--depth', 'Infinity', '--json'],
      { cwd: join(root, '..', '..'), encoding: 'utf8' },
    );
    const projects = JSON.parse(out) as (PnpmNode & { name: string })[];
    expect(projects.map((p) => p.name)).toEqual(['@mesh/compression']);
    const names = new Set<string>();
    collect(projects[0]!, names);
    expect(names.has('pako')).toBe(true);
    expect([...names].filter(FORBIDDEN)).toEqual([]);
  });

  it('what is installed next to it on disk: pako, with no dependencies of its own', () => {
    const installed = readdirSync(join(root, 'node_modules')).filter((n) => !n.startsWith('.'));
    expect(installed.filter(FORBIDDEN)).toEqual([]);
    expect(installed).toContain('pako');
    const pako = JSON.parse(readFileSync(join(root, 'node_modules', 'pako', 'package.json'), 'utf8')) as {
      dependencies?: object;
    };
    expect(Object.keys(pako.dependencies ?? {})).toEqual([]);
  });

  it('src imports nothing but pako, node: builtins and its own modules', () => {
    const dir = join(root, 'src');
    const specifiers = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      // Drop comments first: the TSDoc examples import '@mesh/compression' on purpose.
      const code = readFileSync(join(dir, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const m of code.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'/gm))
        specifiers.add(m[1]!);
    }
    const external = [...specifiers].filter((s) => !s.startsWith('./'));
    expect(external.length).toBeGreaterThan(0);
    for (const s of external) expect(s === 'pako' || s.startsWith('node:')).toBe(true);
  });
});
