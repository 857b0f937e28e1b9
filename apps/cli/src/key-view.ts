/**
 * Keys as the keyring commands show them: ids, states, ages and uses, never material (`KeyInfo` holds none).
 *
 * @module
 */
import type { KeyAlgorithm, KeyInfo, KeyManager } from '@mesh/keys';
import { isoTime } from './print.js';

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
