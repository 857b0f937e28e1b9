/**
 * Typed loaders for the public test vectors in `data/` (see `data/README.md` for sources, commits and licences).
 *
 * Every loader reads its JSON file once (synchronously, cached) from `new URL('../data/...', import.meta.url)`,
 * so it works from `dist/` in any package that depends on `@mesh/test-vectors`. Hex strings stay hex in the
 * types; convert with {@link hexToBytes}.
 *
 * @example
 * ```ts
 * import { aesGcmVectors, eachTest, hexToBytes } from '@mesh/test-vectors';
 * for (const { group, test } of eachTest(aesGcmVectors())) {
 *   const key = hexToBytes(test.key); // group.keySize, group.ivSize, group.tagSize are in bits
 * }
 * ```
 *
 * @module
 */
import { readFileSync } from 'node:fs';

// ---------------------------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------------------------

/**
 * Decode a hex string (either case, even length) into bytes. Throws `TypeError` on anything else, so a typo
 * in a vector fails loudly instead of silently producing short input.
 *
 * @example
 * ```ts
 * hexToBytes('00ff'); // Uint8Array [0, 255]
 * ```
 */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`invalid hex string of length ${hex.length}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Encode bytes as lowercase hex (the encoding of every vector file).
 *
 * @example
 * ```ts
 * bytesToHex(new Uint8Array([0, 255])); // '00ff'
 * ```
 */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * Read and parse one JSON file below `data/` (path relative to `data/`, e.g. `'fernet/verify.json'`).
 * Results are cached; treat them as read-only.
 *
 * @example
 * ```ts
 * const raw = readVectorFile<unknown>('wycheproof/aes_gcm_test.json');
 * ```
 */
export function readVectorFile<T>(relativePath: string): T {
  const cached = cache.get(relativePath);
  if (cached !== undefined) return cached as T;
  const url = new URL(`../data/${relativePath}`, import.meta.url);
  const parsed = JSON.parse(readFileSync(url, 'utf8')) as T;
  cache.set(relativePath, parsed);
  return parsed;
}
const cache = new Map<string, unknown>();

// ---------------------------------------------------------------------------------------------------------
// Wycheproof (testvectors_v1 schema)
// ---------------------------------------------------------------------------------------------------------

/** Outcome a Wycheproof test expects. `acceptable`: either outcome is allowed (see the test's flags). */
export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

/** Fields every Wycheproof test has. */
export interface WycheproofTestBase {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
}

/** Fields every Wycheproof test group has. */
export interface WycheproofGroupBase<T extends WycheproofTestBase> {
  readonly type: string;
  readonly source: { readonly name: string; readonly version: string };
  readonly tests: readonly T[];
}

/** Note attached to a flag name in a Wycheproof file. */
export interface WycheproofNote {
  readonly bugType: string;
  readonly description: string;
  readonly effect?: string;
  readonly links?: readonly string[];
  readonly cves?: readonly string[];
}

/** Outer shape of every Wycheproof file. */
export interface WycheproofFile<G extends WycheproofGroupBase<WycheproofTestBase>> {
  readonly algorithm: string;
  readonly schema: string;
  readonly numberOfTests: number;
  readonly header: readonly string[];
  readonly notes: Readonly<Record<string, WycheproofNote>>;
  readonly testGroups: readonly G[];
}

/** `aes_gcm_test.json` test: all hex. */
export interface AesGcmTest extends WycheproofTestBase {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
/** `aes_gcm_test.json` group; sizes in bits. `ivSize` ranges from 0 to 2056. */
export interface AesGcmGroup extends WycheproofGroupBase<AesGcmTest> {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tagSize: number;
}

/**
 * `chacha20_poly1305_test.json` / `xchacha20_poly1305_test.json` test (Wycheproof `aead_test_schema_v1`):
 * all hex, the same fields as AES-GCM.
 */
export interface ChaChaPolyTest extends WycheproofTestBase {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
/**
 * ChaCha20-Poly1305 / XChaCha20-Poly1305 group; sizes in bits. `ivSize` is 96 (ChaCha) or 192 (XChaCha) for
 * the bulk of the tests; single-test groups with other sizes are `invalid` (wrong nonce length).
 */
export interface ChaChaPolyGroup extends WycheproofGroupBase<ChaChaPolyTest> {
  readonly keySize: number;
  readonly ivSize: number;
  readonly tagSize: number;
}

/** `aes_cbc_pkcs5_test.json` test: all hex. */
export interface AesCbcTest extends WycheproofTestBase {
  readonly key: string;
  readonly iv: string;
  readonly msg: string;
  readonly ct: string;
}
/** `aes_cbc_pkcs5_test.json` group; sizes in bits. */
export interface AesCbcGroup extends WycheproofGroupBase<AesCbcTest> {
  readonly keySize: number;
  readonly ivSize: number;
}

/** `hmac_sha256_test.json` test: all hex; `tag` is truncated to the group's `tagSize`. */
export interface HmacTest extends WycheproofTestBase {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}
/** `hmac_sha256_test.json` group; sizes in bits. */
export interface HmacGroup extends WycheproofGroupBase<HmacTest> {
  readonly keySize: number;
  readonly tagSize: number;
}

/** `hkdf_sha256_test.json` test: hex fields; `size` is the output length in bytes. */
export interface HkdfTest extends WycheproofTestBase {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
/** `hkdf_sha256_test.json` group; `keySize` in bits. */
export interface HkdfGroup extends WycheproofGroupBase<HkdfTest> {
  readonly keySize: number;
}

/** `pbkdf2_hmacsha256_test.json` test: `password`, `salt`, `dk` in hex. */
export interface Pbkdf2Test extends WycheproofTestBase {
  readonly password: string;
  readonly salt: string;
  readonly iterationCount: number;
  readonly dkLen: number;
  readonly dk: string;
}
/** `pbkdf2_hmacsha256_test.json` group. */
export type Pbkdf2Group = WycheproofGroupBase<Pbkdf2Test>;

/** RSA private key components (big-endian hex) as Wycheproof gives them. */
export interface WycheproofRsaPrivateKey {
  readonly modulus: string;
  readonly privateExponent: string;
  readonly publicExponent: string;
  readonly prime1: string;
  readonly prime2: string;
  readonly exponent1: string;
  readonly exponent2: string;
  readonly coefficient: string;
}

/** RSA-OAEP decryption test: hex fields. */
export interface RsaOaepTest extends WycheproofTestBase {
  readonly msg: string;
  readonly ct: string;
  readonly label: string;
}
/** RSA-OAEP group: one private key given four ways, plus the hash choices (`'SHA-256'`, ...). */
export interface RsaOaepGroup extends WycheproofGroupBase<RsaOaepTest> {
  readonly keySize: number;
  readonly sha: string;
  readonly mgf: string;
  readonly mgfSha: string;
  readonly privateKey: WycheproofRsaPrivateKey;
  /** PKCS#8 DER as hex. */
  readonly privateKeyPkcs8: string;
  readonly privateKeyPem: string;
  readonly privateKeyJwk: Readonly<Record<string, string>>;
}

/** Parsed `aes_gcm_test.json`. */
export type AesGcmVectors = WycheproofFile<AesGcmGroup>;
/** Parsed `chacha20_poly1305_test.json` or `xchacha20_poly1305_test.json`. */
export type ChaChaPolyVectors = WycheproofFile<ChaChaPolyGroup>;
/** Parsed `aes_cbc_pkcs5_test.json`. */
export type AesCbcVectors = WycheproofFile<AesCbcGroup>;
/** Parsed `hmac_sha256_test.json`. */
export type HmacSha256Vectors = WycheproofFile<HmacGroup>;
/** Parsed `hkdf_sha256_test.json`. */
export type HkdfSha256Vectors = WycheproofFile<HkdfGroup>;
/** Parsed `pbkdf2_hmacsha256_test.json`. */
export type Pbkdf2Sha256Vectors = WycheproofFile<Pbkdf2Group>;
/** Parsed `rsa_oaep_*_test.json`. */
export type RsaOaepVectors = WycheproofFile<RsaOaepGroup>;

/** Modulus sizes with a dedicated SHA-256/MGF1-SHA256 RSA-OAEP file. */
export type RsaOaepFileBits = 2048 | 3072 | 4096;

/**
 * Wycheproof AES-GCM vectors (316 tests, keys 128/192/256, IVs 0..2056 bits).
 *
 * @example
 * ```ts
 * aesGcmVectors().numberOfTests; // 316
 * ```
 */
export function aesGcmVectors(): AesGcmVectors {
  return readVectorFile('wycheproof/aes_gcm_test.json');
}

/**
 * Wycheproof ChaCha20-Poly1305 (RFC 8439) vectors: 325 tests, 316 with 96-bit nonces, 9 `invalid` ones with
 * other nonce lengths (0..256 bits).
 *
 * @example
 * ```ts
 * chacha20Poly1305Vectors().numberOfTests; // 325
 * ```
 */
export function chacha20Poly1305Vectors(): ChaChaPolyVectors {
  return readVectorFile('wycheproof/chacha20_poly1305_test.json');
}

/**
 * Wycheproof XChaCha20-Poly1305 vectors: 315 tests, 306 with 192-bit nonces, 9 `invalid` ones with other nonce
 * lengths (0..256 bits).
 *
 * @example
 * ```ts
 * xchacha20Poly1305Vectors().numberOfTests; // 315
 * ```
 */
export function xchacha20Poly1305Vectors(): ChaChaPolyVectors {
  return readVectorFile('wycheproof/xchacha20_poly1305_test.json');
}

/**
 * Wycheproof AES-CBC with PKCS#5/7 padding vectors (216 tests).
 *
 * @example
 * ```ts
 * aesCbcPkcs5Vectors().testGroups.map((g) => g.keySize); // [128, 192, 256]
 * ```
 */
export function aesCbcPkcs5Vectors(): AesCbcVectors {
  return readVectorFile('wycheproof/aes_cbc_pkcs5_test.json');
}

/**
 * Wycheproof HMAC-SHA256 vectors (174 tests, including 128-bit truncated tags).
 *
 * @example
 * ```ts
 * hmacSha256Vectors().testGroups.map((g) => g.tagSize);
 * ```
 */
export function hmacSha256Vectors(): HmacSha256Vectors {
  return readVectorFile('wycheproof/hmac_sha256_test.json');
}

/**
 * Wycheproof HKDF-SHA256 vectors (86 tests; `invalid` ones ask for too much output).
 *
 * @example
 * ```ts
 * hkdfSha256Vectors().numberOfTests; // 86
 * ```
 */
export function hkdfSha256Vectors(): HkdfSha256Vectors {
  return readVectorFile('wycheproof/hkdf_sha256_test.json');
}

/**
 * Wycheproof PBKDF2-HMAC-SHA256 vectors (60 tests, all valid, up to 80,000 iterations).
 *
 * @example
 * ```ts
 * pbkdf2HmacSha256Vectors().numberOfTests; // 60
 * ```
 */
export function pbkdf2HmacSha256Vectors(): Pbkdf2Sha256Vectors {
  return readVectorFile('wycheproof/pbkdf2_hmacsha256_test.json');
}

/**
 * Wycheproof RSA-OAEP decryption vectors with SHA-256 and MGF1-SHA256 at one modulus size.
 *
 * @example
 * ```ts
 * rsaOaepVectors(2048).testGroups[0]?.privateKeyPem;
 * ```
 */
export function rsaOaepVectors(bits: RsaOaepFileBits): RsaOaepVectors {
  return readVectorFile(`wycheproof/rsa_oaep_${bits}_sha256_mgf1sha256_test.json`);
}

/**
 * Wycheproof RSA-OAEP "misc" vectors: every SHA-1..SHA-512 pair for `sha`/`mgfSha`, 1024..8192-bit keys.
 * Filter on `sha`/`mgfSha` (see {@link rsaOaepMiscGroups}).
 *
 * @example
 * ```ts
 * rsaOaepMiscVectors().numberOfTests; // 395
 * ```
 */
export function rsaOaepMiscVectors(): RsaOaepVectors {
  return readVectorFile('wycheproof/rsa_oaep_misc_test.json');
}

/**
 * Groups of the misc RSA-OAEP file matching a hash choice (defaults: SHA-256 and MGF1-SHA256).
 *
 * @example
 * ```ts
 * const groups = rsaOaepMiscGroups({ sha: 'SHA-256', mgfSha: 'SHA-256' });
 * ```
 */
export function rsaOaepMiscGroups(filter: { sha?: string; mgfSha?: string } = {}): readonly RsaOaepGroup[] {
  const sha = filter.sha ?? 'SHA-256';
  const mgfSha = filter.mgfSha ?? 'SHA-256';
  return rsaOaepMiscVectors().testGroups.filter((g) => g.sha === sha && g.mgfSha === mgfSha);
}

/** One test together with the group it belongs to. */
export interface GroupedTest<G extends WycheproofGroupBase<WycheproofTestBase>> {
  readonly group: G;
  readonly test: G['tests'][number];
}

/**
 * Flatten a Wycheproof file (or a list of its groups) into `{ group, test }` pairs, in file order.
 *
 * @example
 * ```ts
 * for (const { group, test } of eachTest(hmacSha256Vectors())) console.log(group.tagSize, test.tcId);
 * ```
 */
export function eachTest<G extends WycheproofGroupBase<WycheproofTestBase>>(
  source: WycheproofFile<G> | readonly G[],
): GroupedTest<G>[] {
  const groups: readonly G[] = 'testGroups' in source ? source.testGroups : source;
  const out: GroupedTest<G>[] = [];
  for (const group of groups) for (const test of group.tests) out.push({ group, test });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Fernet specification vectors
// ---------------------------------------------------------------------------------------------------------

/** `fernet/generate.json` entry: encrypting `src` at `now` with `iv` under `secret` must give `token`. */
export interface FernetGenerateVector {
  readonly token: string;
  /** RFC 3339 timestamp; see {@link rfc3339ToUnixSeconds}. */
  readonly now: string;
  /** The 16 IV bytes as numbers. */
  readonly iv: readonly number[];
  readonly src: string;
  readonly secret: string;
}

/** `fernet/verify.json` entry: decrypting `token` at `now` with `ttl_sec` must give `src`. */
export interface FernetVerifyVector {
  readonly token: string;
  readonly now: string;
  readonly ttl_sec: number;
  readonly src: string;
  readonly secret: string;
}

/** `fernet/invalid.json` entry: decrypting `token` at `now` with `ttl_sec` must fail. */
export interface FernetInvalidVector {
  readonly desc: string;
  readonly token: string;
  readonly now: string;
  readonly ttl_sec: number;
  readonly secret: string;
}

/**
 * Fernet spec `generate.json`.
 *
 * @example
 * ```ts
 * fernetGenerateVectors()[0]?.src; // 'hello'
 * ```
 */
export function fernetGenerateVectors(): readonly FernetGenerateVector[] {
  return readVectorFile('fernet/generate.json');
}

/**
 * Fernet spec `verify.json`.
 *
 * @example
 * ```ts
 * fernetVerifyVectors()[0]?.ttl_sec; // 60
 * ```
 */
export function fernetVerifyVectors(): readonly FernetVerifyVector[] {
  return readVectorFile('fernet/verify.json');
}

/**
 * Fernet spec `invalid.json` (8 cases).
 *
 * @example
 * ```ts
 * fernetInvalidVectors().map((v) => v.desc);
 * ```
 */
export function fernetInvalidVectors(): readonly FernetInvalidVector[] {
  return readVectorFile('fernet/invalid.json');
}

/**
 * Convert an RFC 3339 timestamp (as in the Fernet vectors) to whole Unix seconds.
 *
 * @example
 * ```ts
 * rfc3339ToUnixSeconds('1985-10-26T01:20:00-07:00'); // 499162800
 * ```
 */
export function rfc3339ToUnixSeconds(timestamp: string): number {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) throw new TypeError(`invalid RFC 3339 timestamp: ${timestamp}`);
  return Math.floor(ms / 1000);
}

// ---------------------------------------------------------------------------------------------------------
// RFC vectors (transcribed by us)
// ---------------------------------------------------------------------------------------------------------

/** RFC 7914 §11 PBKDF2-HMAC-SHA256 vector (hex fields). */
export interface RfcPbkdf2Vector {
  readonly id: number;
  readonly source: string;
  readonly password: string;
  readonly password_ascii: string;
  readonly salt: string;
  readonly salt_ascii: string;
  readonly iterations: number;
  readonly dkLen: number;
  readonly dk: string;
}

/** RFC 5869 Appendix A HKDF-SHA256 vector (hex fields; `L` in bytes, `prk` = HKDF-Extract output). */
export interface RfcHkdfVector {
  readonly id: number;
  readonly source: string;
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly L: number;
  readonly prk: string;
  readonly okm: string;
}

/** Shape of the files in `rfc/`. */
export interface RfcVectorFile<V> {
  readonly algorithm: string;
  readonly encoding: string;
  readonly vectors: readonly V[];
}

/**
 * RFC 7914 §11 PBKDF2-HMAC-SHA256 vectors (2).
 *
 * @example
 * ```ts
 * rfcPbkdf2Sha256Vectors().vectors[0]?.password_ascii; // 'passwd'
 * ```
 */
export function rfcPbkdf2Sha256Vectors(): RfcVectorFile<RfcPbkdf2Vector> {
  return readVectorFile('rfc/pbkdf2_hmac_sha256.json');
}

/**
 * RFC 5869 Appendix A.1-A.3 HKDF-SHA256 vectors (3).
 *
 * @example
 * ```ts
 * rfcHkdfSha256Vectors().vectors.length; // 3
 * ```
 */
export function rfcHkdfSha256Vectors(): RfcVectorFile<RfcHkdfVector> {
  return readVectorFile('rfc/hkdf_sha256.json');
}
