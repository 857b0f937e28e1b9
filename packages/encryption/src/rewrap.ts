/**
 * Batch re-encryption under the current primary (`enc.rewrapMany`).
 *
 * Each item is rewrapped by the facade's `rewrap`, which never hands plaintext to the caller: the
 * temporary payload is wiped as soon as it is sealed again. Envelopes keep their compressed flag (the
 * payload is not inflated); Fernet tokens keep their timestamp (MultiFernet.rotate semantics). A failure
 * is reported in its slot, never thrown, so one bad record does not stop a migration of millions.
 *
 * @module
 */
import type { MeshError } from '@mesh/crypto-core';
import { invalidInput, toMeshError } from './errors.js';
import type { CiphertextInput } from './input.js';

/** One item: a ciphertext, or a ciphertext with its own context / service. */
export type RewrapItem =
  | CiphertextInput
  | { ciphertext: CiphertextInput; context?: string; service?: string };

/** The outcome of one item, in input order. */
export type RewrapResult =
  | { readonly ok: true; readonly ciphertext: CiphertextInput }
  | { readonly ok: false; readonly error: MeshError };

/**
 * Items in flight at once by default: enough to overlap key-store round trips, few enough to bound memory.
 *
 * @example
 * ```ts
 * await enc.rewrapMany(rows, { concurrency: DEFAULT_REWRAP_CONCURRENCY * 2 });
 * ```
 */
export const DEFAULT_REWRAP_CONCURRENCY = 8;

type RewrapOne = (
  ciphertext: CiphertextInput,
  options: { context?: string; service?: string } | undefined,
) => Promise<CiphertextInput>;

/**
 * Rewrap every item with at most `concurrency` in flight; results keep the input order.
 *
 * @example
 * ```ts
 * const results = await enc.rewrapMany([a, { ciphertext: b, context: 'tenant-7' }]);
 * for (const r of results) if (!r.ok) console.warn(r.error.code);
 * ```
 */
export async function rewrapMany(
  rewrap: RewrapOne,
  items: readonly RewrapItem[],
  options?: { context?: string; service?: string; concurrency?: number },
): Promise<RewrapResult[]> {
  if (!Array.isArray(items)) throw invalidInput('rewrapMany expects an array');
  const concurrency = options?.concurrency ?? DEFAULT_REWRAP_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
    throw invalidInput('concurrency must be an integer from 1 to 1024');
  }
  const shared = options === undefined ? undefined : { context: options.context, service: options.service };
  const results: RewrapResult[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index];
      try {
        const isObject = typeof item === 'object' && item !== null && !(item instanceof Uint8Array);
        const ciphertext = isObject ? item.ciphertext : item;
        const own = isObject
          ? { context: item.context ?? shared?.context, service: item.service ?? shared?.service }
          : shared;
        results[index] = { ok: true, ciphertext: await rewrap(ciphertext as CiphertextInput, own) };
      } catch (error) {
        results[index] = { ok: false, error: toMeshError(error) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
