import { execFileSync } from 'node:child_process';
import { Fernet } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import {
  type KeyInfo,
  KeyManager,
  type KeyStore,
  KeyStoreError,
  MemoryKeyStore,
  type RetiredEvent,
  type RotatedEvent,
  type StoredKeyring,
} from '../src/index.js';
import { CountingStore, FakeClock, havePythonCryptography, rawKek } from './helpers.js';

const HOUR = 3_600_000;

async function openGcm(options: Partial<Parameters<typeof KeyManager.open>[0]> = {}) {
  const clock = new FakeClock();
  const store = new CountingStore();
  const kek = rawKek();
  const rotated: RotatedEvent[] = [];
  const retired: RetiredEvent[] = [];
  const m = await KeyManager.open({
    store,
    kek,
    algorithms: ['aes-256-gcm'],
    clock: clock.fn,
    ...options,
  });
  m.on('rotated', (e) => rotated.push(e)).on('retired', (e) => retired.push(e));
  return { m, clock, store, kek, rotated, retired };
}

const primary = (m: KeyManager, alg = 'aes-256-gcm'): KeyInfo =>
  m.keys().find((k) => k.state === 'primary' && k.algorithm === alg)!;
const state = (m: KeyManager, id: number) => m.keys().find((k) => k.id === id)?.state;

describe('KeyManager.open', () => {
  it('creates one primary per algorithm in one write and reopens the same keys', async () => {
    const store = new CountingStore();
    const kek = rawKek();
    const m = await KeyManager.open({ store, kek });
    expect(store.writes).toBe(1);
    expect(m.version).toBe(1);
    expect(m.name).toBe('default');
    const keys = m.keys();
    expect(keys.map((k) => [k.algorithm, k.state]).sort()).toEqual([
      ['aes-256-gcm', 'primary'],
      ['fernet', 'primary'],
    ]);
    const gcm = await m.acquireEncryptionKey('aes-256-gcm');
    expect(gcm.material).toHaveLength(32);
    const again = await KeyManager.open({ store, kek });
    expect(store.writes).toBe(2); // the lease taken by acquireEncryptionKey; reopening writes nothing
    expect(again.version).toBe(2);
    expect((await again.getDecryptionKey(gcm.id)).material).toEqual(gcm.material);
  });

  it('rejects invalid options with ERR_CONFIG_INVALID', async () => {
    const store = new MemoryKeyStore();
    await expect(KeyManager.open({ store, kek: rawKek(), name: '../etc' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    await expect(
      KeyManager.open({ store, kek: rawKek(), rotation: { maxEncryptionsPerKey: 0 } }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    await expect(
      KeyManager.open({ store, kek: rawKek(), rotation: { interval: '3 fortnights' } }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    await expect(KeyManager.open({ store, kek: { key: new Uint8Array(16) } })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
  });

  it('a wrong KEK or passphrase fails with ERR_DECRYPTION_FAILED', async () => {
    const store = new MemoryKeyStore();
    await KeyManager.open({ store, kek: rawKek() });
    await expect(KeyManager.open({ store, kek: rawKek() })).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
      name: 'DecryptionError',
    });
    const store2 = new MemoryKeyStore();
    await KeyManager.open({ store: store2, kek: { passphrase: 'right horse', iterations: 1000 } });
    // (Reopening names the same iterations: a stored count below the configured one is refused.)
    await expect(
      KeyManager.open({ store: store2, kek: { passphrase: 'wrong horse', iterations: 1000 } }),
    ).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    const ok = await KeyManager.open({ store: store2, kek: { passphrase: 'right horse', iterations: 1000 } });
    expect(ok.version).toBe(1);
  });

  it('a KEK of the wrong kind is a wrong KEK (ERR_DECRYPTION_FAILED, reason in the cause)', async () => {
    const store = new MemoryKeyStore();
    await KeyManager.open({ store, kek: { passphrase: 'p', iterations: 1000 } });
    const err = await KeyManager.open({ store, kek: rawKek() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DECRYPTION_FAILED', cause: { code: 'ERR_CONFIG_INVALID' } });
  });

  it('caps PBKDF2 iterations read from a stored keyring', async () => {
    const store = new MemoryKeyStore();
    await KeyManager.open({ store, kek: { passphrase: 'p', iterations: 5000 } });
    await expect(
      KeyManager.open({ store, kek: { passphrase: 'p' }, maxKekIterations: 4999 }),
    ).rejects.toMatchObject({ code: 'ERR_KEY_DERIVATION' });
  });
});

describe('rotation', () => {
  it('rotates by interval on the next acquisition (fake clock)', async () => {
    const { m, clock, rotated } = await openGcm({ rotation: { interval: '24h' } });
    const first = await m.acquireEncryptionKey();
    clock.advance(24 * HOUR - 1);
    expect((await m.acquireEncryptionKey()).id).toBe(first.id);
    expect(rotated.filter((e) => e.trigger === 'interval')).toHaveLength(0);
    clock.advance(1);
    const second = await m.acquireEncryptionKey();
    expect(second.id).not.toBe(first.id);
    expect(rotated.filter((e) => e.trigger === 'interval')).toEqual([
      {
        algorithm: 'aes-256-gcm',
        trigger: 'interval',
        keyId: second.id,
        previousKeyId: first.id,
        version: m.version - 1,
      },
    ]);
    expect(state(m, first.id)).toBe('decrypt-only');
    expect((await m.getDecryptionKey(first.id)).material).toEqual(first.material);
    // The interval counts from promotion, not from the previous rotation's due time.
    clock.advance(12 * HOUR);
    expect((await m.acquireEncryptionKey()).id).toBe(second.id);
  });

  it('an interval shorter than one rotation rotates once per acquisition, never in a loop', async () => {
    // Found by the fuzzer (tests/fuzz, encryption/config): with `rotation: { interval: 0.5 }` (1 ms once
    // rounded) and store writes slower than that, acquireEncryptionKey found each new primary already due and
    // rotated again, without end and without yielding to the event loop, until guarded memory ran out and
    // the process aborted. Here every write takes 10 ms of the clock, and the store refuses after 50 writes
    // so that the old loop ends.
    const clock = new FakeClock();
    const inner = new CountingStore();
    const store: KeyStore = {
      load: (name) => inner.load(name),
      compareAndSwap: async (name, expected, next) => {
        clock.advance(10);
        if (inner.writes >= 50) throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'test: 50 writes');
        return inner.compareAndSwap(name, expected, next);
      },
    };
    const m = await KeyManager.open({
      store,
      kek: rawKek(),
      algorithms: ['aes-256-gcm'],
      clock: clock.fn,
      rotation: { interval: 1 },
      watch: false,
    });
    const rotated: RotatedEvent[] = [];
    m.on('rotated', (e) => rotated.push(e));
    const byInterval = () => rotated.filter((e) => e.trigger === 'interval');
    clock.advance(5);
    const first = await m.acquireEncryptionKey();
    expect(byInterval()).toHaveLength(1);
    expect(first.id).toBe(byInterval()[0]!.keyId);
    clock.advance(5);
    const second = await m.acquireEncryptionKey();
    expect(byInterval()).toHaveLength(2);
    expect(second.id).toBe(byInterval()[1]!.keyId);
    expect(inner.writes).toBeLessThan(10);
    await m.close();
  });

  it('rotates by usage: no key is handed out more than maxEncryptionsPerKey times', async () => {
    const { m, rotated } = await openGcm({ rotation: { maxEncryptionsPerKey: 100, usageLeaseSize: 7 } });
    const counts = new Map<number, number>();
    for (let i = 0; i < 250; i++) {
      const k = await m.acquireEncryptionKey();
      counts.set(k.id, (counts.get(k.id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([100, 100, 50]);
    expect(rotated.filter((e) => e.trigger === 'usage')).toHaveLength(2);
    const infos = m.keys();
    for (const [id, n] of counts) {
      const info = infos.find((k) => k.id === id)!;
      expect(info.encryptions).toBe(n);
      expect(info.reservedEncryptions).toBeGreaterThanOrEqual(n);
      expect(info.reservedEncryptions).toBeLessThanOrEqual(100);
    }
  });

  it('10,000 concurrent reservations across rotations: every one gets a key, none past its limit', async () => {
    const { m, store, rotated } = await openGcm({
      rotation: { maxEncryptionsPerKey: 1000, usageLeaseSize: 64 },
    });
    const writesBefore = store.writes;
    const all = Array.from({ length: 10_000 }, (_, i) => {
      // A manual rotation in the middle of the burst as well.
      if (i === 5_000) void m.rotate();
      return m.acquireEncryptionKey();
    });
    const got = await Promise.all(all);
    expect(got).toHaveLength(10_000);
    expect(got.every((k) => k && k.material.length === 32)).toBe(true);
    const counts = new Map<number, number>();
    for (const k of got) counts.set(k.id, (counts.get(k.id) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    for (const n of counts.values()) expect(n).toBeLessThanOrEqual(1000);
    for (const info of m.keys()) expect(info.reservedEncryptions).toBeLessThanOrEqual(1000);
    // One rotation per exhausted key, not one per waiting caller.
    const usage = rotated.filter((e) => e.trigger === 'usage').length;
    const manual = rotated.filter((e) => e.trigger === 'manual').length;
    expect(manual).toBe(1);
    expect(usage).toBeLessThanOrEqual(10);
    expect(usage).toBeGreaterThanOrEqual(9);
    // Writes: one per lease of 64 plus rotations, far fewer than one per reservation.
    expect(store.writes - writesBefore).toBeLessThan(10_000 / 64 + 25);
  });

  it('a lease of one use per write still serves 1,000 concurrent callers', async () => {
    const { m } = await openGcm({ rotation: { maxEncryptionsPerKey: 250, usageLeaseSize: 1 } });
    const got = await Promise.all(Array.from({ length: 1_000 }, () => m.acquireEncryptionKey()));
    const counts = new Map<number, number>();
    for (const k of got) counts.set(k.id, (counts.get(k.id) ?? 0) + 1);
    expect([...counts.values()]).toEqual([250, 250, 250, 250]);
  });

  it('two managers on one store share a key budget through leases', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const rotation = { maxEncryptionsPerKey: 50, usageLeaseSize: 8 };
    const a = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], rotation, watch: false });
    const b = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], rotation, watch: false });
    const counts = new Map<number, number>();
    const take = async (m: KeyManager) => {
      const k = await m.acquireEncryptionKey();
      counts.set(k.id, (counts.get(k.id) ?? 0) + 1);
    };
    await Promise.all(Array.from({ length: 400 }, (_, i) => take(i % 2 ? a : b)));
    expect([...counts.values()].reduce((x, y) => x + y, 0)).toBe(400);
    for (const n of counts.values()) expect(n).toBeLessThanOrEqual(50);
  });

  it('manual rotation of every algorithm is one version; events carry trigger and ids', async () => {
    const clock = new FakeClock();
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek(), clock: clock.fn });
    const events: RotatedEvent[] = [];
    m.on('rotated', (e) => events.push(e));
    const before = { gcm: primary(m).id, fernet: primary(m, 'fernet').id };
    const v = m.version;
    await m.rotate();
    expect(m.version).toBe(v + 1);
    expect(events.map((e) => [e.algorithm, e.trigger, e.previousKeyId, e.version])).toEqual([
      ['aes-256-gcm', 'manual', before.gcm, v + 1],
      ['fernet', 'manual', before.fernet, v + 1],
    ]);
    expect(events[0]!.keyId).toBe(primary(m).id);
    await m.rotate({ algorithm: 'fernet' });
    expect(m.version).toBe(v + 2);
    expect(primary(m).id).toBe(events[0]!.keyId);
  });

  it('a failed rotation leaves the old keyring intact and in use', async () => {
    const { m, store, clock } = await openGcm({ rotation: { interval: '1h' } });
    const before = await m.acquireEncryptionKey();
    const version = m.version;
    const keysBefore = m.keys();
    store.failWrites = true;
    await expect(m.rotate()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    expect(m.version).toBe(version);
    expect(m.keys()).toEqual(keysBefore);
    // An interval rotation that cannot be stored keeps encrypting with the current key and says so.
    const failures: unknown[] = [];
    m.on('rotation-failed', (e) => failures.push(e));
    clock.advance(2 * 3_600_000);
    expect((await m.acquireEncryptionKey()).id).toBe(before.id);
    expect(failures).toHaveLength(1);
    store.failWrites = false;
    clock.advance(2_000); // past the retry back-off
    const after = await m.acquireEncryptionKey();
    expect(after.id).not.toBe(before.id);
    expect((await m.getDecryptionKey(before.id)).material).toEqual(before.material);
  });

  it('a usage-exhausted key whose rotation cannot be stored is never used past its limit', async () => {
    const { m, store } = await openGcm({ rotation: { maxEncryptionsPerKey: 5, usageLeaseSize: 5 } });
    const first = await m.acquireEncryptionKey();
    for (let i = 0; i < 4; i++) expect((await m.acquireEncryptionKey()).id).toBe(first.id);
    store.failWrites = true;
    await expect(m.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    store.failWrites = false;
    expect((await m.acquireEncryptionKey()).id).not.toBe(first.id);
  });

  it('keys handed out stay valid after rotation and retirement (in-flight operations)', async () => {
    const { m } = await openGcm({ rotation: { maxRetainedKeys: 0 } });
    const inFlight = await m.acquireEncryptionKey();
    const copy = Uint8Array.from(inFlight.material);
    await m.rotate();
    expect(state(m, inFlight.id)).toBe('retired');
    expect(inFlight.material).toEqual(copy);
  });

  it('versions only grow', async () => {
    const { m } = await openGcm({ rotation: { maxEncryptionsPerKey: 3, usageLeaseSize: 1 } });
    let last = m.version;
    for (let i = 0; i < 20; i++) {
      await m.acquireEncryptionKey();
      expect(m.version).toBeGreaterThan(last - 1);
      last = m.version;
    }
    expect(last).toBeGreaterThan(20);
  });
});

describe('retention', () => {
  it('retention retires exactly the keys demoted longer ago than `retention`', async () => {
    const { m, clock, retired } = await openGcm({ rotation: { retention: '7d' } });
    const ids: number[] = [primary(m).id];
    for (let day = 0; day < 5; day++) {
      clock.advance(2 * 24 * HOUR);
      await m.rotate();
      ids.push(primary(m).id);
    }
    // ids[0..4] were demoted on days 2, 4, 6, 8, 10; now is day 10.
    clock.advance(1 * 24 * HOUR); // day 11: ids[1] (demoted day 4) is exactly 7 days old, ids[2] 5 days
    await m.maintain();
    expect(ids.map((id) => state(m, id))).toEqual([
      'retired',
      'retired',
      'decrypt-only',
      'decrypt-only',
      'decrypt-only',
      'primary',
    ]);
    expect(retired.map((e) => e.keyId)).toEqual([ids[0], ids[1]]);
    await expect(m.getDecryptionKey(ids[0]!)).rejects.toMatchObject({ code: 'ERR_KEY_STATE' });
    // ids[0] was already 8 days past demotion at the day-10 rotation; ids[1] reached 7 days on day 11.
    expect(m.keys().find((k) => k.id === ids[0])!.retiredAt).toBe(clock.now - 24 * HOUR);
    expect(m.keys().find((k) => k.id === ids[1])!.retiredAt).toBe(clock.now);
  });

  it('retention also runs by itself on the next acquisition once due', async () => {
    const { m, clock, retired } = await openGcm({ rotation: { retention: '1h' } });
    const old = primary(m).id;
    await m.rotate();
    clock.advance(HOUR);
    await m.acquireEncryptionKey();
    await new Promise((r) => setTimeout(r, 10));
    expect(retired.map((e) => e.keyId)).toEqual([old]);
  });

  it('maxRetainedKeys keeps exactly the newest N decrypt-only keys per algorithm', async () => {
    const clock = new FakeClock();
    const m = await KeyManager.open({
      store: new MemoryKeyStore(),
      kek: rawKek(),
      clock: clock.fn,
      rotation: { maxRetainedKeys: 2 },
    });
    const gcm: number[] = [primary(m).id];
    const fernet: number[] = [primary(m, 'fernet').id];
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await m.rotate({ algorithm: 'aes-256-gcm' });
      gcm.push(primary(m).id);
    }
    clock.advance(1000);
    await m.rotate({ algorithm: 'fernet' });
    fernet.push(primary(m, 'fernet').id);
    expect(gcm.map((id) => state(m, id))).toEqual([
      'retired',
      'retired',
      'decrypt-only',
      'decrypt-only',
      'primary',
    ]);
    expect(fernet.map((id) => state(m, id))).toEqual(['decrypt-only', 'primary']);
    expect(m.decryptionKeys('aes-256-gcm').map((k) => k.id)).toEqual([gcm[4], gcm[3], gcm[2]]);
  });

  it('minDecryptionVersion retires keys created in older versions, replacing an old primary first', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const clock = new FakeClock();
    const m = await KeyManager.open({ store, kek, clock: clock.fn, algorithms: ['aes-256-gcm'] });
    const created: Array<[number, number]> = [[primary(m).id, 1]];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await m.rotate();
      created.push([primary(m).id, m.version]);
    }
    expect(created.map(([, v]) => v)).toEqual([1, 2, 3, 4]);
    await m.close();
    // Keys created in versions 1 and 2 must go; 3 and 4 stay.
    const again = await KeyManager.open({
      store,
      kek,
      clock: clock.fn,
      algorithms: ['aes-256-gcm'],
      rotation: { minDecryptionVersion: 3 },
    });
    expect(created.map(([id]) => state(again, id))).toEqual([
      'retired',
      'retired',
      'decrypt-only',
      'primary',
    ]);
    // A primary below the minimum is replaced, then retired, in the same write.
    const third = await KeyManager.open({
      store,
      kek,
      clock: clock.fn,
      algorithms: ['aes-256-gcm'],
      rotation: { minDecryptionVersion: 6 },
    });
    expect(created.map(([id]) => state(third, id))).toEqual(['retired', 'retired', 'retired', 'retired']);
    const p = primary(third);
    expect(p.createdInVersion).toBe(third.version);
    expect(third.version).toBe(6);
  });

  it('retired records are destroyed beyond 64 per algorithm, oldest first', async () => {
    const { m, clock } = await openGcm({ rotation: { maxRetainedKeys: 0 } });
    const first = primary(m).id;
    for (let i = 0; i < 66; i++) {
      clock.advance(10);
      await m.rotate();
    }
    const infos = m.keys();
    expect(infos.filter((k) => k.state === 'retired')).toHaveLength(64);
    expect(infos.some((k) => k.id === first)).toBe(false);
    await expect(m.getDecryptionKey(first)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
  });
});

describe('lookup', () => {
  it('getDecryptionKey re-reads the store once for an unknown id, then ERR_KEY_NOT_FOUND', async () => {
    const store = new CountingStore();
    const kek = rawKek();
    // No re-read rate limit here (0): each miss re-reads (the limit is tested in security.test.ts).
    const a = await KeyManager.open({
      store,
      kek,
      watch: false,
      algorithms: ['aes-256-gcm'],
      missReloadIntervalMs: 0,
    });
    const b = await KeyManager.open({ store, kek, watch: false, algorithms: ['aes-256-gcm'] });
    await b.rotate();
    const fresh = await b.acquireEncryptionKey();
    const loads = store.loads;
    expect((await a.getDecryptionKey(fresh.id)).material).toEqual(fresh.material);
    expect(store.loads).toBe(loads + 1);
    const unknown = (fresh.id + 1) >>> 0;
    await expect(a.getDecryptionKey(unknown)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
    expect(store.loads).toBe(loads + 2);
    await expect(a.getDecryptionKey(fresh.id, 'fernet')).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
  });

  it('refresh() picks up a rotation made by another manager without a watch', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const a = await KeyManager.open({ store, kek, watch: false });
    const b = await KeyManager.open({ store, kek, watch: false });
    await b.rotate({ algorithm: 'fernet' });
    expect(a.decryptionKeys('fernet')).toHaveLength(1);
    await a.refresh();
    expect(a.version).toBe(b.version);
    expect(a.decryptionKeys('fernet').map((k) => k.id)).toEqual(b.decryptionKeys('fernet').map((k) => k.id));
  });

  it('a key of another algorithm is not found under the asked one', async () => {
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek() });
    const f = await m.acquireEncryptionKey('fernet');
    await expect(m.getDecryptionKey(f.id, 'aes-256-gcm')).rejects.toMatchObject({
      code: 'ERR_KEY_NOT_FOUND',
    });
    expect((await m.getDecryptionKey(f.id, 'fernet')).algorithm).toBe('fernet');
  });

  it('watch: a manager sees another manager rotate and emits a remote rotation', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const a = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'] });
    const b = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'] });
    const seen: RotatedEvent[] = [];
    a.on('rotated', (e) => seen.push(e));
    await b.rotate();
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([
      expect.objectContaining({ trigger: 'remote', keyId: primary(b).id, version: b.version }),
    ]);
    expect(primary(a).id).toBe(primary(b).id);
    await a.close();
    await expect(a.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEY_STATE' });
  });
});

describe('Fernet keys', () => {
  it('imports a Python-style Fernet key as decrypt-only or primary, once', async () => {
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek() });
    const legacy = Fernet.generateKey();
    const token = new Fernet(legacy).encrypt('from python');
    const id = await m.importFernetKey(legacy);
    expect(m.keys().find((k) => k.id === id)).toMatchObject({ state: 'decrypt-only', imported: true });
    const v = m.version;
    expect(await m.importFernetKey(legacy)).toBe(id);
    expect(m.version).toBe(v);
    const key = await m.getDecryptionKey(id, 'fernet');
    expect(new TextDecoder().decode(new Fernet(key.material).decrypt(token))).toBe('from python');
    expect(m.decryptionKeys('fernet').map((k) => k.id)).toEqual([primary(m, 'fernet').id, id]);
    expect(await m.importFernetKey(legacy, { primary: true })).toBe(id);
    expect(primary(m, 'fernet').id).toBe(id);
    await expect(m.importFernetKey('not a key')).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});

describe('Fernet keys from Python', () => {
  it('a key and token made by Python cryptography decrypt through the imported key', async (ctx) => {
    if (!havePythonCryptography()) return ctx.skip();
    const [key, token] = execFileSync(
      'python3',
      [
        '-c',
        'from cryptography.fernet import Fernet;k=Fernet.generate_key();print(k.decode());print(Fernet(k).encrypt(b"legacy").decode())',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek() });
    const id = await m.importFernetKey(key!);
    const opened = m
      .decryptionKeys('fernet')
      .map((k) => {
        try {
          return { id: k.id, text: new TextDecoder().decode(new Fernet(k.material).decrypt(token!)) };
        } catch {
          return undefined;
        }
      })
      .filter((x) => x !== undefined);
    expect(opened).toEqual([{ id, text: 'legacy' }]);
    // KeyInfo never carries material.
    for (const info of m.keys()) expect(Object.values(info).some((v) => v instanceof Uint8Array)).toBe(false);
  });
});

describe('KEK', () => {
  it('rekey re-seals under a new KEK; the old KEK then fails with ERR_DECRYPTION_FAILED', async () => {
    const store = new MemoryKeyStore();
    const oldKek = rawKek();
    const m = await KeyManager.open({ store, kek: oldKek });
    const k = await m.acquireEncryptionKey();
    const before = (await store.load('default')) as StoredKeyring;
    await m.rekey({ passphrase: 'new passphrase', iterations: 2000 });
    const after = (await store.load('default')) as StoredKeyring;
    expect(after.kek.type).toBe('passphrase');
    const sealedBefore = new Map(before.keys.map((x) => [x.id, x.sealed]));
    for (const x of after.keys) expect(x.sealed).not.toBe(sealedBefore.get(x.id));
    await expect(KeyManager.open({ store, kek: oldKek })).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    const reopened = await KeyManager.open({
      store,
      kek: { passphrase: 'new passphrase', iterations: 2000 },
    });
    expect((await reopened.getDecryptionKey(k.id)).material).toEqual(k.material);
    // The manager that rekeyed keeps working under the new KEK.
    await m.rotate();
    expect(m.version).toBe(after.version + 1);
  });

  it('reads a raw KEK from an environment variable, as hex or base64', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const store = new MemoryKeyStore();
    process.env.MESH_TEST_KEK_HEX = Buffer.from(bytes).toString('hex');
    process.env.MESH_TEST_KEK_B64 = `${Buffer.from(bytes).toString('base64')}\n`;
    try {
      const a = await KeyManager.open({ store, kek: { env: 'MESH_TEST_KEK_HEX' } });
      const b = await KeyManager.open({ store, kek: { env: 'MESH_TEST_KEK_B64' } });
      const c = await KeyManager.open({ store, kek: { key: bytes } });
      expect(b.version).toBe(a.version);
      expect(c.keys()).toEqual(a.keys());
      await expect(KeyManager.open({ store, kek: { env: 'MESH_TEST_KEK_UNSET' } })).rejects.toMatchObject({
        code: 'ERR_CONFIG_INVALID',
      });
    } finally {
      delete process.env.MESH_TEST_KEK_HEX;
      delete process.env.MESH_TEST_KEK_B64;
    }
  });
});
