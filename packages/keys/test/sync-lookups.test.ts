/**
 * The two synchronous lookups hot paths use to skip an `await` per message: `tryAcquireEncryptionKey` must
 * count every use exactly as `acquireEncryptionKey` does (so usage limits and rotation hold whichever one a
 * caller takes), and `cachedDecryptionKey` must judge the keyring as it is at that moment (a key retired
 * after an earlier successful lookup is refused, not served from anything remembered).
 */
import { describe, expect, it } from 'vitest';
import { type KeyInfo, KeyManager, type RotationDueEvent } from '../src/index.js';
import { CountingStore, FakeClock, rawKek } from './helpers.js';

const HOUR = 3_600_000;

async function open(options: Partial<Parameters<typeof KeyManager.open>[0]> = {}) {
  const clock = new FakeClock();
  const store = new CountingStore();
  const kek = rawKek();
  const m = await KeyManager.open({
    store,
    kek,
    algorithms: ['aes-256-gcm'],
    clock: clock.fn,
    watch: false,
    ...options,
  });
  return { m, clock, store, kek };
}

const primary = (m: KeyManager): KeyInfo => m.keys().find((k) => k.state === 'primary')!;
const info = (m: KeyManager, id: number): KeyInfo => m.keys().find((k) => k.id === id)!;

describe('tryAcquireEncryptionKey', () => {
  it('takes a use only from a lease it holds; nothing is reserved when it returns undefined', async () => {
    const { m, store } = await open({ rotation: { maxEncryptionsPerKey: 100, usageLeaseSize: 7 } });
    const id = primary(m).id;
    // No lease yet: getting one is a store write, so the synchronous path declines and counts nothing.
    expect(m.tryAcquireEncryptionKey()).toBeUndefined();
    expect(info(m, id).encryptions).toBe(0);
    const writes = store.writes;
    expect((await m.acquireEncryptionKey()).id).toBe(id); // writes a lease of 7, takes 1
    expect(store.writes).toBe(writes + 1);
    for (let i = 0; i < 6; i++) expect(m.tryAcquireEncryptionKey()?.id).toBe(id);
    expect(m.tryAcquireEncryptionKey()).toBeUndefined(); // lease used up
    expect(info(m, id).encryptions).toBe(7);
    expect(info(m, id).reservedEncryptions).toBe(7);
    expect(store.writes).toBe(writes + 1); // the synchronous path never wrote
  });

  it('mixed with acquireEncryptionKey, no key is handed out more than maxEncryptionsPerKey times', async () => {
    const { m } = await open({ rotation: { maxEncryptionsPerKey: 100, usageLeaseSize: 7 } });
    const counts = new Map<number, number>();
    let synchronous = 0;
    for (let i = 0; i < 250; i++) {
      let k = m.tryAcquireEncryptionKey();
      if (k === undefined) k = await m.acquireEncryptionKey();
      else synchronous++;
      counts.set(k.id, (counts.get(k.id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual([100, 100, 50]);
    expect(synchronous).toBeGreaterThan(200); // most uses came from the lease without an await
    for (const [id, n] of counts) {
      expect(info(m, id).encryptions).toBe(n);
      expect(info(m, id).reservedEncryptions).toBeLessThanOrEqual(100);
    }
  });

  it('declines when an interval rotation is due, so the caller rotates first', async () => {
    const { m, clock } = await open({ rotation: { interval: '24h' } });
    const first = await m.acquireEncryptionKey();
    expect(m.tryAcquireEncryptionKey()?.id).toBe(first.id);
    clock.advance(24 * HOUR);
    expect(m.tryAcquireEncryptionKey()).toBeUndefined();
    const second = await m.acquireEncryptionKey();
    expect(second.id).not.toBe(first.id);
    expect(info(m, first.id).state).toBe('decrypt-only');
  });

  it('with automatic rotation off, keeps encrypting on a due key and says rotation-due', async () => {
    const { m, clock } = await open({ rotation: { interval: '24h' }, automaticRotation: false });
    const due: RotationDueEvent[] = [];
    m.on('rotation-due', (e) => due.push(e));
    const first = await m.acquireEncryptionKey();
    clock.advance(25 * HOUR);
    expect(m.tryAcquireEncryptionKey()?.id).toBe(first.id);
    expect(due).toEqual([{ algorithm: 'aes-256-gcm', trigger: 'interval', keyId: first.id }]);
  });

  it('starts retention once a deadline passed, like acquireEncryptionKey', async () => {
    const { m, clock } = await open({ rotation: { retention: '1h' } });
    const retired: number[] = [];
    m.on('retired', (e) => retired.push(e.keyId));
    const old = primary(m).id;
    await m.rotate();
    await m.acquireEncryptionKey(); // a lease on the new primary
    expect(m.tryAcquireEncryptionKey()).toBeDefined();
    clock.advance(HOUR);
    expect(m.tryAcquireEncryptionKey()).toBeDefined(); // still serves, and schedules the retention write
    await new Promise((r) => setTimeout(r, 20));
    expect(retired).toEqual([old]);
    expect(info(m, old).state).toBe('retired');
  });

  it('refuses like acquireEncryptionKey: unknown algorithm, closed manager', async () => {
    const { m } = await open();
    expect(() => m.tryAcquireEncryptionKey('fernet')).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
    await m.close();
    expect(() => m.tryAcquireEncryptionKey()).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
  });
});

describe('cachedDecryptionKey', () => {
  it('answers from the keyring in memory: the same key as getDecryptionKey, undefined for an unknown id', async () => {
    const { m, store } = await open({ missReloadIntervalMs: 0 });
    const k = await m.acquireEncryptionKey();
    expect(m.cachedDecryptionKey(k.id)).toBe(await m.getDecryptionKey(k.id));
    expect(m.cachedDecryptionKey(k.id, 'aes-256-gcm')).toBe(k);
    const loads = store.loads;
    expect(m.cachedDecryptionKey((k.id + 1) >>> 0)).toBeUndefined();
    expect(store.loads).toBe(loads); // no store read: that is getDecryptionKey's job
    expect(() => m.cachedDecryptionKey(k.id, 'fernet')).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });

  it('a key of another algorithm is ERR_KEY_NOT_FOUND, as from getDecryptionKey', async () => {
    const { m } = await open({ algorithms: ['aes-256-gcm', 'fernet'] });
    const f = await m.acquireEncryptionKey('fernet');
    expect(() => m.cachedDecryptionKey(f.id, 'aes-256-gcm')).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_NOT_FOUND' }),
    );
  });

  it('a key retired after a successful lookup is refused at once (ERR_KEY_STATE), decrypt-only still served', async () => {
    const { m, clock } = await open({ rotation: { retention: '1h' } });
    const old = await m.acquireEncryptionKey();
    expect(m.cachedDecryptionKey(old.id)).toBe(old);
    await m.rotate();
    expect(info(m, old.id).state).toBe('decrypt-only');
    expect(m.cachedDecryptionKey(old.id)).toBe(old);
    clock.advance(HOUR);
    await m.maintain();
    expect(info(m, old.id).state).toBe('retired');
    expect(() => m.cachedDecryptionKey(old.id)).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
    await expect(m.getDecryptionKey(old.id)).rejects.toMatchObject({ code: 'ERR_KEY_STATE' });
  });

  it('a retirement made by another manager is refused once this one has read it', async () => {
    const { m, clock, store, kek } = await open({ rotation: { retention: '1h' } });
    const other = await KeyManager.open({
      store,
      kek,
      algorithms: ['aes-256-gcm'],
      clock: clock.fn,
      watch: false,
      rotation: { retention: '1h' },
    });
    const old = await m.acquireEncryptionKey();
    expect(m.cachedDecryptionKey(old.id)).toBe(old);
    await other.rotate();
    clock.advance(HOUR);
    await other.maintain();
    await m.refresh();
    expect(() => m.cachedDecryptionKey(old.id)).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
    await other.close();
  });

  it('a closed manager refuses (ERR_KEY_STATE)', async () => {
    const { m } = await open();
    const k = await m.acquireEncryptionKey();
    await m.close();
    expect(() => m.cachedDecryptionKey(k.id)).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
  });
});
