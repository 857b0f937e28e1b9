/**
 * Policy-driven compression: compress only when the policy allows it and it pays.
 *
 * @module
 */
import { assertBytes, assertEngine, assertOptions } from './_validate.js';
import { defaultEngine } from './default-engine.js';
import type { CompressionEngine } from './engine.js';
import { type CompressionPolicy, ensurePolicy } from './policy.js';

/**
 * What {@link maybeCompress} decided. `compressed` is what the envelope's authenticated flag must say
 * (docs/DESIGN.md §3, flags bit 0); `data` is the zlib stream when true, the caller's own bytes (same object) when false.
 */
export interface MaybeCompressResult {
  compressed: boolean;
  data: Uint8Array;
}

/**
 * Compress `data` if `policy` says so and the result saves at least `policy.minSavingsRatio`.
 *
 * Stored as is (`compressed: false`) when: the policy is disabled; `level` is 0 (stored blocks only grow);
 * the input is shorter than `thresholdBytes`; the input is longer than `maxInflatedBytes` (a reader with the
 * same policy would refuse to inflate it); or compression saves less than `minSavingsRatio` of the input
 * (random, encrypted or already-compressed data). The saving test costs one deflate of the input.
 *
 * @throws `ERR_CONFIG_INVALID` naming an invalid policy field; `ERR_INVALID_INPUT` if `data` is not bytes.
 * @example
 * ```ts
 * import { DEFAULT_COMPRESSION_POLICY, decompress, maybeCompress } from '@mesh/compression';
 * const json = new TextEncoder().encode(JSON.stringify(Array.from({ length: 200 }, (_, id) => ({ id, ok: true }))));
 * const out = maybeCompress(json, DEFAULT_COMPRESSION_POLICY);
 * // out.compressed === true; store the flag, then on read:
 * const back = out.compressed ? decompress(out.data, { maxInflatedBytes: DEFAULT_COMPRESSION_POLICY.maxInflatedBytes }) : out.data;
 * ```
 */
export function maybeCompress(
  data: Uint8Array,
  policy: CompressionPolicy,
  options?: { engine?: CompressionEngine },
): MaybeCompressResult {
  assertBytes(data);
  const p = ensurePolicy(policy, 'policy');
  assertOptions(options, 'options', ['engine']);
  const engine = options?.engine ?? defaultEngine;
  assertEngine(engine, 'options.engine');
  const n = data.length;
  if (!p.enabled || p.level === 0 || n < p.thresholdBytes || n > p.maxInflatedBytes) {
    return { compressed: false, data };
  }
  const packed = engine.deflate(data, p.level);
  // Keep it only if it saves at least minSavingsRatio of the input, and at least one byte.
  const largestKept = Math.min(n - 1, Math.floor(n * (1 - p.minSavingsRatio)));
  return packed.length <= largestKept ? { compressed: true, data: packed } : { compressed: false, data };
}
