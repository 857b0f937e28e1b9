/**
 * The sealed keyring document (format `mesh-keyring/v1`): schema validation of untrusted JSON, sealing of
 * key material with AES-256-GCM under the KEK, the KEK check value and the document MAC.
 *
 * Sealing: `sealed = base64url(nonce 12 | ciphertext | tag 16)`, AAD = canonical JSON of
 * `["mesh-keyring/v1", name, id, algorithm, createdInVersion]`, so a blob moved to another key, another
 * keyring or another algorithm fails authentication (NIST SP 800-38D §5.2.1.1: AAD is authenticated).
 * Random 96-bit nonces: one seal per key per KEK, far below the 2^32 limit of §8.3.
 *
 * @module
 */
import {
  AES_GCM_NONCE_LENGTH,
  aesGcmDecrypt,
  aesGcmEncrypt,
  base64UrlDecode,
  base64UrlEncode,
  concatBytes,
  constantTimeEqual,
  DecryptionError,
  hmacSha256,
  randomBytes,
  utf8Encode,
} from '@mesh/crypto-core';
import { KeyStoreError } from './errors.js';
import type { KekKeys } from './kek.js';
import {
  type KeyAlgorithm,
  type KeyState,
  type StoredKekParams,
  type StoredKey,
  type StoredKeyring,
  SUPPORTED_KEY_ALGORITHMS,
} from './types.js';

/** Format tag of the document. */
export const KEYRING_FORMAT = 'mesh-keyring/v1';
/** Length of key material for every algorithm in this format. */
export const KEY_MATERIAL_LENGTH = 32;
/**
 * Upper bound on keys in one document: a stored document with more is `ERR_KEYSTORE_CORRUPT` (bounds the work
 * of parsing a hostile file), and a write that would pass it is `ERR_KEY_STATE` (nothing is written). A
 * keyring that rotates daily and keeps a week of decrypt-only keys holds about ten; retired records beyond 64
 * per algorithm are destroyed by the manager, so only a keyring that keeps thousands of decrypt-only keys on
 * purpose comes near it.
 *
 * @example
 * ```ts
 * import { MAX_KEYS_PER_KEYRING } from '@mesh/keys';
 * if (manager.keys().length > MAX_KEYS_PER_KEYRING * 0.9) alertOperator('keyring nearly full');
 * ```
 */
export const MAX_KEYS_PER_KEYRING = 10_000;
/**
 * Default bound on one stored keyring document, in bytes (16 MiB), for every store of this package and
 * `@mesh/keystore-etcd`: reading stops there (a larger file or value is `ERR_KEYSTORE_CORRUPT`, never parsed)
 * and a write that would pass it is `ERR_KEY_STATE` (nothing is written), so a store never holds a document it
 * would then refuse to read. A document of {@link MAX_KEYS_PER_KEYRING} keys of the largest shape is about
 * 4 MiB as the file store writes it (indented JSON), so the key-count bound is reached first.
 *
 * @example
 * ```ts
 * import { FileKeyStore, MAX_KEYRING_DOCUMENT_BYTES } from '@mesh/keys';
 * new FileKeyStore({ path: '.mesh/keyring.json', maxFileBytes: MAX_KEYRING_DOCUMENT_BYTES / 4 });
 * ```
 */
export const MAX_KEYRING_DOCUMENT_BYTES = 16 * 1024 * 1024;
const KEK_CHECK_LENGTH = 16;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ALGORITHMS: ReadonlySet<string> = new Set<KeyAlgorithm>(SUPPORTED_KEY_ALGORITHMS);
const STATES: ReadonlySet<string> = new Set<KeyState>(['staged', 'primary', 'decrypt-only', 'retired']);

/** True for a valid keyring name (also used as a file/etcd key component). @internal */
export function isValidKeyringName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

/**
 * JSON with object keys sorted and `undefined` members dropped: the same value always gives the same bytes,
 * whatever order properties were created in (the MAC and checksums are computed over it).
 * @internal
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    if (s === undefined) throw new TypeError('value is not JSON');
    return s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  }
  return `{${parts.join(',')}}`;
}

function sealAad(name: string, key: Pick<StoredKey, 'id' | 'algorithm' | 'createdInVersion'>): Uint8Array {
  return utf8Encode(canonicalJson([KEYRING_FORMAT, name, key.id, key.algorithm, key.createdInVersion]));
}

/** Seals one key's material for the keyring `name`. @internal */
export function sealMaterial(
  kek: KekKeys,
  name: string,
  key: Pick<StoredKey, 'id' | 'algorithm' | 'createdInVersion'>,
  material: Uint8Array,
): string {
  const nonce = randomBytes(AES_GCM_NONCE_LENGTH);
  return base64UrlEncode(concatBytes(nonce, aesGcmEncrypt(kek.sealKey, nonce, material, sealAad(name, key))));
}

/** Opens a sealed blob; throws {@link DecryptionError} when it was sealed for another key/keyring/KEK. @internal */
export function openMaterial(
  kek: KekKeys,
  name: string,
  key: Pick<StoredKey, 'id' | 'algorithm' | 'createdInVersion'>,
  sealed: string,
): Uint8Array {
  let blob: Uint8Array;
  try {
    blob = base64UrlDecode(sealed);
  } catch (cause) {
    throw new DecryptionError({ cause });
  }
  if (blob.length !== AES_GCM_NONCE_LENGTH + KEY_MATERIAL_LENGTH + 16) throw new DecryptionError();
  const material = aesGcmDecrypt(
    kek.sealKey,
    blob.subarray(0, AES_GCM_NONCE_LENGTH),
    blob.subarray(AES_GCM_NONCE_LENGTH),
    sealAad(name, key),
  );
  return material;
}

/** KEK check value: tells "wrong KEK" (ERR_DECRYPTION_FAILED) apart from a damaged document. @internal */
export function kekCheckValue(kek: KekKeys, name: string): string {
  return base64UrlEncode(
    hmacSha256(kek.checkKey, utf8Encode(`${KEYRING_FORMAT} kek-check ${name}`)).subarray(0, KEK_CHECK_LENGTH),
  );
}

function macOf(kek: KekKeys, doc: Omit<StoredKeyring, 'mac'> & { mac?: string }): Uint8Array {
  const { mac: _mac, ...body } = doc;
  return hmacSha256(kek.macKey, utf8Encode(canonicalJson(body)));
}

/** Adds `kekCheck` and `mac` to a document body. @internal */
export function finishDocument(kek: KekKeys, body: Omit<StoredKeyring, 'mac' | 'kekCheck'>): StoredKeyring {
  const withCheck = { ...body, kekCheck: kekCheckValue(kek, body.name) };
  return { ...withCheck, mac: base64UrlEncode(macOf(kek, withCheck)) };
}

/**
 * Checks the KEK and the MAC of a validated document.
 * @throws {DecryptionError} wrong KEK. {@link KeyStoreError} `ERR_KEYSTORE_CORRUPT` when the MAC fails.
 * @internal
 */
export function verifyDocument(kek: KekKeys, doc: StoredKeyring): void {
  const expected = utf8Encode(kekCheckValue(kek, doc.name));
  if (!constantTimeEqual(expected, utf8Encode(doc.kekCheck))) throw new DecryptionError();
  let mac: Uint8Array;
  try {
    mac = base64UrlDecode(doc.mac);
  } catch {
    mac = new Uint8Array(0);
  }
  if (!constantTimeEqual(macOf(kek, doc), mac)) {
    throw new KeyStoreError(
      'ERR_KEYSTORE_CORRUPT',
      `keyring '${doc.name}' failed its MAC (modified or damaged)`,
    );
  }
}

function corrupt(what: string): never {
  throw new KeyStoreError('ERR_KEYSTORE_CORRUPT', `keyring document invalid: ${what}`);
}

/**
 * The check value, the MAC and sealed material are base64url text of at most `max` characters (what this
 * module writes). Anything else (a lone surrogate JSON can carry, padding, `+` and `/`) is damage, refused
 * here rather than failing later as input that cannot be encoded.
 */
const isBase64Url = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length <= max && /^[A-Za-z0-9_-]*$/.test(v);

const isU32 = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCount = isTime;

function validateKek(v: unknown): StoredKekParams {
  if (typeof v !== 'object' || v === null) corrupt('kek');
  const k = v as Record<string, unknown>;
  if (k.type === 'raw') return { type: 'raw' };
  if (
    k.type === 'passphrase' &&
    k.kdf === 'pbkdf2-hmac-sha256' &&
    typeof k.salt === 'string' &&
    /^[A-Za-z0-9_-]{11,1400}$/.test(k.salt) &&
    Number.isSafeInteger(k.iterations) &&
    (k.iterations as number) >= 1
  ) {
    return {
      type: 'passphrase',
      kdf: 'pbkdf2-hmac-sha256',
      salt: k.salt,
      iterations: k.iterations as number,
    };
  }
  return corrupt('kek');
}

function validateKey(v: unknown, i: number): StoredKey {
  if (typeof v !== 'object' || v === null) corrupt(`keys[${i}]`);
  const k = v as Record<string, unknown>;
  const bad = (f: string): never => corrupt(`keys[${i}].${f}`);
  if (!isU32(k.id)) bad('id');
  if (typeof k.algorithm !== 'string' || !ALGORITHMS.has(k.algorithm)) bad('algorithm');
  if (typeof k.state !== 'string' || !STATES.has(k.state)) bad('state');
  if (!isTime(k.createdAt)) bad('createdAt');
  for (const f of ['promotedAt', 'demotedAt', 'retiredAt'] as const) {
    if (k[f] !== undefined && !isTime(k[f])) bad(f);
  }
  if (!Number.isSafeInteger(k.createdInVersion) || (k.createdInVersion as number) < 1)
    bad('createdInVersion');
  if (!isCount(k.reserved)) bad('reserved');
  if (k.imported !== undefined && typeof k.imported !== 'boolean') bad('imported');
  if (k.state === 'retired') {
    if (k.sealed !== undefined) bad('sealed (a retired key keeps no material)');
  } else if (!isBase64Url(k.sealed, 200) || k.sealed.length === 0) {
    // Empty is no material: a live key must carry some (the manager would otherwise serve it keyless).
    bad('sealed');
  }
  const out: StoredKey = {
    id: k.id as number,
    algorithm: k.algorithm as KeyAlgorithm,
    state: k.state as KeyState,
    createdAt: k.createdAt as number,
    createdInVersion: k.createdInVersion as number,
    reserved: k.reserved as number,
  };
  if (k.promotedAt !== undefined) out.promotedAt = k.promotedAt as number;
  if (k.demotedAt !== undefined) out.demotedAt = k.demotedAt as number;
  if (k.retiredAt !== undefined) out.retiredAt = k.retiredAt as number;
  if (k.imported) out.imported = true;
  if (k.sealed !== undefined) out.sealed = k.sealed as string;
  return out;
}

/**
 * The document a key store is asked to write under `name`: validated, and refused when it names another
 * keyring (a store keys documents by name, so a mismatch would file one keyring under another's name).
 *
 * @throws {KeyStoreError} `ERR_KEYSTORE_CORRUPT` (structure), `ERR_CONFIG_INVALID` (name mismatch).
 */
export function documentToStore(name: string, next: StoredKeyring): StoredKeyring {
  const doc = parseStoredKeyring(next);
  if (doc.name !== name) throw new KeyStoreError('ERR_CONFIG_INVALID', 'document name differs from key');
  return doc;
}

/**
 * Validates untrusted JSON as a {@link StoredKeyring} (structure only; the MAC is checked with the KEK by
 * {@link verifyDocument}). Returns a fresh object holding only known fields.
 *
 * @throws {KeyStoreError} `ERR_KEYSTORE_CORRUPT`.
 * @example
 * ```ts
 * const doc = parseStoredKeyring(JSON.parse(text));
 * ```
 */
export function parseStoredKeyring(value: unknown): StoredKeyring {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) corrupt('not an object');
  const d = value as Record<string, unknown>;
  if (d.format !== KEYRING_FORMAT) corrupt(`format (expected ${KEYRING_FORMAT})`);
  if (!isValidKeyringName(d.name)) corrupt('name');
  if (!Number.isSafeInteger(d.version) || (d.version as number) < 1) corrupt('version');
  if (!isTime(d.updatedAt)) corrupt('updatedAt');
  if (!isBase64Url(d.kekCheck, 64)) corrupt('kekCheck');
  if (!isBase64Url(d.mac, 64)) corrupt('mac');
  if (!Array.isArray(d.keys) || d.keys.length > MAX_KEYS_PER_KEYRING) corrupt('keys');
  const keys = (d.keys as unknown[]).map(validateKey);
  const ids = new Set<number>();
  const primaries = new Set<string>();
  for (const k of keys) {
    if (ids.has(k.id)) corrupt(`duplicate key id ${k.id}`);
    ids.add(k.id);
    if (k.state === 'primary') {
      if (primaries.has(k.algorithm)) corrupt(`two primaries for ${k.algorithm}`);
      primaries.add(k.algorithm);
    }
  }
  return {
    format: KEYRING_FORMAT,
    name: d.name as string,
    version: d.version as number,
    updatedAt: d.updatedAt as number,
    kek: validateKek(d.kek),
    kekCheck: d.kekCheck as string,
    keys,
    mac: d.mac as string,
  };
}
