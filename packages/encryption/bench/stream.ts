/**
 * Streaming benchmark (issue 7), one run, two phases:
 * - A (memory): 1 GiB through encrypt, then 1 GiB through encrypt -> decrypt, each a single stream generated
 *   on the fly and drained into a sink (never held in memory); peak RSS growth sampled throughout.
 * - B (throughput): the same volume again in 32 MiB slices, alternating with in-memory AES-256-GCM at 1 MiB
 *   (`aesGcmEncrypt`/`aesGcmDecrypt` of crypto-core), so that load drift on a shared machine hits both alike.
 *   Ratios by wall clock and by this process's CPU time.
 *
 * Prints a table; targets: peak RSS growth < 64 MiB, stream throughput >= 0.8x in-memory GCM at 1 MiB.
 * Run: `pnpm --filter @mesh/encryption exec tsx bench/stream.ts` (env STREAM_BENCH_GIB=0.25 for a short run).
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { aesGcmDecrypt, aesGcmEncrypt, randomBytes } from '@mesh/crypto-core';
import { KeyManager, MemoryKeyStore } from '@mesh/keys';
import { NoopCollector } from '@mesh/metrics';
import { createNodeDecryptStream, createNodeEncryptStream, type StreamDeps } from '../src/stream/index.js';
import { SegmentOpener } from '../src/stream/opener.js';
import { SegmentSealer } from '../src/stream/sealer.js';

const MiB = 1024 * 1024;

/** One measured row: wall-clock and this process's CPU time (user + system, all threads). */
export interface StreamBenchRow {
  name: string;
  bytes: number;
  wallSeconds: number;
  cpuSeconds: number;
}

/** Everything the run measured. */
export interface StreamBenchResult {
  rows: StreamBenchRow[];
  peakRssGrowthBytes: number;
  encryptRatio: StreamRatio;
  roundTripRatio: StreamRatio;
}

/** Stream / in-memory throughput: median over adjacent slice pairs, and over the summed times. */
export interface StreamRatio {
  wall: number;
  cpu: number;
  sumWall: number;
  sumCpu: number;
}

// A full GC before taking the RSS baseline, without requiring --expose-gc on the command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A pattern source: `total` bytes in `chunkSize` pieces cut from one 1 MiB random block, produced on demand. */
function source(block: Uint8Array, total: number, chunkSize: number): Readable {
  let produced = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const at = produced % block.length;
      const n = Math.min(chunkSize, total - produced, block.length - at);
      produced += n;
      this.push(block.subarray(at, at + n));
    },
  });
}

/** A sink that counts, optionally checks every byte against the pattern, and samples RSS. */
function sink(
  block: Uint8Array | undefined,
  onSample: () => void,
): { stream: Writable; received: () => number } {
  let received = 0;
  let writes = 0;
  const stream = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (block !== undefined) {
        // Decrypted output must be the pattern again: compare in place (memcmp, no copies).
        let off = 0;
        while (off < chunk.length) {
          const at = (received + off) % block.length;
          const n = Math.min(chunk.length - off, block.length - at);
          if (Buffer.compare(chunk.subarray(off, off + n), block.subarray(at, at + n)) !== 0) {
            callback(new Error(`round trip mismatch at byte ${received + off}`));
            return;
          }
          off += n;
        }
      }
      received += chunk.length;
      if (++writes % 32 === 0) onSample();
      callback();
    },
  });
  return { stream, received: () => received };
}

/** Times `fn` by wall clock and by this process's CPU time. */
async function timed(name: string, bytes: number, fn: () => unknown): Promise<StreamBenchRow> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await fn();
  const wallSeconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  return { name, bytes, wallSeconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

const mbps = (r: StreamBenchRow, by: 'wall' | 'cpu') =>
  r.bytes / 1e6 / (by === 'wall' ? r.wallSeconds : r.cpuSeconds);

/** Sums rows measured in several bursts. */
function merge(name: string, rows: StreamBenchRow[]): StreamBenchRow {
  return {
    name,
    bytes: rows.reduce((a, r) => a + r.bytes, 0),
    wallSeconds: rows.reduce((a, r) => a + r.wallSeconds, 0),
    cpuSeconds: rows.reduce((a, r) => a + r.cpuSeconds, 0),
  };
}

/** Runs the whole benchmark and prints its table. */
export async function runStreamBench(
  totalBytes = Math.round(Number(process.env.STREAM_BENCH_GIB ?? 1) * 1024) * MiB,
): Promise<StreamBenchResult> {
  const keys = await KeyManager.open({
    store: new MemoryKeyStore(),
    kek: { key: randomBytes(32) },
    algorithms: ['aes-256-gcm'],
    watch: false,
  });
  const deps: StreamDeps = { keys, metrics: new NoopCollector() };
  const block = randomBytes(MiB);
  const chunkSize = 64 * 1024;
  let peak = 0;
  const sample = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };

  let sealedBytes = 0;
  const encrypt = (bytes: number, segmentSize?: number) => async () => {
    const out = sink(undefined, sample);
    await pipeline(
      source(block, bytes, chunkSize),
      createNodeEncryptStream(deps, { segmentSize }),
      out.stream,
    );
    sealedBytes = out.received();
  };
  const roundTrip = (bytes: number) => async () => {
    const out = sink(block, sample);
    await pipeline(
      source(block, bytes, chunkSize),
      createNodeEncryptStream(deps),
      createNodeDecryptStream(deps),
      out.stream,
    );
    if (out.received() !== bytes) throw new Error(`round trip lost bytes: ${out.received()} of ${bytes}`);
  };

  // In-memory GCM at 1 MiB with a fresh output per call, as a caller of `aesGcmEncrypt` gets.
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const plain = randomBytes(MiB);
  const memEncrypt = (mib: number) => () => {
    for (let i = 0; i < mib; i++) aesGcmEncrypt(key, nonce, plain);
  };
  const memRoundTrip = (mib: number) => () => {
    for (let i = 0; i < mib; i++) aesGcmDecrypt(key, nonce, aesGcmEncrypt(key, nonce, plain));
  };

  // Phase A, memory: 1 GiB encrypt, then 1 GiB encrypt -> decrypt, each one stream, RSS sampled throughout.
  // Warm-up (JIT, allocator) first, then the baseline after a full GC.
  await roundTrip(64 * MiB)();
  gc();
  const baseline = process.memoryUsage.rss();
  peak = baseline;
  const timer = setInterval(sample, 10);
  const rows: StreamBenchRow[] = [];
  rows.push(
    await timed(`A: stream encrypt, ${fmtBytes(totalBytes)}, one stream`, totalBytes, encrypt(totalBytes)),
  );
  const sealedTotal = sealedBytes;
  rows.push(
    await timed(`A: stream encrypt -> decrypt, ${fmtBytes(totalBytes)}`, totalBytes, roundTrip(totalBytes)),
  );
  clearInterval(timer);
  sample();
  const peakGrowth = peak - baseline;

  // Phase B, throughput ratio: the shared machine's load drifts within seconds, so stream and in-memory work
  // alternate in 32 MiB slices (which goes first alternates too) for the same total as phase A. Ratios: the
  // median over adjacent pairs (robust to a load spike in one slice) and the ratio of the summed times.
  const SLICE = 32 * MiB;
  const slices = Math.max(1, Math.round(totalBytes / SLICE));
  const parts = {
    se: [] as StreamBenchRow[],
    me: [] as StreamBenchRow[],
    sr: [] as StreamBenchRow[],
    mr: [] as StreamBenchRow[],
  };
  // A full GC before each slice, outside the timers: otherwise one side's garbage (1 MiB outputs in memory)
  // is collected, and paid for, during the other side's slice.
  const slice = async (into: StreamBenchRow[], fn: () => unknown) => {
    gc();
    into.push(await timed('', SLICE, fn));
  };
  for (let i = 0; i < slices; i++) {
    const pairs: [StreamBenchRow[], () => unknown][][] = [
      [
        [parts.se, encrypt(SLICE)],
        [parts.me, memEncrypt(SLICE / MiB)],
      ],
      [
        [parts.sr, roundTrip(SLICE)],
        [parts.mr, memRoundTrip(SLICE / MiB)],
      ],
    ];
    for (const pair of pairs) {
      for (const [into, fn] of i % 2 === 0 ? pair : pair.slice().reverse()) await slice(into, fn);
    }
  }
  const se = merge(`B: stream encrypt, ${slices} x ${fmtBytes(SLICE)}, interleaved`, parts.se);
  const me = merge(`B: in-memory aesGcmEncrypt 1 MiB, ${slices} x ${fmtBytes(SLICE)}, interleaved`, parts.me);
  const sr = merge(`B: stream encrypt -> decrypt, ${slices} x ${fmtBytes(SLICE)}, interleaved`, parts.sr);
  const mr = merge(
    `B: in-memory aesGcmEncrypt + aesGcmDecrypt 1 MiB, ${slices} x ${fmtBytes(SLICE)}, interleaved`,
    parts.mr,
  );
  rows.push(se, me, sr, mr);

  // Diagnosis: the same engine without Node streams (SegmentSealer/SegmentOpener driven by a loop over
  // 64 KiB chunks), interleaved with in-memory GCM, to separate the engine's cost from the stream plumbing's.
  const engine = (roundTripToo: boolean) => () => {
    const streamKey = randomBytes(32);
    const prefix = randomBytes(7);
    const sealer = new SegmentSealer(streamKey.slice(), new Uint8Array(34), prefix, 65_536);
    const opener = new SegmentOpener(streamKey.slice(), prefix, 65_536);
    let out = 0;
    const drain = (b: Uint8Array) => {
      out += b.length;
    };
    const pass = (b: Uint8Array) => {
      if (b.length === 34) return; // the header: the opener starts after it
      opener.write(b, drain);
    };
    const emit = roundTripToo ? pass : drain;
    for (let off = 0; off < SLICE; off += 65_536)
      sealer.write(block.subarray(off % MiB, (off % MiB) + 65_536), emit);
    sealer.end(emit);
    if (roundTripToo) opener.end(drain);
    if (out === 0) throw new Error('engine produced nothing');
  };
  const eng = {
    e: [] as StreamBenchRow[],
    me: [] as StreamBenchRow[],
    r: [] as StreamBenchRow[],
    mr: [] as StreamBenchRow[],
  };
  for (let i = 0; i < 8; i++) {
    await slice(eng.e, engine(false));
    await slice(eng.me, memEncrypt(SLICE / MiB));
    await slice(eng.r, engine(true));
    await slice(eng.mr, memRoundTrip(SLICE / MiB));
  }
  const ee = merge('C: engine only (no Node streams) encrypt, 8 x 32 MiB', eng.e);
  const er = merge('C: engine only (no Node streams) encrypt -> decrypt, 8 x 32 MiB', eng.r);
  rows.push(ee, er);

  // Segment size trade-off (informational).
  for (const segmentSize of [16 * 1024, MiB]) {
    const bytes = 256 * MiB;
    rows.push(
      await timed(
        `stream encrypt, ${fmtBytes(bytes)}, ${fmtBytes(segmentSize)} segments`,
        bytes,
        encrypt(bytes, segmentSize),
      ),
    );
  }
  await keys.close();

  const median = (xs: number[]) => {
    const sorted = xs.slice().sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const ratio = (xs: StreamBenchRow[], ys: StreamBenchRow[], x: StreamBenchRow, y: StreamBenchRow) => {
    const pair = (by: 'wall' | 'cpu') => median(xs.map((r, k) => mbps(r, by) / mbps(ys[k]!, by)));
    return {
      wall: pair('wall'),
      cpu: pair('cpu'),
      sumWall: mbps(x, 'wall') / mbps(y, 'wall'),
      sumCpu: mbps(x, 'cpu') / mbps(y, 'cpu'),
    };
  };
  const encryptRatio = ratio(parts.se, parts.me, se, me);
  const roundTripRatio = ratio(parts.sr, parts.mr, sr, mr);

  console.log(`\nStreaming AES-256-GCM (0x03), Node ${process.version}, ${fmtBytes(totalBytes)} per phase\n`);
  console.log('| measurement | MB/s (wall) | MB/s (CPU time) | wall time |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${mbps(r, 'wall').toFixed(0)} | ${mbps(r, 'cpu').toFixed(0)} | ${r.wallSeconds.toFixed(2)} s |`,
    );
  }
  console.log('');
  console.log(`ciphertext: ${sealedTotal} bytes for ${totalBytes} (overhead ${sealedTotal - totalBytes} B)`);
  const ok = (b: boolean) => (b ? 'OK' : 'FAIL');
  console.log(
    `A: peak RSS growth: ${(peakGrowth / MiB).toFixed(1)} MiB (target < 64 MiB) ${ok(peakGrowth < 64 * MiB)}`,
  );
  const show = (r: StreamRatio) =>
    `median of pairs ${r.wall.toFixed(2)}x wall, ${r.cpu.toFixed(2)}x CPU time (target >= 0.8x) ` +
    `${ok(r.wall >= 0.8 && r.cpu >= 0.8)}; summed ${r.sumWall.toFixed(2)}x wall, ${r.sumCpu.toFixed(2)}x CPU`;
  console.log(`B: stream encrypt vs in-memory GCM @ 1 MiB: ${show(encryptRatio)}`);
  console.log(`B: stream round trip vs in-memory GCM @ 1 MiB: ${show(roundTripRatio)}`);
  const engineRatio = (xs: StreamBenchRow[], ys: StreamBenchRow[]) =>
    median(xs.map((r, k) => mbps(r, 'wall') / mbps(ys[k]!, 'wall'))).toFixed(2);
  console.log(
    `C: engine without Node streams vs in-memory (median of pairs, wall): encrypt ${engineRatio(eng.e, eng.me)}x, ` +
      `round trip ${engineRatio(eng.r, eng.mr)}x (diagnosis, no target)`,
  );
  return { rows, peakRssGrowthBytes: peakGrowth, encryptRatio, roundTripRatio };
}

function fmtBytes(n: number): string {
  if (n >= 1024 * MiB) return `${+(n / (1024 * MiB)).toFixed(2)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(2)} MiB`;
  return `${n / 1024} KiB`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runStreamBench();
  const ratios = [result.encryptRatio, result.roundTripRatio].flatMap((r) => [r.wall, r.cpu]);
  if (result.peakRssGrowthBytes >= 64 * MiB || ratios.some((r) => r < 0.8)) {
    process.exitCode = 1;
  }
}
