import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sumSamples } from '../src/metrics-text.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mesh-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mesh demo', () => {
  it('serves encrypted traffic between three processes across rotations with zero failures', () => {
    const run = spawnSync(
      process.execPath,
      [main, '--duration', '3', '--concurrency', '4', '--rotate-every', '250', '--dir', dir],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const out = run.stdout + run.stderr;
    console.log(out);
    expect(run.status, out).toBe(0);
    const summary = /(\d+) calls succeeded, (\d+) failed, (\d+) rotations/.exec(out);
    expect(summary, out).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(50);
    expect(Number(summary![2])).toBe(0);
    expect(Number(summary![3])).toBeGreaterThanOrEqual(3);
    // The keyring it leaves is private to the user.
    expect(statSync(join(dir, 'keyring.json')).mode & 0o077).toBe(0);
  });
});

describe('sumSamples', () => {
  const text = [
    '# HELP mesh_crypto_operations_total Operations.',
    'mesh_crypto_operations_total{operation="encrypt",result="success"} 5',
    'mesh_crypto_operations_total{operation="decrypt",result="success"} 7',
    'mesh_crypto_operations_total{operation="encrypt",result="failure"} 1',
    'mesh_crypto_operations_total_extra 100',
  ].join('\n');
  it('sums only the matching samples of the named metric', () => {
    expect(sumSamples(text, 'mesh_crypto_operations_total')).toBe(13);
    expect(sumSamples(text, 'mesh_crypto_operations_total', { operation: 'encrypt' })).toBe(6);
    expect(
      sumSamples(text, 'mesh_crypto_operations_total', { result: 'success', operation: 'decrypt' }),
    ).toBe(7);
    expect(sumSamples(text, 'mesh_missing')).toBe(0);
  });
});
