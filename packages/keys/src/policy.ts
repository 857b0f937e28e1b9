/**
 * Normalisation of a {@link RotationPolicy} and the pure state transitions it implies (docs/DESIGN.md §4):
 * which keys retire because of `retention`, `maxRetainedKeys` or `minDecryptionVersion`.
 *
 * @module
 */
import { parseDuration } from './duration.js';
import { KeyError } from './errors.js';
import type { KeyAlgorithm, RotationPolicy, StoredKey } from './types.js';

/** Default uses per key: 2^30, a quarter of NIST SP 800-38D §8.3's 2^32 limit for random 96-bit nonces. */
export const DEFAULT_MAX_ENCRYPTIONS_PER_KEY = 2 ** 30;
/** Retired keys (metadata only) kept per algorithm for audit; older ones are destroyed. */
export const MAX_RETIRED_KEYS_KEPT = 64;

/** A validated policy. @internal */
export interface NormalizedPolicy {
  readonly intervalMs: number | undefined;
  readonly maxEncryptions: number;
  readonly retentionMs: number | undefined;
  readonly maxRetainedKeys: number | undefined;
  readonly minDecryptionVersion: number | undefined;
  readonly leaseSize: number;
}

const invalid = (what: string): never => {
  throw new KeyError('ERR_CONFIG_INVALID', `rotation.${what}`);
};

/** Validates a policy. @throws {KeyError} `ERR_CONFIG_INVALID`. @internal */
export function normalizePolicy(p: RotationPolicy = {}): NormalizedPolicy {
  const intervalMs = p.interval === undefined ? undefined : parseDuration(p.interval);
  if (intervalMs !== undefined && intervalMs < 1) invalid('interval must be at least 1 ms');
  const maxEncryptions = p.maxEncryptionsPerKey ?? DEFAULT_MAX_ENCRYPTIONS_PER_KEY;
  if (!Number.isSafeInteger(maxEncryptions) || maxEncryptions < 1 || maxEncryptions > 2 ** 32) {
    invalid('maxEncryptionsPerKey must be an integer in 1..2^32');
  }
  const retentionMs = p.retention === undefined ? undefined : parseDuration(p.retention);
  if (
    p.maxRetainedKeys !== undefined &&
    (!Number.isSafeInteger(p.maxRetainedKeys) || p.maxRetainedKeys < 0)
  ) {
    invalid('maxRetainedKeys must be a non-negative integer');
  }
  if (
    p.minDecryptionVersion !== undefined &&
    (!Number.isSafeInteger(p.minDecryptionVersion) || p.minDecryptionVersion < 0)
  ) {
    invalid('minDecryptionVersion must be a non-negative integer');
  }
  const leaseSize = p.usageLeaseSize ?? Math.min(65_536, Math.ceil(maxEncryptions / 8));
  if (!Number.isSafeInteger(leaseSize) || leaseSize < 1) invalid('usageLeaseSize must be a positive integer');
  return {
    intervalMs,
    maxEncryptions,
    retentionMs,
    maxRetainedKeys: p.maxRetainedKeys,
    minDecryptionVersion: p.minDecryptionVersion,
    leaseSize,
  };
}

/** Why a key retires. @internal */
export type RetireReason = 'retention' | 'maxRetainedKeys' | 'minDecryptionVersion';

/**
 * The keys that must retire now, with the reason. Primaries never appear here: a primary older than
 * `minDecryptionVersion` is rotated first by the caller ({@link primaryBelowMinVersion}).
 * @internal
 */
export function keysToRetire(
  keys: readonly StoredKey[],
  policy: NormalizedPolicy,
  now: number,
): Map<number, RetireReason> {
  const out = new Map<number, RetireReason>();
  const min = policy.minDecryptionVersion;
  for (const k of keys) {
    if (k.state === 'retired' || k.state === 'primary') continue;
    if (min !== undefined && k.createdInVersion < min) out.set(k.id, 'minDecryptionVersion');
    else if (
      policy.retentionMs !== undefined &&
      k.state === 'decrypt-only' &&
      (k.demotedAt ?? k.createdAt) + policy.retentionMs <= now
    ) {
      out.set(k.id, 'retention');
    }
  }
  if (policy.maxRetainedKeys !== undefined) {
    const byAlg = new Map<KeyAlgorithm, StoredKey[]>();
    for (const k of keys) {
      if (k.state !== 'decrypt-only' || out.has(k.id)) continue;
      const list = byAlg.get(k.algorithm) ?? [];
      list.push(k);
      byAlg.set(k.algorithm, list);
    }
    for (const list of byAlg.values()) {
      // Newest demotion first; keep the first maxRetainedKeys.
      list.sort(
        (a, b) => (b.demotedAt ?? b.createdAt) - (a.demotedAt ?? a.createdAt) || b.createdAt - a.createdAt,
      );
      for (const k of list.slice(policy.maxRetainedKeys)) out.set(k.id, 'maxRetainedKeys');
    }
  }
  return out;
}

/**
 * Algorithms whose primary was created before `minDecryptionVersion` and must be replaced by a key created in
 * `nextVersion`. Nothing while `minDecryptionVersion > nextVersion`: the replacement would be too old as well.
 * @internal
 */
export function primaryBelowMinVersion(
  keys: readonly StoredKey[],
  policy: NormalizedPolicy,
  nextVersion: number,
): KeyAlgorithm[] {
  const min = policy.minDecryptionVersion;
  if (min === undefined || min > nextVersion) return [];
  return keys.filter((k) => k.state === 'primary' && k.createdInVersion < min).map((k) => k.algorithm);
}

/** Retired keys beyond {@link MAX_RETIRED_KEYS_KEPT} per algorithm, oldest first: to be destroyed. @internal */
export function retiredToDestroy(keys: readonly StoredKey[]): Set<number> {
  const byAlg = new Map<KeyAlgorithm, StoredKey[]>();
  for (const k of keys) {
    if (k.state !== 'retired') continue;
    const list = byAlg.get(k.algorithm) ?? [];
    list.push(k);
    byAlg.set(k.algorithm, list);
  }
  const out = new Set<number>();
  for (const list of byAlg.values()) {
    list.sort((a, b) => (b.retiredAt ?? 0) - (a.retiredAt ?? 0));
    for (const k of list.slice(MAX_RETIRED_KEYS_KEPT)) out.add(k.id);
  }
  return out;
}

/** Next time (ms) at which retention retires a key, or `Infinity`. @internal */
export function nextRetentionDeadline(keys: readonly StoredKey[], policy: NormalizedPolicy): number {
  if (policy.retentionMs === undefined) return Number.POSITIVE_INFINITY;
  let next = Number.POSITIVE_INFINITY;
  for (const k of keys) {
    if (k.state === 'decrypt-only') next = Math.min(next, (k.demotedAt ?? k.createdAt) + policy.retentionMs);
  }
  return next;
}
