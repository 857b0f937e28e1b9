/**
 * Regression tests for the security review (issue 10) findings in `@mesh/keys`: each was written first and
 * seen failing on the code before its fix (see the closing note).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Fernet } from '@mesh/crypto-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ActiveKey,
  derivePasswordKey,
  deriveSubkey,
  FileKeyStore,
  KeyManager,
  MemoryKeyStore,
  PasswordKeyCache,
  type StoredKeyring,
} from '../src/index.js';
import { CountingStore, containsKey, encodings, rawKek, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** Writes `doc` into a MemoryKeyStore as a storage attacker would (the store checks structure, not the MAC). */
async function tamper(store: MemoryKeyStore, edit: (doc: StoredKeyring) => void): Promise<void> {
  const doc = structuredClone((await store.load('default'))!);
  edit(doc);
  expect(await store.compareAndSwap('default', doc.version, doc)).toBe(true);
}

const owns = (a: Uint8Array) => a.byteOffset === 0 && a.buffer.byteLength === a.length;
/** The 8 KiB pool Node's small `Buffer.from`/`allocUnsafe` results are cut from, right now. */
const currentPool = () => new Uint8Array(Buffer.from('probe').buffer);

describe('finding 1: KEK parameters are verified before they are adopted', () => {
  it('a re-read of a document with lowered iterations never changes the KEK the manager writes with', async () => {
    const store = new MemoryKeyStore();
    const kek = { passphrase: 'correct horse battery staple', iterations: 2_000 };
    const m = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], watch: false });
    // The attacker lowers the iterations (and swaps the salt) in the unauthenticated kek field...
    await tamper(store, (doc) => {
      if (doc.kek.type !== 'passphrase') throw new Error('expected a passphrase keyring');
      doc.kek.iterations = 1;
      doc.kek.salt = 'AAAAAAAAAAAAAAAAAAAAAA';
      doc.mac = `A${doc.mac.slice(1)}` === doc.mac ? `B${doc.mac.slice(1)}` : `A${doc.mac.slice(1)}`;
    });
    // ... and triggers a re-read remotely with an envelope carrying an unknown key id.
    await expect(m.getDecryptionKey(12345)).rejects.toMatchObject({ code: expect.any(String) });
    // The next ordinary write must still be sealed and MACed under the configured parameters.
    await m.rotate();
    const stored = (await store.load('default'))!;
    expect(stored.kek).toMatchObject({ type: 'passphrase', iterations: 2_000 });
    const reopened = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], watch: false });
    expect(reopened.version).toBe(stored.version);
  });

  it('never accepts stored iterations below the configured ones, nor below the floor of 1000', async () => {
    const store = new MemoryKeyStore();
    await KeyManager.open({ store, kek: { passphrase: 'p', iterations: 1_000 }, watch: false });
    await expect(
      KeyManager.open({ store, kek: { passphrase: 'p', iterations: 5_000 }, watch: false }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_DERIVATION' });
    await expect(
      KeyManager.open({ store: new MemoryKeyStore(), kek: { passphrase: 'p', iterations: 999 } }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });
});

describe('operator message for a wrong KEK', () => {
  it('names the keyring and the store location, and keeps ERR_DECRYPTION_FAILED', async () => {
    const path = join(dir, 'keyring.json');
    await KeyManager.open({ store: new FileKeyStore({ path }), kek: rawKek(), name: 'orders' });
    const err = (await KeyManager.open({
      store: new FileKeyStore({ path }),
      kek: rawKek(),
      name: 'orders',
    }).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('ERR_DECRYPTION_FAILED');
    expect(err.message).toBe(`KEK check failed for keyring 'orders' (${path})`);
  });
});

describe('finding 2: returned bytes own their buffer; secrets are decoded outside the shared pool', () => {
  it('a KEK from an environment variable (hex) or a file (base64) never lands in the Buffer pool', async () => {
    const kek = crypto.getRandomValues(new Uint8Array(32));
    // Views, not copies: the test itself must not put the KEK into the pool.
    process.env.MESH_TEST_POOL_KEK = Buffer.from(kek.buffer).toString('hex');
    try {
      const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: { env: 'MESH_TEST_POOL_KEK' } });
      expect(containsKey(currentPool(), kek)).toBe(false);
      await m.close();
    } finally {
      delete process.env.MESH_TEST_POOL_KEK;
    }
    const kek2 = crypto.getRandomValues(new Uint8Array(32));
    const file = join(dir, 'kek.b64');
    // Bytes of our own: writeFile(string) would encode through the pool.
    await writeFile(file, new TextEncoder().encode(`${Buffer.from(kek2.buffer).toString('base64')}\n`));
    const m2 = await KeyManager.open({ store: new MemoryKeyStore(), kek: { file } });
    expect(containsKey(currentPool(), kek2)).toBe(false);
    await m2.close();
  });

  it('an imported Fernet key is decoded outside the pool', async () => {
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek() });
    const text = Fernet.generateKey();
    const raw = Buffer.from(text, 'base64url');
    const rawCopy = Uint8Array.from(raw);
    raw.fill(0); // our own decode above used the pool too: clear it before the call under test
    await m.importFernetKey(text);
    expect(containsKey(currentPool(), rawCopy)).toBe(false);
  });

  it('every public function returning bytes returns an array that owns its whole ArrayBuffer, free of canaries', async () => {
    const kekBytes = crypto.getRandomValues(new Uint8Array(32));
    const canary = 'CANARY-plaintext-7f3a9c';
    Buffer.from(canary); // a caller's string plaintext sitting in the pool
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: { key: Uint8Array.from(kekBytes) } });
    const out: Array<[string, Uint8Array]> = [];
    const gcm = await m.acquireEncryptionKey('aes-256-gcm');
    out.push(['acquireEncryptionKey', gcm.material]);
    out.push(['getDecryptionKey', (await m.getDecryptionKey(gcm.id)).material]);
    for (const k of m.decryptionKeys('fernet')) out.push(['decryptionKeys', k.material]);
    out.push(['deriveSubkey', deriveSubkey(gcm.material, 'orders')]);
    out.push(['deriveSubkey(16)', deriveSubkey(gcm.material, 'orders', 16)]);
    const pw = await derivePasswordKey('pw', { iterations: 1_000 });
    out.push(['derivePasswordKey.key', pw.key], ['derivePasswordKey.salt', pw.params.salt]);
    const cached = await new PasswordKeyCache().derive('pw', { iterations: 1_000, salt: pw.params.salt });
    out.push(['PasswordKeyCache.key', cached.key], ['PasswordKeyCache.salt', cached.params.salt]);
    for (const [what, a] of out) {
      expect(owns(a), what).toBe(true);
      const backing = new Uint8Array(a.buffer);
      expect(containsKey(backing, kekBytes), what).toBe(false);
      expect(Buffer.from(backing).includes(canary), what).toBe(false);
    }
  });
});

describe('finding 3: rollback is refused, not merged', () => {
  it('a validly sealed older document is refused with a typed error and an event; the snapshot stays', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const m = await KeyManager.open({
      store,
      kek,
      algorithms: ['aes-256-gcm'],
      watch: false,
      rotation: { maxRetainedKeys: 0, maxEncryptionsPerKey: 1000, usageLeaseSize: 10 },
    });
    const old = structuredClone((await store.load('default'))!); // version 1: key A primary
    const a = await m.acquireEncryptionKey();
    await m.rotate(); // key B primary, A retired
    const b = await m.acquireEncryptionKey();
    const versionBefore = m.version;
    const refused: unknown[] = [];
    m.on('rollback-refused', (e) => refused.push(e));
    // Roll the store back to the old, validly sealed document (same KEK, its own valid MAC).
    const cur = (await store.load('default'))!;
    expect(await store.compareAndSwap('default', cur.version, old)).toBe(true);
    await expect(m.refresh()).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_CORRUPT',
      name: 'KeyringRollbackError',
    });
    expect(refused).toEqual([expect.objectContaining({ storedVersion: 1, highWaterVersion: versionBefore })]);
    expect(m.stats().rollbacksRefused).toBe(1);
    // Still serving the current snapshot: B encrypts, A stays retired, reserved counters did not go back.
    expect(m.version).toBe(versionBefore);
    expect((await m.acquireEncryptionKey()).id).toBe(b.id);
    expect(m.keys().find((k) => k.id === a.id)?.state).toBe('retired');
    expect(m.keys().find((k) => k.id === b.id)!.reservedEncryptions).toBeGreaterThan(0);
    // A write never merges the old document back in: it fails with the same refusal.
    await expect(m.rotate()).rejects.toMatchObject({ name: 'KeyringRollbackError' });
    expect((await store.load('default'))!.version).toBe(1);
  });

  it('a fork (store rolled back, then written past our version by a fresh process) is refused too', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const opts = { store, kek, algorithms: ['aes-256-gcm' as const], watch: false };
    const m = await KeyManager.open({ ...opts, rotation: { usageLeaseSize: 10 } });
    const old = structuredClone((await store.load('default'))!);
    const a = await m.acquireEncryptionKey(); // lease: key A reserved 10 at version 2
    expect(m.version).toBe(2);
    const cur = (await store.load('default'))!;
    expect(await store.compareAndSwap('default', cur.version, old)).toBe(true);
    const fresh = await KeyManager.open(opts); // a fresh process cannot tell: it accepts version 1
    await fresh.rotate();
    await fresh.rotate(); // version 3 > m's 2, but key A's usage counter is back at 0
    await expect(m.refresh()).rejects.toMatchObject({ name: 'KeyringRollbackError' });
    expect(m.keys().find((k) => k.id === a.id)!.reservedEncryptions).toBe(10);
    expect(m.version).toBe(2);
  });

  it('FileKeyStore serving .bak is an explicit event (warning or callback), never silent', async () => {
    const path = join(dir, 'keyring.json');
    const store = new FileKeyStore({ path });
    const m = await KeyManager.open({ store, kek: rawKek(), algorithms: ['aes-256-gcm'], watch: false });
    await m.rotate();
    await unlink(path);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const served = await new FileKeyStore({ path }).load('default');
      expect(served?.version).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain(
        'MESH_KEYSTORE_BACKUP_SERVED',
      );
    } finally {
      process.off('warning', onWarning);
    }
    const events: unknown[] = [];
    const observed = new FileKeyStore({ path, onBackupServed: (e) => events.push(e) });
    await observed.load('default');
    expect(events).toEqual([expect.objectContaining({ path, backupPath: `${path}.bak`, version: 1 })]);
    expect(observed.backupServedCount).toBe(1);
  });
});

describe('finding 5: secrets do not print', () => {
  it('util.inspect and JSON.stringify of keys, managers, stores and caches show no key bytes', async () => {
    const kekBytes = crypto.getRandomValues(new Uint8Array(32));
    const store = new MemoryKeyStore();
    const m = await KeyManager.open({ store, kek: { key: Uint8Array.from(kekBytes) } });
    const gcm = await m.acquireEncryptionKey('aes-256-gcm');
    const fernet = await m.acquireEncryptionKey('fernet');
    const cache = new PasswordKeyCache();
    const pw = await cache.derive('pw', { iterations: 1_000 });
    const fileStore = new FileKeyStore({ path: join(dir, 'k.json') });
    const secrets = [kekBytes, gcm.material, fernet.material, pw.key];
    const objects: Array<[string, unknown]> = [
      ['ActiveKey', gcm],
      ['ActiveKey[]', m.decryptionKeys('fernet')],
      ['KeyManager', m],
      ['MemoryKeyStore', store],
      ['FileKeyStore', fileStore],
      ['PasswordKeyCache', cache],
      ['DerivedPasswordKey', pw],
      [
        'derivePasswordKey result',
        await derivePasswordKey('pw', { iterations: 1_000, salt: pw.params.salt }),
      ],
    ];
    for (const [what, o] of objects) {
      const texts = [inspect(o, { depth: Number.POSITIVE_INFINITY }), JSON.stringify(o) ?? ''];
      for (const text of texts) {
        for (const s of secrets) {
          for (const e of encodings(s))
            expect(text.includes(e), `${what}: ${text.slice(0, 300)}`).toBe(false);
          // Node prints a Uint8Array as decimal bytes, wrapped over lines.
          const decimal = Array.from(s.subarray(0, 8)).join(',');
          expect(text.replace(/\s+/g, '').includes(decimal), what).toBe(false);
        }
      }
    }
    expect(Object.keys(gcm)).toEqual(['id', 'algorithm']);
    expect(inspect(m)).toContain('KeyManager');
    expect(inspect(m)).toContain(String(gcm.id));
    expect((gcm as ActiveKey).material).toHaveLength(32); // still readable by code that asks for it
  });
});

describe('finding 8: unauthenticated input cannot turn every request into a store read', () => {
  it('unknown ids: one re-read per interval per keyring, and a negative cache for ids that stayed unknown', async () => {
    const store = new CountingStore();
    const m = await KeyManager.open({
      store,
      kek: rawKek(),
      algorithms: ['aes-256-gcm'],
      watch: false,
      missReloadIntervalMs: 100,
    });
    const loads = store.loads;
    // The same hostile id, again and again: one store read per interval (100 lookups take far less).
    const s0 = performance.now();
    for (let i = 0; i < 100; i++) {
      await expect(m.getDecryptionKey(424242)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    }
    expect(store.loads - loads).toBeLessThanOrEqual(1 + Math.floor((performance.now() - s0) / 100));
    expect(m.stats().negativeCacheHits).toBeGreaterThan(0);
    const afterSame = store.loads;
    // A stream of distinct hostile ids (a request every 2 ms for ~400 ms, not waiting for answers).
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    let id = 1;
    while (performance.now() - started < 400) {
      pending.push(m.getDecryptionKey(id++).catch(() => undefined));
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(pending);
    const elapsed = performance.now() - started;
    expect(pending.length).toBeGreaterThan(20);
    expect(store.loads - afterSame).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 100));
    // Fernet: refresh() is rate limited in the manager too (the facade's call site is unchanged).
    const before = store.loads;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 50 }, () => m.refresh()));
    for (let i = 0; i < 3; i++) await m.refresh();
    expect(store.loads - before).toBeLessThanOrEqual(2 + Math.ceil((performance.now() - t0) / 100));
    expect(store.loads - before).toBeLessThan(53);
    expect(m.stats().missReloads).toBeGreaterThan(0);
    // Default interval (1 s): 50 distinct unknown ids in a row cost one read.
    const watched = await KeyManager.open({ store, kek: rawKek(), algorithms: ['aes-256-gcm'], name: 'w' });
    const wLoads = store.loads;
    const w0 = performance.now();
    for (let i = 0; i < 50; i++) {
      await expect(watched.getDecryptionKey(10_000 + i)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    }
    expect(store.loads - wLoads).toBeLessThanOrEqual(1 + Math.floor((performance.now() - w0) / 1000));
  });

  it('a key another manager just added is still found: through the watch, and by the next permitted re-read', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const opts = { store, kek, algorithms: ['aes-256-gcm' as const] };
    const withWatch = await KeyManager.open(opts);
    const noWatch = await KeyManager.open({ ...opts, watch: false });
    const writer = await KeyManager.open({ ...opts, watch: false });
    // Both readers just spent their re-read on hostile ids.
    await expect(withWatch.getDecryptionKey(7)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    await expect(noWatch.getDecryptionKey(7)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    await writer.rotate();
    const fresh = await writer.acquireEncryptionKey();
    // Without a watch: a client retrying finds the key by the next permitted re-read, within about a second.
    const t0 = performance.now();
    const eventually = async <T>(fn: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await fn();
        } catch (e) {
          if (performance.now() - t0 > 2_000) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    expect((await eventually(() => noWatch.getDecryptionKey(fresh.id))).material).toEqual(fresh.material);
    expect(performance.now() - t0).toBeLessThan(2_000);
    // With a watch: at once, through the watch.
    await new Promise((r) => setTimeout(r, 20));
    expect((await withWatch.getDecryptionKey(fresh.id)).material).toEqual(fresh.material);
    // Fernet path: a key added elsewhere shows up through refresh() within the interval.
    await writer.rotate();
    const t1 = performance.now();
    while (noWatch.version !== writer.version && performance.now() - t1 < 2_000) {
      await noWatch.refresh();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(noWatch.version).toBe(writer.version);
  });
});

describe('finding 9: FileKeyStore reads only regular files, and bounds the read itself', () => {
  it('a FIFO at the keyring path is refused at once instead of hanging', async () => {
    const path = join(dir, 'fifo.json');
    const r = spawnSync('mkfifo', [path]);
    if (r.status !== 0) throw new Error('mkfifo failed');
    const store = new FileKeyStore({ path });
    const result = await Promise.race([
      store.load('default').then(
        () => 'loaded',
        (e: { code?: string }) => e.code,
      ),
      new Promise((r) => setTimeout(() => r('hung'), 3_000)),
    ]);
    expect(result).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it('a symlink to /dev/zero is refused without reading it', async () => {
    const path = join(dir, 'zero.json');
    await symlink('/dev/zero', path);
    const before = process.memoryUsage().arrayBuffers;
    const result = await Promise.race([
      new FileKeyStore({ path }).load('default').then(
        () => 'loaded',
        (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
      ),
      new Promise((r) => setTimeout(() => r('still reading'), 3_000)),
    ]);
    expect(result).toMatch(/^ERR_KEYSTORE_CORRUPT: .*not a regular file/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a file whose stat size lies (procfs reports 0) is cut off at the limit', async () => {
    // /proc/self/maps is a regular file that stat() reports as empty, yet it holds many kilobytes.
    const path = join(dir, 'maps.json');
    await symlink('/proc/self/maps', path);
    const err = await new FileKeyStore({ path, maxFileBytes: 1024 })
      .load('default')
      .catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    expect((err as Error).message).toMatch(/larger than 1024 bytes/);
  });
});

// Not a finding, but the same reader serves KEK and RSA files.
describe('bounded reads of KEK and RSA key files', () => {
  it('a KEK file that is a FIFO fails with ERR_CONFIG_INVALID instead of hanging', async () => {
    const file = join(dir, 'kek-fifo');
    await mkdir(dir, { recursive: true });
    if (spawnSync('mkfifo', [file]).status !== 0) throw new Error('mkfifo failed');
    const result = await Promise.race([
      KeyManager.open({ store: new MemoryKeyStore(), kek: { file } }).then(
        () => 'opened',
        (e: { code?: string }) => e.code,
      ),
      new Promise((r) => setTimeout(() => r('hung'), 3_000)),
    ]);
    expect(result).toBe('ERR_CONFIG_INVALID');
  });
});
