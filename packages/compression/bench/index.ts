/**
 * Benchmark: deflate and inflate MB/s (of uncompressed bytes) and compression ratio, pako against node:zlib,
 * at levels 1 and 6, on 1 KiB, 64 KiB and 1 MiB of realistic JSON (users and orders) and of random bytes,
 * all through this package's `compress`/`decompress`, in one run.
 *
 * Run: `pnpm --filter @mesh/compression bench` (about a minute). The machine is shared and noisy, so each
 * row measures both engines back to back in ROUNDS short rounds (alternating which goes first) and reports
 * the median; the node/pako ratio is the median of per-round ratios. Compare ratios, not absolute numbers
 * across runs.
 */
import { randomBytes } from 'node:crypto';
import { Bench } from 'tinybench';
import {
  type CompressionEngine,
  type CompressionLevel,
  compress,
  decompress,
  nodeZlibEngine,
  pakoEngine,
} from '../src/index.js';
import { realisticJson } from '../test/helpers/realistic-json.js';

const ROUNDS = 5;
const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
] as const;
const LEVELS: CompressionLevel[] = [1, 6];
const ENGINES: CompressionEngine[] = [nodeZlibEngine, pakoEngine];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** ops/s of each function, `ROUNDS` rounds, alternating order; returns samples[fn][round]. */
async function measure(fns: (() => unknown)[], bytes: number): Promise<number[][]> {
  const samples: number[][] = fns.map(() => []);
  const time = bytes >= 1 << 20 ? 250 : 100;
  for (let r = 0; r < ROUNDS; r++) {
    const order = fns.map((_, i) => (i + r) % fns.length);
    const bench = new Bench({ time, iterations: 3, warmupTime: 20, warmupIterations: 2 });
    for (const i of order) bench.add(`f${i}`, fns[i]!);
    await bench.run();
    bench.tasks.forEach((task, k) => {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
      samples[order[k]!]!.push(result.throughput.p50);
    });
  }
  return samples;
}

const mbps = (opsPerSecond: number, bytes: number) => (opsPerSecond * bytes) / 1e6;
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

interface Row {
  payload: string;
  level: number;
  ratio: number;
  deflate: [number, number, number]; // node MB/s, pako MB/s, node/pako
  inflate: [number, number, number];
}

async function row(payload: string, data: Uint8Array, level: CompressionLevel): Promise<Row> {
  const z = compress(data, { level });
  const limit = data.length;
  const cell = async (fns: (() => unknown)[]): Promise<[number, number, number]> => {
    const [node, pako] = await measure(fns, data.length);
    const ratios = node!.map((n, i) => n / pako![i]!);
    return [mbps(median(node!), data.length), mbps(median(pako!), data.length), median(ratios)];
  };
  const deflate = await cell(ENGINES.map((engine) => () => compress(data, { level, engine })));
  const inflate = await cell(
    ENGINES.map((engine) => () => decompress(z, { maxInflatedBytes: limit, engine })),
  );
  return { payload, level, ratio: data.length / z.length, deflate, inflate };
}

async function main(): Promise<void> {
  console.log(`# @mesh/compression benchmark, node ${process.version}, ${ROUNDS} rounds per row`);
  const rows: Row[] = [];
  for (const kind of ['JSON', 'random'] as const) {
    for (const size of SIZES) {
      const data = kind === 'JSON' ? realisticJson(size.bytes, 42) : new Uint8Array(randomBytes(size.bytes));
      for (const level of LEVELS) {
        const r = await row(`${kind} ${size.label}`, data, level);
        rows.push(r);
        console.error(`done: ${r.payload} L${level}`);
      }
    }
  }
  console.log('');
  console.log(
    '| payload | level | ratio | deflate node:zlib MB/s | deflate pako MB/s | deflate node/pako | inflate node:zlib MB/s | inflate pako MB/s | inflate node/pako |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.payload} | ${r.level} | ${r.ratio.toFixed(2)}x | ${fmt(r.deflate[0])} | ${fmt(r.deflate[1])} | ` +
        `${r.deflate[2].toFixed(2)}x | ${fmt(r.inflate[0])} | ${fmt(r.inflate[1])} | ${r.inflate[2].toFixed(2)}x |`,
    );
  }
  const deflateRatios = rows.map((r) => r.deflate[2]);
  const inflateRatios = rows.map((r) => r.inflate[2]);
  console.log('');
  console.log(
    `node:zlib / pako, median over rows: deflate ${median(deflateRatios).toFixed(2)}x ` +
      `(min ${Math.min(...deflateRatios).toFixed(2)}x), inflate ${median(inflateRatios).toFixed(2)}x ` +
      `(min ${Math.min(...inflateRatios).toFixed(2)}x)`,
  );
}

await main();
