/**
 * Fenced writes: extra etcd compares a keyring write must satisfy, carried through
 * `KeyStore.compareAndSwap(..., { condition })` as an opaque `WriteCondition` (`kind: 'etcd-txn'`). The
 * leader uses them to make a write conditional on still holding its election key (by create revision) and
 * on the acks it based the decision on still standing (by mod revision of the node registrations). When
 * the version compare holds but the condition does not, the store throws `WriteConditionFailedError` of
 * `@mesh/keys` (code `ERR_KEY_STATE`), so the manager does not retry blindly.
 *
 * @module
 */
import type { ICompare } from 'etcd3';

/** The `kind` of {@link EtcdTxnCondition}. */
export const ETCD_TXN_CONDITION = 'etcd-txn';

/**
 * A write condition {@link EtcdKeyStore} understands: every compare is added to the compare-and-swap txn.
 * Keys in `compares` are absolute etcd keys (including the prefix).
 */
export interface EtcdTxnCondition {
  readonly kind: typeof ETCD_TXN_CONDITION;
  /** What the condition stands for, for error messages (e.g. `'leader of default, acks at revision 42'`). */
  readonly description: string;
  readonly compares: readonly ICompare[];
}

/** True when `c` is an {@link EtcdTxnCondition}. */
export function isEtcdTxnCondition(c: unknown): c is EtcdTxnCondition {
  return (
    typeof c === 'object' &&
    c !== null &&
    (c as { kind?: unknown }).kind === ETCD_TXN_CONDITION &&
    Array.isArray((c as { compares?: unknown }).compares)
  );
}

/** Joins several conditions into one (all must hold). */
export function allOf(...conditions: EtcdTxnCondition[]): EtcdTxnCondition {
  return {
    kind: ETCD_TXN_CONDITION,
    description: conditions.map((c) => c.description).join('; '),
    compares: conditions.flatMap((c) => c.compares),
  };
}
