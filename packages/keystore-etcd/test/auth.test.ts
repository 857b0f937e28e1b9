import { KeyManager, KeyStoreError } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKeyStore } from '../src/index.js';
import { kek, newName } from './helpers/util.js';

let etcd: EtcdProcess;
const password = `pw-${newName()}`;

beforeAll(async () => {
  etcd = await EtcdProcess.start();
  // etcd's auth: a root user with the root role must exist before `auth enable`.
  const admin = new Etcd3({ hosts: etcd.endpoint });
  await admin.role('root').create();
  await admin.user('root').create(password);
  await admin.user('root').addRole('root');
  await admin.auth.authEnable({});
  admin.close();
});
afterAll(async () => {
  await etcd?.stop();
});

describe('etcd user/password auth passes through', () => {
  it('works with the right credentials; fails typed (no hang) without or with wrong ones', async () => {
    const name = newName();
    const key = kek();
    const store = new EtcdKeyStore({
      endpoints: etcd.endpoint,
      auth: { username: 'root', password },
      callTimeoutMs: 2_000,
    });
    const keys = await KeyManager.open({ store, kek: { key }, name });
    await keys.rotate();
    expect(keys.version).toBeGreaterThan(1);
    for (const auth of [undefined, { username: 'root', password: 'wrong' }]) {
      const other = new EtcdKeyStore({
        endpoints: etcd.endpoint,
        callTimeoutMs: 2_000,
        ...(auth && { auth }),
      });
      const err = await other.load(name).catch((e) => e);
      expect(err).toBeInstanceOf(KeyStoreError);
      expect(err.code).toBe('ERR_KEYSTORE_UNAVAILABLE');
      // The operator's mistake is named (etcd's own words), never the password.
      expect(err.message).toMatch(/user name is empty|authentication failed|permission denied|invalid/i);
      expect(err.message).not.toContain(password);
      await other.close();
    }
    await keys.close();
    await store.close();
  });
});
