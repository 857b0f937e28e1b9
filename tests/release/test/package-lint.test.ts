/**
 * publint and Are the Types Wrong on every packed tarball (what `pnpm lint:packages` runs), plus one
 * deliberately broken package to show that both tools, as configured here, do fail.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { attwTarball, lintPacked, publintTarball } from '../../../scripts/release/lint.js';
import { readPacked } from '../../../scripts/release/pack.js';

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe('package lint', () => {
  it('publint and attw are clean for every public package', async () => {
    const packed = readPacked(inject('packedDir'));
    const results = await lintPacked(packed);
    for (const r of results) {
      console.log(
        `${r.name}: publint ${r.publint.length === 0 ? 'clean' : r.publint.join('; ')}; attw ${r.attw === '' ? 'clean' : r.attw}`,
      );
    }
    expect(results.map((r) => r.name).sort()).toEqual(packed.map((p) => p.name).sort());
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('both fail on a package whose types are missing and whose exports point at CommonJS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-broken-package-'));
    temp.push(dir);
    const pkg = join(dir, 'package');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: 'broken',
        version: '1.0.0',
        type: 'module',
        exports: { '.': { default: './dist/index.js', types: './dist/index.d.ts' } },
        files: ['dist'],
      }),
    );
    writeFileSync(join(pkg, 'dist/index.js'), 'module.exports = { x: 1 };\n');
    const tarball = join(dir, 'broken-1.0.0.tgz');
    execFileSync('tar', ['-czf', tarball, '-C', dir, 'package']);
    const messages = await publintTarball(tarball);
    expect(messages.join('\n')).toMatch(/types/i);
    expect(await attwTarball(tarball)).toBe('the package ships no types');
  });
});
