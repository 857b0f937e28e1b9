/**
 * Loading `sodium-native` (libsodium's Node binding, prebuilt binaries inside the npm package) once, lazily.
 *
 * The binding is native code: on a platform without a prebuilt binary (or with a broken install) `require`
 * throws. The library then says so once, as a process warning with code `MESH_SODIUM_UNAVAILABLE`, and every
 * caller falls back: ChaCha20-Poly1305 to the pure-JavaScript `@noble/ciphers` backend, secure memory to
 * ordinary arrays. Loading is deferred to first use so that importing `@mesh/crypto-core` never pays for
 * (or warns about) an addon the program does not use.
 *
 * @module
 * @internal
 */
import { createRequire } from 'node:module';

/** The few sodium-native functions this package calls (its own signatures; Buffers are Uint8Arrays). */
export interface SodiumNative {
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null | undefined,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null | undefined,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null | undefined,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null | undefined,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  /** Fills the array with bytes from libsodium's CSPRNG (getrandom(2) on Linux). */
  randombytes_buf(buf: Uint8Array): void;
  /** Guarded allocation: guard pages either side, a canary, `mlock`ed; a Buffer over its whole memory. */
  sodium_malloc(size: number): Uint8Array & { secure?: boolean };
  /** Zeroes, unlocks and frees guarded memory, and detaches the ArrayBuffer (its views then have length 0). */
  sodium_free(buf: Uint8Array): void;
  /** Zeroes the memory, then `munlock`s its pages. */
  sodium_munlock(buf: Uint8Array): void;
  /** Zeroes memory in a way the compiler may not elide. */
  sodium_memzero(buf: Uint8Array): void;
}

/** Warning code emitted (once per process) when sodium-native cannot be loaded. */
export const SODIUM_UNAVAILABLE_WARNING = 'MESH_SODIUM_UNAVAILABLE';

type LoadState = { readonly sodium: SodiumNative } | { readonly error: unknown };
let state: LoadState | undefined;

/** sodium-native, or `undefined` when it cannot be loaded here (warned about once, on the first call). */
export function loadSodium(): SodiumNative | undefined {
  if (state === undefined) {
    try {
      const require = createRequire(import.meta.url);
      state = { sodium: require('sodium-native') as SodiumNative };
    } catch (error) {
      state = { error };
      process.emitWarning(
        `sodium-native could not be loaded (${reason(error)}): XChaCha20-Poly1305 uses the pure-JavaScript ` +
          '@noble/ciphers backend and key material is held in ordinary memory',
        { code: SODIUM_UNAVAILABLE_WARNING },
      );
    }
  }
  return 'sodium' in state ? state.sodium : undefined;
}

/** Why sodium-native did not load (a short message), or `undefined` when it did (or was not tried yet). */
export function sodiumLoadFailure(): string | undefined {
  return state !== undefined && 'error' in state ? reason(state.error) : undefined;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0] ?? 'unknown error';
}
