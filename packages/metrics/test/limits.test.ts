/**
 * The cardinality bound at its boundary: a collector keeps series for exactly `maxLiveKeys` keys (default
 * `DEFAULT_MAX_LIVE_KEYS`) and ignores, and counts, the next one; the option itself may be 1 to 4096.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_LIVE_KEYS, MetricsError, PrometheusCollector } from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    expect(e instanceof MetricsError, `untyped error: ${String(e)}`).toBe(true);
    return (e as { code: string }).code;
  }
}

describe('live keys per collector (maxLiveKeys)', () => {
  it(`keeps exactly DEFAULT_MAX_LIVE_KEYS (${DEFAULT_MAX_LIVE_KEYS}) key series and ignores one more`, async () => {
    const c = new PrometheusCollector();
    for (let id = 1; id <= DEFAULT_MAX_LIVE_KEYS + 1; id++) c.recordKeyUse(id);
    expect(c.liveKeys).toBe(DEFAULT_MAX_LIVE_KEYS);
    const text = await c.registry.metrics();
    expect(text.match(/^mesh_key_encryptions_total\{/gm)).toHaveLength(DEFAULT_MAX_LIVE_KEYS);
    expect(text).not.toContain(`key_id="${DEFAULT_MAX_LIVE_KEYS + 1}"`);
    expect(text).toMatch(/^mesh_metrics_rejected_inputs_total\{kind="key_limit"\} 1$/m);
  });

  it('accepts a bound of 1 to 4096 and refuses one outside', () => {
    expect(new PrometheusCollector({ maxLiveKeys: 1 }).liveKeys).toBe(0);
    expect(codeOf(() => new PrometheusCollector({ maxLiveKeys: 4096 }))).toBe('ok');
    for (const maxLiveKeys of [0, 4097, 1.5]) {
      expect(
        codeOf(() => new PrometheusCollector({ maxLiveKeys })),
        String(maxLiveKeys),
      ).toBe('ERR_CONFIG_INVALID');
    }
  });
});
