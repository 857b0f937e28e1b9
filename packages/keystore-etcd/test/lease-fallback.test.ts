/**
 * Issue 11 availability with a real etcd: a promotion reaches a node, then etcd is frozen (SIGSTOP) before
 * that node ever wrote a usage lease for the new primary. The node keeps encrypting on the lease it holds on
 * the previous primary (now decrypt-only); another node decrypts all of it; once etcd is back the node moves
 * to the new primary.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type ActiveKey, KeyManager, type LeaseFallbackEvent } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { expect, it } from 'vitest';
import { EtcdKeyStore } from '../src/index.js';
import { eventually, kek, newName } from './helpers/util.js';

function seal(key: ActiveKey, text: string) {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key.material, iv);
  const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  return { keyId: key.id, iv, body, tag: c.getAuthTag(), text };
}

function open(key: ActiveKey, m: ReturnType<typeof seal>): string {
  const d = createDecipheriv('aes-256-gcm', key.material, m.iv);
  d.setAuthTag(m.tag);
  return Buffer.concat([d.update(m.body), d.final()]).toString('utf8');
}

it('a node whose etcd freezes right after a promotion keeps encrypting on the previous primary; another node decrypts it', async () => {
  const etcd = await EtcdProcess.start();
  const stores: EtcdKeyStore[] = [];
  const managers: KeyManager[] = [];
  try {
    const key = kek();
    const name = newName();
    const node = async () => {
      const store = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix: 'lease/', callTimeoutMs: 500 });
      stores.push(store);
      const m = await KeyManager.open({
        store,
        kek: { key },
        name,
        algorithms: ['aes-256-gcm'],
        rotation: { usageLeaseSize: 100 },
        automaticRotation: false,
        rotationWaitMs: 1_000,
      });
      managers.push(m);
      return m;
    };
    const leader = await node();
    const sender = await node();
    const oldId = (await sender.acquireEncryptionKey()).id; // the sender leases the current primary
    const fallbacks: LeaseFallbackEvent[] = [];
    sender.on('lease-fallback', (e) => fallbacks.push(e));

    const { keyId: newId } = await leader.stage('aes-256-gcm');
    await eventually(() => sender.version >= leader.version); // the sender acked the staged key
    await leader.promote(newId);
    await eventually(() => sender.keys().find((k) => k.state === 'primary')?.id === newId);

    etcd.freeze();
    const sent: Array<ReturnType<typeof seal>> = [];
    for (let i = 0; i < 20; i++) sent.push(seal(await sender.acquireEncryptionKey(), `message ${i}`));
    expect(sent.every((m) => m.keyId === oldId)).toBe(true);
    expect(fallbacks.map((e) => [e.keyId, e.primaryKeyId])).toEqual([[oldId, newId]]);
    expect((fallbacks[0]!.error as { code?: string }).code).toBe('ERR_KEYSTORE_UNAVAILABLE');
    expect(sender.stats().leaseFallbacks).toBe(20);
    etcd.thaw();

    for (const m of sent) expect(open(await leader.getDecryptionKey(m.keyId, 'aes-256-gcm'), m)).toBe(m.text);
    // etcd is back: the retried lease write lands and encryptions move to the new primary, within the lease.
    await eventually(async () => (await sender.acquireEncryptionKey()).id === newId);
    const old = sender.keys().find((k) => k.id === oldId)!;
    expect(old.encryptions).toBeLessThanOrEqual(old.reservedEncryptions);
    const after = seal(await sender.acquireEncryptionKey(), 'after');
    expect(after.keyId).toBe(newId);
    expect(open(await leader.getDecryptionKey(after.keyId), after)).toBe('after');
  } finally {
    etcd.thaw();
    for (const m of managers) await m.close();
    for (const s of stores) await s.close();
    await etcd.stop();
  }
}, 60_000);
