/**
 * Rollback and fork detection for a running manager (see README, "Rollback"): a pure comparison of the
 * document it serves with an authentic one the store hands over.
 *
 * @module
 * @internal
 */
import type { StoredKeyring } from './types.js';

/**
 * Why `next` (already verified: KEK check and MAC) must be refused by a manager serving `current` whose
 * highest version seen is `highWater`, or undefined when `next` may be adopted. Refused: an older version;
 * another document at the same version; a newer one that contradicts `current` (a usage counter went back,
 * a retired key is active again), which means the store went back and was then written past our version by
 * a process that never saw it.
 */
export function rollbackReason(
  current: StoredKeyring,
  highWater: number,
  next: StoredKeyring,
): string | undefined {
  if (next.version < highWater) return 'an older version';
  if (next.version === current.version && next.mac !== current.mac)
    return 'a different document at the same version';
  const before = new Map(current.keys.map((k) => [k.id, k]));
  for (const k of next.keys) {
    const b = before.get(k.id);
    if (!b) continue;
    if (k.reserved < b.reserved) return `usage counter of key ${k.id} went back`;
    if (b.state === 'retired' && k.state !== 'retired') return `retired key ${k.id} is active again`;
  }
  return undefined;
}
