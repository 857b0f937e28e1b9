/**
 * The per-message fast paths (no await when the key manager holds the key): they must keep every rule of
 * the slow path. Encrypt still counts each use against `maxEncryptionsPerKey` (so rotation by usage still
 * happens), and decrypt still judges the key's state as it is now: a key retired after it opened envelopes
 * is refused (ERR_KEY_STATE), a key of another algorithm named by a GCM header is not used
 * (ERR_KEY_NOT_FOUND), and a closed facade refuses.
 */
import { KeyManager, MemoryKeyStore } from '@mesh/keys';
import { describe, expect, it } from 'vitest';
import { codeOf, makeEncryption } from './support/setup.js';

const HOUR = 3_600_000;

function keyIdOf(envelope: Uint8Array): number {
  return ((envelope[3]! << 24) | (envelope[4]! << 16) | (envelope[5]! << 8) | envelope[6]!) >>> 0;
}

describe('facade fast paths keep the key rules', () => {
  it('encrypt counts every use: rotation by usage happens on time, no key past its limit', async () => {
    const enc = await makeEncryption({
      compression: false,
      rotation: { maxEncryptionsPerKey: 50, usageLeaseSize: 8 },
    });
    const perKey = new Map<number, number>();
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 120; i++) {
      const env = await enc.encrypt(`message ${i}`);
      sealed.push(env);
      perKey.set(keyIdOf(env), (perKey.get(keyIdOf(env)) ?? 0) + 1);
    }
    expect([...perKey.values()]).toEqual([50, 50, 20]);
    for (const [id, n] of perKey) {
      const info = enc.keys.keys().find((k) => k.id === id)!;
      expect(info.encryptions).toBe(n);
      expect(info.reservedEncryptions).toBeLessThanOrEqual(50);
    }
    expect(await enc.decryptToString(sealed[0]!)).toBe('message 0');
  });

  it('a key retired after it opened envelopes is refused on the next decrypt (ERR_KEY_STATE)', async () => {
    let now = Date.UTC(2030, 0, 1);
    const enc = await makeEncryption({ clock: () => now, rotation: { retention: '1h' } });
    const env = await enc.encrypt('old secret', { context: 'tenant-1' });
    const text = await enc.encryptToString('old secret');
    // Opened several times: whatever a fast path remembers, it has seen this key.
    for (let i = 0; i < 3; i++) {
      expect(await enc.decryptToString(env, { context: 'tenant-1' })).toBe('old secret');
      expect(await enc.decryptToString(text)).toBe('old secret');
    }
    await enc.rotate({ algorithm: 'aes-256-gcm' });
    expect(await enc.decryptToString(env, { context: 'tenant-1' })).toBe('old secret'); // decrypt-only
    now += HOUR;
    await enc.keys.maintain();
    expect(enc.keys.keys().find((k) => k.id === keyIdOf(env))?.state).toBe('retired');
    expect(await codeOf(enc.decrypt(env, { context: 'tenant-1' }))).toBe('ERR_KEY_STATE');
    expect(await codeOf(enc.decrypt(text))).toBe('ERR_KEY_STATE');
    expect(await codeOf(enc.rewrap(env, { context: 'tenant-1' }))).toBe('ERR_KEY_STATE');
  });

  it('a retirement made by another node arrives through the store and is refused', async () => {
    let now = Date.UTC(2030, 0, 1);
    const store = new MemoryKeyStore();
    const kek = { key: new Uint8Array(32).fill(3) };
    const keys = await KeyManager.open({ store, kek, clock: () => now, rotation: { retention: '1h' } });
    const enc = await makeEncryption({ keyManager: keys });
    const other = await KeyManager.open({ store, kek, clock: () => now, rotation: { retention: '1h' } });
    const env = await enc.encrypt('shared');
    expect(await enc.decryptToString(env)).toBe('shared');
    await other.rotate({ algorithm: 'aes-256-gcm' });
    now += HOUR;
    await other.maintain();
    await keys.refresh(); // what the store's watch does by itself, without waiting for it
    expect(await codeOf(enc.decrypt(env))).toBe('ERR_KEY_STATE');
    await Promise.all([other.close(), keys.close()]);
  });

  it('a GCM header naming a key of another algorithm is ERR_KEY_NOT_FOUND, not opened with it', async () => {
    const enc = await makeEncryption({ services: { fast: { algorithm: 'xchacha20-poly1305' } } });
    const xchachaId = keyIdOf(await enc.encrypt('x', { service: 'fast' }));
    const gcm = await enc.encrypt('y');
    expect(await enc.decryptToString(gcm)).toBe('y');
    const forged = gcm.slice();
    forged.set([xchachaId >>> 24, (xchachaId >>> 16) & 0xff, (xchachaId >>> 8) & 0xff, xchachaId & 0xff], 3);
    expect(await codeOf(enc.decrypt(forged))).toBe('ERR_KEY_NOT_FOUND');
  });

  it('a closed facade refuses to encrypt and decrypt', async () => {
    const enc = await makeEncryption();
    const env = await enc.encrypt('bye');
    expect(await enc.decryptToString(env)).toBe('bye');
    await enc.close();
    expect(await codeOf(enc.decrypt(env))).toBe('ERR_KEY_STATE');
    expect(await codeOf(enc.encrypt('again'))).toBe('ERR_KEY_STATE');
  });
});
