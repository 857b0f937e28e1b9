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
  ])('%j is one clear line on stderr and exit code 2', async (args, message) => {
    const run = await runDemo(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
