/**
 * Each public package, consumed alone as a team would: packed, installed with npm into a fresh project from
 * the tarballs of only the @mesh packages it needs (third-party packages from the npm registry), then its
 * README's runnable blocks run there unmodified, in order: the install line, then every example (twice, so
 * an example that leaves files behind must still work the second time). Then:
 * - the installed tree holds exactly the @mesh packages the package needs, and none of the third-party
 *   packages that only other layers need (so @mesh/compression pulls in no node-forge or prom-client);
 * - CommonJS code gets the same exports with `require()` as ESM code gets with `import`;
 * - the tarball holds only dist/, README.md, CHANGELOG.md, LICENSE and package.json.
 *
 * Packages are discovered from the workspace, so a package added later is covered without editing this file.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readPacked, tarFile } from '../../../scripts/release/pack.js';
import {
  listPublicPackages,
  listWorkspacePackages,
  repoRoot,
  runtimeDependencyNames,
  workspaceClosure,
} from '../../../scripts/release/workspace.js';
import { consumerEnv, createConsumer, installedPackages } from './helpers/consumer.js';
import { blocksOf, expectedOutputs, isRunnable, kindOf } from './helpers/markdown.js';
import { describeRun, runBlock, runCommand } from './helpers/run-block.js';

const workspace = listWorkspacePackages();
const workspaceNames = new Set(workspace.map((p) => p.name));
const publicPackages = listPublicPackages();
const packedDir = inject('packedDir');
const packed = new Map(readPacked(packedDir).map((p) => [p.name, p]));

/** Third-party runtime dependencies of a workspace package (not other workspace packages). */
function thirdPartyOf(name: string): string[] {
  const pkg = workspace.find((p) => p.name === name);
  return pkg ? runtimeDependencyNames(pkg.manifest).filter((d) => !workspaceNames.has(d)) : [];
}

/** What the layer rules say must never reach a package's tree, beyond what the manifests imply. */
const NEVER: Readonly<Record<string, readonly string[]>> = {
  '@mesh/crypto-core': ['pako', 'prom-client', 'etcd3'],
  '@mesh/compression': ['node-forge', 'prom-client', 'etcd3'],
  '@mesh/metrics': ['node-forge', 'pako', 'etcd3'],
  '@mesh/keys': ['pako', 'prom-client', 'etcd3'],
  '@mesh/encryption': ['etcd3'],
  '@mesh/keystore-etcd': ['@mesh/encryption', 'pako', 'prom-client'],
};

const consumers: string[] = [];
const etcds: EtcdProcess[] = [];
afterAll(async () => {
  for (const e of etcds) await e.stop();
  for (const dir of consumers) rmSync(dir, { recursive: true, force: true });
});

describe('every public package installs alone from its tarballs and runs its README', () => {
  it('finds the public packages in the workspace, each packed', () => {
    expect(publicPackages.length).toBeGreaterThanOrEqual(5);
    for (const p of publicPackages) expect(packed.has(p.name), `${p.name} packed`).toBe(true);
  });

  for (const pkg of publicPackages) {
    it(`${pkg.name}`, async () => {
      const tarball = packed.get(pkg.name)!;
      const dir = createConsumer(pkg.name, packedDir);
      consumers.push(dir);
      const readme = `${pkg.relDir}/README.md`;
      const blocks = blocksOf(repoRoot, readme).filter(isRunnable);

      // The README's own install line is what installs the package (no install of our own).
      const install = blocks.find((b) => kindOf(b) === 'sh' && b.code.includes('./dist-packages/'));
      expect(
        install,
        `${readme}: an \`sh\` block installing from ./dist-packages/ (see docs/RELEASING.md)`,
      ).toBeDefined();
      expect(
        blocks.some((b) => b.flags.includes('commonjs')),
        `${readme}: a \`js commonjs\` block showing require()`,
      ).toBe(true);

      let index = 0;
      for (const block of blocks) {
        const env: Record<string, string> = {};
        if (block.flags.includes('needs-etcd')) {
          const etcd = await EtcdProcess.start({ name: 'mesh-readme' });
          etcds.push(etcd);
          env.MESH_ETCD_ENDPOINTS = etcd.endpoint;
        }
        const runs = kindOf(block) === 'sh' ? 1 : 2;
        for (let r = 0; r < runs; r++) {
          const run = await runBlock(block, dir, consumerEnv(env), index++);
          expect(run.code, describeRun(block, run)).toBe(0);
          if (kindOf(block) !== 'sh') {
            expect(run.stdout.trim(), `${block.file}:${block.line} prints nothing`).not.toBe('');
            for (const text of expectedOutputs(block)) {
              expect(
                run.stdout,
                `${block.file}:${block.line} says it prints ${JSON.stringify(text)}`,
              ).toContain(text);
            }
          }
        }
      }

      // The installed tree: exactly the @mesh packages it needs, and no other layer's dependencies.
      const installed = installedPackages(dir);
      const closure = workspaceClosure(pkg.name, workspace);
      const ownThirdParty = new Set(closure.flatMap(thirdPartyOf));
      const othersThirdParty = new Set(publicPackages.flatMap((p) => thirdPartyOf(p.name)));
      const forbidden = new Set([...othersThirdParty].filter((d) => !ownThirdParty.has(d)));
      for (const d of NEVER[pkg.name] ?? []) forbidden.add(d);
      const list = [...installed].map(([n, v]) => `${n}@${[...v].join('|')}`).sort();
      console.log(`${pkg.name} installed alone (${list.length} packages): ${list.join(', ')}`);

      const meshInstalled = [...installed.keys()].filter((n) => n.startsWith('@mesh/')).sort();
      expect(meshInstalled).toEqual(closure);
      for (const name of closure) expect([...installed.get(name)!]).toEqual([packed.get(name)!.version]);
      const present = [...forbidden].filter((d) => installed.has(d));
      expect(present, `${pkg.name} must not pull in ${present.join(', ')}`).toEqual([]);
      for (const dep of ownThirdParty) expect(installed.has(dep), `${dep} installed`).toBe(true);

      // CommonJS: require() gives the very objects import gives.
      writeFileSync(
        join(dir, 'require-check.cjs'),
        `const cjs = require(${JSON.stringify(pkg.name)});
import(${JSON.stringify(pkg.name)}).then((esm) => {
  const names = Object.keys(esm).filter((k) => k !== 'default' && k !== 'module.exports');
  const differ = names.filter((k) => cjs[k] !== esm[k]);
  console.log(JSON.stringify({ names: names.length, differ }));
});
`,
      );
      const cjs = await runCommand(process.execPath, ['require-check.cjs'], { cwd: dir, env: consumerEnv() });
      expect(cjs.code, cjs.stderr).toBe(0);
      const result = JSON.parse(cjs.stdout) as { names: number; differ: string[] };
      expect(result.differ).toEqual([]);
      expect(result.names).toBeGreaterThan(0);
      expect(cjs.stderr).not.toMatch(/ExperimentalWarning|ERR_REQUIRE_ESM/);

      // The tarball: only what ships.
      expect(
        tarball.files.filter((f) => !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE|dist\/.+)$/.test(f)),
      ).toEqual([]);
      expect(tarFile(tarball.tarball, 'package/LICENSE')).toBe(
        readFileSync(join(repoRoot, 'LICENSE'), 'utf8'),
      );
      expect(tarball.files.some((f) => f.endsWith('.map') || f.endsWith('.tsbuildinfo'))).toBe(false);
      console.log(
        `${pkg.name} tarball: ${tarball.files.length} files; dependencies ${JSON.stringify(tarball.dependencies)}`,
      );
    });
  }
});
