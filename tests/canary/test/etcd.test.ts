/**
 * Canary test of `@mesh/keystore-etcd`, against a real etcd (started on a free loopback port by
 * `@mesh/local-etcd`, stopped by its pid): a key manager and a facade on an etcd keyring sealed under a
 * canary KEK, a rotation through the fleet coordinator, and the failures a fleet meets (the wrong KEK, a
 * tampered or foreign value in etcd, an unreachable etcd, a document over the size bound). Nothing thrown,
 * logged, warned or reported as a coordinator event or metric holds a canary, and etcd itself holds none of
 * the key material or plaintexts (only the sealed keyring).
 */
import { createEncryption } from '@mesh/encryption';
import { KeyManager } from '@mesh/keys';
import { EtcdKeyStore, listFleetNodes, RotationCoordinator } from '@mesh/keystore-etcd';
import { EtcdProcess } from '@mesh/local-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Canaries, expectClean, expectPrintsClean, Probe } from './scanner.js';

const canaries = new Canaries();
const probe = new Probe(canaries);
const kek = canaries.bytes('etcd KEK');
const wrongKek = canaries.bytes('wrong etcd KEK');
const plaintext = canaries.text('etcd plaintext', 48);
const context = canaries.text('etcd context');

let etcd: EtcdProcess;
let raw: Etcd3;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  etcd = await EtcdProcess.start();
  raw = new Etcd3({ hosts: etcd.endpoint });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  raw?.close();
  await etcd?.stop();
});

const storeOf = (extra: Record<string, unknown> = {}) => {
  const store = new EtcdKeyStore({
    endpoints: etcd.endpoint,
    prefix: 'canary/',
    callTimeoutMs: 3_000,
    ...extra,
  });
  closers.push(() => store.close());
  return store;
};

describe('keystore-etcd', () => {
  it('a keyring, a facade and a fleet rotation on etcd; the failures a fleet meets', async () => {
    const store = storeOf();
    const keys = await probe.succeeds('open on etcd', () =>
      KeyManager.open({ store, kek: { key: kek }, name: 'orders' }),
    );
    closers.push(() => keys.close());
    const events: unknown[] = [];
    const metrics: unknown[] = [];
    const fleet = await probe.succeeds('start the coordinator', () =>
      RotationCoordinator.start({ keys, store, nodeId: 'canary-1', onMetric: (...m) => metrics.push(m) }),
    );
    closers.push(() => fleet.close());
    for (const event of [
      'leader',
      'follower',
      'staged',
      'promoted',
      'stage-stuck',
      'rotation-failed',
      'degraded',
      'healthy',
    ]) {
      fleet.on(event as never, (e: unknown) => events.push(e));
    }
    const promoted = new Promise((resolve) => fleet.on('promoted', resolve));
    await probe.succeeds('request a rotation', () => fleet.requestRotation('aes-256-gcm'));
    await promoted;
    expect(keys.keys().filter((k) => k.algorithm === 'aes-256-gcm').length).toBeGreaterThanOrEqual(2);
    for (const info of keys.keys()) {
      if (info.state !== 'retired')
        canaries.add(`etcd key ${info.id}`, (await keys.getDecryptionKey(info.id)).material);
    }

    const enc = await probe.succeeds('facade on etcd', () =>
      createEncryption({ keyManager: keys, service: 'orders' }),
    );
    closers.push(() => enc.close());
    const sealed = await probe.succeeds('encrypt', () => enc.encrypt(plaintext, { context }));
    await probe.succeeds('decrypt', () => enc.decrypt(sealed, { context }));
    await probe.fails('decrypt, wrong context', () => enc.decrypt(sealed, { context: 'x' }));

    await probe.fails('open with the wrong KEK', () =>
      KeyManager.open({ store: storeOf(), kek: { key: wrongKek }, name: 'orders' }),
    );
    const value = (await raw.get('canary/keyrings/orders').string())!;
    await raw.put('canary/keyrings/tampered').value(value.replace('"name":"orders"', '"name":"tampered"'));
    await probe.fails('open a moved (tampered) keyring', () =>
      KeyManager.open({ store: storeOf(), kek: { key: kek }, name: 'tampered', watch: false }),
    );
    await raw.put('canary/keyrings/foreign').value(`${plaintext} is not a keyring`);
    await probe.fails('open a value that is not a keyring', () =>
      KeyManager.open({ store: storeOf(), kek: { key: kek }, name: 'foreign', watch: false }),
    );
    await probe.fails('a document over maxDocumentBytes', () =>
      KeyManager.open({
        store: storeOf({ maxDocumentBytes: 64 }),
        kek: { key: kek },
        name: 'orders',
        watch: false,
      }),
    );
    const unreachable = new EtcdKeyStore({ endpoints: 'http://127.0.0.1:9', callTimeoutMs: 300 });
    closers.push(() => unreachable.close());
    await probe.fails('an unreachable etcd', () =>
      KeyManager.open({ store: unreachable, kek: { key: kek }, name: 'orders' }),
    );

    await raw.delete().key('canary/keyrings/foreign'); // our own bad value, not a leak
    const nodes = await probe.succeeds('list fleet nodes', () => listFleetNodes(store));
    expectPrintsClean(
      canaries,
      'store, keys, fleet, nodes, facade',
      store,
      keys,
      fleet,
      fleet.health(),
      nodes,
      enc,
    );
    expectClean(canaries, 'coordinator events and metrics', ...events, ...metrics);
    // etcd holds only sealed material: no key, KEK, plaintext or context in any value.
    const all = await raw.getAll().prefix('canary/').buffers();
    expectClean(canaries, 'etcd contents', ...Object.values(all).map((b) => Uint8Array.from(b)));
  });
});
