/**
 * `@mesh/keys`: keyring documents (the schema check every store runs), keyring files read by a real
 * FileKeyStore and opened or reloaded by a real KeyManager (KEK parameters, KEK check, MAC, sealed
 * material), and KEK sources (raw KEKs from environment variables and files, passphrases).
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64UrlEncode, randomBytes } from '@mesh/crypto-core';
import {
  FileKeyStore,
  type KekSource,
  KeyManager,
  MemoryKeyStore,
  parseDuration,
  parseStoredKeyring,
} from '@mesh/keys';
import fc from 'fast-check';
import { hostileText, jsonish, jsonText, mutatedBytes, mutatedJson } from '../mutate.js';
import { Violation } from '../oracle.js';
import { cases, defineTarget } from '../target.js';
import {
  DOCUMENT_KEYS,
  exerciseManager,
  fileText,
  KEYRING,
  keyringSeeds,
  MANAGER_OPTIONS,
  MAX_KEK_ITERATIONS,
  PASSPHRASE,
  PASSPHRASE_ITERATIONS,
  resealed,
} from './keyring-docs.js';

const PKG = '@mesh/keys';

export const keyringDocumentTarget = defineTarget({
  name: 'keys/keyring-document',
  pkg: PKG,
  description:
    'keyring documents (mesh-keyring/v1) given to parseStoredKeyring as values and as parsed JSON text: every ' +
    'field mutated (ids past u32, versions past 2^53, unknown states and algorithms, two primaries, duplicate ids, ' +
    'sealed material on retired keys, 10,001 keys, oversized strings, __proto__ members), random JSON-ish values',
  async open() {
    const { rawDoc, passphraseDoc } = await keyringSeeds();
    const seeds = [rawDoc, passphraseDoc];
    const tooMany = { ...rawDoc, keys: Array.from({ length: 10_001 }, () => rawDoc.keys[0]) };
    return cases(
      fc.oneof(
        { weight: 8, arbitrary: mutatedJson(seeds, DOCUMENT_KEYS) },
        { weight: 2, arbitrary: hostileText(seeds.map((d) => JSON.stringify(d))).map(parseOrText) },
        { weight: 1, arbitrary: jsonish },
        { weight: 1, arbitrary: fc.constant(tooMany) },
      ),
      {
        run(input) {
          const doc = parseStoredKeyring(input);
          // What passes must be stable: parsing the result again gives the same document.
          if (JSON.stringify(parseStoredKeyring(doc)) !== JSON.stringify(doc)) {
            throw new Violation('wrong-result', 'a parsed document does not parse to itself');
          }
          return 'valid';
        },
      },
    );
  },
});

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** How a case damages the keyring file. */
type FileCase = {
  /** Damage to the main file. */
  main:
    | { mode: 'text'; text: string }
    | { mode: 'document'; doc: unknown; reseal: boolean }
    | { mode: 'wrapper'; wrapper: unknown }
    | { mode: 'bytes'; bytes: Uint8Array }
    | { mode: 'missing' };
  /** The backup copy: absent, the valid document, or damaged too. */
  backup: 'none' | 'valid' | 'damaged';
  /** Which KEK the manager is given. */
  kek: 'raw' | 'wrong-raw' | 'passphrase' | 'wrong-passphrase';
  /** Open a new manager on the damaged file, or reload one opened on the valid file. */
  how: 'open' | 'refresh';
};

export const fileKeyStoreTarget = defineTarget({
  name: 'keys/file-key-store',
  pkg: PKG,
  description:
    'keyring files read by a real FileKeyStore (in a temporary directory) and opened, or reloaded, by a real ' +
    'KeyManager: random and mutated file text and bytes, mutated wrappers (format, checksum), mutated documents ' +
    'behind a correct checksum, and behind a correct checksum and MAC (KEK parameters: salt, iteration counts ' +
    'below the configured and above the accepted; sealed material, key states, versions), damaged or missing ' +
    'main and backup copies, wrong raw KEKs and passphrases',
  async open() {
    const seeds = await keyringSeeds();
    const dir = mkdtempSync(join(existsShm() ? '/dev/shm' : tmpdir(), 'mesh-fuzz-keys-'));
    const path = join(dir, 'keyring.json');
    const validText = { raw: fileText(seeds.rawDoc), passphrase: fileText(seeds.passphraseDoc) };
    const wrapper = JSON.parse(validText.raw) as unknown;
    const docs = [seeds.rawDoc, seeds.passphraseDoc];
    const keks: Record<FileCase['kek'], KekSource> = {
      raw: { key: seeds.kek },
      'wrong-raw': { key: randomBytes(32) },
      passphrase: { passphrase: PASSPHRASE, iterations: PASSPHRASE_ITERATIONS },
      'wrong-passphrase': { passphrase: `${PASSPHRASE}!`, iterations: PASSPHRASE_ITERATIONS },
    };
    const main: fc.Arbitrary<FileCase['main']> = fc.oneof(
      {
        weight: 2,
        arbitrary: fc.record({
          mode: fc.constant('text' as const),
          text: hostileText([validText.raw, validText.passphrase]),
        }),
      },
      {
        weight: 5,
        arbitrary: fc.record({
          mode: fc.constant('document' as const),
          doc: mutatedJson(docs, DOCUMENT_KEYS),
          reseal: fc.boolean(),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          mode: fc.constant('wrapper' as const),
          wrapper: mutatedJson([wrapper], ['format', 'sha256', 'keyring']),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          mode: fc.constant('bytes' as const),
          bytes: mutatedBytes([new TextEncoder().encode(validText.raw)]),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ mode: 'missing' as const }) },
    );
    const inputs: fc.Arbitrary<FileCase> = fc.record({
      main,
      backup: fc.constantFrom('none' as const, 'none' as const, 'valid' as const, 'damaged' as const),
      kek: fc.constantFrom(
        'raw' as const,
        'raw' as const,
        'wrong-raw' as const,
        'passphrase' as const,
        'wrong-passphrase' as const,
      ),
      how: fc.constantFrom('open' as const, 'refresh' as const),
    });
    const backupPath = `${path}.bak`;
    const writeMain = (c: FileCase['main']) => {
      switch (c.mode) {
        case 'text':
          return writeFileSync(path, c.text);
        case 'bytes':
          return writeFileSync(path, c.bytes);
        case 'wrapper':
          return writeFileSync(path, jsonText(c.wrapper));
        case 'document':
          return writeFileSync(path, fileText(c.reseal ? resealed(c.doc, seeds.kek) : c.doc));
        case 'missing':
          return rmSync(path, { force: true });
      }
    };
    const openManager = (kek: KekSource) =>
      KeyManager.open({
        store: new FileKeyStore({ path, onBackupServed: () => {} }),
        kek,
        ...MANAGER_OPTIONS,
      });
    return cases(inputs, {
      async run(c) {
        mkdirSync(dir, { recursive: true });
        const passphraseKek = c.kek === 'passphrase' || c.kek === 'wrong-passphrase';
        const valid = passphraseKek ? validText.passphrase : validText.raw;
        if (c.backup === 'none') rmSync(backupPath, { force: true });
        else if (c.backup === 'valid') writeFileSync(backupPath, valid);
        else writeFileSync(backupPath, valid.slice(0, valid.length >> 1));
        let manager: KeyManager | undefined;
        try {
          if (c.how === 'refresh') {
            // A running manager, opened on the valid file, then handed the damaged one.
            writeFileSync(path, valid);
            manager = await openManager(keks[passphraseKek ? 'passphrase' : 'raw']);
            writeMain(c.main);
            await manager.refresh();
          } else {
            writeMain(c.main);
            manager = await openManager(keks[c.kek]);
          }
          await exerciseManager(manager);
          return c.how === 'refresh' ? 'reloaded' : 'opened';
        } finally {
          await manager?.close();
        }
      },
      close() {
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
});

function existsShm(): boolean {
  try {
    writeFileSync('/dev/shm/.mesh-fuzz-probe', '');
    unlinkSync('/dev/shm/.mesh-fuzz-probe');
    return true;
  } catch {
    return false;
  }
}

export const kekSourceTarget = defineTarget({
  name: 'keys/kek-source',
  pkg: PKG,
  description:
    'KEK sources given to KeyManager.open: raw KEKs in an environment variable and in a file (hex, base64, ' +
    'base64url, mutated: wrong lengths, odd digits, whitespace, padding, non-ASCII, 4 KiB+ files), passphrases ' +
    '(empty, lone surrogates) with iteration counts of every type; durations for rotation policies',
  async open() {
    const key = randomBytes(32);
    const texts = [
      Buffer.from(key).toString('hex'),
      Buffer.from(key).toString('base64'),
      base64UrlEncode(key),
      ` ${Buffer.from(key).toString('hex').toUpperCase()}\n`,
    ];
    const dir = mkdtempSync(join(tmpdir(), 'mesh-fuzz-kek-'));
    const file = join(dir, 'kek');
    const env = 'MESH_FUZZ_KEK';
    const inputs = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({ kind: fc.constant('env' as const), text: hostileText(texts, 200) }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('file' as const),
          bytes: fc.oneof(
            mutatedBytes(texts.map((t) => new TextEncoder().encode(t))),
            fc.constant(new Uint8Array(5000).fill(0x41)),
          ),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('passphrase' as const),
          passphrase: fc.oneof(hostileText(['secret'], 40), jsonish),
          iterations: fc.oneof(
            fc.constant(PASSPHRASE_ITERATIONS),
            fc.constantFrom(999, 0, -1, 1.5, 2 ** 53),
            jsonish,
          ),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('source' as const), source: jsonish }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('duration' as const),
          text: fc.oneof(hostileText(['24h', '7d', '90m', '1.5h', '30s', '1h30m'], 40), jsonish),
        }),
      },
    );
    return cases(inputs, {
      async run(c) {
        if (c.kind === 'duration') {
          const ms = parseDuration(c.text as string);
          if (!Number.isFinite(ms) || ms < 0) throw new Violation('wrong-result', `duration parsed to ${ms}`);
          return 'duration parsed';
        }
        let kek: KekSource;
        if (c.kind === 'env') {
          process.env[env] = c.text;
          kek = { env };
        } else if (c.kind === 'file') {
          writeFileSync(file, c.bytes);
          kek = { file };
        } else if (c.kind === 'passphrase') {
          kek = { passphrase: c.passphrase, iterations: c.iterations } as KekSource;
        } else {
          kek = c.source as KekSource;
        }
        const manager = await KeyManager.open({
          store: new MemoryKeyStore(),
          kek,
          name: KEYRING,
          watch: false,
          maxKekIterations: MAX_KEK_ITERATIONS,
        });
        await manager.close();
        return 'KEK accepted';
      },
      close() {
        delete process.env[env];
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
});
