/**
 * RSA for Mesh: key generation (2048/3072/4096, e = 65537), SPKI / PKCS#8 import, RSAES-OAEP with SHA-256 and
 * MGF1-SHA256 (RFC 8017 §7.1) and an optional label, the hybrid envelope's key id, and (re-exported from
 * `pkcs8.ts`) encrypted PKCS#8 for private keys at rest.
 *
 * Imported keys are validated once (structure, sizes, and for private keys the CRT relations) and then
 * trusted: backends cache their parsed form keyed by the imported key's DER bytes, so reuse an imported key
 * object instead of passing PEM text on every call. Public-key PEM strings are also cached (bounded).
 *
 * @module
 */
import { defaultBackend } from './backends/default.js';
import type { RsaBackend, RsaKeyPairPem, SymmetricBackend } from './backends/types.js';
import { utf8Encode } from './bytes.js';
import { DecryptionError, MeshCryptoError } from './errors.js';
import { pemDecode, pemEncode } from './pem.js';
import {
  DER_NULL,
  DerError,
  DerReader,
  derSmallInteger,
  derTlv,
  derUnsignedInteger,
  parsePrivateKeyInfo,
  TAG,
} from './pkcs8.js';

export type { DecryptPrivateKeyOptions, EncryptPrivateKeyOptions } from './pkcs8.js';
export {
  decryptPrivateKeyPem,
  encryptPrivateKeyPem,
  PKCS8_DEFAULT_ITERATIONS,
  PKCS8_MAX_ITERATIONS,
  PKCS8_MIN_ITERATIONS,
} from './pkcs8.js';

/**
 * Modulus sizes {@link generateRsaKeyPair} offers.
 *
 * @example
 * ```ts
 * import { generateRsaKeyPair, type RsaModulusBits } from '@mesh/crypto-core';
 * const bits: RsaModulusBits = 4096;
 * const pair = await generateRsaKeyPair(bits);
 * ```
 */
export type RsaModulusBits = 2048 | 3072 | 4096;

/**
 * An imported, validated RSA public key. Produced by {@link importRsaPublicKey}; treat as immutable.
 *
 * @example
 * ```ts
 * import { importRsaPublicKey } from '@mesh/crypto-core';
 * const { bits, spkiDer, pem } = importRsaPublicKey(peerPublicPem);
 * ```
 */
export interface RsaPublicKey {
  /** Modulus size in bits. */
  readonly bits: number;
  /** Canonical SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7, rsaEncryption with NULL parameters). */
  readonly spkiDer: Uint8Array;
  /** The same key as `-----BEGIN PUBLIC KEY-----` PEM. */
  readonly pem: string;
}

/**
 * An imported, validated RSA private key. Produced by {@link importRsaPrivateKey}; treat as immutable.
 *
 * @example
 * ```ts
 * import { importRsaPrivateKey, rsaKeyId } from '@mesh/crypto-core';
 * const key = importRsaPrivateKey(privateKeyPem);
 * rsaKeyId(key.publicKey); // the id a hybrid envelope for this key carries
 * ```
 */
export interface RsaPrivateKey {
  /** Modulus size in bits. */
  readonly bits: number;
  /** Canonical PKCS#8 `PrivateKeyInfo` DER (RFC 5208 §5, version 0, no attributes). */
  readonly pkcs8Der: Uint8Array;
  /** The matching public key. */
  readonly publicKey: RsaPublicKey;
}

/**
 * Options for {@link rsaOaepEncrypt} and {@link rsaOaepDecrypt}.
 *
 * @example
 * ```ts
 * import { forgeBackend, rsaOaepEncrypt } from '@mesh/crypto-core';
 * rsaOaepEncrypt(publicKeyPem, dataKey, { label: 'tenant-42', backend: forgeBackend });
 * ```
 */
export interface RsaOaepOptions {
  /** OAEP label (RFC 8017 §7.1.1 `L`), bytes or UTF-8 text; must match on decryption. Default: empty. */
  readonly label?: Uint8Array | string;
  /** Backend (default: node). */
  readonly backend?: RsaBackend;
}

/**
 * Modulus bounds, in bits. Import accepts {@link RSA_MIN_IMPORT_BITS}..{@link RSA_MAX_IMPORT_BITS} (the lower
 * bound lets legacy 1024-bit keys still decrypt; the upper one bounds the work a hostile key can ask for);
 * {@link rsaOaepEncrypt} refuses keys under {@link RSA_MIN_ENCRYPT_BITS} (NIST SP 800-57 Part 1 Rev. 5 §5.6.1:
 * 112-bit security).
 *
 * @example
 * ```ts
 * import { importRsaPublicKey, RSA_MIN_ENCRYPT_BITS } from '@mesh/crypto-core';
 * if (importRsaPublicKey(pem).bits < RSA_MIN_ENCRYPT_BITS) throw new Error('peer key too small');
 * ```
 */
export const RSA_MIN_IMPORT_BITS = 1024;
/** See {@link RSA_MIN_IMPORT_BITS}. */
export const RSA_MAX_IMPORT_BITS = 16384;
/** See {@link RSA_MIN_IMPORT_BITS}. */
export const RSA_MIN_ENCRYPT_BITS = 2048;

const SHA256_LENGTH = 32;
/** rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 Appendix A.1). */
const RSA_ENCRYPTION_OID = new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
const RSA_ALGORITHM_ID = derTlv(TAG.SEQUENCE, derTlv(TAG.OID, RSA_ENCRYPTION_OID), DER_NULL);
const SUPPORTED_BITS: readonly number[] = [2048, 3072, 4096];

/** Objects this module built (so structurally typed look-alikes are re-validated, never trusted). */
const issuedPublic = new WeakSet<object>();
const issuedPrivate = new WeakSet<object>();
/** Look-alike objects re-imported once. */
const reimported = new WeakMap<object, RsaPublicKey | RsaPrivateKey>();
const keyIds = new WeakMap<RsaPublicKey, number>();
/** Public PEM text -> imported key. Bounded, least recently used first out. Never holds private keys. */
const publicPemCache = new Map<string, RsaPublicKey>();
const PUBLIC_PEM_CACHE_SIZE = 64;

function invalid(message: string, cause?: unknown): MeshCryptoError {
  return new MeshCryptoError('ERR_INVALID_INPUT', message, cause === undefined ? undefined : { cause });
}

function toBytes(name: string, data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return utf8Encode(data, name);
  if (data instanceof Uint8Array) return data;
  throw invalid(`${name} must be a Uint8Array or a string`);
}

function toBigInt(magnitude: Uint8Array): bigint {
  let hex = '0x0';
  for (const b of magnitude) hex += b.toString(16).padStart(2, '0');
  return BigInt(hex);
}

function bitLength(magnitude: Uint8Array): number {
  const first = magnitude[0] ?? 0;
  return first === 0 ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(first));
}

/** Checks on the public part (RFC 8017 §3.1), plus the size bounds above. */
function checkPublic(n: Uint8Array, e: Uint8Array): number {
  const bits = bitLength(n);
  if (bits < RSA_MIN_IMPORT_BITS || bits > RSA_MAX_IMPORT_BITS) {
    throw invalid(`RSA modulus must be ${RSA_MIN_IMPORT_BITS} to ${RSA_MAX_IMPORT_BITS} bits, got ${bits}`);
  }
  if (((n[n.length - 1] as number) & 1) === 0) throw invalid('RSA modulus must be odd');
  // §3.1: 3 <= e <= n - 1, e odd; OpenSSL also refuses exponents over 64 bits for large moduli.
  const eBits = bitLength(e);
  if (eBits < 2 || eBits > 64 || ((e[e.length - 1] as number) & 1) === 0) {
    throw invalid('RSA public exponent must be odd, at least 3 and at most 64 bits');
  }
  return bits;
}

function spkiFrom(n: Uint8Array, e: Uint8Array): Uint8Array {
  // RFC 8017 Appendix A.1.1 RSAPublicKey inside RFC 5280 SubjectPublicKeyInfo (BIT STRING, 0 unused bits).
  const rsaPublicKey = derTlv(TAG.SEQUENCE, derUnsignedInteger(n), derUnsignedInteger(e));
  return derTlv(TAG.SEQUENCE, RSA_ALGORITHM_ID, derTlv(TAG.BIT_STRING, new Uint8Array([0]), rsaPublicKey));
}

/** Node's `util.inspect` hook, by its registered name: crypto-core must not import node:util. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

function hex32(id: number): string {
  return `0x${id.toString(16).padStart(8, '0')}`;
}

function makePublicKey(n: Uint8Array, e: Uint8Array): RsaPublicKey {
  const bits = checkPublic(n, e);
  const spkiDer = spkiFrom(n, e);
  const key = { bits, spkiDer, pem: pemEncode('PUBLIC KEY', spkiDer) } as RsaPublicKey;
  // Logged, a key is its size and id (what an envelope header names), not 294+ bytes of DER.
  Object.defineProperty(key, INSPECT, {
    value: () => `RsaPublicKey { bits: ${bits}, keyId: ${hex32(rsaKeyId(key))} }`,
    enumerable: false,
  });
  Object.freeze(key);
  issuedPublic.add(key);
  return key;
}

/** AlgorithmIdentifier must be rsaEncryption with NULL (or, leniently, absent) parameters (RFC 8017 A.1). */
function checkRsaAlgorithm(algorithm: Uint8Array, parameters: Uint8Array | undefined): void {
  const same =
    algorithm.length === RSA_ENCRYPTION_OID.length && algorithm.every((b, i) => b === RSA_ENCRYPTION_OID[i]);
  if (!same) throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'not an RSA (rsaEncryption) key');
  if (
    parameters !== undefined &&
    !(parameters.length === 2 && parameters[0] === TAG.NULL && parameters[1] === 0)
  ) {
    throw new DerError('rsaEncryption parameters must be NULL');
  }
}

function parseSpki(der: Uint8Array): RsaPublicKey {
  const spki = DerReader.top(der);
  const alg = spki.sequence();
  const algorithm = alg.anyOid();
  const parameters = alg.peekTag() === undefined ? undefined : alg.raw();
  alg.end();
  checkRsaAlgorithm(algorithm, parameters);
  const bitString = spki.read(TAG.BIT_STRING);
  spki.end();
  if (bitString[0] !== 0) throw new DerError('SPKI key must be whole octets');
  const rsa = DerReader.top(bitString.subarray(1));
  const n = rsa.unsignedInteger();
  const e = rsa.unsignedInteger();
  rsa.end();
  return makePublicKey(n, e);
}

/** Parse RFC 8017 Appendix A.1.2 `RSAPrivateKey` (two-prime only) and check it is self-consistent. */
function parseRsaPrivateKey(der: Uint8Array): RsaPrivateKey {
  const r = DerReader.top(der);
  const version = r.smallInteger();
  if (version !== 0) {
    throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'multi-prime RSA private keys are not supported');
  }
  // n, e, d, p, q, dP, dQ, qInv, in that order.
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) parts.push(r.unsignedInteger());
  r.end();
  const [nB, eB, dB, pB, qB, dpB, dqB, qiB] = parts as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const publicKey = makePublicKey(nB, eB);
  // Bound the BigInt work below: no component may be longer than the (already bounded) modulus.
  if ([dB, pB, qB, dpB, dqB, qiB].some((x) => x.length > nB.length)) {
    throw invalid('RSA private key components are inconsistent');
  }

  // RFC 8017 §3.2: n = p*q, e*d = 1 mod (p-1) and (q-1), dP = d mod (p-1), dQ = d mod (q-1),
  // qInv * q = 1 mod p. Inconsistent CRT values would make the backends disagree or leak through faults.
  const [n, e, d, p, q, dp, dq, qi] = [nB, eB, dB, pB, qB, dpB, dqB, qiB].map(toBigInt) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const p1 = p - 1n;
  const q1 = q - 1n;
  const consistent =
    p > 2n &&
    q > 2n &&
    p * q === n &&
    d > 0n &&
    d < n &&
    (e * d - 1n) % p1 === 0n &&
    (e * d - 1n) % q1 === 0n &&
    dp === d % p1 &&
    dq === d % q1 &&
    qi < p &&
    (qi * q) % p === 1n;
  if (!consistent) throw invalid('RSA private key components are inconsistent');

  // Re-encode canonically: PrivateKeyInfo v0 { rsaEncryption NULL, OCTET STRING RSAPrivateKey }.
  const encodedParts = parts.map(derUnsignedInteger);
  const rsaPrivateKey = derTlv(TAG.SEQUENCE, derSmallInteger(0), ...encodedParts);
  const octets = derTlv(TAG.OCTET_STRING, rsaPrivateKey);
  const pkcs8Der = derTlv(TAG.SEQUENCE, derSmallInteger(0), RSA_ALGORITHM_ID, octets);
  // The intermediate encodings are copies of the private key: only pkcs8Der is kept.
  for (const temporary of [...encodedParts, rsaPrivateKey, octets]) temporary.fill(0);
  // pkcs8Der is non-enumerable (JSON.stringify and Object.keys skip it), and util.inspect shows size and id
  // only, even with `showHidden`: logging or serialising the key object never prints key material.
  const key = { bits: publicKey.bits, publicKey } as RsaPrivateKey;
  Object.defineProperty(key, 'pkcs8Der', { value: pkcs8Der, enumerable: false });
  Object.defineProperty(key, INSPECT, {
    value: () => `RsaPrivateKey { bits: ${publicKey.bits}, keyId: ${hex32(rsaKeyId(publicKey))} }`,
    enumerable: false,
  });
  Object.freeze(key);
  issuedPrivate.add(key);
  return key;
}

/** Run a DER parser and turn structural failures into `ERR_INVALID_INPUT` (typed errors pass through). */
function parsing<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    if (cause instanceof MeshCryptoError) throw cause;
    throw invalid(`malformed ${what}`, cause);
  }
}

/**
 * Import an RSA public key from SPKI PEM (`-----BEGIN PUBLIC KEY-----`) or SPKI DER bytes. The key is
 * validated (rsaEncryption, {@link RSA_MIN_IMPORT_BITS}..{@link RSA_MAX_IMPORT_BITS} bits, odd modulus,
 * odd exponent of 3..64 bits) and re-encoded canonically.
 *
 * @throws `ERR_INVALID_INPUT` for malformed PEM/DER or out-of-range parameters; `ERR_UNSUPPORTED_ALGORITHM`
 *   for a non-RSA key.
 * @example
 * ```ts
 * import { importRsaPublicKey, rsaOaepEncrypt } from '@mesh/crypto-core';
 * const peer = importRsaPublicKey(peerPublicPem); // { bits: 3072, spkiDer, pem }
 * const wrapped = rsaOaepEncrypt(peer, dataKey);
 * ```
 */
export function importRsaPublicKey(pem: string | Uint8Array): RsaPublicKey {
  if (typeof pem === 'string') {
    const cached = publicPemCache.get(pem);
    if (cached !== undefined) {
      publicPemCache.delete(pem); // refresh its place in the LRU order
      publicPemCache.set(pem, cached);
      return cached;
    }
    const key = parsing('SPKI public key', () => parseSpki(pemDecode(pem, 'PUBLIC KEY').der));
    publicPemCache.set(pem, key);
    if (publicPemCache.size > PUBLIC_PEM_CACHE_SIZE) {
      publicPemCache.delete(publicPemCache.keys().next().value as string);
    }
    return key;
  }
  if (!(pem instanceof Uint8Array)) throw invalid('public key must be PEM text or SPKI DER bytes');
  return parsing('SPKI public key', () => parseSpki(pem));
}

/**
 * Import an RSA private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), PKCS#1 PEM
 * (`-----BEGIN RSA PRIVATE KEY-----`, unencrypted) or PKCS#8 DER bytes. Checks the structure and the
 * RFC 8017 §3.2 relations between the components, and re-encodes the key as canonical PKCS#8.
 * Encrypted keys: {@link decryptPrivateKeyPem} first.
 *
 * @throws `ERR_INVALID_INPUT` for malformed or inconsistent keys; `ERR_UNSUPPORTED_ALGORITHM` for non-RSA or
 *   multi-prime keys and legacy encrypted PEM.
 * @example
 * ```ts
 * import { importRsaPrivateKey, rsaOaepDecrypt } from '@mesh/crypto-core';
 * const mine = importRsaPrivateKey(privateKeyPem); // parse once, reuse for every decryption
 * const dataKey = rsaOaepDecrypt(mine, wrapped);
 * ```
 */
export function importRsaPrivateKey(pem: string | Uint8Array): RsaPrivateKey {
  if (typeof pem === 'string') {
    const block = pemDecode(pem);
    try {
      if (block.label === 'RSA PRIVATE KEY')
        return parsing('PKCS#1 private key', () => parseRsaPrivateKey(block.der));
      if (block.label === 'ENCRYPTED PRIVATE KEY') {
        throw invalid('the private key is encrypted: call decryptPrivateKeyPem first');
      }
      if (block.label !== 'PRIVATE KEY') throw invalid('expected a PEM block labelled "PRIVATE KEY"');
      return importPkcs8(block.der);
    } finally {
      // The decoded DER is our temporary copy of the private key: the key object holds its own canonical one.
      block.der.fill(0);
    }
  }
  if (!(pem instanceof Uint8Array)) throw invalid('private key must be PEM text or PKCS#8 DER bytes');
  return importPkcs8(pem);
}

function importPkcs8(der: Uint8Array): RsaPrivateKey {
  return parsing('PKCS#8 private key', () => {
    const info = parsePrivateKeyInfo(der);
    checkRsaAlgorithm(info.algorithm, info.parameters);
    return parseRsaPrivateKey(info.privateKey);
  });
}

function resolvePublicKey(key: string | RsaPublicKey): RsaPublicKey {
  if (typeof key === 'string') return importRsaPublicKey(key);
  if (typeof key === 'object' && key !== null) {
    if (issuedPublic.has(key)) return key;
    const again = reimported.get(key);
    if (again !== undefined) return again as RsaPublicKey;
    const spki = (key as { spkiDer?: unknown }).spkiDer;
    if (spki instanceof Uint8Array) {
      const imported = importRsaPublicKey(spki);
      reimported.set(key, imported);
      return imported;
    }
  }
  throw invalid('public key must be SPKI PEM text or an RsaPublicKey');
}

function resolvePrivateKey(key: string | RsaPrivateKey): RsaPrivateKey {
  if (typeof key === 'string') return importRsaPrivateKey(key);
  if (typeof key === 'object' && key !== null) {
    if (issuedPrivate.has(key)) return key;
    const again = reimported.get(key);
    if (again !== undefined) return again as RsaPrivateKey;
    const der = (key as { pkcs8Der?: unknown }).pkcs8Der;
    if (der instanceof Uint8Array) {
      const imported = importPkcs8(der);
      reimported.set(key, imported);
      return imported;
    }
  }
  throw invalid('private key must be PKCS#8 PEM text or an RsaPrivateKey');
}

/**
 * Largest plaintext RSA-OAEP with SHA-256 can carry: `k - 2*hLen - 2` bytes (RFC 8017 §7.1.1 step 1.b),
 * where `k` is the modulus length in bytes. 190 at 2048 bits, 318 at 3072, 446 at 4096.
 *
 * @throws `ERR_INVALID_INPUT` when `modulusBits` is not an integer in the importable range.
 * @example
 * ```ts
 * import { rsaOaepMaxPlaintextLength } from '@mesh/crypto-core';
 * rsaOaepMaxPlaintextLength(2048); // 190
 * ```
 */
export function rsaOaepMaxPlaintextLength(modulusBits: number): number {
  if (
    !Number.isSafeInteger(modulusBits) ||
    modulusBits < RSA_MIN_IMPORT_BITS ||
    modulusBits > RSA_MAX_IMPORT_BITS
  ) {
    throw invalid(`modulusBits must be an integer from ${RSA_MIN_IMPORT_BITS} to ${RSA_MAX_IMPORT_BITS}`);
  }
  return Math.ceil(modulusBits / 8) - 2 * SHA256_LENGTH - 2;
}

/**
 * Generate an RSA key pair (e = 65537) without blocking the event loop: node runs OpenSSL on libuv's thread
 * pool (about 0.1 / 0.5 / 1.2 s for 2048 / 3072 / 4096 bits); forge searches primes in pure JavaScript in
 * short slices between event-loop turns (seconds to minutes). Returns SPKI and PKCS#8 PEM, re-encoded
 * canonically, so both backends produce text of the same shape.
 *
 * @throws `ERR_INVALID_INPUT` unless `bits` is 2048, 3072 or 4096.
 * @example
 * ```ts
 * import { generateRsaKeyPair, rsaKeyId } from '@mesh/crypto-core';
 * const { publicKeyPem, privateKeyPem } = await generateRsaKeyPair(3072);
 * rsaKeyId(publicKeyPem); // u32 for the hybrid envelope header
 * ```
 */
export async function generateRsaKeyPair(
  bits: RsaModulusBits = 3072,
  backend: RsaBackend = defaultBackend(),
): Promise<RsaKeyPairPem> {
  if (!SUPPORTED_BITS.includes(bits)) throw invalid('RSA key size must be 2048, 3072 or 4096 bits');
  const generated = await backend.generateRsaKeyPair(bits);
  // Validate what the backend made (sizes, CRT relations, matching halves) before anyone relies on it.
  const privateKey = importRsaPrivateKey(generated.privateKeyPem);
  const publicKey = importRsaPublicKey(generated.publicKeyPem);
  if (privateKey.bits !== bits || publicKey.pem !== privateKey.publicKey.pem) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'the backend produced an inconsistent RSA key pair');
  }
  return { publicKeyPem: publicKey.pem, privateKeyPem: pemEncode('PRIVATE KEY', privateKey.pkcs8Der) };
}

/**
 * RSAES-OAEP encryption (RFC 8017 §7.1.1) with SHA-256 and MGF1-SHA256. Output is `k` bytes.
 *
 * @throws `ERR_PLAINTEXT_TOO_LARGE` when `plaintext` exceeds {@link rsaOaepMaxPlaintextLength};
 *   `ERR_INVALID_INPUT` for a bad key, a key under {@link RSA_MIN_ENCRYPT_BITS} bits or bad arguments.
 * @example
 * ```ts
 * import { rsaOaepEncrypt, rsaOaepDecrypt, generateRsaKeyPair } from '@mesh/crypto-core';
 * const { publicKeyPem, privateKeyPem } = await generateRsaKeyPair(2048);
 * const ct = rsaOaepEncrypt(publicKeyPem, new TextEncoder().encode('data key'), { label: 'orders' });
 * rsaOaepDecrypt(privateKeyPem, ct, { label: 'orders' }); // the bytes of 'data key'
 * ```
 */
export function rsaOaepEncrypt(
  publicKey: string | RsaPublicKey,
  plaintext: Uint8Array | string,
  options: RsaOaepOptions = {},
): Uint8Array {
  const key = resolvePublicKey(publicKey);
  if (key.bits < RSA_MIN_ENCRYPT_BITS) {
    throw invalid(`refusing to encrypt to an RSA key under ${RSA_MIN_ENCRYPT_BITS} bits`);
  }
  const message = toBytes('plaintext', plaintext);
  const label = options.label === undefined ? undefined : toBytes('label', options.label);
  const max = rsaOaepMaxPlaintextLength(key.bits);
  if (message.length > max) {
    throw new MeshCryptoError(
      'ERR_PLAINTEXT_TOO_LARGE',
      `RSA-OAEP-SHA256 with a ${key.bits}-bit key takes at most ${max} bytes, got ${message.length}`,
    );
  }
  return (options.backend ?? defaultBackend()).rsaOaepEncrypt(key.spkiDer, message, label);
}

/**
 * RSAES-OAEP decryption (RFC 8017 §7.1.2) with SHA-256 and MGF1-SHA256.
 *
 * Every failure (wrong key, wrong label, wrong length, bad padding, ciphertext out of range) throws the same
 * {@link DecryptionError}, as §7.1.2's note demands, so the error is no padding oracle.
 *
 * @throws `ERR_DECRYPTION_FAILED` (always the same error); `ERR_INVALID_INPUT` for a bad key or arguments.
 * @example
 * ```ts
 * import { importRsaPrivateKey, rsaOaepDecrypt } from '@mesh/crypto-core';
 * const key = importRsaPrivateKey(privateKeyPem);
 * const dataKey = rsaOaepDecrypt(key, wrapped, { label: 'orders' });
 * ```
 */
export function rsaOaepDecrypt(
  privateKey: string | RsaPrivateKey,
  ciphertext: Uint8Array,
  options: RsaOaepOptions = {},
): Uint8Array {
  const key = resolvePrivateKey(privateKey);
  if (!(ciphertext instanceof Uint8Array)) throw invalid('ciphertext must be a Uint8Array');
  const label = options.label === undefined ? undefined : toBytes('label', options.label);
  // §7.1.2 step 1.b: the ciphertext is exactly k octets.
  if (ciphertext.length !== Math.ceil(key.bits / 8)) throw new DecryptionError();
  const plaintext = (options.backend ?? defaultBackend()).rsaOaepDecrypt(key.pkcs8Der, ciphertext, label);
  if (plaintext === undefined) throw new DecryptionError();
  return plaintext;
}

/**
 * Key id of an RSA public key, as the hybrid envelope header carries it (docs/DESIGN.md §3): the first 4 bytes,
 * big-endian, of SHA-256 over the key's canonical SPKI DER. Cached per imported key.
 *
 * @throws `ERR_INVALID_INPUT` for a bad key.
 * @example
 * ```ts
 * import { rsaKeyId } from '@mesh/crypto-core';
 * const id = rsaKeyId(publicKeyPem); // e.g. 0x1f2e3d4c
 * ```
 */
export function rsaKeyId(
  publicKey: string | RsaPublicKey,
  backend: Pick<SymmetricBackend, 'sha256'> = defaultBackend(),
): number {
  const key = resolvePublicKey(publicKey);
  const cached = keyIds.get(key);
  if (cached !== undefined) return cached;
  const digest = backend.sha256(key.spkiDer);
  const id =
    (((digest[0] as number) << 24) |
      ((digest[1] as number) << 16) |
      ((digest[2] as number) << 8) |
      (digest[3] as number)) >>>
    0;
  keyIds.set(key, id);
  return id;
}
