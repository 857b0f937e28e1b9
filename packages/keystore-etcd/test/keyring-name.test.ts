/**
 * Someone with write access to the etcd prefix but no KEK copies the value of `keyrings/<payments>` over
 * `keyrings/<orders>`. Both keyrings are sealed under one KEK, so the copy verifies (its kekCheck, MAC and
 * sealed blobs bind the name written inside it). A manager of `orders` must refuse it rather than serve the
 * `payments` keys: on open, and when a running manager reads it.
 */
import { KeyManager } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKeyStore } from '../src/index.js';
import { kek, newName } from './helpers/util.js';

let etcd: EtcdProcess;
const stores: EtcdKeyStore[] = [];
const open = () => {
  const s = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix: 'names/', callTimeoutMs: 2_000 });
  stores.push(s);
  return s;
};

beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await etcd?.stop();
});

/** The storage attacker's move: the raw etcd value of one keyring written under another keyring's key. */
async function copyValue(from: string, to: string): Promise<void> {
  const c = new Etcd3({ hosts: etcd.endpoint });
  try {
    const value = await c.get(`names/keyrings/${from}`).string();
    expect(value).not.toBeNull();
    await c.put(`names/keyrings/${to}`).value(value!);
  } finally {
    c.close();
  }
}

async function twoKeyrings() {
  const key = kek(); // one KEK for both keyrings
  const paymentsName = newName();
  const ordersName = newName();
  const payments = await KeyManager.open({ store: open(), kek: { key }, name: paymentsName, watch: false });
  // A few versions ahead, so the copy is also newer than anything the orders managers have seen.
  for (let i = 0; i < 3; i++) await payments.rotate({ algorithm: 'aes-256-gcm' });
  const paymentsKey = await payments.acquireEncryptionKey('aes-256-gcm');
  return { key, paymentsName, ordersName, payments, paymentsKey };
}

describe("an etcd value copied to another keyring's key", () => {
  it('is refused by a manager that opens the keyring afterwards', async () => {
    const { key, paymentsName, ordersName, payments } = await twoKeyrings();
    const first = await KeyManager.open({ store: open(), kek: { key }, name: ordersName, watch: false });
    await first.close();
    await copyValue(paymentsName, ordersName);
    const opened = KeyManager.open({ store: open(), kek: { key }, name: ordersName, watch: false });
    await expect(opened).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    await expect(opened).rejects.toThrow(paymentsName);
    await payments.close();
  });

  it('is refused by a running manager, which keeps serving its own keys', async () => {
    const { key, paymentsName, ordersName, payments, paymentsKey } = await twoKeyrings();
    const orders = await KeyManager.open({
      store: open(),
      kek: { key },
      name: ordersName,
      missReloadIntervalMs: 0,
    });
    const own = await orders.acquireEncryptionKey('aes-256-gcm');
    await copyValue(paymentsName, ordersName);
    await expect(orders.refresh()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_CORRUPT' });
    expect((await orders.acquireEncryptionKey('aes-256-gcm')).id).toBe(own.id);
    expect(orders.keys().map((k) => k.id)).not.toContain(paymentsKey.id);
    await orders.close();
    await payments.close();
  });
});
