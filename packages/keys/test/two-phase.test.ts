/** Two-phase rotation (stage, promote), automatic rotation off, `applied`, and write conditions. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CompareAndSwapOptions,
  FileKeyStore,
  KeyManager,
  type KeyStore,
  MemoryKeyStore,
  type StoredKeyring,
  type WriteCondition,
  WriteConditionFailedError,
} from '../src/index.js';
import { FakeClock, rawKek, tempDir } from './helpers.js';

const gcm = ['aes-256-gcm' as const];
const primaryId = (m: KeyManager) =>
  m.keys().find((k) => k.state === 'primary' && k.algorithm === 'aes-256-gcm')!.id;
const stateOf = (m: KeyManager, id: number) => m.keys().find((k) => k.id === id)?.state;

/** A store that understands one kind of condition, `{ kind: 'flag', holds }`, as a leader-fenced store would. */
class FlagConditionStore implements KeyStore {
  readonly inner = new MemoryKeyStore();
  readonly seen: WriteCondition[] = [];
  writes = 0;
  load(name: string) {
    return this.inner.load(name);
  }
  async compareAndSwap(
    name: string,
    expected: number | undefined,
    next: StoredKeyring,
    options?: CompareAndSwapOptions,
  ) {
    this.writes++;
    const c = options?.condition as (WriteCondition & { holds?: () => boolean }) | undefined;
    if (c) {
      this.seen.push(c);
      if (c.kind !== 'flag') throw new Error('unknown condition');
      if (!c.holds?.()) throw new WriteConditionFailedError('not the leader any more');
    }
    return this.inner.compareAndSwap(name, expected, next);
  }
  watch(name: string, onChange: () => void) {
    return this.inner.watch(name, onChange);
  }
}

describe('stage and promote', () => {
  it('a staged key decrypts everywhere but never encrypts until promoted; events per step', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const leader = await KeyManager.open({ store, kek, algorithms: gcm });
    const follower = await KeyManager.open({ store, kek, algorithms: gcm });
    const events: string[] = [];
    leader
      .on('staged', (e) => events.push(`staged ${e.keyId} v${e.version}`))
      .on('promoted', (e) => events.push(`promoted ${e.keyId} from ${e.previousKeyId} v${e.version}`))
      .on('rotated', (e) => events.push(`rotated ${e.keyId} v${e.version}`))
      .on('applied', (e) => events.push(`applied v${e.version}`));
    const acks: number[] = [];
    follower.on('applied', (e) => acks.push(e.version));
    const old = primaryId(leader);

    const { keyId, version } = await leader.stage('aes-256-gcm');
    expect(version).toBe(leader.version);
    expect(stateOf(leader, keyId)).toBe('staged');
    expect((await leader.acquireEncryptionKey()).id).toBe(old);
    await new Promise((r) => setTimeout(r, 20));
    // The follower applied the staged version (its ack) and can decrypt with the staged key by id.
    expect(acks).toContain(version);
    expect((await follower.getDecryptionKey(keyId)).material).toHaveLength(32);
    expect((await follower.acquireEncryptionKey()).id).toBe(old);

    const promoted = await leader.promote(keyId);
    expect(promoted).toEqual({ version: leader.version, previousKeyId: old });
    expect(stateOf(leader, keyId)).toBe('primary');
    expect(stateOf(leader, old)).toBe('decrypt-only');
    expect((await leader.acquireEncryptionKey()).id).toBe(keyId);
    // Step events in order; `applied` after each own write (and for the lease writes of both managers).
    expect(events.filter((e) => !e.startsWith('applied'))).toEqual([
      `staged ${keyId} v${version}`,
      `promoted ${keyId} from ${old} v${promoted.version}`,
      `rotated ${keyId} v${promoted.version}`,
    ]);
    expect(events.indexOf(`applied v${version}`)).toBe(events.indexOf(`staged ${keyId} v${version}`) + 1);
    expect(events.indexOf(`applied v${promoted.version}`)).toBe(
      events.indexOf(`rotated ${keyId} v${promoted.version}`) + 1,
    );
    const applied = events.filter((e) => e.startsWith('applied')).map((e) => Number(e.slice(9)));
    expect(applied).toEqual([...applied].sort((x, y) => x - y)); // versions only grow
    // Promoting the primary again is a no-op (a new leader finishing the rotation).
    const v = leader.version;
    expect(await leader.promote(keyId)).toEqual({ version: v });
    expect(leader.version).toBe(v);
    // Only a staged key can be promoted: never re-promote a demoted one.
    await expect(leader.promote(old)).rejects.toMatchObject({ code: 'ERR_KEY_STATE' });
    await expect(leader.promote(123)).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
  });

  it('promote finds a key staged by another manager it has not seen yet', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const a = await KeyManager.open({ store, kek, algorithms: gcm, watch: false });
    const b = await KeyManager.open({ store, kek, algorithms: gcm, watch: false });
    const { keyId } = await a.stage('aes-256-gcm');
    // b takes over (a crashed between stage and promote) and finishes the rotation.
    const r = await b.promote(keyId);
    expect(r.version).toBe(b.version);
    expect(primaryId(b)).toBe(keyId);
  });

  it('rotate() is stage + promote in one write', async () => {
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek(), algorithms: gcm });
    const seen: string[] = [];
    m.on('staged', () => seen.push('staged')).on('promoted', () => seen.push('promoted'));
    m.on('rotated', () => seen.push('rotated')).on('applied', () => seen.push('applied'));
    const v = m.version;
    await m.rotate();
    expect(m.version).toBe(v + 1);
    expect(seen).toEqual(['staged', 'promoted', 'rotated', 'applied']);
  });
});

describe('automaticRotation: false', () => {
  it('never rotates by interval itself: it emits rotation-due and keeps the current key', async () => {
    const clock = new FakeClock();
    const store = new MemoryKeyStore();
    const m = await KeyManager.open({
      store,
      kek: rawKek(),
      algorithms: gcm,
      clock: clock.fn,
      rotation: { interval: '1h', retention: '1h' },
      automaticRotation: false,
    });
    const due: unknown[] = [];
    m.on('rotation-due', (e) => due.push(e));
    const first = await m.acquireEncryptionKey();
    clock.advance(2 * 3_600_000);
    for (let i = 0; i < 5; i++) expect((await m.acquireEncryptionKey()).id).toBe(first.id);
    expect(due).toEqual([{ algorithm: 'aes-256-gcm', trigger: 'interval', keyId: first.id }]); // once, not 5x
    // Retention does not ride on its writes either; an explicit maintain() applies it.
    await m.stage('aes-256-gcm').then(({ keyId }) => m.promote(keyId));
    clock.advance(2 * 3_600_000);
    await m.acquireEncryptionKey();
    expect(stateOf(m, first.id)).toBe('decrypt-only');
    await m.maintain();
    expect(stateOf(m, first.id)).toBe('retired');
  });

  it('an exhausted key waits for the leader to promote a new one, then fails after rotationWaitMs', async () => {
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const rotation = { maxEncryptionsPerKey: 3, usageLeaseSize: 3 };
    const follower = await KeyManager.open({
      store,
      kek,
      algorithms: gcm,
      rotation,
      automaticRotation: false,
      rotationWaitMs: 300,
    });
    const leader = await KeyManager.open({ store, kek, algorithms: gcm, rotation, automaticRotation: false });
    const due: string[] = [];
    follower.on('rotation-due', (e) => due.push(e.trigger));
    const first = await follower.acquireEncryptionKey();
    await follower.acquireEncryptionKey();
    await follower.acquireEncryptionKey();
    // Used up. Nobody rotates: the caller waits, then gets a typed error; the key is never used a 4th time.
    const before = leader.version;
    await expect(follower.acquireEncryptionKey()).rejects.toMatchObject({ code: 'ERR_KEYSTORE_UNAVAILABLE' });
    expect(due).toEqual(['usage']);
    expect(leader.version).toBe(before);
    // Now the leader reacts: stage, promote; the waiting caller gets the new key.
    const waiting = follower.acquireEncryptionKey();
    const { keyId } = await leader.stage('aes-256-gcm');
    await leader.promote(keyId);
    const k = await waiting;
    expect(k.id).toBe(keyId);
    expect(k.id).not.toBe(first.id);
  });

  it('setAutomaticRotation(true) lets a manager rotate by itself again', async () => {
    const clock = new FakeClock();
    const m = await KeyManager.open({
      store: new MemoryKeyStore(),
      kek: rawKek(),
      algorithms: gcm,
      clock: clock.fn,
      rotation: { interval: '1h' },
      automaticRotation: false,
    });
    expect(m.automaticRotation).toBe(false);
    const first = await m.acquireEncryptionKey();
    clock.advance(3_600_000);
    expect((await m.acquireEncryptionKey()).id).toBe(first.id);
    m.setAutomaticRotation(true);
    expect(m.automaticRotation).toBe(true);
    expect((await m.acquireEncryptionKey()).id).not.toBe(first.id);
  });
});

describe('write conditions', () => {
  it('stage, promote, rotate and maintain pass the condition to the store; a failed one is not retried', async () => {
    const store = new FlagConditionStore();
    const m = await KeyManager.open({ store, kek: rawKek(), algorithms: gcm });
    let leading = true;
    const condition = { kind: 'flag', holds: () => leading };
    const { keyId } = await m.stage('aes-256-gcm', { condition });
    await m.rotate({ condition });
    await m.maintain({ condition });
    expect(store.seen.length).toBe(2); // maintain had nothing to write
    leading = false;
    const writes = store.writes;
    const v = m.version;
    await expect(m.promote(keyId, { condition })).rejects.toBeInstanceOf(WriteConditionFailedError);
    await expect(m.stage('aes-256-gcm', { condition })).rejects.toMatchObject({ code: 'ERR_KEY_STATE' });
    expect(store.writes - writes).toBe(2); // one attempt each
    expect(m.version).toBe(v);
    expect(stateOf(m, keyId)).toBe('staged'); // still staged: the refused promote changed nothing
  });

  it('the memory and file stores refuse a condition instead of ignoring it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const store of [new MemoryKeyStore(), new FileKeyStore({ path: join(dir, 'k.json') })]) {
        const m = await KeyManager.open({ store, kek: rawKek(), algorithms: gcm });
        const v = m.version;
        await expect(m.stage('aes-256-gcm', { condition: { kind: 'etcd-txn' } })).rejects.toMatchObject({
          code: 'ERR_CONFIG_INVALID',
        });
        expect(m.version).toBe(v);
        await m.close();
      }
    } finally {
      await cleanup();
    }
  });
});
