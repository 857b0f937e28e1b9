/**
 * Key material in libsodium's guarded memory where sodium-native loads.
 *
 * `sodium_malloc` places each allocation on its own pages with inaccessible guard pages on both sides and a
 * canary in front, and `mlock`s it so it is never written to swap; `sodium_memzero` wipes it in a way no
 * compiler can elide. JavaScript alone cannot do either. Where sodium-native cannot load (warned about once)
 * the same calls use ordinary arrays and `fill(0)`, so callers need no second code path.
 *
 * Cost: each allocation maps several pages (about 16 KiB of address space and one locked 4 KiB page for a
 * 32-byte key) and takes a system call or two, so this is for long-lived keys, not per-message temporaries.
 * The README's benchmark gives the measured numbers.
 *
 * @module
 */
import { assertBytes, isIntegerIn } from './_assert.js';
import { loadSodium, type SodiumNative } from './backends/sodium/load.js';
import { MeshCryptoError } from './errors.js';

/** Largest guarded allocation (1 MiB): keys are tens of bytes; a typo must not lock gigabytes. */
export const MAX_SECURE_BYTES = 1024 * 1024;

/**
 * Most guarded allocations mapped at once (4,096, about 12,000 memory mappings). Each one maps its own pages
 * (guard pages on both sides), and the pages are unmapped only when the garbage collector finalises the
 * buffer, even after {@link releaseSecureBytes}. Past about 21,000 the process reaches Linux's default
 * `vm.max_map_count` (65,530) and libsodium's allocation fails inside sodium-native with an uncatchable
 * `std::bad_alloc` that aborts the whole process (found by the configuration fuzz target, which opens many
 * facades). Past this budget new secrets go to ordinary memory instead (wiped the same way on release), so
 * guarded memory stays a hardening, never a way to crash the process.
 */
export const MAX_GUARDED_ALLOCATIONS = 4096;

/** The Buffer sodium_malloc returned, per plain view we handed out (sodium_free needs the original). */
const guarded = new WeakMap<Uint8Array, Uint8Array & { secure?: boolean }>();

/** Guarded buffers allocated and not yet finalised by the garbage collector (their pages are still mapped). */
let mappedAllocations = 0;
const unmapped = new FinalizationRegistry<void>(() => {
  mappedAllocations--;
});

/**
 * A zero-filled array of `length` bytes in guarded, locked memory where sodium-native loads (ordinary memory
 * otherwise, and past {@link MAX_GUARDED_ALLOCATIONS} mapped at once). The array is a plain `Uint8Array` over the whole allocation (byteOffset 0). Release it with
 * {@link releaseSecureBytes} when the secret retires.
 *
 * @example
 * ```ts
 * import { allocSecureBytes, randomBytes, releaseSecureBytes } from '@mesh/crypto-core';
 * const key = allocSecureBytes(32);
 * key.set(randomBytes(32));
 * // ... use key ...
 * releaseSecureBytes(key); // wiped; key.length is 0 afterwards where it was guarded
 * ```
 */
export function allocSecureBytes(length: number): Uint8Array {
  if (!isIntegerIn(length, 0, MAX_SECURE_BYTES)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', `length must be an integer in [0, ${MAX_SECURE_BYTES}]`);
  }
  const sodium = length === 0 ? undefined : loadSodium();
  if (sodium === undefined || mappedAllocations >= MAX_GUARDED_ALLOCATIONS) return new Uint8Array(length);
  const buffer = sodium.sodium_malloc(length);
  mappedAllocations++;
  unmapped.register(buffer, undefined);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  // libsodium fills new allocations with 0xdb (to expose use of uninitialised memory): start from zero.
  bytes.fill(0);
  guarded.set(bytes, buffer);
  return bytes;
}

/**
 * A copy of `source` in guarded memory (see {@link allocSecureBytes}). The caller still owns `source` and
 * should wipe it if it was a temporary.
 *
 * @example
 * ```ts
 * import { copyToSecureBytes, randomBytes, wipe } from '@mesh/crypto-core';
 * const tmp = randomBytes(32);
 * const key = copyToSecureBytes(tmp);
 * wipe(tmp);
 * ```
 */
export function copyToSecureBytes(source: Uint8Array): Uint8Array {
  assertBytes('source', source);
  const bytes = allocSecureBytes(source.length);
  bytes.set(source);
  return bytes;
}

/**
 * True when `bytes` came from {@link allocSecureBytes} in guarded memory and has not been released.
 *
 * @example
 * ```ts
 * import { allocSecureBytes, isSecureBytes, isSodiumAvailable } from '@mesh/crypto-core';
 * isSecureBytes(allocSecureBytes(32)) === isSodiumAvailable(); // true
 * ```
 */
export function isSecureBytes(bytes: Uint8Array): boolean {
  return guarded.has(bytes);
}

/**
 * Wipe `bytes` and, when it is guarded memory, free it: the page is unlocked at once and unmapped when the
 * garbage collector finalises the buffer, and the array is
 * detached: its length becomes 0, so a late use through this package fails with a typed length error, and
 * iterating it throws a `TypeError`, instead of reading freed memory. Ordinary arrays are zero-filled. Releasing twice is harmless.
 *
 * @example
 * ```ts
 * import { allocSecureBytes, releaseSecureBytes } from '@mesh/crypto-core';
 * const key = allocSecureBytes(32);
 * releaseSecureBytes(key);
 * ```
 */
export function releaseSecureBytes(bytes: Uint8Array): void {
  assertBytes('bytes', bytes);
  if (bytes.length === 0) return; // nothing to wipe (also: already released, its buffer detached)
  const buffer = guarded.get(bytes);
  if (buffer === undefined) {
    const sodium: SodiumNative | undefined = loadSodium();
    if (sodium !== undefined) sodium.sodium_memzero(bytes);
    else bytes.fill(0);
    return;
  }
  guarded.delete(bytes);
  const sodium = loadSodium() as SodiumNative; // it allocated this buffer, so it is loaded
  // munlock zeroes and unlocks now; sodium_free detaches the ArrayBuffer, and the pages are unmapped when the
  // garbage collector finalises it (sodium-native frees there), so the lock must not wait for that.
  sodium.sodium_munlock(buffer);
  sodium.sodium_free(buffer);
}
