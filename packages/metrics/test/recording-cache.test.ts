/**
 * `PrometheusCollector` remembers the last (operation, algorithm) pair and the last key it recorded, so that
 * the facade's repeated calls skip the label lookups. What it remembers must never change what is counted:
 * switching between pairs, unknown labels in between (rejected every time, never remembered), and a key
 * removed and seen again (a fresh series, not the freed slot).
 */
import { describe, expect, it } from 'vitest';
import { PrometheusCollector } from '../src/index.js';
import { parseExposition, value } from './_scrape.js';

const ops = (c: PrometheusCollector) => c.registry.metrics().then(parseExposition);

describe('PrometheusCollector hot-path memory', () => {
  it('counts every pair exactly while the pair changes from call to call', async () => {
    const c = new PrometheusCollector();
    const calls: [string, string][] = [
      ['encrypt', 'aes-256-gcm'],
      ['encrypt', 'aes-256-gcm'],
      ['decrypt', 'aes-256-gcm'],
      ['bogus', 'aes-256-gcm'],
      ['bogus', 'aes-256-gcm'],
      ['encrypt', 'xchacha20-poly1305'],
      ['encrypt', 'aes-256-gcm'],
      ['encrypt', 'no-such-cipher'],
      ['encrypt', 'aes-256-gcm'],
    ];
    for (const [op, alg] of calls) {
      c.recordOperation(op as 'encrypt', alg as 'aes-256-gcm', 'success', 0.00002, 1024, 1059);
    }
    const e = await ops(c);
    const count = (operation: string, algorithm: string) =>
      value(e, 'mesh_crypto_operations_total', { operation, algorithm, result: 'success' });
    expect(count('encrypt', 'aes-256-gcm')).toBe(4);
    expect(count('decrypt', 'aes-256-gcm')).toBe(1);
    expect(count('encrypt', 'xchacha20-poly1305')).toBe(1);
    expect(count('unknown', 'aes-256-gcm')).toBe(2);
    expect(count('encrypt', 'unknown')).toBe(1);
    // Each unknown label is rejected on every call, not only the first.
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'label' })).toBe(3);
    expect(
      value(e, 'mesh_crypto_operation_duration_seconds_count', {
        operation: 'encrypt',
        algorithm: 'aes-256-gcm',
      }),
    ).toBe(4);
  });

  it('a key removed and used again gets a fresh series; its old slot is never written', async () => {
    const c = new PrometheusCollector({ maxLiveKeys: 1 });
    for (let i = 0; i < 3; i++) c.recordKeyUse(0xa);
    c.removeKey(0xa);
    c.recordKeyUse(0xa); // re-admitted into the freed slot, counting from zero
    let e = await ops(c);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: String(0xa) })).toBe(1);
    c.removeKey(0xa);
    c.recordKeyUse(0xb, 5); // takes the only slot
    c.recordKeyUse(0xa); // no slot left: refused, and 0xb's count untouched
    e = await ops(c);
    expect(
      e.samples.filter((s) => s.name === 'mesh_key_encryptions_total').map((s) => s.labels.key_id),
    ).toEqual([String(0xb)]);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: String(0xb) })).toBe(5);
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'key_limit' })).toBe(1);
  });

  it('alternating keys each keep their own count', async () => {
    const c = new PrometheusCollector();
    for (let i = 0; i < 10; i++) c.recordKeyUse(i % 2 === 0 ? 7 : 0xffff_fff0);
    c.recordKeyUse('7', 2); // the decimal form of a live key is the same key
    const e = await ops(c);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '7' })).toBe(7);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: String(0xffff_fff0) })).toBe(5);
  });
});
