import { KeyManager } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKeyStore, NodeRegistration, RotationCoordinator } from '../src/index.js';
import { eventually, kek, newName } from './helpers/util.js';

let etcd: EtcdProcess;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await etcd?.stop();
});

async function node(prefix: string, key: Uint8Array, nodeId: string, extra: Record<string, unknown> = {}) {
  const store = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix, callTimeoutMs: 2_000 });
  const keys = await KeyManager.open({ store, kek: { key }, automaticRotation: false });
  const metrics: Array<[string, number]> = [];
  const coordinator = await RotationCoordinator.start({
    keys,
    store,
    nodeId,
    ttlSeconds: 2,
    onMetric: (name, value) => metrics.push([name, value]),
    ...extra,
  });
  closers.push(async () => {
    await coordinator.close();
    await keys.close();
    await store.close();
  });
  return { store, keys, coordinator, metrics };
}

describe('RotationCoordinator', () => {
  it('requestRotation with primaryKeyId: dropped when that key is no longer the primary', async () => {
    const prefix = `${newName()}/`;
    const a = await node(prefix, kek(), 'a');
    await eventually(() => a.coordinator.isLeader);
    const staged: number[] = [];
    a.coordinator.on('staged', (e) => staged.push(e.keyId));
    const primary = a.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')!.id;
    await expect(a.coordinator.requestRotation(undefined, { primaryKeyId: primary })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    await a.coordinator.requestRotation('aes-256-gcm', { primaryKeyId: primary + 1 }); // stale
    await new Promise((r) => setTimeout(r, 1_500));
    expect(staged).toEqual([]);
    await a.coordinator.requestRotation('aes-256-gcm', { primaryKeyId: primary });
    await eventually(
      () => a.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')!.id !== primary,
    );
    expect(staged).toHaveLength(1);
  });

  it('withdrawRotationRequest: a request queued behind a rotation in progress starts no second rotation', async () => {
    const prefix = `${newName()}/`;
    const key = kek();
    const a = await node(prefix, key, 'a', { ackTimeoutMs: 300 });
    await eventually(() => a.coordinator.isLeader);
    const b = await node(prefix, key, 'b');
    const lagStore = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix, callTimeoutMs: 2_000 });
    const lagger = await NodeRegistration.start({
      store: lagStore,
      nodeId: 'lagger',
      ttlSeconds: 2,
      acks: { default: 1 },
    });
    const staged: number[] = [];
    a.coordinator.on('staged', (e) => staged.push(e.keyId));
    const promoted: number[] = [];
    a.coordinator.on('promoted', (e) => promoted.push(e.keyId));
    await b.coordinator.requestRotation('aes-256-gcm');
    await eventually(() => staged.length === 1);
    // A second request while the first rotation waits for the lagger, then withdrawn.
    await b.coordinator.requestRotation('aes-256-gcm');
    const requestKey = `${prefix}rotation-requests/default/b`;
    expect(await b.store.client.get(requestKey).string()).not.toBeNull();
    await b.coordinator.withdrawRotationRequest();
    expect(await b.store.client.get(requestKey).string()).toBeNull();
    await lagger.close();
    await lagStore.close();
    await eventually(() => promoted.includes(staged[0]!));
    // Past the leader's next maintenance rounds (1 s each): nothing else was staged.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(staged).toHaveLength(1);
    expect(a.keys.keys().filter((k) => k.state === 'staged')).toEqual([]);
  });

  it('a stage not every live node acks stays staged and reports the lagging node; promotes once it leaves', async () => {
    const prefix = `${newName()}/`;
    const key = kek();
    const a = await node(prefix, key, 'a', { ackTimeoutMs: 300 });
    const b = await node(prefix, key, 'b', { ackTimeoutMs: 300 });
    await eventually(() => a.coordinator.isLeader || b.coordinator.isLeader);
    const leader = a.coordinator.isLeader ? a : b;
    // A live registration that never applies anything newer: a node that is up but stuck.
    const lagStore = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix, callTimeoutMs: 2_000 });
    const lagger = await NodeRegistration.start({
      store: lagStore,
      nodeId: 'lagger',
      ttlSeconds: 2,
      acks: { default: 1 },
    });
    const stuck: Array<{ lagging: readonly string[]; keyId: number }> = [];
    leader.coordinator.on('stage-stuck', (e) => stuck.push(e));
    const promoted: number[] = [];
    leader.coordinator.on('promoted', (e) => promoted.push(e.keyId));
    const before = leader.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')!.id;
    await b.coordinator.requestRotation('aes-256-gcm'); // from any node; the leader does it
    await eventually(() => stuck.length > 0);
    expect(stuck[0]!.lagging).toEqual(['lagger']);
    const staged = stuck[0]!.keyId;
    // Never early: the primary is still the old key on both nodes, the new one is staged everywhere.
    for (const n of [a, b]) {
      await eventually(() => n.keys.keys().some((k) => k.id === staged && k.state === 'staged'));
      expect(n.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')!.id).toBe(
        before,
      );
    }
    expect(promoted).toEqual([]);
    expect(leader.metrics.some(([m]) => m === 'mesh_fleet_stage_stuck_total')).toBe(true);
    // The lagging node leaves the live set (its lease ends): the rotation completes.
    await lagger.close();
    await lagStore.close();
    await eventually(() => promoted.includes(staged));
    for (const n of [a, b]) {
      await eventually(
        () =>
          n.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')?.id === staged,
      );
    }
    expect(leader.metrics.some(([m, v]) => m === 'mesh_fleet_rotations_total' && v === 1)).toBe(true);
    expect(a.coordinator.health().state).toBe('healthy');
    expect(b.coordinator.health().appliedVersion).toBe(b.keys.version);
    expect(a.coordinator.isLeader && b.coordinator.isLeader).toBe(false);
  });

  it('the leader rotates on its interval; followers never rotate by themselves', async () => {
    const prefix = `${newName()}/`;
    const key = kek();
    const a = await node(prefix, key, 'a', { interval: 200 });
    const b = await node(prefix, key, 'b', { interval: 200 });
    const seen = new Set<number>();
    for (const n of [a, b]) n.keys.on('promoted', (e) => seen.add(e.keyId));
    await eventually(() => seen.size >= 3);
    expect(a.keys.automaticRotation).toBe(false);
    expect(b.keys.automaticRotation).toBe(false);
    const leaderEvents = [a, b].filter((n) => n.metrics.some(([m]) => m === 'mesh_fleet_rotations_total'));
    expect(leaderEvents.length).toBeGreaterThanOrEqual(1);
  });
});
