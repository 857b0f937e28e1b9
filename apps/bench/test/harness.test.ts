/**
 * Smoke test of the benchmark harness: one tiny quick run (1 KiB only, one round of a few ms) must produce a
 * complete result: every candidate of the symmetric group present with one positive rate per round (the
 * Python ones when python3 with `cryptography` is installed, else reported absent), the extras filled in, a
 * Markdown report and an SVG chart; with the `etcd` binary present, the etcd rotation propagation section (a
 * real etcd and 3 node processes, 2 rotations) with every rotation's latency, else reported absent. It never
 * looks at how fast anything was.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../src/results.js';
import { PADDING_CANDIDATE_IDS } from '../src/suites/padding.js';
import { SYMMETRIC_CANDIDATE_IDS } from '../src/suites/symmetric.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'mesh-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const hasPythonCryptography =
  spawnSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0;
const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
const hasEtcd =
  spawnSync(process.env.MESH_ETCD_BINARY ?? 'etcd', ['--version'], { stdio: 'ignore' }).status === 0;

describe('pnpm bench --quick (tiny budget)', () => {
  const run = spawnSync(
    process.execPath,
    [
      MAIN,
      '--quick',
      '--out',
      out,
      '--sizes',
      '1024',
      '--rounds',
      '1',
      '--slice-ms',
      '3',
      '--stream-mib',
      '4',
      '--etcd-nodes',
      '3',
      '--etcd-rotations',
      '2',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );

  it('exits 0 and writes latest.json, latest.md and ratios.svg', () => {
    expect(run.stderr).not.toMatch(/Error:/);
    expect(run.status).toBe(0);
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain('### Targets');
    const svg = readFileSync(join(out, 'ratios.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('facade / raw node:crypto (encrypt)');
  });

  it('has every candidate, one positive rate per round, and the extras', () => {
    const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResults;
    expect(r.schema).toBe(1);
    expect(r.plan).toMatchObject({ sizes: [1024], rounds: 1 });
    expect(r.versions.node).toBe(process.versions.node);
    const at = r.symmetric['1024']!;
    for (const id of SYMMETRIC_CANDIDATE_IDS) {
      const expected = id.startsWith('python-')
        ? hasPythonCryptography
        : id.startsWith('openssl-')
          ? hasOpenssl
          : true;
      if (!expected) {
        expect(at[id], id).toBeUndefined();
        continue;
      }
      expect(at[id], id).toHaveLength(1);
      expect(at[id]![0], id).toBeGreaterThan(0);
    }
    if (!hasPythonCryptography) expect(r.absent['Python cryptography']).toBeDefined();
    expect(r.compression.map((c) => c.payload)).toEqual([
      'JSON 1 KiB',
      'JSON 64 KiB',
      'JSON 1 MiB',
      'random 1 MiB',
    ]);
    expect(Object.keys(r.metrics).sort()).toEqual(
      ['default', 'noop', 'prometheus'].flatMap((c) => [`${c}:decrypt`, `${c}:encrypt`]).sort(),
    );
    expect(r.streaming?.totalBytes).toBe(4 * 1024 * 1024);
    expect(r.kdf?.pbkdf2Seconds.length).toBeGreaterThan(0);
    expect(Object.keys(r.rsa?.oaep ?? {})).toEqual(['2048:encrypt', '2048:decrypt']);
    const padding = r.padding?.rounds['1024'] ?? {};
    expect(Object.keys(padding).sort()).toEqual([...PADDING_CANDIDATE_IDS].sort());
    for (const id of PADDING_CANDIDATE_IDS) expect(padding[id]![0], id).toBeGreaterThan(0);
    // 1 KiB: 1,024 + 35 unpadded; multiple of 256: 1,280 + 35; power of two: 2,048 + 35 (the marker byte).
    expect(r.padding?.envelopeBytes['1024']).toEqual({
      none: 1059,
      'multiple-of-256': 1315,
      'power-of-two': 2083,
    });
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain('### Padding (length hiding)');
  });

  it('has the etcd rotation propagation section when etcd is present, else says it is absent', () => {
    const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResults;
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    if (!hasEtcd) {
      expect(r.etcd).toBeUndefined();
      expect(r.absent['etcd rotation propagation']).toMatch(/etcd/);
      return;
    }
    expect(r.absent['etcd rotation propagation']).toBeUndefined();
    const etcd = r.etcd!;
    expect(etcd.etcdVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.versions.etcd).toBe(etcd.etcdVersion);
    expect(etcd.runs.map((x) => [x.nodes, x.storage, x.rotations])).toEqual([[3, 'disk', 2]]);
    const run = etcd.runs[0]!;
    // Every rotation acked by all 3 nodes, each latency a positive time; the percentiles are of those samples.
    expect(run.samplesMs).toHaveLength(2);
    expect(run.leaderAckMs).toHaveLength(2);
    for (const ms of run.samplesMs) expect(ms).toBeGreaterThan(0);
    expect(run.samplesMs).toContain(run.p50);
    expect(run.p99).toBe(Math.max(...run.samplesMs));
    expect(run.max).toBe(run.p99);
    expect(md).toContain('### etcd rotation propagation');
    expect(md).toMatch(/\| 3 \| disk \(OS temp dir\) \| 2 \|/);
  });
});
