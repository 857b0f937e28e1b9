/**
 * Benchmark: AES-256-GCM and Fernet, encrypt and decrypt, at 1 KiB, 64 KiB and 1 MiB, on the node and forge
 * backends, against raw node:crypto in the same run (naive `Buffer.concat`, and one preallocated output).
 *
 * Run: `pnpm --filter @mesh/crypto-core bench` (about 1-2 minutes). The machine is shared and noisy, so the
 * node-side variants of each row are measured in ROUNDS interleaved rounds and each reports its median;
 * compare ratios within one run, not absolute numbers across runs.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes as nodeRandom,
  timingSafeEqual,
} from 'node:crypto';
import { Bench } from 'tinybench';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  type CryptoBackend,
  Fernet,
  forgeBackend,
  nodeBackend,
} from '../src/index.js';

const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
] as const;
/**
 * Short rounds, many of them: each round measures every variant of a row back to back (rotating the order),
 * and ratios are the median of per-round ratios, so a slow spell on the shared machine hits both sides.
 */
const ROUNDS = 15;

const key = nodeRandom(32);
const nonce = nodeRandom(12);
const fernetKey = nodeRandom(32);
const fernetSigning = fernetKey.subarray(0, 16);
const fernetEncryption = fernetKey.subarray(16);

// ---- raw node:crypto baselines -------------------------------------------------------------------------

function rawGcmEncryptConcat(pt: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function rawGcmEncryptPrealloc(pt: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(pt.length + 16);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  out.set(c.update(pt), 0);
  c.final();
  out.set(c.getAuthTag(), pt.length);
  return out;
}

function rawGcmDecryptConcat(sealed: Uint8Array): Buffer {
  const n = sealed.length - 16;
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAuthTag(sealed.subarray(n));
  return Buffer.concat([d.update(sealed.subarray(0, n)), d.final()]);
}

function rawGcmDecryptPrealloc(sealed: Uint8Array): Buffer {
  const n = sealed.length - 16;
  const out = Buffer.allocUnsafeSlow(n);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAuthTag(sealed.subarray(n));
  out.set(d.update(sealed.subarray(0, n)), 0);
  d.final();
  return out;
}

/** Hand-made Fernet on node:crypto the way most code writes it: concat the parts, base64url, pad. */
function rawFernetEncryptConcat(pt: Uint8Array): string {
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  const iv = nodeRandom(16);
  const c = createCipheriv('aes-128-cbc', fernetEncryption, iv);
  const body = Buffer.concat([header, iv, c.update(pt), c.final()]);
  const mac = createHmac('sha256', fernetSigning).update(body).digest();
  const text = Buffer.concat([body, mac]).toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/** Hand-made Fernet with one preallocated token buffer. */
function rawFernetEncryptPrealloc(pt: Uint8Array): string {
  const ctLength = (Math.floor(pt.length / 16) + 1) * 16;
  const out = Buffer.allocUnsafeSlow(25 + ctLength + 32);
  out[0] = 0x80;
  out.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  const iv = nodeRandom(16);
  out.set(iv, 9);
  const c = createCipheriv('aes-128-cbc', fernetEncryption, iv);
  const u = c.update(pt);
  out.set(u, 25);
  out.set(c.final(), 25 + u.length);
  out.set(
    createHmac('sha256', fernetSigning)
      .update(out.subarray(0, 25 + ctLength))
      .digest(),
    25 + ctLength,
  );
  const text = out.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

function rawFernetDecryptConcat(token: string): Buffer {
  const data = Buffer.from(token, 'base64url');
  const macStart = data.length - 32;
  const mac = createHmac('sha256', fernetSigning).update(data.subarray(0, macStart)).digest();
  if (!timingSafeEqual(mac, data.subarray(macStart))) throw new Error('bad mac');
  const d = createDecipheriv('aes-128-cbc', fernetEncryption, data.subarray(9, 25));
  return Buffer.concat([d.update(data.subarray(25, macStart)), d.final()]);
}

function rawFernetDecryptPrealloc(token: string): Buffer {
  const data = Buffer.from(token, 'base64url');
  const macStart = data.length - 32;
  const mac = createHmac('sha256', fernetSigning).update(data.subarray(0, macStart)).digest();
  if (!timingSafeEqual(mac, data.subarray(macStart))) throw new Error('bad mac');
  const d = createDecipheriv('aes-128-cbc', fernetEncryption, data.subarray(9, 25));
  const out = Buffer.allocUnsafeSlow(macStart - 25);
  const u = d.update(data.subarray(25, macStart));
  out.set(u, 0);
  const f = d.final();
  out.set(f, u.length);
  return out.subarray(0, u.length + f.length);
}

// ---- measurement -----------------------------------------------------------------------------------------

interface Row {
  operation: string;
  size: (typeof SIZES)[number];
  variant: string;
  opsPerSecond: number;
  /** Median over rounds of (this / raw concat) and (this / raw preallocated); node rows only. */
  vsConcat?: number;
  vsPrealloc?: number;
}

type Variant = { readonly name: string; readonly fn: () => unknown };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Per-round median ops/s of each variant (`samples[variant][round]`). */
async function measure(
  variants: Variant[],
  rounds: number,
  opts: { time: number; iterations: number },
): Promise<number[][]> {
  const samples: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => (i + r) % variants.length);
    const bench = new Bench({
      time: opts.time,
      iterations: opts.iterations,
      warmupTime: 20,
      warmupIterations: 2,
    });
    for (const i of order) bench.add(variants[i]!.name, variants[i]!.fn);
    await bench.run();
    bench.tasks.forEach((task, k) => {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
      samples[order[k]!]!.push(result.throughput.p50);
    });
  }
  return samples;
}

function oursGcm(backend: CryptoBackend, pt: Uint8Array, sealed: Uint8Array): [Variant, Variant] {
  return [
    { name: `ours ${backend.name}`, fn: () => aesGcmEncrypt(key, nonce, pt, undefined, backend) },
    { name: `ours ${backend.name}`, fn: () => aesGcmDecrypt(key, nonce, sealed, undefined, backend) },
  ];
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const started = performance.now();
  const fernetNode = new Fernet(fernetKey, { backend: nodeBackend });
  const fernetForge = new Fernet(fernetKey, { backend: forgeBackend });
  const forgeTasks: Array<{ operation: string; size: (typeof SIZES)[number]; variant: Variant }> = [];
  const operations = ['AES-256-GCM encrypt', 'AES-256-GCM decrypt', 'Fernet encrypt', 'Fernet decrypt'];
  const order = (r: Row) =>
    SIZES.indexOf(r.size) * 1000 +
    operations.indexOf(r.operation) * 10 +
    (r.variant.includes('forge') ? 9 : 0);

  for (const size of SIZES) {
    const pt = nodeRandom(size.bytes);
    const sealed = aesGcmEncrypt(key, nonce, pt);
    const token = fernetNode.encrypt(pt);
    // Sanity: every variant computes the same thing before we time it.
    if (Buffer.compare(rawGcmEncryptConcat(pt), Buffer.from(sealed)) !== 0) throw new Error('GCM mismatch');
    if (Buffer.compare(rawFernetDecryptPrealloc(token), pt) !== 0) throw new Error('Fernet mismatch');
    if (Buffer.compare(Buffer.from(fernetNode.decrypt(rawFernetEncryptConcat(pt))), pt) !== 0)
      throw new Error('Fernet mismatch');

    const [gcmEncNode, gcmDecNode] = oursGcm(nodeBackend, pt, sealed);
    const [gcmEncForge, gcmDecForge] = oursGcm(forgeBackend, pt, sealed);
    const groups: Array<{ operation: string; node: Variant[]; forge: Variant }> = [
      {
        operation: 'AES-256-GCM encrypt',
        node: [
          gcmEncNode,
          { name: 'raw node:crypto, Buffer.concat', fn: () => rawGcmEncryptConcat(pt) },
          { name: 'raw node:crypto, preallocated', fn: () => rawGcmEncryptPrealloc(pt) },
        ],
        forge: gcmEncForge,
      },
      {
        operation: 'AES-256-GCM decrypt',
        node: [
          gcmDecNode,
          { name: 'raw node:crypto, Buffer.concat', fn: () => rawGcmDecryptConcat(sealed) },
          { name: 'raw node:crypto, preallocated', fn: () => rawGcmDecryptPrealloc(sealed) },
        ],
        forge: gcmDecForge,
      },
      {
        operation: 'Fernet encrypt',
        node: [
          { name: 'ours node', fn: () => fernetNode.encrypt(pt) },
          { name: 'raw node:crypto, Buffer.concat', fn: () => rawFernetEncryptConcat(pt) },
          { name: 'raw node:crypto, preallocated', fn: () => rawFernetEncryptPrealloc(pt) },
        ],
        forge: { name: 'ours forge', fn: () => fernetForge.encrypt(pt) },
      },
      {
        operation: 'Fernet decrypt',
        node: [
          { name: 'ours node', fn: () => fernetNode.decrypt(token) },
          { name: 'raw node:crypto, Buffer.concat', fn: () => rawFernetDecryptConcat(token) },
          { name: 'raw node:crypto, preallocated', fn: () => rawFernetDecryptPrealloc(token) },
        ],
        forge: { name: 'ours forge', fn: () => fernetForge.decrypt(token) },
      },
    ];
    for (const g of groups) {
      const s = await measure(g.node, ROUNDS, { time: size.bytes >= 1 << 20 ? 60 : 40, iterations: 5 });
      // g.node = [ours, raw concat, raw preallocated]
      const ratio = (a: number[], b: number[]) => median(a.map((x, r) => x / b[r]!));
      g.node.forEach((v, i) => {
        rows.push({
          operation: g.operation,
          size,
          variant: v.name,
          opsPerSecond: median(s[i]!),
          ...(i === 0 ? { vsConcat: ratio(s[0]!, s[1]!), vsPrealloc: ratio(s[0]!, s[2]!) } : {}),
        });
      });
      forgeTasks.push({ operation: g.operation, size, variant: g.forge });
      process.stderr.write(
        `${g.operation} ${size.label} node done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    }
  }
  // forge last, so its garbage never lands on a node measurement; at 1 MiB ~0.1-0.3 s per call: few calls.
  for (const t of forgeTasks) {
    const large = t.size.bytes >= 1 << 20;
    const [ops] = await measure(
      [t.variant],
      1,
      large ? { time: 300, iterations: 3 } : { time: 250, iterations: 10 },
    );
    rows.push({ operation: t.operation, size: t.size, variant: t.variant.name, opsPerSecond: ops![0]! });
  }
  process.stderr.write(`forge done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  rows.sort((a, b) => order(a) - order(b));
  print(rows);
  console.log(
    `\n${process.version}, OpenSSL ${process.versions.openssl}; total ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function print(rows: Row[]): void {
  console.log('\n| operation | size | implementation | ops/s | MB/s | ours/raw concat | ours/raw prealloc |');
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const same = rows.filter((x) => x.operation === r.operation && x.size === r.size);
    const concat = same.find((x) => x.variant.endsWith('Buffer.concat'))!.opsPerSecond;
    const prealloc = same.find((x) => x.variant.endsWith('preallocated'))!.opsPerSecond;
    const ours = r.variant.startsWith('ours');
    // Node rows: paired per-round ratios; forge rows (measured later, alone): ratio of medians.
    const vsConcat = r.vsConcat ?? r.opsPerSecond / concat;
    const vsPrealloc = r.vsPrealloc ?? r.opsPerSecond / prealloc;
    const mbs = (r.opsPerSecond * r.size.bytes) / 1e6;
    const ratio = (x: number) => (x >= 0.1 ? `${fmt(x, 2)}x` : `${fmt(x, 3)}x`);
    console.log(
      `| ${r.operation} | ${r.size.label} | ${r.variant} | ${fmt(r.opsPerSecond)} | ${fmt(mbs, mbs < 100 ? 1 : 0)} | ${
        ours ? ratio(vsConcat) : ''
      } | ${ours ? ratio(vsPrealloc) : ''} |`,
    );
  }
}

await main();
