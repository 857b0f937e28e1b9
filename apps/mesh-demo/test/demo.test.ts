import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { parseSamples, sumOf } from '../src/metrics-text.js';
import { REPO_ROOT, runDemo, serviceRows } from './run-demo.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pnpm demo (the README command, shorter)', () => {
  it('runs the fleet on the file key store with zero failures across at least 3 rotations', async () => {
    const urls: string[] = [];
    const scrapes: Promise<{ url: string; text: string }>[] = [];
    const run = await runDemo(
      ['demo', '--duration', '6', '--rotate-every', '1000', '--port', '0', '--dir', join(dir, 'state')],
      {
        command: 'pnpm',
        cwd: REPO_ROOT,
        timeoutMs: 120_000,
        // The /metrics ports are printed at start and answer while the demo runs: scrape each of them when
        // a live line shows traffic has flowed for 3 s.
        onLine: (line) => {
          const m = /^\s+(\w+)\s+(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(line);
          if (m) urls.push(m[2]!);
          const live = /^\s+(\d+) s\s+\d+ req\/s/.exec(line);
          if (live && Number(live[1]) >= 3 && scrapes.length === 0) {
            for (const url of urls)
              scrapes.push(fetch(url).then(async (r) => ({ url, text: await r.text() })));
          }
        },
      },
    );
    const out = run.stdout + run.stderr;
    onTestFailed(() => console.log(out)); // the whole run, for the failure report
    expect(run.code, out).toBe(0);
    expect(out).toMatch(/mesh-demo: OK, \d+ requests, 0 failed, across \d+ rotations/);

    const requests =
      /requests\s+(\d+) sent by the driver \(\d+\/s over [\d.]+ s\), (\d+) succeeded, (\d+) failed/.exec(out);
    expect(requests, out).not.toBeNull();
    const [sent, succeeded, failed] = [Number(requests![1]), Number(requests![2]), Number(requests![3])];
    expect(sent).toBeGreaterThan(50);
    expect(succeeded).toBe(sent);
    expect(failed).toBe(0);
    const rotations = /rotations\s+(\d+) \(key v1 -> v(\d+);.*every service ended on v(\d+)/.exec(out);
    expect(rotations, out).not.toBeNull();
    expect(Number(rotations![1])).toBeGreaterThanOrEqual(3);
    expect(Number(rotations![2])).toBe(Number(rotations![1]) + 1);
    expect(/latency\s+p50 [\d.]+ ms, p99 [\d.]+ ms/.test(out), out).toBe(true);
    const saved = /compression\s+(\d+) of (\d+) sealed bodies compressed/.exec(out);
    expect(Number(saved![1]), out).toBeGreaterThan(0);

    // The table's numbers say what they count: per service encrypts = calls made + requests answered, and
    // over the fleet two encrypts per request.
    const rows = serviceRows(run.stdout);
    expect([...rows.keys()]).toEqual(['orders', 'payments', 'inventory']);
    let encrypts = 0;
    for (const [name, row] of rows) {
      expect(Number(row.encrypts), name).toBe(Number(row['calls made']) + Number(row['requests answered']));
      expect(Number(row.decrypts), name).toBe(Number(row.encrypts));
      expect(row['crypto failures'], name).toBe('0');
      expect(row['calls failed'], name).toBe('0');
      expect(row['key version'], name).toBe(`v${Number(rotations![2])}`);
      encrypts += Number(row.encrypts);
    }
    expect(encrypts).toBe(2 * sent);
    expect(Number(saved![2])).toBe(encrypts);

    const scraped = await Promise.all(scrapes);
    expect(scraped).toHaveLength(3);
    for (const { url, text } of scraped) {
      const samples = parseSamples(text);
      expect(sumOf(samples, 'mesh_crypto_failures_total'), url).toBe(0);
      expect(
        samples.some((s) => s.name === 'mesh_crypto_operations_total'),
        url,
      ).toBe(true);
    }
    // The keyring it leaves is private to the user.
    expect(statSync(join(dir, 'state', 'keyring.json')).mode & 0o077).toBe(0);
  });

  it('stops early on SIGINT with the summary and every service stopped', async () => {
    let sent = false;
    const pids: number[] = [];
    const run = await runDemo(
      ['--duration', '120', '--rotate-every', '500', '--port', '0', '--dir', join(dir, 'sigint')],
      {
        onLine: (line, child) => {
          const pid = /\/metrics {2}\(pid (\d+)\)$/.exec(line);
          if (pid) pids.push(Number(pid[1]));
          const live = /^\s+(\d+) s\s+\d+ req\/s.*rotations (\d+)/.exec(line);
          if (!sent && live && Number(live[2]) >= 1) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    const out = run.stdout + run.stderr;
    onTestFailed(() => console.log(out));
    expect(sent).toBe(true);
    expect(run.code, out).toBe(0);
    expect(out).toMatch(/stopped early by a signal after [\d.]+ s of traffic/);
    expect(out).toMatch(/mesh-demo: OK, \d+ requests, 0 failed/);
    expect(run.stderr).toBe('');
    // No service process outlives the demo.
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow(/ESRCH/);
  });
});
