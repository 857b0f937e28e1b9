/**
 * Every bound `@mesh/keys` puts on attacker-controlled work (a stored document, a received parameter block, a
 * file at a configured path), tested at the boundary: exactly at the limit is accepted, one past it is
 * refused with the typed error of the SECURITY.md "Limits" table. The checks that guard expensive work
 * (PBKDF2) are shown to refuse before any derivation by asking for counts that would take minutes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HKDF_SHA256_MAX_LENGTH,
  isMeshError,
  MAX_PBKDF2_ITERATIONS,
  MIN_ACCEPTED_PBKDF2_ITERATIONS,
  randomBytes,
} from '@mesh/crypto-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_PASSWORD_ITERATIONS,
  derivePasswordKey,
  deriveSubkey,
  FileKeyStore,
  KeyManager,
  loadRsaPublicKey,
  MAX_KEYRING_DOCUMENT_BYTES,
  MAX_KEYS_PER_KEYRING,
  MemoryKeyStore,
  MIN_PASSWORD_ITERATIONS,
  PasswordKeyCache,
  parseStoredKeyring,
  type StoredKey,
  type StoredKeyring,
} from '../src/index.js';
import { MIN_KEK_ITERATIONS, resolveKek } from '../src/kek.js';
import { finishDocument, KEYRING_FORMAT, sealMaterial } from '../src/keyring.js';
import { tempDir } from './helpers.js';

/** The typed code of what `fn` rejects with, 'ok' when it resolves; an untyped error fails the test. */
async function outcomeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    expect(isMeshError(e), `untyped error: ${String(e)}`).toBe(true);
    return (e as { code: string }).code;
  }
}

/** Resolves with 'ok' or the code, or 'slow' after `ms` (a refusal must come before any long derivation). */
async function quickly(fn: () => Promise<unknown>, ms = 2_000): Promise<string> {
  return Promise.race([outcomeOf(fn), new Promise<string>((r) => setTimeout(() => r('slow'), ms))]);
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => cleanup());

const KEK = { key: new Uint8Array(32).fill(9) };

/**
 * A keyring document of `count` keys: one AES primary (really sealed under {@link KEK}) and `count - 1` older
 * records. `shape: 'largest'` makes them decrypt-only records with every field present (the largest a record
 * gets; they share one sealed blob of the real length, which structure checks and sizes do not look into);
 * `shape: 'retired'` makes them retired records, which hold no material, so the manager can open the
 * document without unsealing thousands of keys.
 */
async function keyringOf(count: number, name: string, shape: 'largest' | 'retired'): Promise<StoredKeyring> {
  const kek = await resolveKek(KEK, undefined);
  const seal = (id: number) =>
    sealMaterial(kek, name, { id, algorithm: 'aes-256-gcm', createdInVersion: 1 }, randomBytes(32));
  const sharedBlob = seal(0);
  const t = 1_700_000_000_000;
  const keys: StoredKey[] = [];
  for (let i = 1; i < count; i++) {
    if (shape === 'largest') {
      // Ten-digit ids (they are random u32s), the longest algorithm name, large counters.
      keys.push({
        id: 0xffff_ffff - i,
        algorithm: 'xchacha20-poly1305',
        state: 'decrypt-only',
        createdAt: t,
        promotedAt: t,
        demotedAt: t,
        createdInVersion: 1_000_000 + i,
        reserved: 2 ** 32,
        sealed: sharedBlob,
      });
    } else {
      const common = { id: i, algorithm: 'aes-256-gcm' as const, createdAt: t, createdInVersion: 1 };
      keys.push({
        ...common,
        state: 'retired',
        promotedAt: t,
        demotedAt: t,
        retiredAt: t,
        reserved: 2 ** 30,
      });
    }
  }
  const primary = { id: count, algorithm: 'aes-256-gcm' as const, createdAt: t, createdInVersion: 1 };
  keys.push({ ...primary, state: 'primary', promotedAt: t, reserved: 0, sealed: seal(count) });
  return finishDocument(kek, {
    format: KEYRING_FORMAT,
    name,
    version: 1,
    updatedAt: t,
    kek: kek.params,
    keys,
  });
}

describe('keys per keyring (MAX_KEYS_PER_KEYRING)', () => {
  it('parses a stored document of exactly MAX_KEYS_PER_KEYRING keys and refuses one more', async () => {
    const doc = await keyringOf(MAX_KEYS_PER_KEYRING, 'big', 'largest');
    expect(parseStoredKeyring(doc).keys).toHaveLength(MAX_KEYS_PER_KEYRING);
    const extra = { ...doc.keys[0]!, id: MAX_KEYS_PER_KEYRING + 1, state: 'retired' as const };
    delete extra.sealed;
    const over = { ...doc, keys: [...doc.keys, extra] };
    expect(await outcomeOf(async () => parseStoredKeyring(over))).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it('a rotation may bring the keyring to exactly the limit; the next one is refused and writes nothing', async () => {
    const store = new MemoryKeyStore();
    const doc = await keyringOf(MAX_KEYS_PER_KEYRING - 1, 'big', 'retired');
    expect(await store.compareAndSwap('big', undefined, doc)).toBe(true);
    // No retention riding on the writes (a fleet member's setting), so no retired record is pruned and the
    // count grows by exactly one per rotation.
    const manager = await KeyManager.open({
      store,
      kek: KEK,
      name: 'big',
      algorithms: ['aes-256-gcm'],
      automaticRotation: false,
      watch: false,
    });
    try {
      await manager.rotate({ algorithm: 'aes-256-gcm' });
      expect((await store.load('big'))!.keys).toHaveLength(MAX_KEYS_PER_KEYRING);
      const version = (await store.load('big'))!.version;
      expect(await outcomeOf(() => manager.rotate({ algorithm: 'aes-256-gcm' }))).toBe('ERR_KEY_STATE');
      expect((await store.load('big'))!.version).toBe(version);
    } finally {
      await manager.close();
    }
  });
});

describe('keyring document size in the file store (maxFileBytes)', () => {
  it('writes and reads a file of exactly maxFileBytes; refuses to write or read one byte more', async () => {
    const doc = await keyringOf(3, 'sized', 'largest');
    const first = join(dir, 'first.json');
    expect(await new FileKeyStore({ path: first }).compareAndSwap('sized', undefined, doc)).toBe(true);
    const size = (await stat(first)).size;

    // Exactly at the bound: written, and read back.
    const exact = new FileKeyStore({ path: join(dir, 'exact.json'), maxFileBytes: size });
    expect(await exact.compareAndSwap('sized', undefined, doc)).toBe(true);
    expect((await exact.load('sized'))!.version).toBe(1);

    // One byte less room: refused before anything touches the disk (no file, no temp file).
    const small = new FileKeyStore({ path: join(dir, 'small.json'), maxFileBytes: size - 1 });
    expect(await outcomeOf(() => small.compareAndSwap('sized', undefined, doc))).toBe('ERR_KEY_STATE');
    await expect(stat(join(dir, 'small.json'))).rejects.toMatchObject({ code: 'ENOENT' });

    // Reading a file one byte over the bound: corrupt, never parsed.
    const reader = new FileKeyStore({ path: first, maxFileBytes: size - 1 });
    expect(await outcomeOf(() => reader.load('sized'))).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it('defaults to MAX_KEYRING_DOCUMENT_BYTES: a file one byte larger is corrupt', async () => {
    const doc = await keyringOf(1, 'sized', 'largest');
    const path = join(dir, 'padded.json');
    const store = new FileKeyStore({ path });
    await store.compareAndSwap('sized', undefined, doc);
    // JSON allows trailing whitespace: padded to exactly the default bound the file still reads.
    const text = await readFile(path);
    await writeFile(
      path,
      Buffer.concat([text, Buffer.alloc(MAX_KEYRING_DOCUMENT_BYTES - text.length, 0x20)]),
    );
    expect((await store.load('sized'))!.version).toBe(1);
    await truncate(path, MAX_KEYRING_DOCUMENT_BYTES + 1);
    expect(await outcomeOf(() => store.load('sized'))).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it('a document of MAX_KEYS_PER_KEYRING records of the largest shape fits the default bound', async () => {
    const store = new FileKeyStore({ path: join(dir, 'full.json') });
    const doc = await keyringOf(MAX_KEYS_PER_KEYRING, 'big', 'largest');
    expect(await store.compareAndSwap('big', undefined, doc)).toBe(true);
    const size = (await stat(join(dir, 'full.json'))).size;
    // The docs say "about 4 MiB" (a quarter of the default bound): keep them honest.
    expect(size).toBeGreaterThan(3.5 * 1024 * 1024);
    expect(size).toBeLessThan(4.5 * 1024 * 1024);
  });
});

describe('stored document fields', () => {
  it('accepts each bounded field exactly at its bound and refuses one past it', async () => {
    const doc = await keyringOf(1, 'fields', 'largest');
    const ok = (d: unknown) => outcomeOf(async () => parseStoredKeyring(d));
    const key = doc.keys[0]!;
    const cases: Array<[string, unknown, unknown]> = [
      ['name', { ...doc, name: 'n'.repeat(128) }, { ...doc, name: 'n'.repeat(129) }],
      ['kekCheck', { ...doc, kekCheck: 'k'.repeat(64) }, { ...doc, kekCheck: 'k'.repeat(65) }],
      ['mac', { ...doc, mac: 'm'.repeat(64) }, { ...doc, mac: 'm'.repeat(65) }],
      [
        'sealed',
        { ...doc, keys: [{ ...key, sealed: 's'.repeat(200) }] },
        { ...doc, keys: [{ ...key, sealed: 's'.repeat(201) }] },
      ],
      [
        'kek salt (longest)',
        {
          ...doc,
          kek: { type: 'passphrase', kdf: 'pbkdf2-hmac-sha256', salt: 'a'.repeat(1400), iterations: 1 },
        },
        {
          ...doc,
          kek: { type: 'passphrase', kdf: 'pbkdf2-hmac-sha256', salt: 'a'.repeat(1401), iterations: 1 },
        },
      ],
      [
        'kek salt (shortest)',
        {
          ...doc,
          kek: { type: 'passphrase', kdf: 'pbkdf2-hmac-sha256', salt: 'a'.repeat(11), iterations: 1 },
        },
        {
          ...doc,
          kek: { type: 'passphrase', kdf: 'pbkdf2-hmac-sha256', salt: 'a'.repeat(10), iterations: 1 },
        },
      ],
    ];
    for (const [field, at, past] of cases) {
      expect(await ok(at), `${field} at the bound`).toBe('ok');
      expect(await ok(past), `${field} one past`).toBe('ERR_KEYSTORE_CORRUPT');
    }
  });
});

describe('KEK iterations from the stored document', () => {
  it(`opens a keyring sealed with exactly ${MIN_KEK_ITERATIONS} iterations; a document claiming fewer is refused before deriving`, async () => {
    expect(MIN_KEK_ITERATIONS).toBe(MIN_ACCEPTED_PBKDF2_ITERATIONS);
    const store = new MemoryKeyStore();
    const kek = { passphrase: 'correct horse battery staple', iterations: MIN_KEK_ITERATIONS };
    await (await KeyManager.open({ store, kek, watch: false })).close();
    await (await KeyManager.open({ store, kek, watch: false })).close();
    const stored = (await store.load('default'))!;
    expect(stored.kek).toMatchObject({ iterations: MIN_KEK_ITERATIONS });
    const tampered = new MemoryKeyStore();
    const lowered = {
      ...stored,
      kek: { ...stored.kek, iterations: MIN_KEK_ITERATIONS - 1 },
    } as StoredKeyring;
    await tampered.compareAndSwap('default', undefined, lowered);
    expect(await quickly(() => KeyManager.open({ store: tampered, kek, watch: false }))).toBe(
      'ERR_KEY_DERIVATION',
    );
    // A new passphrase KEK below the floor is a configuration error.
    const below = { passphrase: 'p', iterations: MIN_KEK_ITERATIONS - 1 };
    expect(await outcomeOf(() => KeyManager.open({ store: new MemoryKeyStore(), kek: below }))).toBe(
      'ERR_CONFIG_INVALID',
    );
  });

  it('opens a keyring whose stored count equals maxKekIterations and refuses one more, before deriving', async () => {
    const store = new MemoryKeyStore();
    const kek = { passphrase: 'correct horse battery staple', iterations: 2_000 };
    await (await KeyManager.open({ store, kek, watch: false })).close();
    await (await KeyManager.open({ store, kek, watch: false, maxKekIterations: 2_000 })).close();
    expect(
      await outcomeOf(() => KeyManager.open({ store, kek, watch: false, maxKekIterations: 1_999 })),
    ).toBe('ERR_KEY_DERIVATION');
    // The default ceiling is crypto-core's MAX_PBKDF2_ITERATIONS: a document claiming one more (about five
    // seconds of PBKDF2 on node) is refused at once.
    const stored = (await store.load('default'))!;
    const raised = new MemoryKeyStore();
    await raised.compareAndSwap('default', undefined, {
      ...stored,
      kek: { ...stored.kek, iterations: MAX_PBKDF2_ITERATIONS + 1 },
    } as StoredKeyring);
    expect(await quickly(() => KeyManager.open({ store: raised, kek, watch: false }))).toBe(
      'ERR_KEY_DERIVATION',
    );
  });
});

describe('password keys: parameters from storage', () => {
  it(`derives with ${MIN_PASSWORD_ITERATIONS} iterations and refuses one fewer (derivePasswordKey and the cache)`, async () => {
    expect(MIN_PASSWORD_ITERATIONS).toBe(MIN_ACCEPTED_PBKDF2_ITERATIONS);
    expect((await derivePasswordKey('pw', { iterations: MIN_PASSWORD_ITERATIONS })).key.length).toBe(32);
    expect(await outcomeOf(() => derivePasswordKey('pw', { iterations: MIN_PASSWORD_ITERATIONS - 1 }))).toBe(
      'ERR_KEY_DERIVATION',
    );
    const cache = new PasswordKeyCache();
    expect((await cache.derive('pw', { iterations: MIN_PASSWORD_ITERATIONS })).key.length).toBe(32);
    expect(await outcomeOf(() => cache.derive('pw', { iterations: MIN_PASSWORD_ITERATIONS - 1 }))).toBe(
      'ERR_KEY_DERIVATION',
    );
  });

  it('derives with exactly maxIterations and refuses one more before deriving (default 2,000,000)', async () => {
    expect((await derivePasswordKey('pw', { iterations: 1_500, maxIterations: 1_500 })).key.length).toBe(32);
    expect(await outcomeOf(() => derivePasswordKey('pw', { iterations: 1_501, maxIterations: 1_500 }))).toBe(
      'ERR_KEY_DERIVATION',
    );
    expect(
      await quickly(() => derivePasswordKey('pw', { iterations: DEFAULT_MAX_PASSWORD_ITERATIONS + 1 })),
    ).toBe('ERR_KEY_DERIVATION');
    const cache = new PasswordKeyCache({ maxIterations: 1_500 });
    expect(await outcomeOf(() => cache.derive('pw', { iterations: 1_501 }))).toBe('ERR_KEY_DERIVATION');
  });

  it('accepts salts of 8..1024 bytes and key lengths of 16..64, refusing one outside each', async () => {
    const at = [
      { salt: new Uint8Array(8), iterations: 1_000 },
      { salt: new Uint8Array(1024), iterations: 1_000 },
      { length: 16, iterations: 1_000 },
      { length: 64, iterations: 1_000 },
    ];
    const past = [
      { salt: new Uint8Array(7), iterations: 1_000 },
      { salt: new Uint8Array(1025), iterations: 1_000 },
      { length: 15, iterations: 1_000 },
      { length: 65, iterations: 1_000 },
    ];
    for (const p of at)
      expect(await outcomeOf(() => derivePasswordKey('pw', p)), JSON.stringify(p)).toBe('ok');
    for (const p of past) {
      expect(await outcomeOf(() => derivePasswordKey('pw', p)), JSON.stringify(p)).toBe('ERR_KEY_DERIVATION');
    }
  });
});

describe('files read from configured paths', () => {
  it('reads a KEK file of exactly 4096 bytes and refuses one byte more', async () => {
    const file = join(dir, 'kek');
    const hex = Buffer.from(randomBytes(32)).toString('hex');
    await writeFile(file, `${hex}${'\n'.repeat(4096 - hex.length)}`);
    await (await KeyManager.open({ store: new MemoryKeyStore(), kek: { file }, watch: false })).close();
    await writeFile(file, `${hex}${'\n'.repeat(4097 - hex.length)}`);
    expect(await outcomeOf(() => KeyManager.open({ store: new MemoryKeyStore(), kek: { file } }))).toBe(
      'ERR_CONFIG_INVALID',
    );
  });

  it('reads an RSA key file of exactly 64 KiB and refuses one byte more', async () => {
    const { publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const file = join(dir, 'rsa-public.pem');
    await writeFile(file, `${publicKey}${'\n'.repeat(65_536 - publicKey.length)}`);
    expect(await loadRsaPublicKey(file)).toBe(publicKey);
    await writeFile(file, `${publicKey}${'\n'.repeat(65_537 - publicKey.length)}`);
    expect(await outcomeOf(() => loadRsaPublicKey(file))).toBe('ERR_CONFIG_INVALID');
  });
});

describe('HKDF subkeys', () => {
  it(`derives subkeys of up to ${HKDF_SHA256_MAX_LENGTH} bytes and refuses one more`, async () => {
    const root = randomBytes(32);
    expect(deriveSubkey(root, 'orders', HKDF_SHA256_MAX_LENGTH).length).toBe(HKDF_SHA256_MAX_LENGTH);
    expect(await outcomeOf(async () => deriveSubkey(root, 'orders', HKDF_SHA256_MAX_LENGTH + 1))).toBe(
      'ERR_KEY_DERIVATION',
    );
  });
});
