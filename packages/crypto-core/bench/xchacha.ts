/**
 * Benchmark: XChaCha20-Poly1305 on sodium-native and @noble/ciphers against AES-256-GCM (ours on node:crypto,
 * and raw node:crypto with a preallocated output) at 1 KiB, 64 KiB and 1 MiB, plus what guarded key memory
 * costs: allocating and releasing a key with sodium_malloc against a plain array, the address space and
 * locked memory per key, and whether a guarded key slows a cipher down.
 *
 * Run: `pnpm --filter @mesh/crypto-core bench` (this file runs after `bench/index.ts`, about 1 minute).
 * Variants of one row are measured in interleaved rounds; ratios are medians of per-round ratios, so compare
 * ratios within one run.
 */
import { createCipheriv, randomBytes as nodeRandom } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import {
  aesGcmEncrypt,
  allocSecureBytes,
  copyToSecureBytes,
  getChaChaBackend,
  nobleChaChaBackend,
  releaseSecureBytes,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
  xchacha20Poly1305EncryptInto,
} from '../src/index.js';

const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
] as const;
const ROUNDS = 9;
const sodium = getChaChaBackend('sodium');
const key = new Uint8Array(nodeRandom(32));
const nonce12 = new Uint8Array(nodeRandom(12));
const nonce24 = new Uint8Array(nodeRandom(24));

type Variant = { readonly name: string; readonly fn: () => unknown };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(variants: Variant[], rounds: number, time: number): Promise<number[][]> {
  const samples: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => (i + r) % variants.length);
    const bench = new Bench({ time, iterations: 5, warmupTime: 20, warmupIterations: 2 });
    for (const i of order) bench.add(variants[i]!.name, variants[i]!.fn);
    await bench.run();
    bench.tasks.forEach((task, k) => {
      if (task.result.state !== 'completed') throw new Error(`${task.name}: ${task.result.state}`);
      samples[order[k]!]!.push(task.result.throughput.p50);
    });
  }
  return samples;
}

function rawGcmPrealloc(pt: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(pt.length + 16);
  const c = createCipheriv('aes-256-gcm', key, nonce12);
  out.set(c.update(pt), 0);
  c.final();
  out.set(c.getAuthTag(), pt.length);
  return out;
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function ciphers(): Promise<void> {
  console.log(
    '\n| operation | size | implementation | ops/s | MB/s | vs ours AES-GCM | vs raw node:crypto GCM |',
  );
  console.log('|---|---|---|---:|---:|---:|---:|');
  for (const size of SIZES) {
    const pt = new Uint8Array(nodeRandom(size.bytes));
    const sealed = xchacha20Poly1305Encrypt(key, nonce24, pt, undefined, sodium);
    if (
      Buffer.compare(
        Buffer.from(xchacha20Poly1305Encrypt(key, nonce24, pt, undefined, nobleChaChaBackend)),
        Buffer.from(sealed),
      ) !== 0
    ) {
      throw new Error('backends disagree');
    }
    const out = new Uint8Array(pt.length + 16);
    const variants: Variant[] = [
      { name: 'ours AES-256-GCM (node)', fn: () => aesGcmEncrypt(key, nonce12, pt) },
      { name: 'raw node:crypto AES-256-GCM, preallocated', fn: () => rawGcmPrealloc(pt) },
      {
        name: 'XChaCha20-Poly1305 sodium',
        fn: () => xchacha20Poly1305Encrypt(key, nonce24, pt, undefined, sodium),
      },
      {
        name: 'XChaCha20-Poly1305 sodium, into preallocated',
        fn: () => xchacha20Poly1305EncryptInto(key, nonce24, pt, undefined, out, 0, sodium),
      },
      {
        name: 'XChaCha20-Poly1305 sodium decrypt',
        fn: () => xchacha20Poly1305Decrypt(key, nonce24, sealed, undefined, sodium),
      },
      {
        name: 'XChaCha20-Poly1305 noble',
        fn: () => xchacha20Poly1305Encrypt(key, nonce24, pt, undefined, nobleChaChaBackend),
      },
    ];
    const s = await measure(variants, size.bytes >= 1 << 20 ? 5 : ROUNDS, size.bytes >= 1 << 20 ? 80 : 40);
    const ratio = (i: number, j: number) => median(s[i]!.map((x, r) => x / s[j]![r]!));
    variants.forEach((v, i) => {
      const ops = median(s[i]!);
      console.log(
        `| ${v.name.endsWith('decrypt') ? 'decrypt' : 'encrypt'} | ${size.label} | ${v.name} | ${fmt(ops)} | ${fmt((ops * size.bytes) / 1e6, 1)} | ${fmt(ratio(i, 0), 2)}x | ${fmt(ratio(i, 1), 2)}x |`,
      );
    });
  }
}

function status(field: string): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number.parseInt(line!.slice(field.length + 1), 10);
}
const mappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').length;

async function secureMemory(): Promise<void> {
  const pt = new Uint8Array(nodeRandom(1024));
  const guardedKey = copyToSecureBytes(key);
  const variants: Variant[] = [
    {
      name: 'plain key: new Uint8Array(32), set, fill(0)',
      fn: () => {
        const k = new Uint8Array(32);
        k.set(key);
        k.fill(0);
      },
    },
    {
      name: 'guarded key: allocSecureBytes(32), set, releaseSecureBytes',
      fn: () => {
        const k = allocSecureBytes(32);
        k.set(key);
        releaseSecureBytes(k);
      },
    },
    {
      name: 'XChaCha 1 KiB encrypt, plain key',
      fn: () => xchacha20Poly1305Encrypt(key, nonce24, pt, undefined, sodium),
    },
    {
      name: 'XChaCha 1 KiB encrypt, guarded key',
      fn: () => xchacha20Poly1305Encrypt(guardedKey, nonce24, pt, undefined, sodium),
    },
    { name: 'AES-GCM 1 KiB encrypt, plain key', fn: () => aesGcmEncrypt(key, nonce12, pt) },
    { name: 'AES-GCM 1 KiB encrypt, guarded key', fn: () => aesGcmEncrypt(guardedKey, nonce12, pt) },
  ];
  const s = await measure(variants, ROUNDS, 40);
  const ratio = (i: number, j: number) => median(s[i]!.map((x, r) => x / s[j]![r]!));
  console.log('\n| secure memory | ops/s | µs/op | time vs the plain-key row above |');
  console.log('|---|---:|---:|---:|');
  variants.forEach((v, i) => {
    const ops = median(s[i]!);
    const base = i - (i % 2);
    console.log(
      `| ${v.name} | ${fmt(ops)} | ${fmt(1e6 / ops, 2)} | ${i % 2 ? `${fmt(ratio(base, i), 2)}x` : '1.00x'} |`,
    );
  });
  releaseSecureBytes(guardedKey);
  if (process.platform === 'linux') {
    const n = 1000;
    const before = { size: status('VmSize'), lck: status('VmLck'), maps: mappings() };
    const keys = Array.from({ length: n }, () => copyToSecureBytes(key));
    const after = { size: status('VmSize'), lck: status('VmLck'), maps: mappings() };
    for (const k of keys) releaseSecureBytes(k);
    const released = status('VmLck');
    console.log(
      `\n${n} guarded 32-byte keys: +${fmt((after.size - before.size) / n, 1)} KiB address space, +${fmt((after.lck - before.lck) / n, 1)} KiB locked, +${fmt((after.maps - before.maps) / n, 1)} memory mappings per key; locked after release: ${released - before.lck} KiB`,
    );
  }
}

await ciphers();
await secureMemory();
console.log(`\n${process.version}, OpenSSL ${process.versions.openssl}`);
