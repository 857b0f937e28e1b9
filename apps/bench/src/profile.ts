/**
 * `pnpm --filter @mesh/bench profile`: where the time of one 1 KiB facade call goes.
 *
 * Two views, both written to `bench/results/profile.md` (and the JSON beside it):
 * - a ladder: raw node:crypto, then the facade's layers added one at a time (each rung its own candidate in
 *   the same interleaved rounds), so the difference between adjacent rungs is that layer's cost in µs/call;
 * - a V8 CPU profile (node:inspector, 50 µs sampling, started after warm-up) of a loop of facade encrypts and
 *   of decrypts (and, with `--baseline`, of the other build's), taken in interleaved segments, self time
 *   aggregated by function and by layer (node:crypto, each of our packages, the garbage collector), as µs per
 *   call. (`perf` with `--perf-basic-prof` would split native time better, but hardware counters are not
 *   available on this virtual machine; the ladder covers what the profiler charges to the wrong frame.)
 *
 * Options: `--ms N` CPU-profile time per loop (default 3000), `--segments N` (turns it is split into,
 * default 10), `--rounds N`, `--slice-ms N`, `--out DIR`,
 * `--label TEXT` (stored with the figures, e.g. "before" / "after"), `--baseline DIR`: a built copy of another
 * commit of this repository (e.g. `git archive <commit> | tar -x -C DIR`, then `pnpm install --offline` and
 * `pnpm build` there), whose facade then runs in the same interleaved rounds, so before and after are
 * compared on the same machine at the same moment.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { aesGcmDecrypt, aesGcmEncryptInto, randomBytes as meshRandomBytes } from '@mesh/crypto-core';
import { createEncryption } from '@mesh/encryption';
import { KeyManager, MemoryKeyStore } from '@mesh/keys';
import { NoopCollector, PrometheusCollector } from '@mesh/metrics';
import { Registry } from 'prom-client';
import { type Candidate, runRounds } from './rounds.js';
import { ratioOf, type Summary, summarize } from './stats.js';
import { payloadText } from './suites/symmetric.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SIZE = 1024;
const CONTEXT_FREE_HEADER = Uint8Array.of(1, 1, 0, 0, 0, 0, 1);

/** A loop of 1 KiB facade calls (set up and warmed up once), profiled in segments. */
interface FacadeLoop {
  readonly name: string;
  /** Runs calls until `until` (performance.now()); returns how many. */
  run(until: number): Promise<number>;
  close(): Promise<void>;
}

/** Opens a facade of `build` and warms the loop up (JIT, key leases) so set-up stays out of the profile. */
async function openLoop(name: string, which: 'encrypt' | 'decrypt', build: Build): Promise<FacadeLoop> {
  const enc = await build.createEncryption({ compression: false, metrics: new build.NoopCollector() });
  const data = new Uint8Array(Buffer.from(payloadText(SIZE)));
  const sealed = await enc.encrypt(data);
  const run = async (until: number) => {
    let calls = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 256; i++) {
        if (which === 'encrypt') await enc.encrypt(data);
        else await enc.decrypt(sealed);
      }
      calls += 256;
    }
    return calls;
  };
  await run(performance.now() + 300);
  return { name, run, close: () => enc.close() };
}

/**
 * V8 CPU profiles (node:inspector, 50 µs sampling) of every loop, taken in `segments` turns of `ms / segments`
 * each, loop after loop in an order that rotates each turn, so that a burst of load from another process
 * lands on every loop alike (the profiler's times are wall-clock: load inflates whatever runs meanwhile).
 */
async function profileInterleaved(
  loops: readonly FacadeLoop[],
  ms: number,
  segments: number,
): Promise<Record<string, { functions: SelfTime[]; categories: SelfTime[] }>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 50 });
  const acc = new Map(loops.map((l) => [l.name, new SelfTimes()]));
  for (let turn = 0; turn < segments; turn++) {
    for (let i = 0; i < loops.length; i++) {
      const loop = loops[(i + turn) % loops.length]!;
      await post('Profiler.start');
      const calls = await loop.run(performance.now() + ms / segments);
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      acc.get(loop.name)!.add(JSON.stringify(profile), calls);
    }
  }
  session.disconnect();
  return Object.fromEntries(loops.map((l) => [l.name, acc.get(l.name)!.rows()]));
}

/** What the profiled loops need of a build of this repository: this one, or the `--baseline` one. */
interface Build {
  readonly createEncryption: typeof createEncryption;
  readonly NoopCollector: typeof NoopCollector;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** One row of a CPU profile's self time: µs per call and share of the samples. */
interface SelfTime {
  fn: string;
  usPerCall: number;
  share: number;
}

/**
 * Where a frame's self time belongs: node:crypto (its JavaScript wrapper and, charged to that wrapper's
 * frames, the OpenSSL work under it), V8's garbage collector, one of our packages (by its dist path), or the
 * rest (the loop itself, promise machinery, V8).
 */
function categoryOf(functionName: string, url: string): string {
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (url.includes('internal/crypto/') || url === 'node:crypto') return 'node:crypto (wrapper + OpenSSL)';
  const ours = /packages\/([a-z-]+)\/dist\//.exec(url);
  // The one array each call returns (the owned-buffer rule: its own ArrayBuffer, never a pool slice).
  if (ours && (functionName === 'allocate' || functionName === 'allocUninit'))
    return 'owned output array (allocation)';
  if (ours) return `@mesh/${ours[1]}`;
  return 'other (loop, promises, V8)';
}

/** Self time per function and per category, summed over a loop's profiled segments. */
class SelfTimes {
  readonly #functions = new Map<string, number>();
  readonly #categories = new Map<string, number>();
  #total = 0;
  #calls = 0;

  /** Adds one segment's V8 CPU profile, taken while the loop made `calls` calls. */
  add(profileJson: string, calls: number): void {
    const p = JSON.parse(profileJson) as {
      nodes: ProfileNode[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parentOf = new Map<number, ProfileNode>();
    for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
    // A native frame (no url: node:crypto's C++ bindings such as `initiv`, `update`, `final`) belongs where
    // its nearest JavaScript caller does.
    const categoryOfNode = (node: ProfileNode): string => {
      let n: ProfileNode | undefined = node;
      while (n !== undefined && n.callFrame.url === '' && !n.callFrame.functionName.startsWith('(')) {
        n = parentOf.get(n.id);
      }
      return n === undefined
        ? 'other (loop, promises, V8)'
        : categoryOf(n.callFrame.functionName, n.callFrame.url);
    };
    for (let i = 0; i < p.samples.length; i++) {
      const node = byId.get(p.samples[i]!)!;
      const dt = p.timeDeltas[i] ?? 0;
      const f = node.callFrame;
      // Idle time, and the inspector handling Profiler.start/stop (`dispatch`), are not the loop's.
      if (f.functionName === '(idle)' || (f.functionName === 'dispatch' && f.url === '')) continue;
      const file = f.url ? basename(f.url.replace(/^file:\/\//, '')) : '';
      const key = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
      this.#functions.set(key, (this.#functions.get(key) ?? 0) + dt);
      const category = categoryOfNode(node);
      this.#categories.set(category, (this.#categories.get(category) ?? 0) + dt);
      this.#total += dt;
    }
    this.#calls += calls;
  }

  /** The top functions and every category, as µs per call and share of the samples. */
  rows(): { functions: SelfTime[]; categories: SelfTime[] } {
    const rows = (m: Map<string, number>, n: number) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([fn, us]) => ({ fn, usPerCall: us / this.#calls, share: us / this.#total }));
    return { functions: rows(this.#functions, 18), categories: rows(this.#categories, 12) };
  }
}

/** node:crypto writing the facade's own envelope: header as AAD, one owned output (see suites/symmetric.ts). */
function rawEnvelopeEncrypt(key: Buffer, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(7 + 12 + data.length + 16);
  out.set(CONTEXT_FREE_HEADER, 0);
  const iv = randomBytes(12);
  out.set(iv, 7);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(CONTEXT_FREE_HEADER);
  out.set(c.update(data), 19);
  c.final();
  out.set(c.getAuthTag(), 19 + data.length);
  return out;
}

function rawEnvelopeDecrypt(key: Buffer, envelope: Uint8Array): Uint8Array {
  const end = envelope.length - 16;
  const d = createDecipheriv('aes-256-gcm', key, envelope.subarray(7, 19));
  d.setAuthTag(envelope.subarray(end));
  d.setAAD(envelope.subarray(0, 7));
  const out = d.update(envelope.subarray(19, end));
  d.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function rawEncrypt(key: Buffer, data: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([iv, c.update(data), c.final(), c.getAuthTag()]);
}

/** Another build of this repository (`--baseline DIR`), to time and profile before and after side by side. */
async function loadBuild(dir: string): Promise<Build> {
  const mod = (await import(pathToFileURL(join(dir, 'packages/encryption/dist/index.js')).href)) as {
    createEncryption: typeof createEncryption;
  };
  const metrics = (await import(pathToFileURL(join(dir, 'packages/metrics/dist/index.js')).href)) as {
    NoopCollector: typeof NoopCollector;
  };
  return { createEncryption: mod.createEncryption, NoopCollector: metrics.NoopCollector };
}

async function baselineFacade(dir: string) {
  const build = await loadBuild(dir);
  return build.createEncryption({ compression: false, metrics: new build.NoopCollector() });
}

/** Ladder rungs: each adds one layer of the facade's work to the one before. */
async function ladder(rounds: number, sliceMs: number, baselineDir: string | undefined) {
  const data = new Uint8Array(Buffer.from(payloadText(SIZE)));
  const key = randomBytes(32);
  const keyU8 = new Uint8Array(key);
  const keys = await KeyManager.open({
    store: new MemoryKeyStore(),
    kek: { key: meshRandomBytes(32) },
    algorithms: ['aes-256-gcm'],
    watch: false,
  });
  const active = await keys.acquireEncryptionKey('aes-256-gcm');
  const noop = await createEncryption({ compression: false, metrics: new NoopCollector() });
  const prom = await createEncryption({
    compression: false,
    metrics: new PrometheusCollector({ registry: new Registry() }),
  });
  const sealed = await noop.encrypt(data);
  const sealedProm = await prom.encrypt(data);
  const sealedRaw = rawEncrypt(key, data);
  const sealedRawEnvelope = rawEnvelopeEncrypt(key, data);
  // The facade's own key, so crypto-core can open the facade's envelope directly.
  const facadeKey = (await noop.keys.acquireEncryptionKey('aes-256-gcm')).material;
  const nonce = randomBytes(12);
  const keyObject = createSecretKey(key);
  const pool = new Uint8Array(12 * 4096);
  let poolAt = pool.length;
  const envelope = (n: Uint8Array) => {
    const out = new Uint8Array(7 + 12 + data.length + 16);
    out.set(CONTEXT_FREE_HEADER, 0);
    out.set(n, 7);
    aesGcmEncryptInto(keyU8, out.subarray(7, 19), data, out.subarray(0, 7), out, 19);
    return out;
  };
  const rungs: (Candidate & { label: string })[] = [
    { id: 'e0', label: 'randomBytes(12)', op: () => randomBytes(12) },
    {
      id: 'e1',
      label: '12 bytes from a pooled randomFillSync block',
      op: () => {
        if (poolAt === pool.length) {
          randomFillSync(pool);
          poolAt = 0;
        }
        poolAt += 12;
        return pool.subarray(poolAt - 12, poolAt);
      },
    },
    { id: 'e2', label: 'createCipheriv only', op: () => createCipheriv('aes-256-gcm', key, nonce) },
    {
      id: 'e2k',
      label: 'createCipheriv only, cached KeyObject',
      op: () => createCipheriv('aes-256-gcm', keyObject, nonce),
    },
    {
      id: 'e2a',
      label: 'createCipheriv + setAAD(7-byte header)',
      op: () => createCipheriv('aes-256-gcm', key, nonce).setAAD(CONTEXT_FREE_HEADER),
    },
    {
      id: 'e2o',
      label: `new Uint8Array(${7 + 12 + SIZE + 16}) (one owned envelope)`,
      op: () => new Uint8Array(7 + 12 + SIZE + 16),
    },
    { id: 'e3', label: 'raw node:crypto encrypt (Buffer.concat)', op: () => rawEncrypt(key, data) },
    {
      id: 'e3e',
      label: "raw node:crypto encrypt, the facade's envelope (header as AAD, owned output)",
      op: () => rawEnvelopeEncrypt(key, data),
    },
    {
      id: 'e4',
      label: 'crypto-core aesGcmEncryptInto, envelope in one allocation, AAD = header',
      op: () => envelope(meshRandomBytes(12)),
    },
    {
      id: 'e5',
      label: 'keys.acquireEncryptionKey (await)',
      op: () => keys.acquireEncryptionKey('aes-256-gcm'),
    },
    {
      id: 'e5s',
      label: 'keys.tryAcquireEncryptionKey (synchronous)',
      op: () => keys.tryAcquireEncryptionKey('aes-256-gcm') ?? keys.acquireEncryptionKey('aes-256-gcm'),
    },
    { id: 'e6', label: 'facade encrypt, NoopCollector', op: () => noop.encrypt(data) },
    { id: 'e7', label: 'facade encrypt, PrometheusCollector', op: () => prom.encrypt(data) },
    { id: 'd0', label: 'createDecipheriv only', op: () => createDecipheriv('aes-256-gcm', key, nonce) },
    {
      id: 'd0k',
      label: 'createDecipheriv only, cached KeyObject',
      op: () => createDecipheriv('aes-256-gcm', keyObject, nonce),
    },
    {
      id: 'd1',
      label: 'raw node:crypto decrypt',
      op: () => {
        const d = createDecipheriv('aes-256-gcm', key, sealedRaw.subarray(0, 12));
        d.setAuthTag(sealedRaw.subarray(sealedRaw.length - 16));
        const out = d.update(sealedRaw.subarray(12, sealedRaw.length - 16));
        d.final();
        return out;
      },
    },
    {
      id: 'd1e',
      label: "raw node:crypto decrypt, the facade's envelope (header as AAD, plain Uint8Array out)",
      op: () => rawEnvelopeDecrypt(key, sealedRawEnvelope),
    },
    {
      id: 'd2',
      label: 'crypto-core aesGcmDecrypt, AAD = header',
      op: () => aesGcmDecrypt(facadeKey, sealed.subarray(7, 19), sealed.subarray(19), sealed.subarray(0, 7)),
    },
    {
      id: 'd3',
      label: 'keys.getDecryptionKey (await)',
      op: () => keys.getDecryptionKey(active.id, 'aes-256-gcm'),
    },
    {
      id: 'd3s',
      label: 'keys.cachedDecryptionKey (synchronous)',
      op: () => keys.cachedDecryptionKey(active.id, 'aes-256-gcm'),
    },
    { id: 'd4', label: 'facade decrypt, NoopCollector', op: () => noop.decrypt(sealed) },
    { id: 'd5', label: 'facade decrypt, PrometheusCollector', op: () => prom.decrypt(sealedProm) },
  ];
  const base = baselineDir === undefined ? undefined : await baselineFacade(baselineDir);
  const token = await noop.fernet.encrypt(data);
  rungs.push(
    { id: 'f0', label: 'facade Fernet encrypt, NoopCollector', op: () => noop.fernet.encrypt(data) },
    { id: 'f1', label: 'facade Fernet decrypt, NoopCollector', op: () => noop.fernet.decrypt(token) },
  );
  if (base !== undefined) {
    const baseSealed = await base.encrypt(data);
    const baseToken = await base.fernet.encrypt(data);
    rungs.push(
      { id: 'b-e6', label: 'baseline build: facade encrypt, NoopCollector', op: () => base.encrypt(data) },
      {
        id: 'b-d4',
        label: 'baseline build: facade decrypt, NoopCollector',
        op: () => base.decrypt(baseSealed),
      },
      { id: 'b-f0', label: 'baseline build: facade Fernet encrypt', op: () => base.fernet.encrypt(data) },
      {
        id: 'b-f1',
        label: 'baseline build: facade Fernet decrypt',
        op: () => base.fernet.decrypt(baseToken),
      },
    );
  }
  const samples = await runRounds(rungs, { rounds, sliceMs });
  await Promise.all([noop.close(), prom.close(), keys.close(), base?.close()]);
  const comparisons: { label: string; ratio: Summary }[] = [];
  const pairs: [string, string, string][] = [
    ['e6', 'e3', 'facade encrypt / raw node:crypto encrypt (calls per CPU second)'],
    ['e6', 'e3e', "facade encrypt / raw node:crypto writing the facade's envelope"],
    ['d4', 'd1', 'facade decrypt / raw node:crypto decrypt'],
    ['d4', 'd1e', "facade decrypt / raw node:crypto reading the facade's envelope"],
    ['e7', 'e6', 'Prometheus / no-op, encrypt'],
    ['d5', 'd4', 'Prometheus / no-op, decrypt'],
  ];
  if (base !== undefined) {
    pairs.push(
      ['e6', 'b-e6', 'this build / baseline build: facade encrypt'],
      ['d4', 'b-d4', 'this build / baseline build: facade decrypt'],
      ['f0', 'b-f0', 'this build / baseline build: Fernet encrypt'],
      ['f1', 'b-f1', 'this build / baseline build: Fernet decrypt'],
    );
  }
  for (const [a, b, label] of pairs) comparisons.push({ label, ratio: ratioOf(samples[a]!, samples[b]!) });
  const table = rungs.map((r) => {
    const s = summarize(samples[r.id]!.map((opsPerSec) => 1e6 / opsPerSec));
    return { id: r.id, label: r.label, usPerCall: s };
  });
  return { rungs: table, comparisons };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ms: { type: 'string', default: '3000' },
      segments: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '7' },
      'slice-ms': { type: 'string', default: '150' },
      out: { type: 'string' },
      label: { type: 'string', default: 'current' },
      baseline: { type: 'string' },
    },
  });
  const outDir = values.out ?? join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const { rungs, comparisons } = await ladder(
    Number(values.rounds),
    Number(values['slice-ms']),
    values.baseline,
  );
  const current: Build = { createEncryption, NoopCollector };
  const baseline = values.baseline === undefined ? undefined : await loadBuild(values.baseline);
  const loops: FacadeLoop[] = [];
  for (const which of ['encrypt', 'decrypt'] as const) {
    if (baseline !== undefined) loops.push(await openLoop(`baseline ${which}`, which, baseline));
    loops.push(await openLoop(which, which, current));
  }
  const profiles = await profileInterleaved(loops, Number(values.ms), Number(values.segments));
  await Promise.all(loops.map((l) => l.close()));
  const label = values.label!;
  const json = {
    label,
    // The baseline build's commit, not its directory: results are committed, and local paths mean nothing.
    baseline: values.baseline === undefined ? undefined : commitOf(values.baseline),
    createdAt: new Date().toISOString(),
    node: process.versions.node,
    rungs,
    comparisons,
    profiles,
  };
  writeFileSync(join(outDir, `profile-${label}.json`), `${JSON.stringify(json, null, 1)}\n`);
  const lines = [
    `Per-call cost at 1 KiB (${label}), ${json.createdAt}, Node ${json.node}. Ladder: µs of CPU time per call, median of ${values.rounds} interleaved rounds [spread].`,
    '',
    '| rung | µs/call |',
    '|---|---|',
    ...rungs.map(
      (r) =>
        `| ${r.label} | ${r.usPerCall.median.toFixed(2)} [${r.usPerCall.min.toFixed(2)}-${r.usPerCall.max.toFixed(2)}] |`,
    ),
    '',
    'Ratios of calls per CPU second in the same rounds, medians of per-round ratios [spread]:',
    '',
    '| comparison | ratio |',
    '|---|---|',
    ...comparisons.map(
      (c) =>
        `| ${c.label} | ${c.ratio.median.toFixed(2)}x [${c.ratio.min.toFixed(2)}-${c.ratio.max.toFixed(2)}] |`,
    ),
  ];
  const categories = [...new Set(Object.values(profiles).flatMap((p) => p.categories.map((c) => c.fn)))];
  const loopNames = Object.keys(profiles);
  lines.push(
    '',
    `CPU profile of each loop (${values.segments} interleaved segments), self time by where it belongs, µs per call (share of the loop)`,
    '',
    `| where | ${loopNames.join(' | ')} |`,
    `|---|${loopNames.map(() => '---').join('|')}|`,
  );
  for (const c of categories) {
    const cells = loopNames.map((l) => {
      const row = profiles[l]!.categories.find((x) => x.fn === c);
      return row ? `${row.usPerCall.toFixed(2)} (${(row.share * 100).toFixed(0)}%)` : '-';
    });
    lines.push(`| ${c} | ${cells.join(' | ')} |`);
  }
  for (const [which, p] of Object.entries(profiles)) {
    lines.push('', `CPU profile, facade ${which} loop: self time by function (top 18), µs per call`, '');
    lines.push('| function | µs/call | share |', '|---|---|---|');
    for (const r of p.functions)
      lines.push(`| \`${r.fn}\` | ${r.usPerCall.toFixed(3)} | ${(r.share * 100).toFixed(1)}% |`);
  }
  writeFileSync(join(outDir, `profile-${label}.md`), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

await main();

/** `git rev-parse --short HEAD` of a build directory, or "another build" when it is not a git checkout. */
function commitOf(dir: string): string {
  try {
    const sha = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    return `a build of commit ${sha}`;
  } catch {
    return 'another build';
  }
}
