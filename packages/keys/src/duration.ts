/**
 * Durations for rotation policies: milliseconds or a short string such as `'24h'`.
 *
 * @module
 */
import { KeyError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

// One number and one unit; no composites like '1h30m' (ambiguous to readers, rarely needed).
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/**
 * Parses a duration into milliseconds: a non-negative finite number of ms, or a string
 * `<number><unit>` with unit `ms`, `s`, `m`, `h`, `d` or `w`.
 *
 * @throws {KeyError} `ERR_CONFIG_INVALID` for anything else (negative, NaN, unknown unit, overflow).
 * @example
 * ```ts
 * parseDuration('24h'); // 86_400_000
 * parseDuration('90m'); // 5_400_000
 * parseDuration(1500);  // 1500
 * ```
 */
export function parseDuration(d: number | string): number {
  let ms: number;
  if (typeof d === 'number') {
    ms = d;
  } else if (typeof d === 'string') {
    const m = DURATION.exec(d.trim());
    if (!m) throw new KeyError('ERR_CONFIG_INVALID', `invalid duration ${JSON.stringify(d.slice(0, 32))}`);
    ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  } else {
    throw new KeyError('ERR_CONFIG_INVALID', 'duration must be a number of ms or a string like "24h"');
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
    throw new KeyError('ERR_CONFIG_INVALID', 'duration must be a finite, non-negative number of ms');
  }
  return Math.round(ms);
}
