/**
 * Keyrings holding XChaCha20-Poly1305 keys (no usage-based rotation, interval rotation as usual, stored and
 * reopened like every key), and key material of every algorithm in libsodium guarded memory: locked while a
 * key may be used, wiped and unlocked once it retires or the manager closes.
 */
import { readFileSync } from 'node:fs';
import { isSecureBytes, isSodiumAvailable } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import {
  isUsageLimited,
  KEY_ALGORITHMS,
  KeyManager,
  MemoryKeyStore,
  SUPPORTED_KEY_ALGORITHMS,
} from '../src/index.js';
import { RELEASED_MATERIAL_GRACE_MS } from '../src/key-manager.js';
import { CountingStore, FakeClock, rawKek } from './helpers.js';

const ALL = ['aes-256-gcm', 'fernet', 'xchacha20-poly1305'] as const;
const afterGrace = () => new Promise((r) => setTimeout(r, RELEASED_MATERIAL_GRACE_MS + 100));

function lockedKiB(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmLck:'));
  return Number.parseInt(line!.slice(6), 10);
}

describe('xchacha20-poly1305 keys', () => {
  it('is a supported algorithm, not created by default, and not usage-limited', () => {
    expect(SUPPORTED_KEY_ALGORITHMS).toEqual([...ALL]);
    expect(KEY_ALGORITHMS).toEqual(['aes-256-gcm', 'fernet']);
    expect(ALL.map(isUsageLimited)).toEqual([true, true, false]);
  });

  it('never rotates by usage while AES-GCM keys under the same policy do; uses are still counted', async () => {
    const store = new CountingStore();
    const m = await KeyManager.open({
      store,
      kek: rawKek(),
      algorithms: ['aes-256-gcm', 'xchacha20-poly1305'],
      rotation: { maxEncryptionsPerKey: 2, usageLeaseSize: 1 },
    });
    const x = new Set<number>();
    const g = new Set<number>();
    for (let i = 0; i < 10; i++) {
      x.add((await m.acquireEncryptionKey('xchacha20-poly1305')).id);
      g.add((await m.acquireEncryptionKey('aes-256-gcm')).id);
    }
    expect(x.size).toBe(1);
    expect(g.size).toBe(5);
    const info = m.keys().find((k) => k.algorithm === 'xchacha20-poly1305')!;
    expect(info.reservedEncryptions).toBe(10);
    expect(info.encryptions).toBe(10);
    // Concurrent callers: every one gets the same key, each use leased and counted.
    const ids = await Promise.all(
      Array.from({ length: 200 }, () => m.acquireEncryptionKey('xchacha20-poly1305')),
    );
    expect(new Set(ids.map((k) => k.id)).size).toBe(1);
    expect(m.keys().find((k) => k.algorithm === 'xchacha20-poly1305')!.reservedEncryptions).toBe(210);
    await m.close();
  });

  it('rotates by interval and by hand, and reopens from the store with the same material', async () => {
    const clock = new FakeClock();
    const store = new MemoryKeyStore();
    const kek = rawKek();
    const m = await KeyManager.open({
      store,
      kek,
      algorithms: ['xchacha20-poly1305'],
      rotation: { interval: '1h' },
      clock: clock.fn,
    });
    const first = await m.acquireEncryptionKey('xchacha20-poly1305');
    clock.advance(2 * 3600_000);
    const second = await m.acquireEncryptionKey('xchacha20-poly1305');
    expect(second.id).not.toBe(first.id);
    await m.rotate({ algorithm: 'xchacha20-poly1305' });
    const third = await m.acquireEncryptionKey('xchacha20-poly1305');
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    const reader = await KeyManager.open({ store, kek, algorithms: ['aes-256-gcm'], clock: clock.fn });
    // A manager that does not create XChaCha keys still reads them (getDecryptionKey without an algorithm).
    const again = await reader.getDecryptionKey(second.id);
    expect(again.algorithm).toBe('xchacha20-poly1305');
    expect(Buffer.from(again.material)).toEqual(Buffer.from(second.material));
    // Asked for under another algorithm, it is not found.
    await expect(reader.getDecryptionKey(second.id, 'aes-256-gcm')).rejects.toMatchObject({
      code: 'ERR_KEY_NOT_FOUND',
    });
    await Promise.all([m.close(), reader.close()]);
  });
});

describe('key material in guarded memory (sodium-native present)', () => {
  it('every key of every algorithm is a guarded array that owns its whole buffer', async () => {
    expect(isSodiumAvailable()).toBe(true);
    const m = await KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek(), algorithms: [...ALL] });
    for (const a of ALL) {
      const k = await m.acquireEncryptionKey(a);
      expect(isSecureBytes(k.material), a).toBe(true);
      expect(k.material.byteOffset).toBe(0);
      expect(k.material.buffer.byteLength).toBe(32);
      expect(k.material.some((b) => b !== 0)).toBe(true);
    }
    await m.close();
  });

  it('a retired key stays readable for in-flight use, then is wiped and freed; live keys are untouched', async () => {
    const m = await KeyManager.open({
      store: new MemoryKeyStore(),
      kek: rawKek(),
      algorithms: ['aes-256-gcm'],
      rotation: { maxRetainedKeys: 0 },
    });
    const old = await m.acquireEncryptionKey();
    const copy = Uint8Array.from(old.material);
    await m.rotate();
    const current = await m.acquireEncryptionKey();
    expect(m.keys().find((k) => k.id === old.id)!.state).toBe('retired');
    expect(Buffer.from(old.material)).toEqual(Buffer.from(copy)); // in flight: still the key
    await afterGrace();
    expect(old.material.length).toBe(0); // freed: detached, nothing left to read
    expect(isSecureBytes(old.material)).toBe(false);
    expect(isSecureBytes(current.material)).toBe(true);
    expect(current.material.length).toBe(32);
    await m.close();
  });

  it('rekey keeps the guarded copy callers hold (same material, sealed anew)', async () => {
    const m = await KeyManager.open({
      store: new MemoryKeyStore(),
      kek: rawKek(),
      algorithms: ['aes-256-gcm'],
    });
    const k = await m.acquireEncryptionKey();
    await m.rekey(rawKek());
    expect((await m.getDecryptionKey(k.id)).material).toBe(k.material);
    await afterGrace();
    expect(k.material.length).toBe(32);
    await m.close();
  });

  it.runIf(process.platform === 'linux')(
    'close wipes every key and the locked memory goes back',
    async () => {
      await afterGrace(); // releases scheduled by earlier tests are done
      const before = lockedKiB();
      const managers = await Promise.all(
        Array.from({ length: 4 }, () =>
          KeyManager.open({ store: new MemoryKeyStore(), kek: rawKek(), algorithms: [...ALL] }),
        ),
      );
      const materials = await Promise.all(managers.flatMap((m) => ALL.map((a) => m.acquireEncryptionKey(a))));
      expect(lockedKiB() - before).toBeGreaterThanOrEqual(12 * 4); // 12 keys, a locked page each
      await Promise.all(managers.map((m) => m.close()));
      await afterGrace();
      expect(materials.every((k) => k.material.length === 0)).toBe(true);
      expect(lockedKiB()).toBe(before);
    },
  );
});
