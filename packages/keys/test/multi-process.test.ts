/**
 * Crash safety and inter-process correctness of FileKeyStore + KeyManager, with real processes
 * (spawned with process.execPath, importing the built dist/).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '@mesh/crypto-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeyStore, KeyManager, type KeyStoreError } from '../src/index.js';
import { tempDir } from './helpers.js';

const WORKER = join(import.meta.dirname, 'fixtures', 'keyring-worker.mjs');

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  waitFor(pred: (line: string) => boolean): Promise<string>;
  exited: Promise<void>;
}

function startWorker(args: string[]): Child {
  const proc = spawn(process.execPath, [WORKER, ...args], { stdio: 'pipe' });
  const lines: string[] = [];
  const waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  let buf = '';
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += String(d);
  });
  proc.stdout.on('data', (d) => {
    buf += String(d);
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
      nl = buf.indexOf('\n');
    }
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    proc,
    lines,
    exited,
    waitFor: (pred) =>
      new Promise((resolve, reject) => {
        const hit = lines.find(pred);
        if (hit !== undefined) return resolve(hit);
        waiters.push({ pred, resolve });
        void exited.then(() => reject(new Error(`worker exited early: ${stderr.slice(0, 2000)}`)));
      }),
  };
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

describe('crash safety', () => {
  /**
   * One lane: a keyring file and a sequence of children that churn it (rotations, usage leases, retirements:
   * a write every few ms), each killed with SIGKILL 5-60 ms after its first commit. The next child is
   * started while the current one runs, so process start-up is not on the critical path.
   */
  async function lane(path: string, kills: number) {
    const kekHex = Buffer.from(randomBytes(32)).toString('hex');
    const kek = { key: Uint8Array.from(Buffer.from(kekHex, 'hex')) };
    const corruptions: KeyStoreError[] = [];
    let known = 0; // last version known to be committed
    let killedHoldingLock = 0;
    let committedUnreported = 0;
    let next = startWorker(['churn', path, kekHex]);
    for (let round = 0; round < kills; round++) {
      const child = next;
      await child.waitFor((l) => l === 'loaded');
      if (round + 1 < kills) next = startWorker(['churn', path, kekHex]);
      child.proc.stdin.write('go\n');
      const ready = Number((await child.waitFor((l) => l.startsWith('ready'))).split(' ')[1]);
      expect(ready).toBeGreaterThanOrEqual(known);
      // From its first commit on, the child writes every few ms; the kill lands anywhere in that stream.
      await child.waitFor((l) => l.startsWith('v '));
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 55));
      child.proc.kill('SIGKILL');
      await child.exited;
      const reported = child.lines.filter((l) => l.startsWith('v ')).map((l) => Number(l.slice(2)));
      const lastReported = Math.max(known, ready, ...reported);
      if (existsSync(`${path}.lock`)) killedHoldingLock++;

      const store = new FileKeyStore({ path, onCorrupt: (e) => corruptions.push(e) });
      const doc = await store.load('default');
      expect(doc).toBeDefined();
      // Old or new: the last version the child reported, or the one it committed but had not reported yet.
      expect([lastReported, lastReported + 1]).toContain(doc!.version);
      if (doc!.version === lastReported + 1) committedUnreported++;
      // It opens with the KEK: MAC verified, every live key unsealed.
      const m = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], watch: false });
      expect(m.version).toBe(doc!.version);
      for (const k of m.keys().filter((x) => x.state !== 'retired')) {
        expect((await m.getDecryptionKey(k.id)).material).toHaveLength(32);
      }
      await m.close();
      known = doc!.version;
    }
    return { known, killedHoldingLock, committedUnreported, corruptions };
  }

  it('SIGKILL at random moments 100 times: the keyring always loads, as the last or the next version', {
    timeout: 120_000, // ~15 s on an idle 2-core machine; process start-up dominates when the CPU is shared
  }, async () => {
    // Four keyring files side by side: process start-up (~0.1-1 s of a loaded CPU) overlaps across lanes.
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((l) => lane(join(dir, l, 'keyring.json'), 25)),
    );
    const sum = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0);
    console.log(
      `crash test: 100 kills; versions reached ${results.map((r) => r.known).join(', ')}; ` +
        `${sum((r) => r.killedHoldingLock)} kills while holding the lock, ` +
        `${sum((r) => r.committedUnreported)} right after a commit`,
    );
    for (const r of results) {
      expect(r.corruptions).toEqual([]);
      expect(r.known).toBeGreaterThan(25);
    }
    expect(sum((r) => r.killedHoldingLock)).toBeGreaterThan(0);
  });
});

describe('two processes', () => {
  it('rotating the same file keyring at once: the version grows by exactly two, both keys present', async () => {
    const path = join(dir, 'keyring.json');
    const kekHex = Buffer.from(randomBytes(32)).toString('hex');
    const kek = { key: Uint8Array.from(Buffer.from(kekHex, 'hex')) };
    const store = new FileKeyStore({ path });
    const first = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], watch: false });
    for (let round = 0; round < 3; round++) {
      const before = (await store.load('default'))!.version;
      const a = startWorker(['rotate-once', path, kekHex]);
      const b = startWorker(['rotate-once', path, kekHex]);
      await Promise.all([a.waitFor((l) => l === 'ready'), b.waitFor((l) => l === 'ready')]);
      a.proc.stdin.write('go\n');
      b.proc.stdin.write('go\n');
      const [ra, rb] = await Promise.all([
        a.waitFor((l) => l.startsWith('{')),
        b.waitFor((l) => l.startsWith('{')),
      ]);
      await Promise.all([a.exited, b.exited]);
      const idA = (JSON.parse(ra) as { id: number }).id;
      const idB = (JSON.parse(rb) as { id: number }).id;
      const doc = (await store.load('default'))!;
      expect(doc.version).toBe(before + 2);
      expect(idA).not.toBe(idB);
      const states = new Map(doc.keys.map((k) => [k.id, k.state]));
      expect([states.get(idA), states.get(idB)].sort()).toEqual(['decrypt-only', 'primary']);
    }
    await first.close();
  });

  it('two processes reserving from one key budget never exceed it together', async () => {
    const path = join(dir, 'keyring.json');
    const kekHex = Buffer.from(randomBytes(32)).toString('hex');
    const a = startWorker(['acquire', path, kekHex, '150']);
    await a.waitFor((l) => l === 'ready');
    const b = startWorker(['acquire', path, kekHex, '150']);
    await b.waitFor((l) => l === 'ready');
    a.proc.stdin.write('go\n');
    b.proc.stdin.write('go\n');
    const [ra, rb] = await Promise.all([
      a.waitFor((l) => l.startsWith('{')),
      b.waitFor((l) => l.startsWith('{')),
    ]);
    const total = new Map<string, number>();
    for (const r of [ra, rb]) {
      for (const [id, n] of Object.entries(JSON.parse(r) as Record<string, number>)) {
        total.set(id, (total.get(id) ?? 0) + n);
      }
    }
    expect([...total.values()].reduce((x, y) => x + y, 0)).toBe(300);
    for (const n of total.values()) expect(n).toBeLessThanOrEqual(40);
    expect(total.size).toBeGreaterThanOrEqual(8); // 300 / 40
  });
});
