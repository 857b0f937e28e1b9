import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeyStore, KeyManager, type KeyStoreError, type StoredKeyring } from '../src/index.js';
import { containsKey, rawKek, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** Two real documents (versions 1 and 2) of one keyring, produced by a KeyManager over a FileKeyStore. */
async function twoVersions(path: string) {
  const store = new FileKeyStore({ path });
  const kek = rawKek();
  const m = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], watch: false });
  const v1 = (await store.load('default'))!;
  await m.rotate();
  const v2 = (await store.load('default'))!;
  return { store, kek, m, v1, v2 };
}

describe('FileKeyStore', () => {
  it('writes with mode 0600 in a 0700 directory it creates, and keeps the previous copy as .bak', async () => {
    const path = join(dir, 'nested', 'keyring.json');
    const { v1, v2 } = await twoVersions(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700);
    expect(v2.version).toBe(v1.version + 1);
    const bak = JSON.parse(await readFile(`${path}.bak`, 'utf8')) as { keyring: StoredKeyring };
    expect(bak.keyring).toEqual(v1);
    // No temp files, no lock left behind.
    expect((await readdir(join(dir, 'nested'))).sort()).toEqual(['keyring.json', 'keyring.json.bak']);
  });

  it('compare-and-swap writes only on the expected version', async () => {
    const path = join(dir, 'keyring.json');
    const { store, v1, v2 } = await twoVersions(path);
    expect(await store.compareAndSwap('default', v1.version, { ...v2, version: 9 })).toBe(false);
    expect(await store.compareAndSwap('default', undefined, { ...v2, version: 9 })).toBe(false);
    expect((await store.load('default'))!.version).toBe(v2.version);
    await expect(store.load('other')).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });

  it.each([
    ['truncated', (t: string) => t.slice(0, t.length >> 1)],
    ['replaced by garbage', () => '\u0000\u0001not json'],
    ['empty', () => ''],
    ['with a changed byte (checksum)', (t: string) => t.replace('"primary"', '"staged"')],
    [
      'with a wrong wrapper format',
      (t: string) => t.replace('mesh-keystore-file/v1', 'mesh-keystore-file/v0'),
    ],
  ])('main copy %s: detected, the last good copy served, the next write repairs it', async (_, damage) => {
    const path = join(dir, 'keyring.json');
    const { kek, v1 } = await twoVersions(path);
    await writeFile(path, damage(await readFile(path, 'utf8')));
    const corrupt: KeyStoreError[] = [];
    const store = new FileKeyStore({ path, onCorrupt: (e) => corrupt.push(e) });
    expect(await store.load('default')).toEqual(v1);
    expect(corrupt.map((e) => e.code)).toEqual(['ERR_KEYSTORE_CORRUPT']);
    // Keys of the lost version are gone from the file, but a manager opening now works and can write.
    const m = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], watch: false });
    expect(m.version).toBe(v1.version);
    await m.rotate();
    const clean = new FileKeyStore({ path, onCorrupt: (e) => corrupt.push(e) });
    expect((await clean.load('default'))!.version).toBe(v1.version + 1);
    // load, KeyManager.open's load and the rotation's CAS saw the damage; the repaired file is clean.
    expect(corrupt).toHaveLength(3);
  });

  it('both copies damaged: ERR_KEYSTORE_CORRUPT, and nothing is overwritten', async () => {
    const path = join(dir, 'keyring.json');
    const { v2 } = await twoVersions(path);
    await writeFile(path, '{');
    await writeFile(`${path}.bak`, '{');
    const store = new FileKeyStore({ path });
    await expect(store.load('default')).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_CORRUPT',
      name: 'KeyStoreError',
    });
    await expect(store.compareAndSwap('default', undefined, v2)).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_CORRUPT',
    });
    expect(await readFile(path, 'utf8')).toBe('{');
  });

  it('a missing main copy falls back to .bak', async () => {
    const path = join(dir, 'keyring.json');
    const { v1 } = await twoVersions(path);
    await (await import('node:fs/promises')).unlink(path);
    const seen: string[] = [];
    const store = new FileKeyStore({ path, onCorrupt: (e) => seen.push(e.code) });
    expect(await store.load('default')).toEqual(v1);
    expect(seen).toEqual(['ERR_KEYSTORE_CORRUPT']);
  });

  // Before the security review these two cases were merged (keys only the manager knew were carried into
  // the older copy). A rollback is now refused instead: see README, "Rollback".
  it('a manager refuses the older copy the store falls back to, and keeps serving its own keyring', async () => {
    const path = join(dir, 'keyring.json');
    const { m, v2 } = await twoVersions(path);
    const newest = await m.acquireEncryptionKey(); // key created in v2; the lease makes v3, .bak holds v2
    const versionBefore = m.version;
    const refused: number[] = [];
    m.on('rollback-refused', (e) => refused.push(e.storedVersion));
    await writeFile(path, 'damaged');
    // The store now serves v1 (one key fewer): the write that finds it is refused, nothing is merged.
    await expect(m.rotate()).rejects.toMatchObject({
      name: 'KeyringRollbackError',
      code: 'ERR_KEYSTORE_CORRUPT',
    });
    expect(refused).toEqual([v2.version]);
    expect(m.version).toBe(versionBefore);
    expect((await m.acquireEncryptionKey()).id).toBe(newest.id);
    expect(await readFile(path, 'utf8')).toBe('damaged'); // the manager wrote nothing
  });

  it('a key created in the lost write stays usable in the manager that knows it; the older copy is not adopted', async () => {
    const path = join(dir, 'keyring.json');
    const { m } = await twoVersions(path);
    await m.rotate(); // the newest primary exists only in the main copy, not in .bak
    const newest = await m.getDecryptionKey(m.keys().find((k) => k.state === 'primary')!.id);
    await writeFile(path, 'damaged');
    const served = (await new FileKeyStore({ path, onBackupServed: () => {} }).load('default'))!;
    expect(served.keys.map((k) => k.id)).not.toContain(newest.id);
    await expect(m.refresh()).rejects.toMatchObject({ name: 'KeyringRollbackError' });
    expect(m.keys().find((k) => k.id === newest.id)).toMatchObject({ state: 'primary' });
    expect((await m.getDecryptionKey(newest.id)).material).toEqual(newest.material);
  });

  it('breaks the lock of a dead process at once, waits for a live one', async () => {
    const path = join(dir, 'keyring.json');
    const { store, v2 } = await twoVersions(path);
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    let ns = '';
    try {
      ns = readlinkSync('/proc/self/ns/pid');
    } catch {}
    const host = `${hostname()}|${ns}`;
    await writeFile(`${path}.lock`, JSON.stringify({ pid: dead.pid, host, token: 'dead', at: Date.now() }));
    const started = Date.now();
    expect(await store.compareAndSwap('default', v2.version, { ...v2, version: v2.version + 1 })).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000); // not the 30 s age limit

    // A live holder (this process, another token) is waited for until the timeout.
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, host, token: 'live', at: Date.now() }),
    );
    const impatient = new FileKeyStore({ path, lockTimeoutMs: 200 });
    await expect(impatient.compareAndSwap('default', v2.version + 1, v2)).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_UNAVAILABLE',
    });
    expect((await store.load('default'))!.version).toBe(v2.version + 1);
    // ... unless it is older than lockStaleMs (a holder on another host that vanished).
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: 1, host: 'elsewhere', token: 'old', at: Date.now() - 60_000 }),
    );
    const patient = new FileKeyStore({ path, lockStaleMs: 30_000 });
    expect(await patient.compareAndSwap('default', v2.version + 1, { ...v2, version: v2.version + 2 })).toBe(
      true,
    );
  });

  it('removes temp files of crashed writers under the lock', async () => {
    const path = join(dir, 'keyring.json');
    const { m } = await twoVersions(path);
    await writeFile(`${path}.tmp-crashed`, 'partial');
    await writeFile(`${path}.bak.tmp-crashed`, 'partial');
    const longAgo = new Date(Date.now() - 3_600_000);
    await writeFile(`${path}.lock.abandoned.tmp`, '{}');
    await utimes(`${path}.lock.abandoned.tmp`, longAgo, longAgo);
    await writeFile(`${path}.lock.waiting.tmp`, '{}'); // fresh: a waiter's owner record, kept
    await m.rotate();
    expect((await readdir(dir)).sort()).toEqual([
      'keyring.json',
      'keyring.json.bak',
      'keyring.json.lock.waiting.tmp',
    ]);
  });

  it('watch reports a write by another store instance', async () => {
    const path = join(dir, 'keyring.json');
    const { v2 } = await twoVersions(path);
    const watcher = new FileKeyStore({ path });
    let calls = 0;
    const changed = new Promise<void>((resolve) => {
      watcher.watch('default', () => {
        calls++;
        resolve();
      });
    });
    const writer = new FileKeyStore({ path });
    const next = { ...v2, version: v2.version + 1 };
    expect(await writer.compareAndSwap('default', v2.version, next)).toBe(true);
    await changed;
    expect(calls).toBeGreaterThan(0);
    await watcher.close();
  });

  it('a manager follows rotations written by another manager through the file watch', async () => {
    const path = join(dir, 'keyring.json');
    const kek = rawKek();
    const a = await KeyManager.open({ store: new FileKeyStore({ path }), kek, algorithms: ['aes-256-gcm'] });
    const b = await KeyManager.open({ store: new FileKeyStore({ path }), kek, algorithms: ['aes-256-gcm'] });
    const seen = new Promise<number>((resolve) => a.on('rotated', (e) => resolve(e.keyId)));
    await b.rotate();
    const primaryB = b.keys().find((k) => k.state === 'primary')!.id;
    expect(await seen).toBe(primaryB);
    await a.close();
    await b.close();
  });

  it('the keyring file and its backup contain no raw key bytes', async () => {
    const path = join(dir, 'keyring.json');
    const kek = rawKek();
    const m = await KeyManager.open({ store: new FileKeyStore({ path }), kek, watch: false });
    await m.rotate();
    const materials = [
      ...m.decryptionKeys('aes-256-gcm').map((k) => k.material),
      ...m.decryptionKeys('fernet').map((k) => k.material),
    ];
    expect(materials).toHaveLength(4);
    for (const file of [path, `${path}.bak`]) {
      const bytes = await readFile(file);
      for (const material of [...materials, kek.key]) expect(containsKey(bytes, material)).toBe(false);
    }
  });
});
