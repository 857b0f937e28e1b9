/**
 * Keys as the keyring commands show them: ids, states, ages and uses, never material (`KeyInfo` holds none).
 *
 * @module
 */
import type { KeyAlgorithm, KeyInfo, KeyManager } from '@mesh/keys';
import { formatAge, isoTime, printTable } from './print.js';

/** The algorithms a keyring holds a primary of. */
export const ALGORITHMS: readonly KeyAlgorithm[] = ['aes-256-gcm', 'fernet'];

/** A key as the CLI shows it: no material, `uses` = uses reserved in the store by every process. */
export function keyView(key: KeyInfo, now: number) {
  return {
    id: key.id,
    algorithm: key.algorithm,
    state: key.state,
    createdAt: isoTime(key.createdAt),
    ageSeconds: Math.floor((now - key.createdAt) / 1000),
    ...(key.promotedAt === undefined ? {} : { promotedAt: isoTime(key.promotedAt) }),
    ...(key.demotedAt === undefined ? {} : { demotedAt: isoTime(key.demotedAt) }),
    ...(key.retiredAt === undefined ? {} : { retiredAt: isoTime(key.retiredAt) }),
    createdInVersion: key.createdInVersion,
    uses: key.reservedEncryptions,
    ...(key.imported ? { imported: true } : {}),
  };
}

/** The primary key id of each algorithm that has one. */
export function primaries(manager: KeyManager): Array<{ algorithm: KeyAlgorithm; id: number | undefined }> {
  const keys = manager.keys();
  return ALGORITHMS.map((algorithm) => ({
    algorithm,
    id: keys.find((k) => k.algorithm === algorithm && k.state === 'primary')?.id,
  })).filter((p) => p.id !== undefined);
}

/** `keyring list`'s table (file store and etcd alike): one row per key, no material. */
export function printKeyTable(keys: ReadonlyArray<ReturnType<typeof keyView>>): void {
  printTable(
    ['ID', 'ALGORITHM', 'STATE', 'AGE', 'USES'],
    keys.map((k) => [
      String(k.id),
      k.algorithm,
      k.state,
      formatAge(k.ageSeconds * 1000),
      String(k.uses) + (k.imported ? ' (imported)' : ''),
    ]),
  );
}

/** How many keys are in each state (every state listed, zero included). */
export function countByState(keys: readonly KeyInfo[]): Record<string, number> {
  const states: Record<string, number> = { staged: 0, primary: 0, 'decrypt-only': 0, retired: 0 };
  for (const k of keys) states[k.state] = (states[k.state] ?? 0) + 1;
  return states;
}
