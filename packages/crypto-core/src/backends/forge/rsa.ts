/**
 * RSA on node-forge (pure JavaScript): key generation stepped across event-loop turns, RSA-OAEP with SHA-256
 * and MGF1-SHA256 (RFC 8017 §7.1).
 *
 * forge's own `generateKeyPair(..., callback)` silently delegates to node:crypto when it is present; this
 * backend exists to be an independent implementation, so it drives forge's pure-JS prime search
 * (`createKeyPairGenerationState` / `stepKeyPairGenerationState`) itself, in slices of {@link KEYGEN_SLICE_MS}.
 *
 * Parsed keys are cached in a `WeakMap` keyed by the DER byte array the wrapper hands in.
 *
 * @module
 */
import * as forgeNs from 'node-forge';
import type { RsaBackend, RsaKeyPairPem } from '../types.js';
import { fromBinary, toBinary } from './binary.js';

// node-forge is CommonJS: under Node's ESM loader everything hangs off `default`; bundlers may flatten it.
const forge: typeof forgeNs = (forgeNs as unknown as { default?: typeof forgeNs }).default ?? forgeNs;

type ForgePublicKey = forgeNs.pki.rsa.PublicKey;
type ForgePrivateKey = forgeNs.pki.rsa.PrivateKey;

/** Untyped in @types/node-forge: the step-wise key generation API (node-forge lib/rsa.js). */
interface ForgeKeygenApi {
  createKeyPairGenerationState(bits: number, e: number): { keys: forgeNs.pki.rsa.KeyPair | null };
  stepKeyPairGenerationState(state: { keys: forgeNs.pki.rsa.KeyPair | null }, ms: number): boolean;
}

/**
 * Longest stretch (ms) one key-generation slice may hold the event loop; one primality test may overrun it.
 *
 * @example
 * ```ts
 * import { KEYGEN_SLICE_MS } from './backends/forge/rsa.js';
 * console.log(`forge key generation yields every ~${KEYGEN_SLICE_MS} ms`);
 * ```
 */
export const KEYGEN_SLICE_MS = 10;

/** `setImmediate` where the runtime has it (Node), a zero timeout elsewhere. */
const yieldToLoop: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function'
    ? (fn) => globalThis.setImmediate(fn)
    : (fn) => setTimeout(fn, 0);

const publicKeys = new WeakMap<Uint8Array, ForgePublicKey>();
const privateKeys = new WeakMap<Uint8Array, ForgePrivateKey>();

function publicKeyOf(spkiDer: Uint8Array): ForgePublicKey {
  let key = publicKeys.get(spkiDer);
  if (key === undefined) {
    key = forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(toBinary(spkiDer))) as ForgePublicKey;
    publicKeys.set(spkiDer, key);
  }
  return key;
}

function privateKeyOf(pkcs8Der: Uint8Array): ForgePrivateKey {
  let key = privateKeys.get(pkcs8Der);
  if (key === undefined) {
    key = forge.pki.privateKeyFromAsn1(forge.asn1.fromDer(toBinary(pkcs8Der)));
    privateKeys.set(pkcs8Der, key);
  }
  return key;
}

/** OAEP parameters: SHA-256 for the label hash and MGF1-SHA256 (fresh digests: forge's are stateful). */
function oaepParams(label: Uint8Array | undefined): object {
  return {
    md: forge.md.sha256.create(),
    mgf1: { md: forge.md.sha256.create() },
    ...(label !== undefined && label.length > 0 ? { label: toBinary(label) } : {}),
  };
}

/** PEM with `\n` line endings and 64-character lines, the same text node:crypto (OpenSSL) writes. */
function pem(label: string, derBinary: string): string {
  return forge.pem.encode({ type: label, body: derBinary }, { maxline: 64 }).replace(/\r\n/g, '\n');
}

/**
 * RSA primitives on node-forge. Used by `forgeBackend`; prefer the public wrappers in `rsa.ts`.
 *
 * @example
 * ```ts
 * import { forgeRsa } from './backends/forge/rsa.js';
 * const { publicKeyPem, privateKeyPem } = await forgeRsa.generateRsaKeyPair(2048); // seconds, in pure JS
 * ```
 */
export const forgeRsa: RsaBackend = {
  generateRsaKeyPair(modulusBits: number): Promise<RsaKeyPairPem> {
    const api = forge.pki.rsa as unknown as ForgeKeygenApi;
    const state = api.createKeyPairGenerationState(modulusBits, 0x10001);
    return new Promise((resolve, reject) => {
      const step = (): void => {
        try {
          if (!api.stepKeyPairGenerationState(state, KEYGEN_SLICE_MS)) {
            yieldToLoop(step); // yield to I/O and timers between slices
            return;
          }
          const keys = state.keys as forgeNs.pki.rsa.KeyPair;
          const pkcs8 = forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keys.privateKey));
          resolve({
            publicKeyPem: pem(
              'PUBLIC KEY',
              forge.asn1.toDer(forge.pki.publicKeyToAsn1(keys.publicKey)).getBytes(),
            ),
            privateKeyPem: pem('PRIVATE KEY', forge.asn1.toDer(pkcs8).getBytes()),
          });
        } catch (err) {
          reject(err);
        }
      };
      yieldToLoop(step);
    });
  },

  rsaOaepEncrypt(spkiDer: Uint8Array, plaintext: Uint8Array, label: Uint8Array | undefined): Uint8Array {
    return fromBinary(publicKeyOf(spkiDer).encrypt(toBinary(plaintext), 'RSA-OAEP', oaepParams(label)));
  },

  rsaOaepDecrypt(
    pkcs8Der: Uint8Array,
    ciphertext: Uint8Array,
    label: Uint8Array | undefined,
  ): Uint8Array | undefined {
    const key = privateKeyOf(pkcs8Der);
    try {
      return fromBinary(key.decrypt(toBinary(ciphertext), 'RSA-OAEP', oaepParams(label)));
    } catch {
      // RFC 8017 §7.1.2 note: one outcome for every failure; the wrapper throws the typed error.
      return undefined;
    }
  },
};
