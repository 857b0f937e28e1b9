/**
 * XChaCha20-Poly1305 envelopes (0x05) against AES-256-GCM envelopes (0x01), raw node:crypto AES-256-GCM and
 * Python `cryptography`'s AESGCM, at 1 KiB, 64 KiB and 1 MiB, all in ONE run (issue 17; target: XChaCha at
 * least 2x facade AES-GCM at 1 KiB).
 *
 * Same method as `bench/index.ts`: candidates of one size run in interleaved rounds, each for a fixed slice of
 * this process's CPU time, and the median round is reported; every candidate draws a fresh random nonce per
 * message, as the facade does. The facade runs with the NoopCollector and compression off (random data would
 * not compress anyway). Python times its own loop (CPU time and wall-clock) in one child process.
 * Run: `pnpm --filter @mesh/encryption bench` (env BENCH_QUICK=1 for a short run).
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { getChaChaBackend } from '@mesh/crypto-core';
import { NoopCollector } from '@mesh/metrics';
import { createEncryption } from '../src/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 3 : 7;
const SLICE_MS = QUICK ? 60 : 150;
const SIZES = [KiB, 64 * KiB, MiB];

type Op = () => unknown;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** ops/s of each candidate by CPU time and by wall-clock: medians over interleaved rounds. */
async function compare(
  candidates: Record<string, Op>,
): Promise<{ cpu: Record<string, number>; wall: Record<string, number> }> {
  const cpu: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  for (const name of Object.keys(candidates)) {
    cpu[name] = [];
    wall[name] = [];
  }
  for (let round = -1; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(candidates)) {
      let n = 0;
      const c0 = cpuMs();
      const w0 = performance.now();
      let c = c0;
      while (c - c0 < SLICE_MS) {
        await op();
        n++;
        if ((n & 7) === 0) c = cpuMs();
      }
      c = cpuMs();
      const w = performance.now();
      if (round >= 0) {
        cpu[name]!.push((n * 1000) / (c - c0));
        wall[name]!.push((n * 1000) / (w - w0));
      }
    }
  }
  const med = (s: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.sort((a, b) => a - b)[v.length >> 1]!]));
  return { cpu: med(cpu), wall: med(wall) };
}

/** Raw node:crypto AES-256-GCM the fast way: one output allocated per call and written in place. */
function rawGcm(key: Buffer, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length + 16);
  const iv = randomBytes(12);
  out.set(iv, 0);
  const c = createCipheriv('aes-256-gcm', key, iv);
  out.set(c.update(data), 12);
  c.final();
  out.set(c.getAuthTag(), 12 + data.length);
  return out;
}

const PYTHON_AESGCM = `import json, os, sys, time
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
slice_s, rounds = float(sys.argv[1]), int(sys.argv[2])
aead = AESGCM(AESGCM.generate_key(bit_length=256))
res = {}
for size in (1024, 65536, 1048576):
    data = os.urandom(size)
    wall, cpu = [], []
    for r in range(-1, rounds):
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.process_time() - c0 < slice_s:
            aead.encrypt(os.urandom(12), data, None); n += 1
        if r >= 0:
            wall.append(n / (time.perf_counter() - t0)); cpu.append(n / (time.process_time() - c0))
    res[size] = {'wall': sorted(wall)[len(wall) // 2], 'cpu': sorted(cpu)[len(cpu) // 2]}
print(json.dumps(res))`;

const label = (size: number) => (size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`);
const rate = (ops: number, size: number) =>
  `${Math.round(ops).toLocaleString('en-US')}/s (${((ops * size) / 1e6).toFixed(0)} MB/s)`;
const x = (a: number, b: number | undefined) => (b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`);

async function main(): Promise<void> {
  if (getChaChaBackend().name !== 'sodium')
    throw new Error('sodium-native did not load: this would time noble');
  const enc = await createEncryption({
    compression: false,
    metrics: new NoopCollector(),
    services: { fast: { algorithm: 'xchacha20-poly1305' } },
  });
  const key = randomBytes(32);
  const fast = { service: 'fast' };

  const py = spawnSync('python3', ['-c', PYTHON_AESGCM, String(SLICE_MS / 1000), String(ROUNDS)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (py.status !== 0) throw new Error(`python3 with cryptography failed: ${py.stderr ?? py.error}`);
  const python = JSON.parse(py.stdout) as Record<string, { wall: number; cpu: number }>;

  const rows: string[] = [];
  const ratios: string[] = [];
  for (const size of SIZES) {
    const data = randomBytes(size);
    const sealedX = await enc.encrypt(data, fast);
    const sealedG = await enc.encrypt(data);
    const { cpu, wall } = await compare({
      xchacha: () => enc.encrypt(data, fast),
      gcm: () => enc.encrypt(data),
      raw: () => rawGcm(key, data),
      xchachaDecrypt: () => enc.decrypt(sealedX),
      gcmDecrypt: () => enc.decrypt(sealedG),
    });
    const p = python[String(size)]!;
    rows.push(
      `| ${label(size)} | ${rate(cpu.xchacha!, size)} | ${rate(cpu.gcm!, size)} | ${rate(cpu.raw!, size)} | ` +
        `${rate(p.cpu, size)} | ${rate(cpu.xchachaDecrypt!, size)} | ${rate(cpu.gcmDecrypt!, size)} |`,
    );
    ratios.push(
      `| ${label(size)} | ${x(cpu.xchacha!, cpu.gcm)} | ${x(cpu.xchacha!, cpu.raw)} | ${x(cpu.xchacha!, p.cpu)} | ` +
        `${x(wall.xchacha!, p.wall)} | ${x(cpu.xchachaDecrypt!, cpu.gcmDecrypt)} |`,
    );
    console.error(`${label(size)} done`);
  }
  console.log(
    `\nNode ${process.version}, libsodium via sodium-native; ${ROUNDS} interleaved rounds of ${SLICE_MS} ms CPU time per candidate, median round\n`,
  );
  console.log(
    '| size | facade XChaCha20-Poly1305 encrypt | facade AES-256-GCM encrypt | raw node:crypto AES-256-GCM | Python AESGCM | facade XChaCha decrypt | facade AES-GCM decrypt |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\nRatios (same run, CPU time unless marked):\n');
  console.log(
    '| size | XChaCha / facade AES-GCM | XChaCha / raw node:crypto | XChaCha / Python AESGCM | same, wall-clock | decrypt XChaCha / AES-GCM |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of ratios) console.log(r);
  await enc.close();
}

await main();
