/**
 * `CompressionPolicy`: when to compress, how hard, and how much inflation to allow (docs/DESIGN.md §5).
 *
 * @module
 */
import { assertLevel, assertMaxInflatedBytes, describe } from './_validate.js';
import type { CompressionLevel } from './engine.js';
import { configError } from './errors.js';

/** How one service (or context) compresses its payloads. */
export interface CompressionPolicy {
  /** `false` stores every payload uncompressed (see README "Security": CRIME/BREACH). */
  enabled: boolean;
  /** Payloads shorter than this many bytes are stored uncompressed (header and CPU cost outweigh savings). */
  thresholdBytes: number;
  /** zlib level 0-9 (0 stores, so it never saves and leaves payloads uncompressed). */
  level: CompressionLevel;
  /**
   * Smallest fraction of the input compression must save, in [0, 1): with 0.1, a 1000-byte payload is kept
   * compressed only if it shrinks to 900 bytes or less; otherwise it is stored as it is.
   */
  minSavingsRatio: number;
  /** Bomb guard: the most bytes one payload may inflate to, enforced while inflating. Max 4 GiB. */
  maxInflatedBytes: number;
}

/**
 * The default policy: compress payloads of 1 KiB or more at level 6, keep the result only if it saves at
 * least 10%, and refuse to inflate past 64 MiB.
 *
 * Why these numbers: below ~1 KiB realistic JSON compresses under 2x and the zlib header/trailer and setup
 * cost eat much of it; level 6 is zlib's default and within a few percent of level 9's size at half its
 * cost; a 10% floor keeps incompressible data (random, already compressed, encrypted) from paying inflate
 * time on read for nothing; 64 MiB is far above any single message a service should send yet small enough
 * that a bomb cannot take a node's memory.
 *
 * @example
 * ```ts
 * import { DEFAULT_COMPRESSION_POLICY, maybeCompress } from '@mesh/compression';
 * maybeCompress(new Uint8Array(10), DEFAULT_COMPRESSION_POLICY).compressed; // false: under the threshold
 * ```
 */
export const DEFAULT_COMPRESSION_POLICY: Readonly<CompressionPolicy> = Object.freeze({
  enabled: true,
  thresholdBytes: 1024,
  level: 6,
  minSavingsRatio: 0.1,
  maxInflatedBytes: 64 * 1024 * 1024,
});

/** Policies this module produced: already valid and frozen, so hot paths skip re-validation. */
const VALIDATED = new WeakSet<object>();

const POLICY_FIELDS: readonly (keyof CompressionPolicy)[] = [
  'enabled',
  'thresholdBytes',
  'level',
  'minSavingsRatio',
  'maxInflatedBytes',
];

/**
 * Check a (partial) policy and complete it from `base`; returns a new frozen policy.
 *
 * Unknown keys are rejected (a misspelt `maxInflatedByte` must not silently mean "the default limit").
 * `field` prefixes the name in error messages, e.g. `services.payments` gives `services.payments.level ...`.
 *
 * @throws `ERR_CONFIG_INVALID` whose message names the first invalid field.
 * @example
 * ```ts
 * import { validatePolicy } from '@mesh/compression';
 * validatePolicy({ level: 9 }).thresholdBytes; // 1024, from the default
 * validatePolicy({ level: 12 }, 'services.orders'); // throws: "services.orders.level must be an integer from 0 to 9 (got 12)"
 * ```
 */
export function validatePolicy(
  policy: Partial<CompressionPolicy>,
  field = 'policy',
  base: Readonly<CompressionPolicy> = DEFAULT_COMPRESSION_POLICY,
): Readonly<CompressionPolicy> {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw configError(field, `must be an object (got ${describe(policy)})`);
  }
  for (const key of Object.keys(policy)) {
    if (!(POLICY_FIELDS as readonly string[]).includes(key)) {
      throw configError(`${field}.${key}`, `is not a policy field (${POLICY_FIELDS.join(', ')})`);
    }
  }
  const merged: CompressionPolicy = { ...base };
  for (const key of POLICY_FIELDS) {
    if (policy[key] !== undefined) (merged as unknown as Record<string, unknown>)[key] = policy[key];
  }
  if (typeof merged.enabled !== 'boolean') {
    throw configError(`${field}.enabled`, `must be a boolean (got ${describe(merged.enabled)})`);
  }
  if (!Number.isSafeInteger(merged.thresholdBytes) || merged.thresholdBytes < 0) {
    throw configError(
      `${field}.thresholdBytes`,
      `must be a non-negative integer (got ${describe(merged.thresholdBytes)})`,
    );
  }
  assertLevel(merged.level, `${field}.level`);
  const ratio = merged.minSavingsRatio;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) {
    throw configError(`${field}.minSavingsRatio`, `must be a number in [0, 1) (got ${describe(ratio)})`);
  }
  assertMaxInflatedBytes(merged.maxInflatedBytes, `${field}.maxInflatedBytes`);
  const frozen = Object.freeze(merged);
  VALIDATED.add(frozen);
  return frozen;
}

/** Internal: `policy` itself if it came from {@link validatePolicy}, else a validated, completed copy. */
export function ensurePolicy(policy: Partial<CompressionPolicy>, field: string): Readonly<CompressionPolicy> {
  return typeof policy === 'object' && policy !== null && VALIDATED.has(policy)
    ? (policy as Readonly<CompressionPolicy>)
    : validatePolicy(policy, field);
}
