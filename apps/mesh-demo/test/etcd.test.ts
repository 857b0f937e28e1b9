import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { runDemo, serviceRows } from './run-demo.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-demo-etcd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The private etcd the demo started: its pid and data directory, from the line it prints. */
function startedEtcd(out: string): { pid: number; dataDir: string } {
  const m = /started a private etcd \(pid (\d+)\) on http:\/\/127\.0\.0\.1:\d+, data in (\S+)/.exec(out);
  expect(m, out).not.toBeNull();
  return { pid: Number(m![1]), dataDir: m![2]! };
}

/** Checks the summary of an etcd run: zero failures, >= 3 rotations, each one two-phase on every service. */
function expectTwoPhaseRun(out: string, stdout: string): number {
  expect(out).toMatch(/mesh-demo: OK, \d+ requests, 0 failed, across \d+ rotations/);
  expect(out).toContain('key store: etcd (EtcdKeyStore, two-phase rotation by a RotationCoordinator)');
  const rotations = Number(/rotations\s+(\d+) \(key v1 -> v\d+;.*every service ended on v\d+/.exec(out)?.[1]);
  expect(rotations, out).toBeGreaterThanOrEqual(3);
  // The leader promoted each new key (AES and Fernet) only after every live service acked the staged one,
  // and every service held each new AES key staged before it encrypted under it.
  const promotions = /two-phase\s+(\d+) promotions by the leader \((\w+);/.exec(out);
  expect(promotions, out).not.toBeNull();
  expect(Number(promotions![1])).toBeGreaterThanOrEqual(2 * rotations);
  expect(out).toContain(
    `held staged before encrypting under them: orders ${rotations}/${rotations}, payments ${rotations}/${rotations}, inventory ${rotations}/${rotations}`,
  );
  expect(out).not.toContain('WITHOUT the staged phase');
  for (const [name, row] of serviceRows(stdout)) {
    expect(row['calls failed'], name).toBe('0');
    expect(row['crypto failures'], name).toBe('0');
  }
  return rotations;
}

describe('mesh demo on etcd (--start-etcd)', () => {
  it('runs on a private etcd with zero failures across >= 3 two-phase rotations, then stops that etcd', async () => {
    const run = await runDemo([
      '--start-etcd',
      '--duration',
      '8',
      '--rotate-every',
      '1200',
      '--port',
      '0',
      '--dir',
      join(dir, 'plain'),
    ]);
    const out = run.stdout + run.stderr;
    onTestFailed(() => console.log(out));
    expect(run.code, out).toBe(0);
    expectTwoPhaseRun(out, run.stdout);
    // The etcd it started is gone, and so is its data directory.
    const etcd = startedEtcd(out);
    expect(out).toContain(`stopped the private etcd (pid ${etcd.pid}) and removed its data`);
    expect(() => process.kill(etcd.pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(etcd.dataDir)).toBe(false);
  });

  it('--pause-etcd: etcd frozen part-way, requests keep succeeding, still >= 3 two-phase rotations', async () => {
    const run = await runDemo([
      '--start-etcd',
      '--pause-etcd',
      '2',
      '--duration',
      '12',
      '--rotate-every',
      '1200',
      '--port',
      '0',
      '--dir',
      join(dir, 'pause'),
    ]);
    const out = run.stdout + run.stderr;
    onTestFailed(() => console.log(out));
    expect(run.code, out).toBe(0);
    expectTwoPhaseRun(out, run.stdout);
    const frozen =
      /etcd pause\s+etcd frozen \(SIGSTOP\) at [\d.]+ s for 2 s: (\d+) requests sent meanwhile, (\d+) failed/.exec(
        out,
      );
    expect(frozen, out).not.toBeNull();
    expect(Number(frozen![1])).toBeGreaterThan(0);
    expect(frozen![2]).toBe('0');
    expect(() => process.kill(startedEtcd(out).pid, 0)).toThrow(/ESRCH/);
  });

  it('--etcd URL: the fleet on an etcd it did not start, under a keyring prefix of its own', async () => {
    const etcd = await EtcdProcess.start();
    try {
      const run = await runDemo([
        '--etcd',
        etcd.endpoint,
        '--duration',
        '6',
        '--rotate-every',
        '1000',
        '--port',
        '0',
        '--dir',
        join(dir, 'url'),
      ]);
      const out = run.stdout + run.stderr;
      onTestFailed(() => console.log(out));
      expect(run.code, out).toBe(0);
      expectTwoPhaseRun(out, run.stdout);
      expect(out).toMatch(new RegExp(`at ${etcd.endpoint} under mesh-demo/[0-9a-f]{12}/`));
      expect(out).not.toContain('private etcd');
      // Not the demo's etcd: still running after the demo.
      expect(() => process.kill(etcd.pid!, 0)).not.toThrow();
    } finally {
      await etcd.stop();
    }
  });
});
