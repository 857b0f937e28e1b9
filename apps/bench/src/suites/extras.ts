/**
 * Everything besides the symmetric comparison: compression engines and ratios, the cost of metrics, streaming
 * throughput and peak RSS, PBKDF2 at 600,000 iterations and a cache hit, RSA key generation and OAEP. Each
 * in-process comparison runs as interleaved rounds (see `rounds.ts`); one-shot costs (key generation,
 * PBKDF2) are repeated and reported as medians with their spread. All in CPU time of this process, except the
 * one long stream's own duration (wall-clock, what a caller waits).
 *
 * @module
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nodeZlibEngine, pakoEngine } from '@mesh/compression';
import {
  generateRsaKeyPair,
  importRsaPrivateKey,
  importRsaPublicKey,
  pbkdf2Sha256,
  type RsaModulusBits,
  randomBytes,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
} from '@mesh/crypto-core';
import { createEncryption } from '@mesh/encryption';
import { PasswordKeyCache } from '@mesh/keys';
import { NoopCollector, PrometheusCollector } from '@mesh/metrics';
import { Registry } from 'prom-client';
import { type Candidate, cpuMs, type RoundSamples, runRounds } from '../rounds.js';
import { payloadText } from './symmetric.js';

const KiB = 1024;
const MiB = 1024 * KiB;

// A full GC before the RSS baseline, without requiring --expose-gc on the command line.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/** Options shared by the extras. */
export interface ExtrasOptions {
  readonly rounds: number;
  readonly sliceMs: number;
  /** Bytes pushed through one stream for the RSS and throughput figures (1 GiB in a full run). */
  readonly streamBytes: number;
  /** Repetitions of one-shot costs (PBKDF2, RSA key generation). */
  readonly repeats: number;
  /** RSA sizes to generate (4096 takes about a second each). */
  readonly rsaBits: readonly RsaModulusBits[];
  readonly log: (line: string) => void;
}

/** One compression payload's engines: rounds of MB/s-able ops/s plus the ratio. */
export interface CompressionResult {
  readonly payload: string;
  readonly bytes: number;
  readonly ratio: number;
  readonly rounds: RoundSamples;
}

/** Compression engines on JSON 1 KiB / 64 KiB / 1 MiB and random 1 MiB: deflate L6 and inflate. */
export async function runCompression(options: ExtrasOptions): Promise<CompressionResult[]> {
  const payloads: [string, Uint8Array][] = [
    ['JSON 1 KiB', new Uint8Array(Buffer.from(payloadText(KiB)))],
    ['JSON 64 KiB', new Uint8Array(Buffer.from(payloadText(64 * KiB)))],
    ['JSON 1 MiB', new Uint8Array(Buffer.from(payloadText(MiB)))],
    ['random 1 MiB', new Uint8Array(randomBytes(MiB))],
  ];
  const out: CompressionResult[] = [];
  for (const [name, data] of payloads) {
    const deflated = nodeZlibEngine.deflate(data, 6);
    const pakoDeflated = pakoEngine.deflate(data, 6);
    if (Buffer.compare(deflated, pakoDeflated) !== 0) options.log(`  note: engines differ on ${name}`);
    const limit = data.length + 1;
    const rounds = await runRounds(
      [
        { id: 'node-zlib:deflate', op: () => nodeZlibEngine.deflate(data, 6) },
        { id: 'pako:deflate', op: () => pakoEngine.deflate(data, 6) },
        { id: 'node-zlib:inflate', op: () => nodeZlibEngine.inflate(deflated, limit) },
        { id: 'pako:inflate', op: () => pakoEngine.inflate(deflated, limit) },
      ],
      options,
    );
    out.push({ payload: name, bytes: data.length, ratio: data.length / deflated.length, rounds });
    options.log(`  compression ${name} done`);
  }
  return out;
}

/**
 * The cost of metrics at 1 KiB: the facade with no collector given (the no-op default), an explicit
 * `NoopCollector`, and a `PrometheusCollector` on its own registry, encrypt and decrypt, interleaved.
 */
export async function runMetricsOverhead(options: ExtrasOptions): Promise<RoundSamples> {
  const data = new Uint8Array(Buffer.from(payloadText(KiB)));
  const none = await createEncryption({ compression: false });
  const noop = await createEncryption({ compression: false, metrics: new NoopCollector() });
  const prom = await createEncryption({
    compression: false,
    metrics: new PrometheusCollector({ registry: new Registry() }),
  });
  try {
    const sNone = await none.encrypt(data);
    const sNoop = await noop.encrypt(data);
    const sProm = await prom.encrypt(data);
    return await runRounds(
      [
        { id: 'default:encrypt', op: () => none.encrypt(data) },
        { id: 'noop:encrypt', op: () => noop.encrypt(data) },
        { id: 'prometheus:encrypt', op: () => prom.encrypt(data) },
        { id: 'default:decrypt', op: () => none.decrypt(sNone) },
        { id: 'noop:decrypt', op: () => noop.decrypt(sNoop) },
        { id: 'prometheus:decrypt', op: () => prom.decrypt(sProm) },
      ],
      { rounds: options.rounds * 2, sliceMs: options.sliceMs },
    );
  } finally {
    await Promise.all([none.close(), noop.close(), prom.close()]);
  }
}

/** Streaming: one long stream for peak RSS, then slices alternated with in-memory 1 MiB encryptions. */
export interface StreamingResult {
  readonly totalBytes: number;
  readonly oneStream: { readonly seconds: number; readonly mbPerSecond: number };
  /** RSS after warm-up and a full GC, the highest RSS sampled during the long stream, and their difference. */
  readonly rssBaselineBytes: number;
  readonly peakRssBytes: number;
  readonly peakRssGrowthBytes: number;
  /** MB/s of CPU time per slice pair (index = pair): stream encrypt, in-memory `encrypt` of 1 MiB messages. */
  readonly slices: { readonly stream: number[]; readonly inMemory: number[] };
}

function patternSource(block: Uint8Array, total: number, chunk: number): Readable {
  let produced = 0;
  return new Readable({
    highWaterMark: chunk,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const at = produced % block.length;
      const n = Math.min(chunk, total - produced, block.length - at);
      produced += n;
      this.push(block.subarray(at, at + n));
    },
  });
}

function countingSink(onWrite: () => void): { stream: Writable; received: () => number } {
  let received = 0;
  const stream = new Writable({
    highWaterMark: 64 * KiB,
    write(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      onWrite();
      cb();
    },
  });
  return { stream, received: () => received };
}

export async function runStreaming(options: ExtrasOptions): Promise<StreamingResult> {
  const enc = await createEncryption({ compression: false, metrics: new NoopCollector() });
  try {
    const block = new Uint8Array(randomBytes(MiB));
    let peak = 0;
    let writes = 0;
    const sample = () => {
      if ((++writes & 31) !== 0) return;
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
    };
    const stream = async (bytes: number) => {
      const sink = countingSink(sample);
      await pipeline(patternSource(block, bytes, 64 * KiB), enc.encryptStream(), sink.stream);
      if (sink.received() < bytes) throw new Error('stream lost bytes');
    };
    const inMemory = async (mib: number) => {
      for (let i = 0; i < mib; i++) await enc.encrypt(block);
    };
    // Warm up both paths, collect garbage (so the in-memory warm-up's buffers are not in the baseline), then
    // take the RSS baseline.
    await stream(16 * MiB);
    await inMemory(16);
    fullGc();
    const baseline = process.memoryUsage.rss();
    peak = baseline;
    const t0 = performance.now();
    await stream(options.streamBytes);
    const seconds = (performance.now() - t0) / 1000;
    const streamPeak = peak; // the slices below sample RSS too: keep the long stream's own peak
    const peakGrowth = Math.max(0, streamPeak - baseline);
    options.log(`  streaming: ${options.streamBytes / MiB} MiB in one stream, ${seconds.toFixed(2)} s`);

    const SLICE = Math.max(MiB, Math.min(32 * MiB, Math.floor(options.streamBytes / 4 / MiB) * MiB));
    const pairs = Math.max(2, Math.min(options.rounds * 2, Math.round(options.streamBytes / SLICE)));
    const slices = { stream: [] as number[], inMemory: [] as number[] };
    for (let i = 0; i < pairs; i++) {
      // Alternate which side goes first, so neither always runs on a warmer (or colder) machine.
      const order = i % 2 === 0 ? ['stream', 'inMemory'] : ['inMemory', 'stream'];
      for (const side of order) {
        const t = cpuMs(); // CPU time, as in the rounds: descheduling must not count against either side
        if (side === 'stream') await stream(SLICE);
        else await inMemory(SLICE / MiB);
        const mbps = SLICE / 1e6 / ((cpuMs() - t) / 1000);
        (side === 'stream' ? slices.stream : slices.inMemory).push(mbps);
      }
    }
    return {
      totalBytes: options.streamBytes,
      oneStream: { seconds, mbPerSecond: options.streamBytes / 1e6 / seconds },
      rssBaselineBytes: baseline,
      peakRssBytes: streamPeak,
      peakRssGrowthBytes: peakGrowth,
      slices,
    };
  } finally {
    await enc.close();
  }
}

/** CPU seconds of each one-shot repetition (all threads of this process). */
export interface KdfResult {
  readonly iterations: number;
  readonly pbkdf2Seconds: number[];
  readonly cacheHitMicroseconds: number[];
}

/** PBKDF2-HMAC-SHA256 at 600,000 iterations (crypto-core, node backend), and a `PasswordKeyCache` hit. */
export async function runKdf(options: ExtrasOptions): Promise<KdfResult> {
  const iterations = 600_000;
  const salt = new Uint8Array(randomBytes(16));
  const seconds: number[] = [];
  for (let i = 0; i < options.repeats; i++) {
    // CPU time of the process: node:crypto runs PBKDF2 on a libuv thread, whose CPU time counts here.
    const t = cpuMs();
    await pbkdf2Sha256('correct horse battery staple', salt, iterations, 32);
    seconds.push((cpuMs() - t) / 1000);
  }
  const cache = new PasswordKeyCache({ maxEntries: 4 });
  await cache.derive('correct horse battery staple', { salt, iterations });
  const hit: number[] = [];
  for (let r = 0; r < Math.max(3, options.repeats); r++) {
    const n = 2000;
    const t = cpuMs();
    for (let i = 0; i < n; i++) await cache.derive('correct horse battery staple', { salt, iterations });
    hit.push(((cpuMs() - t) * 1000) / n);
  }
  return { iterations, pbkdf2Seconds: seconds, cacheHitMicroseconds: hit };
}

/** RSA key generation seconds per size, and OAEP-SHA256 rounds (ops/s) at 2048 and the largest size. */
export interface RsaResult {
  readonly keygenSeconds: Record<string, number[]>;
  readonly oaep: RoundSamples;
}

export async function runRsa(options: ExtrasOptions): Promise<RsaResult> {
  const keygenSeconds: Record<string, number[]> = {};
  const pairs: Partial<Record<RsaModulusBits, { publicKeyPem: string; privateKeyPem: string }>> = {};
  for (let i = 0; i < options.repeats; i++) {
    for (const bits of options.rsaBits) {
      const t = cpuMs(); // key generation runs on a libuv thread: its CPU time counts here
      const pair = await generateRsaKeyPair(bits);
      const list = keygenSeconds[String(bits)] ?? [];
      list.push((cpuMs() - t) / 1000);
      keygenSeconds[String(bits)] = list;
      pairs[bits] = pair;
    }
  }
  options.log('  RSA key generation done');
  const message = new Uint8Array(randomBytes(32)); // a data key: what OAEP carries in practice
  const candidates: Candidate[] = [];
  for (const bits of [2048, options.rsaBits.at(-1)!] as RsaModulusBits[]) {
    if (candidates.some((c) => c.id.startsWith(`${bits}:`))) continue;
    const pair = pairs[bits]!;
    const pub = importRsaPublicKey(pair.publicKeyPem);
    const priv = importRsaPrivateKey(pair.privateKeyPem);
    const ct = rsaOaepEncrypt(pub, message);
    candidates.push(
      { id: `${bits}:encrypt`, op: () => rsaOaepEncrypt(pub, message) },
      { id: `${bits}:decrypt`, op: () => rsaOaepDecrypt(priv, ct) },
    );
  }
  return { keygenSeconds, oaep: await runRounds(candidates, options) };
}
