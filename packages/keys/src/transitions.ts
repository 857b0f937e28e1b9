/**
 * The keyring's state transitions as pure functions from one key list to the next: add, stage, promote,
 * demote, retire, prune and the retention policy. No store, no clock, no randomness, no key material:
 * callers pass in the time, the version being written and (for a new key) its id and sealed blob, and get a
 * new list back (inputs are never modified). `KeyManager` builds every document it writes with these, and a
 * fleet coordinator can use the same rules to decide what a rotation step will do.
 *
 * Life cycle: `staged` (decrypts, never encrypts) -> `primary` (one per algorithm) -> `decrypt-only` ->
 * `retired` (material dropped) -> destroyed (record removed, beyond 64 retired per algorithm).
 *
 * @module
 */
import { KeyError } from './errors.js';
import {
  keysToRetire,
  type NormalizedPolicy,
  normalizePolicy,
  primaryBelowMinVersion,
  type RetireReason,
  retiredToDestroy,
} from './policy.js';
import type { KeyAlgorithm, RotationPolicy, StoredKey } from './types.js';

/** When and in which keyring version a transition happens. */
export interface TransitionContext {
  /** ms since the epoch, recorded as `createdAt` / `promotedAt` / `demotedAt` / `retiredAt`. */
  readonly now: number;
  /** Version of the document being built (recorded as a new key's `createdInVersion`). */
  readonly version: number;
}

/** A key to add: everything the caller decides (id, sealed material); the rest follows from the context. */
export interface NewKey {
  readonly id: number;
  readonly algorithm: KeyAlgorithm;
  /** base64url sealed material (see `keyring.ts`): sealing stays with the caller. */
  readonly sealed: string;
  readonly imported?: boolean;
}

/** Result of {@link promoteKey}. */
export interface PromoteResult {
  readonly keys: StoredKey[];
  /** The primary the promotion demoted, if there was one. */
  readonly previousKeyId?: number;
  /** False when the key already was primary (the list is returned unchanged). */
  readonly changed: boolean;
}

/** Result of {@link applyRetentionPolicy}. */
export interface RetentionResult {
  readonly keys: StoredKey[];
  /** Keys retired by this step, with the reason. */
  readonly retired: ReadonlyArray<{ readonly key: StoredKey; readonly reason: RetireReason }>;
  /** Ids of retired records destroyed (dropped from the list). */
  readonly destroyed: readonly number[];
}

function find(keys: readonly StoredKey[], id: number): StoredKey {
  const k = keys.find((x) => x.id === id);
  if (!k) throw new KeyError('ERR_KEY_NOT_FOUND', `no key ${id} in the keyring`);
  return k;
}

const replace = (keys: readonly StoredKey[], next: StoredKey): StoredKey[] =>
  keys.map((k) => (k.id === next.id ? next : k));

/**
 * Adds a key in state `staged` (the default) or `decrypt-only` (an imported key kept for decryption).
 *
 * @throws {KeyError} `ERR_KEY_STATE` if the id is already in the list (ids are unique, retired ones too).
 * @example
 * ```ts
 * const keys = addKey(doc.keys, { id, algorithm: 'aes-256-gcm', sealed }, { now: Date.now(), version: doc.version + 1 });
 * ```
 */
export function addKey(
  keys: readonly StoredKey[],
  key: NewKey,
  ctx: TransitionContext,
  state: 'staged' | 'decrypt-only' = 'staged',
): StoredKey[] {
  if (keys.some((k) => k.id === key.id))
    throw new KeyError('ERR_KEY_STATE', `key id ${key.id} already exists`);
  const added: StoredKey = {
    id: key.id,
    algorithm: key.algorithm,
    state,
    createdAt: ctx.now,
    createdInVersion: ctx.version,
    reserved: 0,
    sealed: key.sealed,
  };
  if (state === 'decrypt-only') added.demotedAt = ctx.now;
  if (key.imported) added.imported = true;
  return [...keys, added];
}

/**
 * Adds a new `staged` key: every node can decrypt with it, none encrypts with it until it is promoted.
 * @example
 * ```ts
 * const staged = stageKey(doc.keys, { id, algorithm: 'aes-256-gcm', sealed }, ctx);
 * ```
 */
export function stageKey(keys: readonly StoredKey[], key: NewKey, ctx: TransitionContext): StoredKey[] {
  return addKey(keys, key, ctx, 'staged');
}

/**
 * Makes key `id` the primary of its algorithm; the previous primary becomes `decrypt-only`. A key that is
 * already primary is left as it is (`changed: false`): finishing a rotation twice is harmless.
 *
 * @throws {KeyError} `ERR_KEY_NOT_FOUND` (no such id), `ERR_KEY_STATE` (retired: its material is gone).
 * @example
 * ```ts
 * const { keys, previousKeyId } = promoteKey(doc.keys, stagedId, ctx);
 * ```
 */
export function promoteKey(keys: readonly StoredKey[], id: number, ctx: TransitionContext): PromoteResult {
  const k = find(keys, id);
  if (k.state === 'primary') return { keys: [...keys], changed: false };
  if (k.state === 'retired') throw new KeyError('ERR_KEY_STATE', `key ${id} is retired`);
  const previous = keys.find((x) => x.algorithm === k.algorithm && x.state === 'primary');
  let next = replace(keys, { ...k, state: 'primary', promotedAt: ctx.now });
  if (previous) next = demoteKey(next, previous.id, ctx);
  return { keys: next, changed: true, ...(previous && { previousKeyId: previous.id }) };
}

/**
 * Makes key `id` decrypt-only (from `primary` or `staged`); a decrypt-only key is left as it is.
 * @throws {KeyError} `ERR_KEY_NOT_FOUND`, `ERR_KEY_STATE` (retired).
 * @example
 * ```ts
 * const keys = demoteKey(doc.keys, oldPrimaryId, ctx);
 * ```
 */
export function demoteKey(keys: readonly StoredKey[], id: number, ctx: TransitionContext): StoredKey[] {
  const k = find(keys, id);
  if (k.state === 'decrypt-only') return [...keys];
  if (k.state === 'retired') throw new KeyError('ERR_KEY_STATE', `key ${id} is retired`);
  return replace(keys, { ...k, state: 'decrypt-only', demotedAt: ctx.now });
}

/**
 * Retires key `id`: its sealed material is removed from the document for good; the record stays for audit.
 * A primary cannot retire (promote another key first). Retiring a retired key changes nothing.
 *
 * @throws {KeyError} `ERR_KEY_NOT_FOUND`, `ERR_KEY_STATE` (primary).
 * @example
 * ```ts
 * const keys = retireKey(doc.keys, id, ctx);
 * ```
 */
export function retireKey(keys: readonly StoredKey[], id: number, ctx: TransitionContext): StoredKey[] {
  const k = find(keys, id);
  if (k.state === 'retired') return [...keys];
  if (k.state === 'primary')
    throw new KeyError('ERR_KEY_STATE', `key ${id} is primary; promote another first`);
  const { sealed: _sealed, ...rest } = k;
  return replace(keys, { ...rest, state: 'retired', retiredAt: ctx.now });
}

/**
 * Drops retired records beyond 64 per algorithm, oldest retirement first.
 * @example
 * ```ts
 * const { keys, destroyed } = pruneRetiredKeys(doc.keys);
 * ```
 */
export function pruneRetiredKeys(keys: readonly StoredKey[]): { keys: StoredKey[]; destroyed: number[] } {
  const destroy = retiredToDestroy(keys);
  return { keys: keys.filter((k) => !destroy.has(k.id)), destroyed: [...destroy] };
}

/**
 * Algorithms whose primary was created before `rotation.minDecryptionVersion` and must first be replaced
 * (stage + promote a new key) before {@link applyRetentionPolicy} can retire it.
 * @example
 * ```ts
 * for (const algorithm of primariesToReplace(doc.keys, { minDecryptionVersion: 7 }, ctx)) { ... }
 * ```
 */
export function primariesToReplace(
  keys: readonly StoredKey[],
  policy: RotationPolicy,
  ctx: TransitionContext,
): KeyAlgorithm[] {
  return primaryBelowMinVersion(keys, normalizePolicy(policy), ctx.version);
}

/**
 * Applies `retention`, `maxRetainedKeys` and `minDecryptionVersion` (retiring what they say), then prunes
 * old retired records. Primaries never retire here.
 *
 * @example
 * ```ts
 * const { keys, retired } = applyRetentionPolicy(doc.keys, { retention: '7d' }, { now: Date.now(), version });
 * ```
 */
export function applyRetentionPolicy(
  keys: readonly StoredKey[],
  policy: RotationPolicy,
  ctx: TransitionContext,
): RetentionResult {
  return applyRetention(keys, normalizePolicy(policy), ctx);
}

/** {@link applyRetentionPolicy} for a policy already validated. @internal */
export function applyRetention(
  keys: readonly StoredKey[],
  policy: NormalizedPolicy,
  ctx: TransitionContext,
): RetentionResult {
  let next: StoredKey[] = [...keys];
  const retired: Array<{ key: StoredKey; reason: RetireReason }> = [];
  for (const [id, reason] of keysToRetire(next, policy, ctx.now)) {
    next = retireKey(next, id, ctx);
    retired.push({ key: find(next, id), reason });
  }
  const pruned = pruneRetiredKeys(next);
  return { keys: pruned.keys, retired, destroyed: pruned.destroyed };
}
