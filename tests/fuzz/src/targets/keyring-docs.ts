/**
 * Valid keyring documents to mutate, and the means to mutate them past their integrity checks: the file
 * store's SHA-256 checksum, and (for a raw KEK, which the fuzzer holds) the document MAC and KEK check value.
 *
 * A document only a KEK holder could write is still worth fuzzing: it is what a buggy or older writer, or a
 * restored backup, hands a manager, and the manager must refuse it with a typed error or serve it correctly.
 *
 * @module
 */
import { base64UrlEncode, hkdfSha256, hmacSha256, randomBytes, sha256, utf8Encode } from '@mesh/crypto-core';
import {
  type ActiveKey,
  KEYRING_FORMAT,
  KEYSTORE_FILE_FORMAT,
  type KeyAlgorithm,
  KeyManager,
  MemoryKeyStore,
  type StoredKeyring,
} from '@mesh/keys';
import { Violation } from '../oracle.js';

/** The keyring name every keys target uses. */
export const KEYRING = 'fuzz';
/** The passphrase of the passphrase-sealed document, at the fewest PBKDF2 iterations a KEK accepts. */
export const PASSPHRASE = 'fuzz passphrase';
export const PASSPHRASE_ITERATIONS = 1000;
/** The highest stored count a manager of the fuzzer accepts: bounds the PBKDF2 work a case can ask for. */
export const MAX_KEK_ITERATIONS = 5000;

/** Field names of the document, for mutations that add members. */
export const DOCUMENT_KEYS = [
  'format',
  'name',
  'version',
  'updatedAt',
  'kek',
  'kekCheck',
  'keys',
  'mac',
  'id',
  'algorithm',
  'state',
  'createdAt',
  'promotedAt',
  'demotedAt',
  'retiredAt',
  'createdInVersion',
  'reserved',
  'imported',
  'sealed',
  'type',
  'kdf',
  'salt',
  'iterations',
];

/**
 * The same canonical JSON the keyring module computes its MAC and the file store its checksum over: object
 * keys sorted, `undefined` members dropped. `undefined` for values JSON cannot hold.
 */
export function canonicalJson(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  }
  if (Array.isArray(value)) {
    const parts = value.map((v) => canonicalJson(v ?? null));
    return parts.includes(undefined) ? undefined : `[${parts.join(',')}]`;
  }
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    const v = canonicalJson(obj[k]);
    if (v === undefined) return undefined;
    parts.push(`${JSON.stringify(k)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

/** The file store's wrapper around a document, with a correct checksum when the document has a canonical form. */
export function fileText(doc: unknown): string {
  const canonical = canonicalJson(doc);
  const sum = canonical === undefined ? 'not-json' : base64UrlEncode(sha256(utf8Encode(canonical)));
  let text: string | undefined;
  try {
    text = JSON.stringify({ format: KEYSTORE_FILE_FORMAT, sha256: sum, keyring: doc }, null, 2);
  } catch {
    text = undefined;
  }
  return `${text ?? 'null'}\n`;
}

/**
 * `doc` with its KEK check and MAC recomputed under the raw KEK `kek`, as the keyring module does (HKDF
 * subkeys of the KEK), so that mutations reach the manager's checks behind them. Left as it is when it is
 * not an object with a string name.
 */
export function resealed(doc: unknown, kek: Uint8Array): unknown {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return doc;
  const d = { ...(doc as Record<string, unknown>) };
  const salt = utf8Encode('mesh-keyring/v1 kek');
  if (typeof d.name === 'string') {
    try {
      const checkKey = hkdfSha256(kek, salt, utf8Encode('check'), 32);
      d.kekCheck = base64UrlEncode(
        hmacSha256(checkKey, utf8Encode(`${KEYRING_FORMAT} kek-check ${d.name}`)).subarray(0, 16),
      );
    } catch {
      // A name that is not well-formed text: leave the check value as it was.
    }
  }
  const { mac: _mac, ...body } = d;
  const canonical = canonicalJson(body);
  if (canonical !== undefined) {
    const macKey = hkdfSha256(kek, salt, utf8Encode('mac'), 32);
    d.mac = base64UrlEncode(hmacSha256(macKey, utf8Encode(canonical)));
  }
  return d;
}

export interface KeyringSeeds {
  /** Raw KEK of `rawDoc`. */
  readonly kek: Uint8Array;
  /** A keyring under a raw KEK: AES-256-GCM and Fernet primaries, a decrypt-only and a retired key. */
  readonly rawDoc: StoredKeyring;
  /** A keyring under a passphrase KEK (PBKDF2 parameters in the document). */
  readonly passphraseDoc: StoredKeyring;
}

/** Real documents, written by a real manager into a memory store. */
export async function keyringSeeds(): Promise<KeyringSeeds> {
  const kek = randomBytes(32);
  const rawStore = new MemoryKeyStore();
  const raw = await KeyManager.open({
    store: rawStore,
    kek: { key: kek },
    name: KEYRING,
    algorithms: ['aes-256-gcm', 'fernet', 'xchacha20-poly1305'],
    watch: false,
  });
  await raw.rotate({ algorithm: 'aes-256-gcm', trigger: 'manual' });
  await raw.rotate({ algorithm: 'aes-256-gcm', trigger: 'manual' });
  await raw.close();
  const passStore = new MemoryKeyStore();
  const pass = await KeyManager.open({
    store: passStore,
    kek: { passphrase: PASSPHRASE, iterations: PASSPHRASE_ITERATIONS },
    name: KEYRING,
    watch: false,
  });
  await pass.close();
  const rawDoc = await rawStore.load(KEYRING);
  const passphraseDoc = await passStore.load(KEYRING);
  if (!rawDoc || !passphraseDoc) throw new Error('the seed keyrings were not stored');
  return { kek, rawDoc, passphraseDoc };
}

/** Options every fuzzed manager gets: no watch, no timers, no waiting for another node's rotation. */
export const MANAGER_OPTIONS = {
  name: KEYRING,
  // Every algorithm the seed documents hold a primary for (acquiring another is the caller's mistake).
  algorithms: ['aes-256-gcm', 'fernet', 'xchacha20-poly1305'] as KeyAlgorithm[],
  watch: false,
  automaticRotation: false,
  rotationWaitMs: 50,
  maxKekIterations: MAX_KEK_ITERATIONS,
} as const;

function checkKey(key: ActiveKey | undefined, what: string): void {
  if (!key || !(key.material instanceof Uint8Array) || key.material.length !== 32) {
    throw new Violation(
      'wrong-result',
      `${what} returned ${key === undefined ? 'undefined' : 'a key without 32 bytes of material'}`,
    );
  }
}

/**
 * Uses what a manager adopted: every primary hands out an encryption key (a lease write may go to the store),
 * and every key it lists as live opens for decryption. Each gives 32 bytes of material or a typed error, and
 * a key the manager lists as live is never refused as retired or unknown.
 */
export async function exerciseManager(manager: KeyManager): Promise<void> {
  const live = manager.keys().filter((info) => info.state !== 'retired');
  for (const info of live) {
    if (info.state === 'primary') {
      checkKey(
        await manager.acquireEncryptionKey(info.algorithm),
        `acquireEncryptionKey('${info.algorithm}')`,
      );
    }
  }
  for (const info of live) {
    let key: ActiveKey;
    try {
      key = await manager.getDecryptionKey(info.id);
    } catch (error) {
      // keys() lists the key as live: "retired" or "not found" for it contradicts the manager itself.
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_KEY_STATE' || code === 'ERR_KEY_NOT_FOUND') {
        throw new Violation(
          'wrong-result',
          `${info.state} key ${info.id} refused: ${(error as Error).message}`,
        );
      }
      throw error;
    }
    checkKey(key, `getDecryptionKey(${info.id})`);
  }
}
