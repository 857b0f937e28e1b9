import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { runDemo, serviceRows } from './run-demo.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-demo-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mesh demo --kill-one', () => {
  it('kills one service, restarts it, and the others serve on with zero failures', async () => {
    // 16 s: a restarted process can take several seconds to start on a loaded 2-core machine, and it must
    // still have time to serve and follow the rotations after it is back.
    const run = await runDemo([
      '--duration',
      '16',
      '--rotate-every',
      '1000',
      '--port',
      '0',
      '--kill-one',
      'payments',
      '--down',
      '2',
      '--dir',
      dir,
    ]);
    const out = run.stdout + run.stderr;
    onTestFailed(() => console.log(out)); // the whole run, for the failure report
    expect(run.code, out).toBe(0);
    // The summary names the killed service, its restart, and that it caught up with the rotations it missed.
    const killed =
      /kill-one\s+payments killed at [\d.]+ s \(SIGKILL, pid (\d+), key v(\d+)\); down ([\d.]+) s; restarted at [\d.]+ s \(pid (\d+)\) on key v(\d+) \(fleet on v(\d+) when it was started again\)/.exec(
        out,
      );
    expect(killed, out).not.toBeNull();
    expect(killed![4]).not.toBe(killed![1]);
    expect(Number(killed![3])).toBeGreaterThanOrEqual(2);
    expect(Number(killed![5])).toBeGreaterThanOrEqual(Number(killed![6]));
    // At least one rotation happened while it was down, so the restart had something to catch up on.
    expect(Number(killed![5])).toBeGreaterThan(Number(killed![2]));
    const after =
      /after the restart payments made (\d+) calls and answered (\d+) requests, (\d+) failed; it ended on key v(\d+) \(fleet v(\d+)\): caught up/.exec(
        out,
      );
    expect(after, out).not.toBeNull();
    expect(Number(after![1])).toBeGreaterThan(0);
    expect(Number(after![2])).toBeGreaterThan(0);
    expect(after![3]).toBe('0');
    expect(after![4]).toBe(after![5]);
    expect(out).toMatch(/the others kept serving: orders 0 failures, inventory 0 failures/);

    const rows = serviceRows(run.stdout);
    expect(rows.get('payments')!.restarts).toBe('1');
    for (const name of ['orders', 'inventory']) {
      const row = rows.get(name)!;
      expect(row.restarts, name).toBe('0');
      expect(row['calls failed'], name).toBe('0');
      expect(row['crypto failures'], name).toBe('0');
      expect(Number(row['calls made']), name).toBeGreaterThan(30);
    }
    expect(out).toMatch(
      /requests\s+\d+ sent by the driver \(\d+\/s over [\d.]+ s\), \d+ succeeded, 0 failed/,
    );
  });
});
