/** Sums of Prometheus text-format samples, enough for the demo's summary (no external parser needed). */

/** Sum of every sample of `metric` whose labels include all of `match` (e.g. `{ result: 'failure' }`). */
export function sumSamples(text: string, metric: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || line.startsWith('#')) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue; // another metric sharing the prefix
    const labels = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    if (!Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
