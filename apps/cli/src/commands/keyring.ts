/**
 * `meshcrypt keyring init|rotate|list|status`: the keyring file's life cycle. Output names ids, states,
 * ages and usage, never key material (`KeyInfo` holds none).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import type { KeyAlgorithm } from '@mesh/keys';
import { usage } from '../errors.js';
import { ALGORITHMS, countByState, keyView, primaries, printKeyTable } from '../key-view.js';
import { KEYRING_NAME, type KekOptions, kekFrom, type OpenKeyring, openKeyring } from '../keyring-source.js';
import { formatAge, isoTime, printFields, printJson } from '../print.js';
import * as onEtcd from './keyring-etcd.js';

/** Options shared by the keyring commands. */
export interface KeyringOptions extends KekOptions {
  keyring?: string;
  etcd?: string;
  prefix?: string;
  json?: boolean;
}

/** Exactly one store: `--keyring PATH` or `--etcd URL` (`--prefix` only with `--etcd`). */
function storeOf(options: KeyringOptions): 'file' | 'etcd' {
  if ((options.keyring === undefined) === (options.etcd === undefined)) {
    throw usage('name the keyring with exactly one of --keyring PATH, --etcd URL');
  }
  if (options.prefix !== undefined && options.etcd === undefined) throw usage('--prefix needs --etcd URL');
  return options.etcd === undefined ? 'file' : 'etcd';
}

async function withKeyring<T>(
  options: KeyringOptions,
  create: boolean,
  run: (k: OpenKeyring) => Promise<T>,
): Promise<T> {
  const keyring = await openKeyring(options.keyring!, await kekFrom(options), create);
  try {
    return await run(keyring);
  } finally {
    await keyring.close();
  }
}

/** `keyring init`: creates the keyring file with one primary key per algorithm. */
export async function keyringInit(options: KeyringOptions): Promise<void> {
  if (storeOf(options) === 'etcd') return onEtcd.keyringInit(options);
  await withKeyring(options, true, async (keyring) => {
    const result = { path: keyring.path, version: keyring.keys.version, primaries: primaries(keyring.keys) };
    if (options.json) return printJson(result);
    printFields([
      ['created', keyring.path],
      ['version', String(result.version)],
      ...result.primaries.map((p) => [`${p.algorithm} primary`, String(p.id)] as const),
    ]);
  });
}

/** `keyring rotate [--algorithm A]`: a new primary (every algorithm in one version when none is named). */
export async function keyringRotate(
  options: KeyringOptions & { algorithm?: string; timeout?: number },
): Promise<void> {
  const algorithm = options.algorithm;
  if (algorithm !== undefined && !ALGORITHMS.includes(algorithm as KeyAlgorithm)) {
    throw usage(`--algorithm must be one of ${ALGORITHMS.join(', ')}`);
  }
  if (storeOf(options) === 'etcd') return onEtcd.keyringRotate(options);
  if (options.timeout !== undefined) throw usage('--timeout needs --etcd URL');
  await withKeyring(options, false, async (keyring) => {
    const before = new Map(primaries(keyring.keys).map((p) => [p.algorithm, p.id]));
    await keyring.keys.rotate({
      ...(algorithm === undefined ? {} : { algorithm: algorithm as KeyAlgorithm }),
      trigger: 'manual',
    });
    const rotated = primaries(keyring.keys)
      .filter((p) => before.get(p.algorithm) !== p.id)
      .map((p) => ({ algorithm: p.algorithm, id: p.id, previousId: before.get(p.algorithm) }));
    const result = { path: keyring.path, version: keyring.keys.version, rotated };
    if (options.json) return printJson(result);
    printFields([
      ['rotated', keyring.path],
      ['version', String(result.version)],
      ...rotated.map((r) => [`${r.algorithm} primary`, `${r.id} (was ${r.previousId ?? 'none'})`] as const),
    ]);
  });
}

/** `keyring list`: every key with id, algorithm, state, age and uses. */
export async function keyringList(options: KeyringOptions): Promise<void> {
  if (storeOf(options) === 'etcd') return onEtcd.keyringList(options);
  await withKeyring(options, false, async (keyring) => {
    const now = Date.now();
    const keys = keyring.keys.keys().map((k) => keyView(k, now));
    if (options.json) return printJson({ path: keyring.path, version: keyring.keys.version, keys });
    printKeyTable(keys);
  });
}

/** `keyring status`: the store, its version and KEK kind, the primaries and how many keys per state. */
export async function keyringStatus(options: KeyringOptions): Promise<void> {
  if (storeOf(options) === 'etcd') return onEtcd.keyringStatus(options);
  await withKeyring(options, false, async (keyring) => {
    const now = Date.now();
    const keys = keyring.keys.keys();
    const states = countByState(keys);
    const kek = keyring.stored?.kek;
    const result = {
      store: 'file',
      path: keyring.path,
      backup: existsSync(keyring.store.backupPath),
      keyring: KEYRING_NAME,
      version: keyring.keys.version,
      updatedAt: isoTime(keyring.stored?.updatedAt),
      kek: kek?.type === 'passphrase' ? { type: 'passphrase', iterations: kek.iterations } : { type: 'raw' },
      primaries: primaries(keyring.keys).map((p) => {
        const key = keys.find((k) => k.id === p.id)!;
        return {
          algorithm: p.algorithm,
          id: p.id,
          ageSeconds: Math.floor((now - (key.promotedAt ?? key.createdAt)) / 1000),
          uses: key.reservedEncryptions,
        };
      }),
      states,
    };
    if (options.json) return printJson(result);
    printFields([
      ['store', `file ${result.path}${result.backup ? ' (backup present)' : ''}`],
      ['keyring', result.keyring],
      ['version', String(result.version)],
      ['updated', result.updatedAt ?? '-'],
      [
        'kek',
        kek?.type === 'passphrase' ? `passphrase (PBKDF2, ${kek.iterations} iterations)` : 'raw 32-byte key',
      ],
      ...result.primaries.map(
        (p) =>
          [
            `${p.algorithm} primary`,
            `${p.id}, ${formatAge(p.ageSeconds * 1000)} old, ${p.uses} uses`,
          ] as const,
      ),
      [
        'keys',
        Object.entries(states)
          .map(([state, n]) => `${n} ${state}`)
          .join(', '),
      ],
    ]);
  });
}
