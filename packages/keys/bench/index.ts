/**
 * Benchmark of @mesh/keys, in one run:
 * - PasswordKeyCache: a hit against a fresh PBKDF2-HMAC-SHA256 derivation at 600,000 iterations (ratio);
 * - KeyManager.acquireEncryptionKey ops/s on the memory and file stores (one store write per usage lease),
 *   getDecryptionKey ops/s, and a rotation (one durable file write: temp, 2 fsyncs, rename, lock) per second.
 *
 * Run: `pnpm --filter @mesh/keys bench` (about 30 s). The machine is shared and noisy: compare ratios
 * within one run, not absolute numbers across runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import {
  derivePasswordKey,
  FileKeyStore,
  KeyManager,
  MemoryKeyStore,
  PasswordKeyCache,
} from '../src/index.js';

interface Row {
  name: string;
  opsPerSec: number;
  meanUs: number;
}

async function measure(
  tasks: Array<[string, () => unknown]>,
  opts: { time?: number; iterations?: number } = {},
): Promise<Row[]> {
  const bench = new Bench({
    time: opts.time ?? 1000,
    iterations: opts.iterations ?? 10,
    warmupIterations: 2,
  });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`);
    return { name: t.name, opsPerSec: r.throughput.p50 ?? r.throughput.mean, meanUs: r.latency.p50! * 1000 };
  });
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : 0 });
const rows: Row[] = [];

// ---- password derivation ------------------------------------------------------------------------------
const password = 'correct horse battery staple';
const cache = new PasswordKeyCache();
const { params } = await cache.derive(password); // 600,000 iterations, fills the cache
const fresh = await measure(
  [['derivePasswordKey, 600k iterations (fresh)', () => derivePasswordKey(password, params)]],
  {
    time: 2000,
    iterations: 8,
  },
);
const hit = await measure([['PasswordKeyCache.derive hit', () => cache.derive(password, params)]]);
rows.push(...fresh, ...hit);
const ratio = fresh[0]!.meanUs > 0 ? fresh[0]!.meanUs / hit[0]!.meanUs : Number.NaN;

// ---- key manager --------------------------------------------------------------------------------------
const kek = { key: crypto.getRandomValues(new Uint8Array(32)) };
const dir = await mkdtemp(join(tmpdir(), 'mesh-keys-bench-'));
try {
  const mem = await KeyManager.open({ store: new MemoryKeyStore(), kek, watch: false });
  const file = await KeyManager.open({
    store: new FileKeyStore({ path: join(dir, 'a.json') }),
    kek,
    watch: false,
  });
  const fileSmallLease = await KeyManager.open({
    store: new FileKeyStore({ path: join(dir, 'b.json') }),
    kek,
    watch: false,
    rotation: { usageLeaseSize: 1024 },
  });
  const rotating = await KeyManager.open({
    store: new FileKeyStore({ path: join(dir, 'c.json') }),
    kek,
    watch: false,
    algorithms: ['aes-256-gcm'],
    rotation: { maxRetainedKeys: 8 },
  });
  const id = (await mem.acquireEncryptionKey()).id;
  rows.push(
    ...(await measure([
      ['acquireEncryptionKey, memory store (lease 65,536)', () => mem.acquireEncryptionKey()],
      ['acquireEncryptionKey, file store (lease 65,536)', () => file.acquireEncryptionKey()],
      ['acquireEncryptionKey, file store (lease 1,024)', () => fileSmallLease.acquireEncryptionKey()],
      ['getDecryptionKey (known id)', () => mem.getDecryptionKey(id)],
    ])),
    ...(await measure([['rotate, file store (durable write)', () => rotating.rotate()]], { time: 1500 })),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log('| operation | ops/s | median latency |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.opsPerSec)} | ${fmt(r.meanUs)} µs |`);
console.log(`\nPasswordKeyCache hit vs fresh 600k derivation: ${fmt(ratio)}x faster`);
