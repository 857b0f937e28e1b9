/**
 * Finding 12 of the security review: a lock broken as stale must never let two writers commit. A live holder
 * on this host is never judged stale by age, however long it stalls; only a dead one (or, across hosts, one
 * that stopped renewing its lock) is broken.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeyStore, KeyManager } from '../src/index.js';
import { rawKek, tempDir } from './helpers.js';

const HOLDER = join(import.meta.dirname, 'fixtures', 'lock-holder.mjs');

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

describe('file lock', () => {
  it('a live holder stalled past lockStaleMs keeps its lock: the second writer waits, no update is lost', async () => {
    const path = join(dir, 'keyring.json');
    const m = await KeyManager.open({
      store: new FileKeyStore({ path }),
      kek: rawKek(),
      algorithms: ['aes-256-gcm'],
      watch: false,
    });
    const doc = (await new FileKeyStore({ path }).load('default'))!;
    const child = spawn(process.execPath, [HOLDER, `${path}.lock`, '150', '1200'], { stdio: 'pipe' });
    let out = '';
    const seen = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => (out.includes(text) ? resolve() : undefined);
        child.stdout.on('data', (d) => {
          out += String(d);
          check();
        });
        child.on('exit', () => (out.includes(text) ? resolve() : reject(new Error(`holder exited: ${out}`))));
        check();
      });
    try {
      await seen('held');
      const impatient = new FileKeyStore({ path, lockStaleMs: 150, lockTimeoutMs: 10_000 });
      const swapped = await impatient.compareAndSwap('default', doc.version, {
        ...doc,
        version: doc.version + 1,
      });
      const committedAt = Date.now();
      await seen('released');
      const [, held, at] = /stillHeld (\w+) (\d+)/.exec(out)!;
      expect(held).toBe('true'); // the stalled holder was not robbed of its lock
      expect(committedAt).toBeGreaterThanOrEqual(Number(at)); // the second writer committed only afterwards
      expect(swapped).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await m.close();
    }
  });
});
