#!/usr/bin/env node
/**
 * The mesh demo: three services (orders, payments, inventory), each its own process, call each other over
 * HTTP on 127.0.0.1 with every body encrypted by `@mesh/encryption` and bound to its route. They share one
 * sealed keyring in a `FileKeyStore` (the embedded default). While traffic flows, keys are rotated again and
 * again through different services; the demo counts requests and fails (exit 1) if a single one failed.
 *
 *   pnpm demo [--duration 8 --concurrency 8 --rotate-every 500 --dir .mesh/demo]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sumSamples } from './metrics-text.js';

const SERVICES = ['orders', 'payments', 'inventory'] as const;

interface Ready {
  type: 'ready';
  name: string;
  port: number;
  keyIds: number[];
}

const { values: args } = parseArgs({
  // `pnpm demo -- --duration 20` passes the `--` through: drop it.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    duration: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '8' },
    'rotate-every': { type: 'string', default: '500' },
    dir: { type: 'string', default: '.mesh/demo' },
    keep: { type: 'boolean', default: false },
  },
});
const durationMs = Number(args.duration) * 1000;
const concurrency = Number(args.concurrency);
const rotateEveryMs = Number(args['rotate-every']);
const dir = resolve(args.dir);
for (const [name, value] of [
  ['duration', durationMs],
  ['concurrency', concurrency],
  ['rotate-every', rotateEveryMs],
] as const) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
}

async function startService(
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(fileURLToPath(new URL('./service.js', import.meta.url)), [], {
    env: { ...env, MESH_DEMO_SERVICE: name },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`service ${name} exited with code ${code} before it was ready`);
    }),
  ])) as [Ready];
  return { child, ready: message };
}

async function http(port: number, method: string, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: response.status, text: await response.text() };
}

async function main(): Promise<number> {
  // A fresh keyring for every run; the KEK is a random 32-byte key in a 0600 file beside it.
  if (!args.keep) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const kekFile = resolve(dir, 'kek');
  await writeFile(kekFile, randomBytes(32).toString('base64'), { mode: 0o600, flag: args.keep ? 'a' : 'w' });
  const env = {
    ...process.env,
    MESH_DEMO_KEYRING: resolve(dir, 'keyring.json'),
    MESH_DEMO_KEK_FILE: kekFile,
  };

  // The first service creates the keyring; the others open it.
  const started = [await startService(SERVICES[0], env)];
  started.push(...(await Promise.all(SERVICES.slice(1).map((name) => startService(name, env)))));
  const ports = Object.fromEntries(started.map((s) => [s.ready.name, s.ready.port]));
  for (const s of started) s.child.send({ type: 'peers', peers: ports });
  console.log(
    `mesh-demo: ${SERVICES.join(', ')} on 127.0.0.1 (${Object.values(ports).join(', ')}); keyring ${env.MESH_DEMO_KEYRING}`,
  );
  console.log(
    `mesh-demo: ${concurrency} callers for ${durationMs / 1000} s, a rotation every ${rotateEveryMs} ms`,
  );

  let ok = 0;
  let failed = 0;
  let rotations = 0;
  let plainBytes = 0;
  let sealedBytes = 0;
  const failures = new Map<string, number>();
  const deadline = Date.now() + durationMs;

  async function caller(worker: number): Promise<void> {
    for (let i = worker; Date.now() < deadline; i++) {
      const from = SERVICES[i % SERVICES.length]!;
      const to = SERVICES[(i + 1 + (worker % 2)) % SERVICES.length]!;
      try {
        const r = await http(ports[from]!, 'POST', `/call?to=${to}`);
        if (r.status !== 200) throw new Error(r.text);
        const sizes = JSON.parse(r.text) as { bytes: number; sealed: number };
        plainBytes += sizes.bytes;
        sealedBytes += sizes.sealed;
        ok++;
      } catch (error) {
        failed++;
        const reason = error instanceof Error ? error.message : String(error);
        failures.set(reason, (failures.get(reason) ?? 0) + 1);
      }
    }
  }

  async function rotator(): Promise<void> {
    for (let i = 0; Date.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, rotateEveryMs));
      if (Date.now() >= deadline) break;
      // Rotate through a different service each time: each learns the others' rotations via the store.
      const r = await http(ports[SERVICES[i % SERVICES.length]!]!, 'POST', '/admin/rotate');
      if (r.status === 200) rotations++;
      else failures.set(`rotation: ${r.text}`, (failures.get(`rotation: ${r.text}`) ?? 0) + 1);
    }
  }

  await Promise.all([...Array.from({ length: concurrency }, (_, w) => caller(w)), rotator()]);

  const scrapes = await Promise.all(SERVICES.map((name) => http(ports[name]!, 'GET', '/metrics')));
  for (const s of started) s.child.send({ type: 'stop' });
  await Promise.all(started.map((s) => (s.child.exitCode === null ? once(s.child, 'exit') : undefined)));

  const rows = SERVICES.map((name, i) => {
    const text = scrapes[i]!.text;
    return {
      service: name,
      encrypts: sumSamples(text, 'mesh_crypto_operations_total', { operation: 'encrypt', result: 'success' }),
      decrypts: sumSamples(text, 'mesh_crypto_operations_total', { operation: 'decrypt', result: 'success' }),
      failures: sumSamples(text, 'mesh_crypto_failures_total'),
      'rotations seen': sumSamples(text, 'mesh_key_rotations_total'),
    };
  });
  console.table(rows);
  console.log(
    `mesh-demo: ${ok} calls succeeded, ${failed} failed, ${rotations} rotations; ` +
      `${(plainBytes / 1024).toFixed(0)} KiB of orders sealed into ${(sealedBytes / 1024).toFixed(0)} KiB (compression by policy)`,
  );
  for (const [reason, count] of failures) console.log(`  failure x${count}: ${reason}`);
  const cryptoFailures = rows.reduce((n, r) => n + r.failures, 0);
  const good = failed === 0 && cryptoFailures === 0 && ok > 0 && rotations > 0 && failures.size === 0;
  console.log(good ? 'mesh-demo: OK, zero failed requests across rotations' : 'mesh-demo: FAILED');
  return good ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('mesh-demo:', error);
    process.exit(1);
  },
);
