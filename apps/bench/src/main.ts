/**
 * `pnpm bench`: Mesh Encryption against its peers in one run; writes `bench/results/latest.json` (machine,
 * versions, every round), `latest.md` (the tables) and `ratios.svg` (the chart) at the repository root.
 *
 * Options:
 *   --quick            a short run (under a minute): fewer, shorter rounds; 64 MiB stream; RSA 2048 only
 *   --out DIR          where to write (default: <repo>/bench/results)
 *   --sizes LIST       payload sizes in bytes, comma-separated (default 1024,65536,1048576)
 *   --rounds N         interleaved rounds (full 7, quick 2)
 *   --slice-ms N       time slice of one candidate in one round (full 150, quick 25)
 *   --stream-mib N     bytes through the long stream, MiB (full 1024, quick 64)
 *   --only LIST        sections: symmetric,compression,metrics,streaming,kdf,rsa,padding,etcd (default all)
 *   --etcd-nodes LIST  fleet sizes of the etcd rotation propagation section (full 3,10, quick 3)
 *   --etcd-rotations N rotations per fleet size (full 100, quick 5); full runs etcd on disk and on tmpfs
 *   --no-python        do not start the Python peer
 *   --render           re-render latest.md and ratios.svg from the JSON in --out, measuring nothing
 *
 * Without --out, the snapshot section of apps/bench/README.md is rewritten from the new results too.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { opensslVersion } from './peers/openssl.js';
import { PythonPeer } from './peers/python.js';
import { renderMarkdown } from './report.js';
import type { BenchResults } from './results.js';
import { etcdAbsence, runEtcdPropagation } from './suites/etcd.js';
import {
  type ExtrasOptions,
  runCompression,
  runKdf,
  runMetricsOverhead,
  runRsa,
  runStreaming,
} from './suites/extras.js';
import { runPadding } from './suites/padding.js';
import { runSymmetric, type SymmetricRun } from './suites/symmetric.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SECTIONS = [
  'symmetric',
  'compression',
  'metrics',
  'streaming',
  'kdf',
  'rsa',
  'padding',
  'etcd',
] as const;
type Section = (typeof SECTIONS)[number];

function versionOf(pkg: string): string | undefined {
  for (const base of [join(ROOT, 'apps/bench/node_modules'), join(ROOT, 'node_modules')]) {
    try {
      return (JSON.parse(readFileSync(join(base, pkg, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      // not installed under this base
    }
  }
  return undefined;
}

function intOption(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const README = join(ROOT, 'apps/bench/README.md');
const BEGIN = '<!-- bench:snapshot:begin (written by pnpm bench) -->';
const END = '<!-- bench:snapshot:end -->';

async function writeReports(dir: string, results: BenchResults, updateReadme: boolean): Promise<void> {
  const markdown = renderMarkdown(results);
  await writeFile(join(dir, 'latest.md'), markdown);
  await writeFile(join(dir, 'ratios.svg'), await renderChart(results));
  if (!updateReadme) return;
  // The README shows the committed snapshot: a run into the default directory rewrites that section.
  const readme = await readFile(README, 'utf8');
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) return;
  await writeFile(README, `${readme.slice(0, a + BEGIN.length)}\n${markdown}${readme.slice(b)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      sizes: { type: 'string' },
      rounds: { type: 'string' },
      'slice-ms': { type: 'string' },
      'stream-mib': { type: 'string' },
      only: { type: 'string' },
      'etcd-nodes': { type: 'string' },
      'etcd-rotations': { type: 'string' },
      'no-python': { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const outDir = values.out ?? join(ROOT, 'bench/results');
  await mkdir(outDir, { recursive: true });
  if (values.render) {
    const results = JSON.parse(await readFile(join(outDir, 'latest.json'), 'utf8')) as BenchResults;
    await writeReports(outDir, results, values.out === undefined);
    console.log(`re-rendered ${join(outDir, 'latest.md')} and ratios.svg`);
    return;
  }
  const quick = values.quick;
  const sizes = (values.sizes ?? '1024,65536,1048576').split(',').map((s) => intOption(s, 0, 'sizes'));
  const rounds = intOption(values.rounds, quick ? 2 : 7, 'rounds');
  const sliceMs = intOption(values['slice-ms'], quick ? 25 : 150, 'slice-ms');
  const streamBytes = intOption(values['stream-mib'], quick ? 64 : 1024, 'stream-mib') * 1024 * 1024;
  const etcdNodes = (values['etcd-nodes'] ?? (quick ? '3' : '3,10'))
    .split(',')
    .map((s) => intOption(s, 0, 'etcd-nodes'));
  const etcdRotations = intOption(values['etcd-rotations'], quick ? 5 : 100, 'etcd-rotations');
  const only = new Set<Section>(
    (values.only?.split(',') ?? SECTIONS).map((s) => {
      if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${s}`);
      return s as Section;
    }),
  );
  const log = (line: string) => console.error(line);
  const started = performance.now();
  const createdAt = new Date().toISOString();
  const loadavgStart = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const absent: Record<string, string> = {};

  const python = values['no-python'] ? { absent: 'disabled by --no-python' } : await PythonPeer.start();
  const peer = python instanceof PythonPeer ? python : undefined;
  if (!(python instanceof PythonPeer)) absent['Python cryptography'] = python.absent;
  const openssl = opensslVersion();
  if (openssl === undefined) absent['openssl speed'] = 'no openssl CLI on PATH';

  const extras: ExtrasOptions = {
    rounds,
    sliceMs,
    streamBytes,
    repeats: quick ? 1 : 3,
    rsaBits: quick ? [2048] : [2048, 3072, 4096],
    log,
  };
  let symmetric: SymmetricRun = { cpu: {}, wall: {} };
  try {
    if (only.has('symmetric')) {
      log('symmetric: AES-256-GCM and Fernet against every peer');
      symmetric = await runSymmetric({
        sizes,
        rounds,
        sliceMs,
        python: peer,
        opensslSeconds: openssl === undefined ? 0 : 1,
        opensslRounds: quick ? 1 : 3,
        log,
      });
    }
  } finally {
    await peer?.stop();
  }
  log('compression, metrics, streaming, KDF, RSA');
  const compression = only.has('compression') ? await runCompression(extras) : [];
  const metrics = only.has('metrics') ? await runMetricsOverhead(extras) : {};
  const streaming = only.has('streaming') ? await runStreaming(extras) : undefined;
  const kdf = only.has('kdf') ? await runKdf(extras) : undefined;
  const rsa = only.has('rsa') ? await runRsa(extras) : undefined;
  const padding = only.has('padding') ? await runPadding({ sizes, rounds, sliceMs, log }) : undefined;
  let etcd: BenchResults['etcd'];
  if (only.has('etcd')) {
    const why = etcdAbsence();
    if (why !== undefined) absent['etcd rotation propagation'] = why;
    else {
      log('etcd rotation propagation (keystore-etcd bench)');
      etcd = await runEtcdPropagation({
        nodes: etcdNodes,
        rotations: etcdRotations,
        // The quick run keeps to one small fleet on disk (CI smoke test); the full one shows the WAL's share.
        storages: quick ? ['disk'] : ['disk', 'tmpfs'],
        log,
      });
    }
  }

  const cpu = cpus();
  const results: BenchResults = {
    schema: 1,
    createdAt,
    mode: quick ? 'quick' : 'full',
    command: `pnpm bench${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    durationSeconds: (performance.now() - started) / 1000,
    machine: {
      cpuModel: cpu[0]?.model.trim(),
      cpus: cpu.length,
      totalMemoryBytes: totalmem(),
      freeMemoryBytesAtEnd: freemem(),
      platform: process.platform,
      arch: process.arch,
      kernel: release(),
      loadavgStart,
      loadavgEnd: loadavg()
        .map((x) => x.toFixed(2))
        .join(' '),
    },
    versions: {
      node: process.versions.node,
      v8: process.versions.v8,
      nodeOpenssl: process.versions.openssl,
      opensslCli: openssl,
      python: peer?.info.python,
      cryptography: peer?.info.cryptography,
      pythonOpenssl: peer?.info.openssl,
      tinybench: versionOf('tinybench'),
      '@aws-crypto/encrypt-node': versionOf('@aws-crypto/encrypt-node'),
      'fernet-nodejs': versionOf('fernet-nodejs'),
      fernet: versionOf('fernet'),
      'prom-client': versionOf('prom-client'),
      'vega-lite': versionOf('vega-lite'),
      etcd: etcd?.etcdVersion,
    },
    plan: { sizes, rounds, sliceMs, streamBytes },
    symmetric: symmetric.cpu,
    symmetricWall: symmetric.wall,
    compression,
    metrics,
    streaming,
    kdf,
    rsa,
    padding,
    etcd,
    absent,
  };
  await writeFile(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 1)}\n`);
  await writeReports(outDir, results, values.out === undefined);
  console.log(renderMarkdown(results));
  log(
    `wrote ${join(outDir, 'latest.json')}, latest.md, ratios.svg in ${results.durationSeconds.toFixed(0)} s`,
  );
}

await main();
