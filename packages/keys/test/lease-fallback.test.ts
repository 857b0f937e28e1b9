/**
 * Usage-lease fallback: a node whose store becomes unreachable right after a promotion reached it keeps
 * encrypting with the remaining uses of the lease it already holds on the previous primary (decrypt-only,
 * still held by every node), never beyond that lease, and moves to the new primary once the store heals.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  KeyManager,
  type KeyStore,
  KeyStoreError,
  MemoryKeyStore,
  type StoredKeyring,
} from '../src/index.js';
import { rawKek } from './helpers.js';

const gcm = ['aes-256-gcm' as const];
const rotation = { maxEncryptionsPerKey: 1_000, usageLeaseSize: 10 };

/** A real memory store in front of which writes can be made to fail as an unreachable etcd does. */
class FlakyStore implements KeyStore {
  down = false;
  failedWrites = 0;
  constructor(readonly inner: MemoryKeyStore) {}
  load(name: string) {
    return this.inner.load(name);
  }
  async compareAndSwap(name: string, expected: number | undefined, next: StoredKeyring) {
    if (this.down) {
      this.failedWrites++;
      throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'etcd unreachable (injected)');
    }
    return this.inner.compareAndSwap(name, expected, next);
  }
  watch(name: string, onChange: () => void) {
    return this.inner.watch(name, onChange);
  }
}

/** A leader and a follower on one store; the follower's writes fail from the moment it applies a promotion. */
async function fleet() {
  const inner = new MemoryKeyStore();
  const flaky = new FlakyStore(inner);
  const kek = rawKek();
  const follower = await KeyManager.open({
    store: flaky,
    kek,
    algorithms: gcm,
    rotation,
    automaticRotation: false,
    rotationWaitMs: 200,
  });
  const leader = await KeyManager.open({
    store: inner,
    kek,
    algorithms: gcm,
    rotation,
    automaticRotation: false,
  });
  const oldId = follower.keys().find((k) => k.state === 'primary')!.id;
  const promote = async () => {
    const arrived = new Promise<void>((resolve) =>
      follower.on('rotated', (e) => {
        if (e.trigger !== 'remote') return;
        flaky.down = true; // etcd goes away right after the promotion reached this node
        resolve();
      }),
    );
    const { keyId } = await leader.stage('aes-256-gcm');
    await leader.promote(keyId);
    await arrived;
    return keyId;
  };
  return { inner, flaky, follower, leader, oldId, promote };
}

const info = (m: KeyManager, id: number) => m.keys().find((k) => k.id === id)!;

describe('usage-lease fallback when the store is unavailable', () => {
  it('keeps encrypting on the old primary within its lease, then moves to the new primary once the store heals', async () => {
    const { flaky, follower, leader, oldId, promote } = await fleet();
    const fallbacks: Array<{ keyId: number; primaryKeyId: number; code: unknown }> = [];
    follower.on('lease-fallback', (e) =>
      fallbacks.push({ keyId: e.keyId, primaryKeyId: e.primaryKeyId, code: (e.error as KeyStoreError).code }),
    );
    for (let i = 0; i < 2; i++) expect((await follower.acquireEncryptionKey()).id).toBe(oldId);
    const newId = await promote();
    expect(info(follower, oldId).state).toBe('decrypt-only');

    // The store is down: the first use of the new primary needs a lease write, which fails; the node goes on
    // with the 8 uses left of its lease on the old key.
    for (let i = 0; i < 3; i++) expect((await follower.acquireEncryptionKey()).id).toBe(oldId);
    expect(flaky.failedWrites).toBeGreaterThanOrEqual(1);
    expect(fallbacks).toEqual([{ keyId: oldId, primaryKeyId: newId, code: 'ERR_KEYSTORE_UNAVAILABLE' }]);
    expect(follower.stats().leaseFallbacks).toBe(3);
    // Callers inside the retry interval do not hit the store again (a down etcd is not hammered).
    const failedSoFar = flaky.failedWrites;
    expect((await follower.acquireEncryptionKey()).id).toBe(oldId);
    expect(flaky.failedWrites).toBe(failedSoFar);

    // Heal. After the retry interval the next caller still gets the old key at once (it does not wait on the
    // store) and starts the primary's lease write in the background; once that lands, the new primary.
    flaky.down = false;
    await sleep(700);
    expect((await follower.acquireEncryptionKey()).id).toBe(oldId);
    const deadline = performance.now() + 10_000;
    while (info(follower, newId).reservedEncryptions === 0 && performance.now() < deadline) await sleep(20);
    expect((await follower.acquireEncryptionKey()).id).toBe(newId);
    const old = info(follower, oldId);
    expect(old.encryptions).toBe(7); // switched back by the retry, with 3 uses of the old lease left unused
    expect(old.encryptions).toBeLessThanOrEqual(old.reservedEncryptions);
    expect(info(leader, oldId).reservedEncryptions).toBe(10); // nothing was taken that the store did not count
    expect(follower.stats().leaseFallbacks).toBe(5);
    expect((await follower.acquireEncryptionKey()).id).toBe(newId);
    // Whatever the follower encrypted under the old key, the leader still decrypts.
    expect((await leader.getDecryptionKey(oldId)).material).toEqual(
      (await follower.getDecryptionKey(oldId)).material,
    );
    await follower.close();
    await leader.close();
  });

  it('never goes past the old lease: once it is used up, ERR_KEYSTORE_UNAVAILABLE as before', async () => {
    const { follower, leader, oldId, promote } = await fleet();
    for (let i = 0; i < 3; i++) await follower.acquireEncryptionKey();
    await promote();
    for (let i = 0; i < 7; i++) expect((await follower.acquireEncryptionKey()).id).toBe(oldId);
    await expect(follower.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    await expect(follower.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    expect(info(follower, oldId).encryptions).toBe(10);
    expect(follower.stats().leaseFallbacks).toBe(7);
    await follower.close();
    await leader.close();
  });

  it('without a lease on the previous primary there is no fallback: ERR_KEYSTORE_UNAVAILABLE', async () => {
    const { follower, leader, promote } = await fleet();
    let events = 0;
    follower.on('lease-fallback', () => events++);
    await promote(); // this node never encrypted before: it holds no lease to fall back on
    await expect(follower.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    expect(events).toBe(0);
    expect(follower.stats().leaseFallbacks).toBe(0);
    await follower.close();
    await leader.close();
  });

  it('a write failure that is not unavailability (a typed refusal) is not papered over', async () => {
    const inner = new MemoryKeyStore();
    const kek = rawKek();
    let refuse = false;
    const store: KeyStore = {
      load: (n) => inner.load(n),
      compareAndSwap: async (n, e, next) => {
        if (refuse) throw new KeyStoreError('ERR_KEYSTORE_CORRUPT', 'refused (injected)');
        return inner.compareAndSwap(n, e, next);
      },
      watch: (n, cb) => inner.watch(n, cb),
    };
    const follower = await KeyManager.open({
      store,
      kek,
      algorithms: gcm,
      rotation,
      automaticRotation: false,
    });
    const leader = await KeyManager.open({
      store: inner,
      kek,
      algorithms: gcm,
      rotation,
      automaticRotation: false,
    });
    await follower.acquireEncryptionKey();
    const arrived = new Promise<void>((r) => follower.on('rotated', () => r()));
    await leader.promote((await leader.stage('aes-256-gcm')).keyId);
    await arrived;
    refuse = true;
    await expect(follower.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    await follower.close();
    await leader.close();
  });
});
