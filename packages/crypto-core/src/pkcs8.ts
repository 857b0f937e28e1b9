/**
 * PKCS#8 private keys at rest: `EncryptedPrivateKeyInfo` (RFC 5958 §3) with PBES2 (RFC 8018 §6.2),
 * PBKDF2-HMAC-SHA256 (RFC 8018 §5.2, RFC 8018 Appendix B.1.2) and AES-256-CBC (RFC 8018 Appendix B.2.5,
 * NIST OIDs), the same structure `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256` and
 * `openssl genpkey -aes-256-cbc` write.
 *
 * The PBES2 structure is parsed and built here rather than by `crypto.createPrivateKey({ passphrase })`
 * because that call runs PBKDF2 synchronously on the event loop (0.1-0.2 s at 600,000 iterations); here the
 * derivation goes through the backend's asynchronous PBKDF2 (node: libuv's thread pool) and only the cheap
 * AES-CBC step is synchronous. The iteration count read from a file is bounded (`maxIterations`), so a
 * hostile file cannot buy unbounded work (jose's `maxPBES2Count`).
 *
 * The small DER reader and writer below are shared with `rsa.ts` (SPKI and `RSAPrivateKey`); they accept
 * DER only (X.690 §10): definite, minimal lengths, low tag numbers.
 *
 * @module
 */

import { defaultBackend } from './backends/default.js';
import type { SymmetricBackend } from './backends/types.js';
import { utf8Encode } from './bytes.js';
import { DecryptionError, MeshCryptoError } from './errors.js';
import { MAX_PBKDF2_ITERATIONS, MIN_ACCEPTED_PBKDF2_ITERATIONS } from './kdf.js';
import { pemDecode, pemEncode } from './pem.js';

// ---------------------------------------------------------------------------------------------------------
// DER (X.690) reader and writer, internal
// ---------------------------------------------------------------------------------------------------------

/** @internal Thrown by {@link DerReader} on malformed input; callers map it to their public error. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

/** @internal Universal tags used by the key formats. */
export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
} as const;

/**
 * @internal A cursor over the contents of one constructed DER value. Every read checks the tag, and
 * {@link DerReader.end} checks that nothing trails, so a parser written with it accepts exactly one encoding.
 */
export class DerReader {
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly limit = bytes.length,
  ) {
    this.pos = start;
  }

  /** Read a whole DER value that must fill `bytes` exactly, and return a reader over its contents. */
  static top(bytes: Uint8Array, tag: number = TAG.SEQUENCE): DerReader {
    const outer = new DerReader(bytes);
    const inner = outer.sequence(tag);
    outer.end();
    return inner;
  }

  /** Tag of the next value, or `undefined` at the end. */
  peekTag(): number | undefined {
    return this.pos < this.limit ? this.bytes[this.pos] : undefined;
  }

  /** Contents of the next value, which must carry `tag`. */
  read(tag: number): Uint8Array {
    const { start, end } = this.header(tag);
    this.pos = end;
    return this.bytes.subarray(start, end);
  }

  /** A reader over the next constructed value (a SEQUENCE unless `tag` says otherwise). */
  sequence(tag: number = TAG.SEQUENCE): DerReader {
    const { start, end } = this.header(tag);
    this.pos = end;
    return new DerReader(this.bytes, start, end);
  }

  /** The complete encoding (tag, length and contents) of the next value, whatever its tag. */
  raw(): Uint8Array {
    const begin = this.pos;
    const { end } = this.header(undefined);
    this.pos = end;
    return this.bytes.subarray(begin, end);
  }

  /** A non-negative INTEGER as its big-endian magnitude without sign octet (X.690 §8.3: minimal). */
  unsignedInteger(): Uint8Array {
    const c = this.read(TAG.INTEGER);
    if (c.length === 0) throw new DerError('empty INTEGER');
    const first = c[0] as number;
    if (first & 0x80) throw new DerError('negative INTEGER');
    if (c.length > 1 && first === 0 && ((c[1] as number) & 0x80) === 0)
      throw new DerError('non-minimal INTEGER');
    return first === 0 && c.length > 1 ? c.subarray(1) : c;
  }

  /** A small non-negative INTEGER (at most 2^48). */
  smallInteger(): number {
    const m = this.unsignedInteger();
    if (m.length > 6) throw new DerError('INTEGER too large');
    let n = 0;
    for (const b of m) n = n * 256 + b;
    return n;
  }

  /** Read an OBJECT IDENTIFIER and require it to equal `expected` (its content octets). */
  oid(expected: Uint8Array): void {
    if (!bytesEqual(this.read(TAG.OID), expected)) throw new DerError('unexpected OID');
  }

  /** An OBJECT IDENTIFIER's content octets. */
  anyOid(): Uint8Array {
    return this.read(TAG.OID);
  }

  /** Require the end of this value's contents. */
  end(): void {
    if (this.pos !== this.limit) throw new DerError('trailing data');
  }

  private header(tag: number | undefined): { start: number; end: number } {
    const { bytes, limit } = this;
    let p = this.pos;
    if (p + 2 > limit) throw new DerError('truncated');
    const t = bytes[p++] as number;
    if ((t & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used');
    if (tag !== undefined && t !== tag) throw new DerError('unexpected tag');
    let len = bytes[p++] as number;
    if (len & 0x80) {
      const n = len & 0x7f;
      // X.690 §10.1: definite form, minimal number of length octets; 4 octets already allow 4 GiB.
      if (n === 0 || n > 4 || p + n > limit) throw new DerError('bad length');
      if (bytes[p] === 0) throw new DerError('non-minimal length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (bytes[p++] as number);
      if (len < 0x80) throw new DerError('non-minimal length');
    }
    if (len > limit - p) throw new DerError('truncated');
    return { start: p, end: p + len };
  }
}

/** @internal Encode one DER value from its tag and content parts. */
export function derTlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const lenBytes: number[] = [];
  if (len < 0x80) lenBytes.push(len);
  else {
    for (let l = len; l > 0; l = Math.floor(l / 256)) lenBytes.unshift(l & 0xff);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let o = 1 + lenBytes.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** @internal DER INTEGER from a big-endian magnitude (leading zeros dropped, sign octet added when needed). */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m.length > 0 && ((m[0] as number) & 0x80) !== 0
    ? derTlv(TAG.INTEGER, new Uint8Array([0]), m)
    : derTlv(TAG.INTEGER, m.length === 0 ? new Uint8Array([0]) : m);
}

/** @internal DER INTEGER from a non-negative safe integer. */
export function derSmallInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return derUnsignedInteger(new Uint8Array(bytes));
}

/** @internal The DER NULL value. */
export const DER_NULL = new Uint8Array([TAG.NULL, 0]);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// PKCS#8 and PBES2
// ---------------------------------------------------------------------------------------------------------

/** OID content octets (X.690 §8.19). */
const OID = {
  /** 1.2.840.113549.1.5.13, RFC 8018 Appendix A.4. */
  pbes2: new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d]),
  /** 1.2.840.113549.1.5.12, RFC 8018 Appendix A.2. */
  pbkdf2: new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c]),
  /** 1.2.840.113549.2.9, RFC 8018 Appendix B.1.2. */
  hmacWithSHA256: new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09]),
  /** 2.16.840.1.101.3.4.1.42 (NIST CSOR), RFC 8018 Appendix B.2.5. */
  aes256Cbc: new Uint8Array([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a]),
} as const;

/**
 * PBKDF2 iteration bounds for encrypted PKCS#8: the default written (OWASP 2023 for PBKDF2-HMAC-SHA256),
 * the fewest written and read (RFC 8018 §4.2 and NIST SP 800-132 §5.2: at least 1,000; crypto-core's
 * `MIN_ACCEPTED_PBKDF2_ITERATIONS`) and the most accepted from a file by default (crypto-core's
 * `MAX_PBKDF2_ITERATIONS`: bounds a hostile file's cost, about 5 s on node, minutes on forge).
 *
 * @example
 * ```ts
 * import { encryptPrivateKeyPem, PKCS8_DEFAULT_ITERATIONS } from '@mesh/crypto-core';
 * await encryptPrivateKeyPem(pem, passphrase, { iterations: 2 * PKCS8_DEFAULT_ITERATIONS });
 * ```
 */
export const PKCS8_DEFAULT_ITERATIONS = 600_000;
/** See {@link PKCS8_DEFAULT_ITERATIONS}. */
export const PKCS8_MIN_ITERATIONS = MIN_ACCEPTED_PBKDF2_ITERATIONS;
/** See {@link PKCS8_DEFAULT_ITERATIONS}. */
export const PKCS8_MAX_ITERATIONS = MAX_PBKDF2_ITERATIONS;

const SALT_LENGTH = 16; // RFC 8018 §4.1: at least 8 octets; 16 as docs/DESIGN.md §4 asks of password keys.
const AES_256_KEY_LENGTH = 32;
const CBC_IV_LENGTH = 16;

/**
 * Options for {@link encryptPrivateKeyPem}.
 *
 * @example
 * ```ts
 * await encryptPrivateKeyPem(pem, passphrase, { iterations: 1_000_000 });
 * ```
 */
export interface EncryptPrivateKeyOptions {
  /** PBKDF2 iteration count, {@link PKCS8_MIN_ITERATIONS} to {@link PKCS8_MAX_ITERATIONS} (default 600,000). */
  readonly iterations?: number;
  /** Backend for PBKDF2, AES-CBC and randomness (default: node). */
  readonly backend?: SymmetricBackend;
}

/**
 * Options for {@link decryptPrivateKeyPem}.
 *
 * @example
 * ```ts
 * await decryptPrivateKeyPem(untrustedPem, passphrase, { maxIterations: 2_000_000 });
 * ```
 */
export interface DecryptPrivateKeyOptions {
  /** Largest iteration count accepted from the file (default {@link PKCS8_MAX_ITERATIONS}). */
  readonly maxIterations?: number;
  /** Backend for PBKDF2 and AES-CBC (default: node). */
  readonly backend?: SymmetricBackend;
}

/**
 * @internal Check that `der` is one PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (RFC 5958 §2):
 * `SEQUENCE { version 0|1, AlgorithmIdentifier, OCTET STRING privateKey, ... }`. Returns the algorithm OID
 * content octets, the algorithm parameters (raw DER or `undefined`) and the inner private key bytes.
 */
export function parsePrivateKeyInfo(der: Uint8Array): {
  algorithm: Uint8Array;
  parameters: Uint8Array | undefined;
  privateKey: Uint8Array;
} {
  const info = DerReader.top(der);
  const version = info.smallInteger();
  if (version !== 0 && version !== 1) throw new DerError('unknown PrivateKeyInfo version');
  const alg = info.sequence();
  const algorithm = alg.anyOid();
  const parameters = alg.peekTag() === undefined ? undefined : alg.raw();
  alg.end();
  const privateKey = info.read(TAG.OCTET_STRING);
  // [0] attributes and (v2) [1] publicKey may follow; they are well-formed DER or we reject the key.
  if (info.peekTag() === 0xa0) info.raw();
  if (version === 1 && info.peekTag() === 0x81) info.raw();
  info.end();
  return { algorithm, parameters, privateKey };
}

function passphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  if (typeof passphrase === 'string') return utf8Encode(passphrase, 'passphrase');
  if (passphrase instanceof Uint8Array) return passphrase;
  throw new MeshCryptoError('ERR_INVALID_INPUT', 'passphrase must be a string or a Uint8Array');
}

function isIterationCount(n: unknown, min: number, max: number): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;
}

/**
 * Encrypt an unencrypted PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) under a passphrase, giving
 * `-----BEGIN ENCRYPTED PRIVATE KEY-----`: PBES2 with PBKDF2-HMAC-SHA256 (16-byte random salt) and
 * AES-256-CBC (random IV). OpenSSL reads it: `openssl pkey -in key.pem -passin pass:...`.
 *
 * Asynchronous: PBKDF2 runs through the backend (node: libuv's thread pool, about 0.1-0.2 s at 600,000
 * iterations; forge: seconds, in slices on the event loop).
 *
 * @param passphrase a string (encoded as UTF-8, as OpenSSL reads `-passin pass:`) or raw bytes.
 * @throws `ERR_INVALID_INPUT` when the input is not a PKCS#8 PEM private key or the passphrase is empty;
 *   `ERR_KEY_DERIVATION` when `iterations` is out of range.
 * @example
 * ```ts
 * import { encryptPrivateKeyPem, decryptPrivateKeyPem, generateRsaKeyPair } from '@mesh/crypto-core';
 * const { privateKeyPem } = await generateRsaKeyPair(3072);
 * const atRest = await encryptPrivateKeyPem(privateKeyPem, 'correct horse battery staple');
 * const again = await decryptPrivateKeyPem(atRest, 'correct horse battery staple'); // === privateKeyPem
 * ```
 */
export async function encryptPrivateKeyPem(
  privateKeyPem: string,
  passphrase: string | Uint8Array,
  options: EncryptPrivateKeyOptions = {},
): Promise<string> {
  const backend = options.backend ?? defaultBackend();
  const iterations = options.iterations ?? PKCS8_DEFAULT_ITERATIONS;
  if (!isIterationCount(iterations, PKCS8_MIN_ITERATIONS, PKCS8_MAX_ITERATIONS)) {
    throw new MeshCryptoError(
      'ERR_KEY_DERIVATION',
      `iterations must be an integer from ${PKCS8_MIN_ITERATIONS} to ${PKCS8_MAX_ITERATIONS}`,
    );
  }
  const password = passphraseBytes(passphrase);
  if (password.length === 0) throw new MeshCryptoError('ERR_INVALID_INPUT', 'passphrase must not be empty');
  const der = pemDecode(privateKeyPem, 'PRIVATE KEY').der;
  try {
    parsePrivateKeyInfo(der);
  } catch (cause) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'not a PKCS#8 private key', { cause });
  }

  const salt = backend.randomBytes(SALT_LENGTH);
  const iv = backend.randomBytes(CBC_IV_LENGTH);
  const key = await backend.pbkdf2Sha256(password, salt, iterations, AES_256_KEY_LENGTH);
  let encrypted: Uint8Array;
  try {
    encrypted = backend.cbcEncrypt(key, iv, der); // RFC 8018 §6.2.1 step 4: PKCS#7 padding (§6.1.1 note)
  } finally {
    key.fill(0);
  }

  // RFC 8018 Appendix A.2 / A.4: PBES2-params { PBKDF2-params { salt, iterationCount, keyLength, prf }, enc }.
  const pbkdf2Params = derTlv(
    TAG.SEQUENCE,
    derTlv(TAG.OCTET_STRING, salt),
    derSmallInteger(iterations),
    derTlv(TAG.SEQUENCE, derTlv(TAG.OID, OID.hmacWithSHA256), DER_NULL),
  );
  const algorithm = derTlv(
    TAG.SEQUENCE,
    derTlv(TAG.OID, OID.pbes2),
    derTlv(
      TAG.SEQUENCE,
      derTlv(TAG.SEQUENCE, derTlv(TAG.OID, OID.pbkdf2), pbkdf2Params),
      derTlv(TAG.SEQUENCE, derTlv(TAG.OID, OID.aes256Cbc), derTlv(TAG.OCTET_STRING, iv)),
    ),
  );
  // RFC 5958 §3: EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }.
  return pemEncode(
    'ENCRYPTED PRIVATE KEY',
    derTlv(TAG.SEQUENCE, algorithm, derTlv(TAG.OCTET_STRING, encrypted)),
  );
}

/** PBES2 parameters read from an `EncryptedPrivateKeyInfo`. */
interface Pbes2Params {
  salt: Uint8Array;
  iterations: number;
  iv: Uint8Array;
  encrypted: Uint8Array;
}

function parseEncryptedPrivateKeyInfo(der: Uint8Array): Pbes2Params {
  const info = DerReader.top(der);
  const alg = info.sequence();
  const algOid = alg.anyOid();
  if (!bytesEqual(algOid, OID.pbes2)) throw unsupported('only PBES2 encrypted PKCS#8 is supported');
  const params = alg.sequence();
  alg.end();

  const kdf = params.sequence();
  if (!bytesEqual(kdf.anyOid(), OID.pbkdf2)) throw unsupported('only PBKDF2 is supported as the PBES2 KDF');
  const kdfParams = kdf.sequence();
  kdf.end();
  const salt = kdfParams.read(TAG.OCTET_STRING); // RFC 8018 A.2: `otherSource` is not used by anyone
  const iterations = kdfParams.smallInteger();
  if (kdfParams.peekTag() === TAG.INTEGER && kdfParams.smallInteger() !== AES_256_KEY_LENGTH) {
    throw new DerError('PBKDF2 keyLength does not match AES-256');
  }
  // RFC 8018 A.2: prf DEFAULT algid-hmacWithSHA1, which we do not offer; OpenSSL always writes it.
  if (kdfParams.peekTag() !== TAG.SEQUENCE) throw unsupported('only PBKDF2 with HMAC-SHA256 is supported');
  const prf = kdfParams.sequence();
  if (!bytesEqual(prf.anyOid(), OID.hmacWithSHA256))
    throw unsupported('only PBKDF2 with HMAC-SHA256 is supported');
  if (prf.peekTag() !== undefined) prf.read(TAG.NULL);
  prf.end();
  kdfParams.end();

  const enc = params.sequence();
  if (!bytesEqual(enc.anyOid(), OID.aes256Cbc)) throw unsupported('only AES-256-CBC is supported for PBES2');
  const iv = enc.read(TAG.OCTET_STRING);
  enc.end();
  params.end();

  const encrypted = info.read(TAG.OCTET_STRING);
  info.end();
  if (iv.length !== CBC_IV_LENGTH) throw new DerError('AES-CBC IV must be 16 bytes');
  if (salt.length === 0) throw new DerError('empty salt');
  if (encrypted.length === 0 || encrypted.length % 16 !== 0)
    throw new DerError('ciphertext is not whole blocks');
  return { salt, iterations, iv, encrypted };
}

function unsupported(message: string): MeshCryptoError {
  return new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', message);
}

/**
 * Decrypt an encrypted PKCS#8 private key (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2 with
 * PBKDF2-HMAC-SHA256 and AES-256-CBC, as written by {@link encryptPrivateKeyPem} or
 * `openssl genpkey -aes-256-cbc`) and return the unencrypted PKCS#8 PEM.
 *
 * @throws `ERR_DECRYPTION_FAILED` for a wrong passphrase or a damaged ciphertext (one error, no detail);
 *   `ERR_INVALID_INPUT` for malformed PEM/DER; `ERR_UNSUPPORTED_ALGORITHM` for other PBES schemes, PRFs or
 *   ciphers; `ERR_KEY_DERIVATION` when the file asks for fewer than {@link PKCS8_MIN_ITERATIONS} or more than
 *   `maxIterations` iterations (checked before any derivation).
 * @example
 * ```ts
 * import { decryptPrivateKeyPem, importRsaPrivateKey } from '@mesh/crypto-core';
 * const pem = await decryptPrivateKeyPem(readFileSync('key.enc.pem', 'utf8'), process.env.KEY_PASSPHRASE!);
 * const key = importRsaPrivateKey(pem);
 * ```
 */
export async function decryptPrivateKeyPem(
  encryptedPem: string,
  passphrase: string | Uint8Array,
  options: DecryptPrivateKeyOptions = {},
): Promise<string> {
  const backend = options.backend ?? defaultBackend();
  const maxIterations = options.maxIterations ?? PKCS8_MAX_ITERATIONS;
  if (!isIterationCount(maxIterations, 1, Number.MAX_SAFE_INTEGER)) {
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'maxIterations must be a positive integer');
  }
  const password = passphraseBytes(passphrase);
  const der = pemDecode(encryptedPem, 'ENCRYPTED PRIVATE KEY').der;
  let params: Pbes2Params;
  try {
    params = parseEncryptedPrivateKeyInfo(der);
  } catch (cause) {
    if (cause instanceof MeshCryptoError) throw cause;
    throw new MeshCryptoError('ERR_INVALID_INPUT', 'malformed encrypted PKCS#8', { cause });
  }
  // Both bounds before any derivation: a file cannot ask for hours of work, nor for a near-free derivation.
  if (params.iterations < PKCS8_MIN_ITERATIONS || params.iterations > maxIterations) {
    throw new MeshCryptoError(
      'ERR_KEY_DERIVATION',
      `PBKDF2 iteration count is outside ${PKCS8_MIN_ITERATIONS}..${maxIterations}`,
    );
  }

  const key = await backend.pbkdf2Sha256(password, params.salt, params.iterations, AES_256_KEY_LENGTH);
  let plain: Uint8Array | undefined;
  try {
    plain = backend.cbcDecrypt(key, params.iv, params.encrypted);
  } finally {
    key.fill(0);
  }
  // A wrong passphrase nearly always breaks the padding; when the padding survives by chance (about 1 in
  // 256) the DER does not. Both end in the same error.
  if (plain === undefined) throw new DecryptionError();
  try {
    parsePrivateKeyInfo(plain);
  } catch {
    plain.fill(0);
    throw new DecryptionError();
  }
  const pem = pemEncode('PRIVATE KEY', plain);
  plain.fill(0);
  return pem;
}
