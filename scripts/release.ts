/**
 * Release tooling for the public packages. Run through the root scripts:
 *
 *   pnpm release:pack                         build, then pack every public package into dist-packages/
 *   pnpm lint:packages                        pack into a temporary folder, then publint + attw each tarball
 *   pnpm release:publish --registry URL       dry run (npm publish --dry-run): what would be published, nothing sent
 *   pnpm release:publish --registry URL --yes publish the tarballs in dist-packages/, lowest layer first
 *
 * docs/RELEASING.md describes the whole flow (changesets, versioning, packing, publishing).
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packAll, readPacked } from './release/pack.js';
import { dependencyOrder, listPublicPackages } from './release/workspace.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    registry: { type: 'string' },
    yes: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    tag: { type: 'string' },
  },
});
const command = positionals[0];
const log = (line: string): void => console.log(line);

async function main(): Promise<number> {
  switch (command) {
    case 'pack': {
      const packed = packAll({
        ...(values.out ? { outDir: values.out } : {}),
        build: !values['no-build'],
        log,
      });
      console.log(`\n${packed.length} tarballs in ${values.out ?? 'dist-packages/'}`);
      return 0;
    }
    case 'lint': {
      const out = mkdtempSync(join(tmpdir(), 'mesh-lint-packages-'));
      try {
        const packed = packAll({ outDir: out, build: !values['no-build'], log });
        // Loaded here only: it brings in TypeScript (for Are the Types Wrong), which the other commands do not need.
        const { lintPacked } = await import('./release/lint.js');
        const results = await lintPacked(packed);
        for (const r of results) {
          console.log(
            `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: publint ${r.publint.length === 0 ? 'clean' : ''}` +
              `${r.publint.join('; ')}, attw ${r.attw === '' ? 'clean' : 'problems'}`,
          );
          if (r.attw !== '') console.log(r.attw);
        }
        return results.every((r) => r.ok) ? 0 : 1;
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    case 'publish': {
      if (!values.registry) {
        console.error('release publish: --registry URL is required (the internal registry to publish to)');
        return 2;
      }
      const packed = readPacked(values.out);
      const order = dependencyOrder(listPublicPackages()).map((p) => p.name);
      packed.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
      const dryRun = !values.yes;
      console.log(`${dryRun ? 'dry run (add --yes to publish)' : 'publishing'} to ${values.registry}`);
      for (const p of packed) {
        const args = ['publish', p.tarball, '--registry', values.registry, '--access', 'restricted'];
        if (values.tag) args.push('--tag', values.tag);
        // A dry run is npm's own: it checks the tarball, reads the registry's existing versions, reports what
        // it would send, and publishes nothing.
        if (dryRun) args.push('--dry-run');
        console.log(`${p.name}@${p.version}: npm ${args.join(' ')}`);
        execFileSync('npm', args, { stdio: 'inherit' });
      }
      return 0;
    }
    default:
      console.error(
        'usage: tsx scripts/release.ts pack|lint|publish [--out DIR] [--no-build] [--registry URL --yes]',
      );
      return 2;
  }
}

process.exitCode = await main();
