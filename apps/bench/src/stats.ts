/**
 * Medians and spreads of per-round figures. Every figure in the report is the median over rounds with its
 * spread (lowest and highest round), and every ratio is the median of per-round ratios: the two sides of a
 * ratio were measured in the same round, seconds apart, so drift between rounds cancels out of it.
 *
 * @module
 */

/** A median with the lowest and highest value it was taken from. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Median (mean of the two middle values for an even count), min and max. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Per-round ratios `a[i] / b[i]` (rounds present on both sides), summarised. */
export function ratioOf(a: readonly number[], b: readonly number[]): Summary {
  const n = Math.min(a.length, b.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(a[i]! / b[i]!);
  return summarize(r);
}

/** Element-wise maximum of several per-round series (the best of two baselines, round by round). */
export function bestOf(...series: readonly (readonly number[])[]): number[] {
  const n = Math.min(...series.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.max(...series.map((s) => s[i]!)));
  return out;
}
