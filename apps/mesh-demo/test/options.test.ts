import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from './run-demo.js';

describe('mesh demo options', () => {
  it('--help prints the usage and exits 0', async () => {
    const run = await runDemo(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: mesh-demo \[options\]/);
    for (const flag of [
      '--duration',
      '--services',
      '--rate',
      '--rotate-every',
      '--port',
      '--kill-one',
      '--dir',
    ]) {
      expect(run.stdout).toContain(flag);
    }
    expect(run.stderr).toBe('');
  });

  it.each([
    [
      ['--durations', '5'],
      /^mesh-demo: unknown option '--durations' \(Did you mean --duration\?\) \(see --help\)$/,
    ],
    [
      ['--duration', 'soon'],
      /^mesh-demo: option '-d, --duration <seconds>' argument 'soon' is invalid\. expected a number from 1 to 3600\. \(see --help\)$/,
    ],
    [['--services', '1'], /^mesh-demo: option '-s, --services <n>' argument '1' is invalid\./],
    [
      ['--kill-one', 'billing'],
      /^mesh-demo: option '--kill-one \[service\]' names no running service: billing/,
    ],
    [['extra'], /^mesh-demo: too many arguments\. Expected 0 arguments but got 1\. \(see --help\)$/],
    [['--pause-etcd'], /^mesh-demo: option '--pause-etcd' needs --start-etcd/],
    [
      ['--etcd', 'http://10.1.2.3:2379'],
      /^mesh-demo: option '--etcd <url>' argument 'http:\/\/10\.1\.2\.3:2379' must be http:\/\/ on 127\.0\.0\.1/,
    ],
    [
      ['--etcd', 'http://127.0.0.1:2379', '--start-etcd'],
      /^mesh-demo: options '--etcd <url>' and '--start-etcd' exclude each other/,
    ],
  ])('%j is one clear line on stderr and exit code 2', async (args, message) => {
    const run = await runDemo(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('a dashboard port in use is one line naming the port, and exit 1', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'mesh-demo-port-'));
    try {
      const run = await runDemo(['--port', String(port), '--duration', '2', '--dir', dir]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toBe(
        `mesh-demo: port ${port} for the dashboard is in use; pass --port <another> or --port 0 for free ports\n`,
      );
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
