/**
 * `meshcrypt keyring ... --etcd`: the built binary against a real etcd this test starts (loopback, free ports,
 * temporary data dir, stopped by pid), with fleet nodes in this process: a real `RotationCoordinator` and a
 * bare `NodeRegistration` that acks only when the test tells it to.
 */
import { KeyManager } from '@mesh/keys';
import { EtcdKeyStore, listFleetNodes, NodeRegistration, RotationCoordinator } from '@mesh/keystore-etcd';
import { EtcdProcess, freePort } from '@mesh/local-etcd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFailure, expectSuccess, meshcrypt, randomKek } from './helpers.js';

let etcd: EtcdProcess;
const KEK = randomKek();
const env = { MESH_TEST_KEK: KEK };
const closers: Array<() => Promise<void>> = [];
let prefixes = 0;
const newPrefix = () => `cli-${process.pid}-${++prefixes}/`;

beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await etcd?.stop();
});

const run = (args: string[], prefix: string) =>
  meshcrypt([...args, '--etcd', etcd.endpoint, '--prefix', prefix, '--kek-env', 'MESH_TEST_KEK'], { env });

/** A node of the fleet in this process: its own store and key manager on the same keyring. */
async function node(prefix: string) {
  const store = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix, callTimeoutMs: 2_000 });
  const keys = await KeyManager.open({ store, kek: { env: 'MESH_TEST_KEK' }, name: 'default' });
  closers.push(async () => {
    await keys.close();
    await store.close();
  });
  return { store, keys };
}

const eventually = async (check: () => Promise<boolean> | boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('keyring --etcd', () => {
  it('init creates the keyring in etcd (refuses a second time), list shows ids/states/ages/uses and no material', async () => {
    process.env.MESH_TEST_KEK = KEK;
    const prefix = newPrefix();
    const init = await run(['keyring', 'init', '--json'], prefix);
    expectSuccess(init);
    const created = JSON.parse(init.out);
    expect(created).toMatchObject({ etcd: etcd.endpoint, prefix, keyring: 'default', version: 1 });
    expect(created.primaries.map((p: { algorithm: string }) => p.algorithm)).toEqual([
      'aes-256-gcm',
      'fernet',
    ]);
    // The keyring really is in etcd: a library client opens it with the same KEK and sees the same keys.
    const { keys, store } = await node(prefix);
    expect(keys.keys().map((k) => k.id)).toEqual(created.primaries.map((p: { id: number }) => p.id));
    expectFailure(await run(['keyring', 'init'], prefix), 2, 'ERR_KEYRING_EXISTS');

    await keys.acquireEncryptionKey('aes-256-gcm');
    const list = await run(['keyring', 'list', '--json'], prefix);
    expectSuccess(list);
    const listed = JSON.parse(list.out);
    expect(listed.keys.map((k: { state: string }) => k.state)).toEqual(['primary', 'primary']);
    for (const k of listed.keys) {
      expect(Object.keys(k).sort()).toEqual(
        [
          'algorithm',
          'ageSeconds',
          'createdAt',
          'createdInVersion',
          'id',
          'promotedAt',
          'state',
          'uses',
        ].sort(),
      );
    }
    expect(
      listed.keys.find((k: { algorithm: string }) => k.algorithm === 'aes-256-gcm').uses,
    ).toBeGreaterThan(0);
    // None of the sealed blobs of the document in etcd appears in the output.
    const doc = await store.client.get(`${prefix}keyrings/default`).string();
    const blobs = [...doc!.matchAll(/"([A-Za-z0-9+/_-]{40,}={0,2})"/g)].map((m) => m[1]!);
    expect(blobs.length).toBeGreaterThan(0);
    const human = await run(['keyring', 'list'], prefix);
    expectSuccess(human);
    expect(human.out).toMatch(/^ID\s+ALGORITHM\s+STATE\s+AGE\s+USES\n/);
    for (const b of blobs) {
      expect(list.out).not.toContain(b);
      expect(human.out).not.toContain(b);
    }
  });

  it('status shows the live nodes and the version each has acked; rotate waits for every ack, then promotes', async () => {
    process.env.MESH_TEST_KEK = KEK;
    const prefix = newPrefix();
    expectSuccess(await run(['keyring', 'init'], prefix));
    // A coordinator fleet of one, and a node that only registers and acks when told (a slow node).
    const a = await node(prefix);
    const leader = await RotationCoordinator.start({
      keys: a.keys,
      store: a.store,
      nodeId: 'node-a',
      ttlSeconds: 3,
    });
    closers.push(() => leader.close());
    await eventually(() => leader.isLeader);
    const b = await node(prefix);
    b.keys.setAutomaticRotation(false);
    const slow = await NodeRegistration.start({
      store: b.store,
      nodeId: 'node-b',
      ttlSeconds: 3,
      acks: { default: 1 },
    });
    closers.push(() => slow.close());

    const status = await run(['keyring', 'status', '--json'], prefix);
    expectSuccess(status);
    const s = JSON.parse(status.out);
    expect(s).toMatchObject({ store: 'etcd', version: 1, leader: 'node-a', staged: [] });
    expect(s.nodes).toEqual([
      expect.objectContaining({ nodeId: 'node-a', ackedVersion: 1, current: true, leader: true }),
      expect.objectContaining({ nodeId: 'node-b', ackedVersion: 1, current: true, leader: false }),
    ]);
    const human = await run(['keyring', 'status'], prefix);
    expectSuccess(human);
    expect(human.out).toMatch(/^leader\s+node-a$/m);
    expect(human.out).toMatch(/^node-a\s+1\s+yes\s+yes$/m);
    expect(human.out).toMatch(/^node-b\s+1\s+yes$/m);

    // node-b never acks: the rotation stages, waits, and must not promote. The CLI gives up after 3 s.
    const before = a.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')!.id;
    const stuck = await run(['keyring', 'rotate', '--algorithm', 'aes-256-gcm', '--timeout', '3'], prefix);
    expectFailure(stuck, 1, 'ERR_ROTATION_TIMEOUT');
    expect(stuck.stderr).toMatch(/staged at version 2, not yet acked by node-b;/);
    const staged = a.keys.keys().find((k) => k.state === 'staged')!;
    expect(staged).toMatchObject({ algorithm: 'aes-256-gcm', createdInVersion: 2 });
    expect(a.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')!.id).toBe(
      before,
    );
    const waiting = JSON.parse((await run(['keyring', 'status', '--json'], prefix)).out);
    expect(waiting.staged).toEqual([{ algorithm: 'aes-256-gcm', id: staged.id, version: 2 }]);
    expect(waiting.nodes.find((n: { nodeId: string }) => n.nodeId === 'node-b')).toMatchObject({
      ackedVersion: 1,
      current: false,
    });

    // node-b acks while a second rotate waits: the leader promotes the staged key, the CLI reports it.
    const rotating = run(
      ['keyring', 'rotate', '--algorithm', 'aes-256-gcm', '--json', '--timeout', '30'],
      prefix,
    );
    // Ack only once the CLI has joined the live set (it has read the keyring, so its "before" is the old key).
    await eventually(async () =>
      (await listFleetNodes(a.store)).nodes.some((n) => n.nodeId.startsWith('meshcrypt-')),
    );
    await slow.ack('default', b.keys.version);
    const rotated = await rotating;
    expectSuccess(rotated);
    const r = JSON.parse(rotated.out);
    expect(r.rotated).toEqual([{ algorithm: 'aes-256-gcm', id: staged.id, previousId: before }]);
    expect(r.version).toBeGreaterThanOrEqual(3); // staged at 2, promoted after
    await eventually(() => a.keys.keys().find((k) => k.id === staged.id)?.state === 'primary');
    // The CLI withdrew its queued request: the leader starts no further rotation (its maintenance rounds are 1 s).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(a.keys.keys().filter((k) => k.state === 'staged')).toEqual([]);
    // The CLI left the live set when it finished.
    const after = JSON.parse((await run(['keyring', 'status', '--json'], prefix)).out);
    expect(after.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['node-a', 'node-b']);
    expect(after.nodes.find((n: { nodeId: string }) => n.nodeId === 'node-a').ackedVersion).toBe(
      after.version,
    );
  });

  it('rotate with no fleet running: the CLI leads itself, stages and promotes every algorithm', async () => {
    process.env.MESH_TEST_KEK = KEK;
    const prefix = newPrefix();
    const init = JSON.parse((await run(['keyring', 'init', '--json'], prefix)).out);
    const r = await run(['keyring', 'rotate', '--json'], prefix);
    expectSuccess(r);
    const out = JSON.parse(r.out);
    expect(out.rotated.map((x: { algorithm: string }) => x.algorithm).sort()).toEqual([
      'aes-256-gcm',
      'fernet',
    ]);
    for (const x of out.rotated) {
      expect(x.previousId).toBe(
        init.primaries.find((p: { algorithm: string }) => p.algorithm === x.algorithm).id,
      );
    }
    // Two-phase: each new key was staged (its own version) before it was promoted (a later one).
    const listed = JSON.parse((await run(['keyring', 'list', '--json'], prefix)).out);
    const fresh = listed.keys.filter((k: { state: string }) => k.state === 'primary');
    expect(fresh.map((k: { id: number }) => k.id).sort()).toEqual(
      out.rotated.map((x: { id: number }) => x.id).sort(),
    );
    expect(out.version).toBe(5); // 1 init, + stage and promote for each of two algorithms
    expect(listed.keys.filter((k: { state: string }) => k.state === 'decrypt-only')).toHaveLength(2);
  });

  it('wrong KEK, missing keyring, bad flags, and an unreachable etcd: one line each, right exit code', async () => {
    process.env.MESH_TEST_KEK = KEK;
    const prefix = newPrefix();
    expectFailure(await run(['keyring', 'list'], prefix), 2, 'ERR_KEYRING_NOT_FOUND');
    expectSuccess(await run(['keyring', 'init'], prefix));
    const wrong = await meshcrypt(
      ['keyring', 'list', '--etcd', etcd.endpoint, '--prefix', prefix, '--kek-env', 'OTHER_KEK'],
      { env: { OTHER_KEK: randomKek() } },
    );
    expectFailure(wrong, 1, 'ERR_DECRYPTION_FAILED');
    expect(wrong.stderr).toContain(`wrong KEK for keyring ${etcd.endpoint} ${prefix}keyrings/default`);
    expectFailure(
      await meshcrypt(['keyring', 'list', '--etcd', etcd.endpoint, '--keyring', 'k.json', '--kek-env', 'X'], {
        env,
      }),
      2,
      'ERR_USAGE',
    );
    expectFailure(
      await meshcrypt(['keyring', 'list', '--prefix', 'p/', '--keyring', 'k', '--kek-env', 'X']),
      2,
      'ERR_USAGE',
    );
    expectFailure(
      await meshcrypt(['keyring', 'list', '--etcd', 'ftp://x', '--kek-env', 'X']),
      2,
      'ERR_USAGE',
    );

    const closed = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const down = await meshcrypt(['keyring', 'status', '--etcd', closed, '--kek-env', 'MESH_TEST_KEK'], {
      env,
    });
    expectFailure(down, 1, 'ERR_KEYSTORE_UNAVAILABLE');
    expect(down.stderr).toContain(`etcd at ${closed} unreachable`);
    expect(down.out).toBe('');
    // Bounded by the CLI's 5 s call timeout, not a hang (generous for a loaded machine).
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
