/**
 * `pnpm release:publish --registry URL` without `--yes` publishes nothing: npm's own dry run of every
 * tarball, lowest layer first. The registry here is an HTTP listener on 127.0.0.1 that answers 404 to
 * everything and records what it was asked, to show that no publish request (PUT) ever arrives.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readPacked } from '../../../scripts/release/pack.js';
import { dependencyOrder, listPublicPackages, repoRoot } from '../../../scripts/release/workspace.js';
import { consumerEnv } from './helpers/consumer.js';
import { runCommand } from './helpers/run-block.js';

const requests: string[] = [];
let server: Server | undefined;
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

describe('release:publish', () => {
  it('is a dry run unless --yes: every tarball checked in dependency order, nothing published', async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const packedDir = inject('packedDir');
    const run = await runCommand(
      join(repoRoot, 'node_modules/.bin/tsx'),
      [join(repoRoot, 'scripts/release.ts'), 'publish', '--out', packedDir, '--registry', registry],
      { cwd: repoRoot, env: consumerEnv({ npm_config_fetch_retries: '0' }) },
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('dry run (add --yes to publish)');

    const order = dependencyOrder(listPublicPackages()).map((p) => p.name);
    const packed = readPacked(packedDir);
    const announced = [...run.stdout.matchAll(/^(@mesh\/[\w-]+)@[\d.]+: npm publish .* --dry-run$/gm)].map(
      (m) => m[1]!,
    );
    expect(announced).toEqual(order.filter((n) => packed.some((p) => p.name === n)));
    for (const p of packed) expect(`${run.stdout}${run.stderr}`).toContain(`+ ${p.name}@${p.version}`);
    // The crypto-core tarball comes before everything that depends on it.
    expect(announced.indexOf('@mesh/crypto-core')).toBeLessThan(announced.indexOf('@mesh/keys'));
    expect(announced.indexOf('@mesh/keys')).toBeLessThan(announced.indexOf('@mesh/encryption'));
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
  });

  it('refuses to run without a registry URL', async () => {
    const run = await runCommand(
      join(repoRoot, 'node_modules/.bin/tsx'),
      [join(repoRoot, 'scripts/release.ts'), 'publish'],
      {
        cwd: repoRoot,
        env: consumerEnv(),
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--registry URL is required');
  });
});
