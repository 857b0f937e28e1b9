/**
 * Benchmark: what metrics cost on the crypto hot path, measured in one run.
 *
 * 1. The target: a 1 KiB AES-256-GCM encrypt loop (node:crypto, random 256-bit key, a fresh random
 *    12-byte nonce per operation) with `PrometheusCollector` vs `NoopCollector` vs no collector at all.
 *    Each operation reports what the facade reports: `recordOperation` (with a measured duration) and
 *    `recordKeyUse`. Target: PrometheusCollector at most 5% slower than NoopCollector.
 * 2. The per-call cost of those two calls alone, against prom-client used directly (`inc(labels)`,
 *    `observe(labels)`) and through pre-resolved `labels(...)` children, to show why the collector
 *    accumulates in typed arrays.
 * 3. The scrape: `registry.metrics()` with every series populated.
 *
 * The machine is shared and noisy, so the variants run interleaved in short rounds (rotating their order)
 * and the ratios compare medians of per-round CPU time of this process (see `rounds`).
 *
 * Run: `pnpm --filter @mesh/metrics bench`
 */

import { createCipheriv, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, Registry } from 'prom-client';
import {
  CRYPTO_ALGORITHMS,
  CRYPTO_OPERATIONS,
  DEFAULT_DURATION_BUCKETS,
  FAILURE_REASONS,
  type MetricsCollector,
  NoopCollector,
  PrometheusCollector,
  safeCollector,
} from '../src/index.js';

const KEY = randomBytes(32);
const PLAINTEXT = randomBytes(1024);
const KEY_ID = 0x0a1b2c3d;

/** Envelope-shaped output: nonce | ciphertext | tag, one allocation. */
function encrypt(plaintext: Uint8Array): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', KEY, nonce);
  const out = Buffer.allocUnsafe(12 + plaintext.length + 16);
  nonce.copy(out, 0);
  let offset = 12 + cipher.update(plaintext).copy(out, 12);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, offset);
  return out;
}

let sink = 0;

// One loop function per variant, so each call site sees one collector class (as in a real process).
function loopBare(n: number): void {
  for (let i = 0; i < n; i++) sink += encrypt(PLAINTEXT).length;
}
function loopNoop(n: number, m: NoopCollector): void {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = encrypt(PLAINTEXT);
    m.recordOperation('encrypt', 'aes-256-gcm', 'success', (performance.now() - t0) / 1e3, 1024, out.length);
    m.recordKeyUse(KEY_ID);
    sink += out.length;
  }
}
function loopProm(n: number, m: PrometheusCollector): void {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = encrypt(PLAINTEXT);
    m.recordOperation('encrypt', 'aes-256-gcm', 'success', (performance.now() - t0) / 1e3, 1024, out.length);
    m.recordKeyUse(KEY_ID);
    sink += out.length;
  }
}
function loopNaive(n: number): void {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = encrypt(PLAINTEXT);
    naiveOps.inc({ operation: 'encrypt', algorithm: 'aes-256-gcm', result: 'success' });
    naiveDur.observe({ operation: 'encrypt', algorithm: 'aes-256-gcm' }, (performance.now() - t0) / 1e3);
    naiveBytes.inc({ direction: 'in' }, 1024);
    naiveBytes.inc({ direction: 'out' }, out.length);
    naiveKey.inc({ key_id: String(KEY_ID) });
    sink += out.length;
  }
}
function loopSafe(n: number, m: MetricsCollector): void {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const out = encrypt(PLAINTEXT);
    m.recordOperation('encrypt', 'aes-256-gcm', 'success', (performance.now() - t0) / 1e3, 1024, out.length);
    m.recordKeyUse(KEY_ID);
    sink += out.length;
  }
}

type Variant = { name: string; run: (n: number) => void };
type Times = { wall: number[]; cpu: number[] };

/**
 * Runs variants interleaved; returns per-variant ns/op per round, as wall time and as this process's CPU
 * time. CPU time is the headline: other engineers' jobs on the same 2 cores stretch wall time by tens of
 * percent from one round to the next, but barely change the CPU time our own work takes.
 */
function rounds(variants: Variant[], perRound: number, count: number): Map<string, Times> {
  const times = new Map<string, Times>(variants.map((v) => [v.name, { wall: [], cpu: [] }]));
  for (const v of variants) v.run(perRound * 5); // warm-up: let V8 optimise every loop
  for (let r = 0; r < count; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length]!;
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      v.run(perRound);
      const wall = Number(process.hrtime.bigint() - t0);
      const c1 = process.cpuUsage(c0);
      const t = times.get(v.name)!;
      t.wall.push(wall / perRound);
      t.cpu.push(((c1.user + c1.system) * 1e3) / perRound);
    }
  }
  return times;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const pct = (r: number) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(2)}%`;

// prom-client used directly, for comparison: the per-call label hashing the collector avoids.
const naiveRegistry = new Registry();
const naiveOps = new Counter({
  name: 'ops_total',
  help: 'h',
  labelNames: ['operation', 'algorithm', 'result'],
  registers: [naiveRegistry],
});
const naiveDur = new Histogram({
  name: 'dur_seconds',
  help: 'h',
  labelNames: ['operation', 'algorithm'],
  buckets: [...DEFAULT_DURATION_BUCKETS],
  registers: [naiveRegistry],
});
const naiveBytes = new Counter({
  name: 'bytes_total',
  help: 'h',
  labelNames: ['direction'],
  registers: [naiveRegistry],
});
const naiveKey = new Counter({
  name: 'key_total',
  help: 'h',
  labelNames: ['key_id'],
  registers: [naiveRegistry],
});
const childOps = naiveOps.labels('encrypt', 'aes-256-gcm', 'success');
const childDur = naiveDur.labels('encrypt', 'aes-256-gcm');
const childIn = naiveBytes.labels('in');
const childOut = naiveBytes.labels('out');
const childKey = naiveKey.labels(String(KEY_ID));

// --- 1. 1 KiB AES-256-GCM with each collector ---------------------------------------------------------
const noop = new NoopCollector();
const prom = new PrometheusCollector();
const safeProm = safeCollector(new PrometheusCollector({ registry: new Registry() }));
prom.setKeyAge(KEY_ID, Date.now());

const GCM_PER_ROUND = 500;
const GCM_ROUNDS = 161;
const gcm = rounds(
  [
    { name: 'no collector', run: (n) => loopBare(n) },
    { name: 'NoopCollector', run: (n) => loopNoop(n, noop) },
    { name: 'PrometheusCollector', run: (n) => loopProm(n, prom) },
    { name: 'safeCollector(PrometheusCollector)', run: (n) => loopSafe(n, safeProm) },
    { name: 'prom-client inc/observe(labels) directly', run: (n) => loopNaive(n) },
  ],
  GCM_PER_ROUND,
  GCM_ROUNDS,
);
const noopT = gcm.get('NoopCollector')!;
const bareT = gcm.get('no collector')!;
console.log(
  `\n## 1 KiB AES-256-GCM encrypt (node:crypto), ${GCM_ROUNDS} interleaved rounds x ${GCM_PER_ROUND} ops\n`,
);
console.log(
  '| loop | CPU µs/op (median) | ops/s per core | vs NoopCollector (CPU) | vs no collector (CPU) | wall µs/op (median) |',
);
console.log('|---|---|---|---|---|---|');
for (const [name, t] of gcm) {
  const cpu = median(t.cpu);
  console.log(
    `| ${name} | ${(cpu / 1e3).toFixed(2)} | ${Math.round(1e9 / cpu).toLocaleString('en-US')} | ` +
      `${pct(cpu / median(noopT.cpu))} | ${pct(cpu / median(bareT.cpu))} | ${(median(t.wall) / 1e3).toFixed(2)} |`,
  );
}
const headline = median(gcm.get('PrometheusCollector')!.cpu) / median(noopT.cpu);
const headlineSafe = median(gcm.get('safeCollector(PrometheusCollector)')!.cpu) / median(noopT.cpu);
console.log(
  `\nPrometheusCollector / NoopCollector = ${headline.toFixed(4)} (${pct(headline)}); ` +
    `safeCollector(PrometheusCollector) / NoopCollector = ${headlineSafe.toFixed(4)} (${pct(headlineSafe)}); ` +
    `target <= +5%: ${Math.max(headline, headlineSafe) <= 1.05 ? 'MET' : 'NOT MET'}`,
);

// --- 2. The two hot-path calls alone ------------------------------------------------------------------
const micro = new PrometheusCollector();

const CALLS = 20_000;
const calls = rounds(
  [
    {
      name: 'NoopCollector',
      run: (n) => {
        for (let i = 0; i < n; i++) {
          noop.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.000012, 1024, 1052);
          noop.recordKeyUse(KEY_ID);
        }
      },
    },
    {
      name: 'PrometheusCollector',
      run: (n) => {
        for (let i = 0; i < n; i++) {
          micro.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.000012, 1024, 1052);
          micro.recordKeyUse(KEY_ID);
        }
      },
    },
    {
      name: 'prom-client inc/observe(labels)',
      run: (n) => {
        for (let i = 0; i < n; i++) {
          naiveOps.inc({ operation: 'encrypt', algorithm: 'aes-256-gcm', result: 'success' });
          naiveDur.observe({ operation: 'encrypt', algorithm: 'aes-256-gcm' }, 0.000012);
          naiveBytes.inc({ direction: 'in' }, 1024);
          naiveBytes.inc({ direction: 'out' }, 1052);
          naiveKey.inc({ key_id: String(KEY_ID) });
        }
      },
    },
    {
      name: 'prom-client labels() children',
      run: (n) => {
        for (let i = 0; i < n; i++) {
          childOps.inc();
          childDur.observe(0.000012);
          childIn.inc(1024);
          childOut.inc(1052);
          childKey.inc();
        }
      },
    },
  ],
  CALLS,
  21,
);
console.log('\n## recordOperation + recordKeyUse alone (what one encryption reports)\n');
console.log('| implementation | ns per encryption reported | share of one 1 KiB encryption |');
console.log('|---|---|---|');
const encryptNs = median(noopT.cpu);
for (const [name, t] of calls) {
  const ns = median(t.cpu);
  console.log(`| ${name} | ${ns.toFixed(1)} | ${((ns / encryptNs) * 100).toFixed(2)}% |`);
}

// --- 3. Scrape cost with every series populated --------------------------------------------------------
const full = new PrometheusCollector({ maxLiveKeys: 64 });
for (const op of CRYPTO_OPERATIONS) {
  for (const alg of CRYPTO_ALGORITHMS) {
    full.recordOperation(op, alg, 'success', 0.0001, 1, 1);
    full.recordOperation(op, alg, 'failure', 0.0001, 1, 1);
  }
}
for (const reason of FAILURE_REASONS) full.recordFailure(reason);
for (let k = 0; k < 64; k++) {
  full.recordKeyUse(k + 1);
  full.setKeyAge(k + 1, Date.now());
}
let bytes = 0;
for (let i = 0; i < 20; i++) bytes = (await full.registry.metrics()).length; // warm-up
const scrapes: number[] = [];
for (let i = 0; i < 50; i++) {
  const t0 = performance.now();
  bytes = (await full.registry.metrics()).length;
  scrapes.push(performance.now() - t0);
}
const series = (await full.registry.getMetricsAsJSON()).reduce((n, m) => n + m.values.length, 0);
console.log('\n## Scrape (every operation x algorithm x result, 64 live keys)\n');
console.log(`registry.metrics(): median ${median(scrapes).toFixed(2)} ms, ${series} series, ${bytes} bytes`);
if (sink === 0) console.log('(sink)');
