/**
 * Guarded key memory: with sodium-native present, allocSecureBytes returns plain arrays over sodium_malloc
 * memory that the kernel reports as locked (VmLck), usable as keys by every primitive; release wipes, unlocks
 * and detaches them. (The fallback without sodium is covered by sodium-unavailable.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  allocSecureBytes,
  copyToSecureBytes,
  isSecureBytes,
  isSodiumAvailable,
  MAX_GUARDED_ALLOCATIONS,
  MAX_SECURE_BYTES,
  randomBytes,
  releaseSecureBytes,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
} from '../src/index.js';
import { expectCode, hex } from './helpers.js';

/** Locked memory of this process in KiB, from the kernel. */
function lockedKiB(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmLck:'));
  return Number.parseInt(line!.slice(6), 10);
}

describe('secure memory', () => {
  it('sodium-native is present on this platform', () => {
    expect(isSodiumAvailable()).toBe(true);
  });

  it('allocates zeroed plain arrays that own their whole buffer and are marked secure', () => {
    for (const n of [1, 16, 32, 64, 4096, 5000]) {
      const a = allocSecureBytes(n);
      expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
      expect(a.length).toBe(n);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(n);
      expect(a.every((b) => b === 0)).toBe(true);
      expect(isSecureBytes(a)).toBe(true);
      releaseSecureBytes(a);
    }
    expect(isSecureBytes(new Uint8Array(32))).toBe(false);
    expect(allocSecureBytes(0).length).toBe(0);
  });

  it.runIf(process.platform === 'linux')(
    'the kernel reports the memory locked, and unlocked after release',
    () => {
      const before = lockedKiB();
      const keys = Array.from({ length: 16 }, () => copyToSecureBytes(randomBytes(32)));
      // One locked page (4 KiB) per key at least.
      expect(lockedKiB() - before).toBeGreaterThanOrEqual(16 * 4);
      for (const k of keys) releaseSecureBytes(k);
      expect(lockedKiB()).toBe(before);
    },
  );

  it('keys in guarded memory work with every cipher, and fail typed once released', () => {
    const raw = randomBytes(32);
    const key = copyToSecureBytes(raw);
    expect(hex(key)).toBe(hex(raw));
    const nonce24 = randomBytes(24);
    const nonce12 = randomBytes(12);
    const x = xchacha20Poly1305Encrypt(key, nonce24, 'hello', 'ctx');
    expect(hex(x)).toBe(hex(xchacha20Poly1305Encrypt(raw, nonce24, 'hello', 'ctx')));
    expect(new TextDecoder().decode(xchacha20Poly1305Decrypt(key, nonce24, x, 'ctx'))).toBe('hello');
    const g = aesGcmEncrypt(key, nonce12, 'hello', 'ctx');
    expect(new TextDecoder().decode(aesGcmDecrypt(raw, nonce12, g, 'ctx'))).toBe('hello');
    releaseSecureBytes(key);
    expect(key.length).toBe(0);
    expect(isSecureBytes(key)).toBe(false);
    expectCode(() => xchacha20Poly1305Encrypt(key, nonce24, 'hello'), 'ERR_INVALID_INPUT');
    expectCode(() => aesGcmEncrypt(key, nonce12, 'hello'), 'ERR_INVALID_INPUT');
    releaseSecureBytes(key); // twice: harmless
  });

  it('release zero-fills ordinary arrays; bad arguments are typed errors', () => {
    const plain = new Uint8Array(32).fill(9);
    releaseSecureBytes(plain);
    expect(plain.every((b) => b === 0)).toBe(true);
    expectCode(() => allocSecureBytes(-1), 'ERR_INVALID_INPUT');
    expectCode(() => allocSecureBytes(MAX_SECURE_BYTES + 1), 'ERR_INVALID_INPUT');
    expectCode(() => allocSecureBytes(1.5), 'ERR_INVALID_INPUT');
    expectCode(() => copyToSecureBytes('k' as unknown as Uint8Array), 'ERR_INVALID_INPUT');
    expectCode(() => releaseSecureBytes({} as Uint8Array), 'ERR_INVALID_INPUT');
  });

  it('25,000 live keys do not abort the process: past the budget they go to ordinary memory', () => {
    // Without a budget, libsodium runs out of memory mappings near 21,000 live allocations (vm.max_map_count
    // 65,530) and sodium-native aborts the process with std::bad_alloc: a child shows it, not this worker.
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      const { copyToSecureBytes, isSecureBytes, releaseSecureBytes } = await import(${JSON.stringify(dist)});
      const keep = [];
      for (let i = 0; i < 25000; i++) keep.push(copyToSecureBytes(new Uint8Array(32).fill(7)));
      const guardedBefore = keep.filter(isSecureBytes).length;
      const intact = keep.every((k) => k.length === 32 && k.every((b) => b === 7));
      for (const k of keep) releaseSecureBytes(k);
      keep.length = 0;
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      const again = copyToSecureBytes(new Uint8Array(32));
      console.log(JSON.stringify({ guardedBefore, intact, guardedAgain: isSecureBytes(again) }));
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toEqual({
      guardedBefore: isSodiumAvailable() ? MAX_GUARDED_ALLOCATIONS : 0,
      intact: true,
      guardedAgain: isSodiumAvailable(),
    });
  });
});
