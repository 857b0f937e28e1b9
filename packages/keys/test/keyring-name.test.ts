/**
 * A document is served only under its own keyring name. A storage attacker who can write the store (an etcd
 * key, a shared directory) but holds no KEK must not be able to make keyring `orders` serve the keys of
 * keyring `payments` sealed under the same KEK: `orders`' services would then encrypt under keys the
 * `payments` services hold, and open `payments`' envelopes. Sealed material, `kekCheck` and the MAC bind the
 * name written inside the document, so the manager compares that name with the keyring it opened.
 */
import { describe, expect, it } from 'vitest';
import { KeyManager, type KeyStore, MemoryKeyStore, type StoredKeyring } from '../src/index.js';
import { rawKek } from './helpers.js';

const gcm = ['aes-256-gcm' as const];

/**
 * A real memory store in front of which a storage attacker has copied one keyring's document over
 * another's, as a copy of the etcd value of `keyrings/payments` to `keyrings/orders` would: while `swapped`,
 * reading `orders` returns what `payments` holds. Writes and watches go to the real store.
 */
class SwappingStore implements KeyStore {
  swapped = false;
  constructor(readonly inner: MemoryKeyStore) {}
  load(name: string): Promise<StoredKeyring | undefined> {
    return this.inner.load(this.swapped && name === 'orders' ? 'payments' : name);
  }
  compareAndSwap(name: string, expected: number | undefined, next: StoredKeyring): Promise<boolean> {
    return this.inner.compareAndSwap(name, expected, next);
  }
  watch(name: string, onChange: () => void): () => void {
    return this.inner.watch(name, onChange);
  }
}

async function twoKeyrings() {
  const inner = new MemoryKeyStore();
  const store = new SwappingStore(inner);
  const kek = rawKek(); // one KEK for both keyrings
  const payments = await KeyManager.open({ store: inner, kek, name: 'payments', algorithms: gcm });
  // A few versions ahead of `orders`, so that the copy is also newer than anything `orders` has seen.
  for (let i = 0; i < 3; i++) await payments.rotate({ algorithm: 'aes-256-gcm' });
  const paymentsKey = await payments.acquireEncryptionKey('aes-256-gcm');
  return { inner, store, kek, payments, paymentsKey };
}

describe('a keyring document is served only under its own name', () => {
  it("a fresh manager refuses another keyring's document found under its name", async () => {
    const { store, kek, payments } = await twoKeyrings();
    store.swapped = true;
    const opened = KeyManager.open({ store, kek, name: 'orders', algorithms: gcm });
    await expect(opened).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    await expect(opened).rejects.toThrow(/payments/);
    await payments.close();
  });

  it('a running manager refuses it too and keeps serving its own keyring', async () => {
    const { store, kek, payments, paymentsKey } = await twoKeyrings();
    const orders = await KeyManager.open({
      store,
      kek,
      name: 'orders',
      algorithms: gcm,
      missReloadIntervalMs: 0,
    });
    const own = await orders.acquireEncryptionKey('aes-256-gcm');
    store.swapped = true;
    await expect(orders.refresh()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    const after = await orders.acquireEncryptionKey('aes-256-gcm');
    expect(after.id).toBe(own.id);
    expect(after.id).not.toBe(paymentsKey.id);
    expect(orders.keys().map((k) => k.id)).not.toContain(paymentsKey.id);
    // An id only the other keyring has makes the manager re-read the store, which still holds the copy.
    await expect(orders.getDecryptionKey(paymentsKey.id)).rejects.toMatchObject({
      code: 'ERR_KEYSTORE_CORRUPT',
    });
    store.swapped = false; // the operator restores the store: the manager reads its own keyring again
    await orders.refresh();
    await expect(orders.getDecryptionKey(paymentsKey.id)).rejects.toMatchObject({
      code: 'ERR_KEY_NOT_FOUND',
    });
    await orders.close();
    await payments.close();
  });
});
