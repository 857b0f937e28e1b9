import { describe, expect, it } from 'vitest';
import { histogramBuckets, parseSamples, sumOf, sumSamples } from '../src/metrics-text.js';
import { bucketIncrease, histogramQuantile, percentile } from '../src/stats.js';
import { table } from '../src/summary.js';

describe('percentile', () => {
  it('takes the nearest rank of the sorted values', () => {
    const values = [9, 1, 8, 2, 7, 3, 6, 4, 5, 10];
    expect(percentile(values, 0.5)).toBe(5);
    expect(percentile(values, 0.99)).toBe(10);
    expect(percentile(values, 0.1)).toBe(1);
    expect(percentile(values, 1)).toBe(10);
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket the quantile falls in, as Prometheus does', () => {
    // 10 observations <= 1, 30 more <= 2, 60 more <= 4: the median is the 50th, 10 into the 60 of (2, 4].
    const buckets = new Map([
      [1, 10],
      [2, 40],
      [4, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(2 + (2 * 10) / 60, 10);
    expect(histogramQuantile(buckets, 0.1)).toBeCloseTo(1, 10);
    expect(histogramQuantile(buckets, 0.05)).toBeCloseTo(0.5, 10);
    expect(histogramQuantile(new Map([[1, 0]]), 0.5)).toBeNaN();
  });

  it('answers the lower bound when the quantile is in the +Inf bucket', () => {
    expect(
      histogramQuantile(
        new Map([
          [1, 1],
          [Number.POSITIVE_INFINITY, 10],
        ]),
        0.99,
      ),
    ).toBe(1);
  });

  it('bucketIncrease subtracts the previous scrape and treats a reset (restart) as counting from zero', () => {
    const before = new Map([
      [1, 5],
      [2, 8],
    ]);
    expect([
      ...bucketIncrease(
        new Map([
          [1, 7],
          [2, 12],
        ]),
        before,
      ),
    ]).toEqual([
      [1, 2],
      [2, 4],
    ]);
    expect([
      ...bucketIncrease(
        new Map([
          [1, 1],
          [2, 3],
        ]),
        before,
      ),
    ]).toEqual([
      [1, 1],
      [2, 3],
    ]);
  });
});

describe('Prometheus text', () => {
  const text = [
    '# HELP mesh_crypto_operations_total Operations.',
    '# TYPE mesh_crypto_operations_total counter',
    'mesh_crypto_operations_total{operation="encrypt",result="success",service="orders"} 5',
    'mesh_crypto_operations_total{operation="decrypt",result="success",service="orders"} 7',
    'mesh_crypto_operations_total{operation="encrypt",result="failure",service="orders"} 1',
    'mesh_crypto_operations_total_extra 100',
    'mesh_demo_call_duration_seconds_bucket{le="0.001",service="orders"} 3',
    'mesh_demo_call_duration_seconds_bucket{le="+Inf",service="orders"} 4',
    'mesh_demo_call_duration_seconds_bucket{le="0.001",service="payments"} 1',
    'mesh_demo_call_duration_seconds_bucket{le="+Inf",service="payments"} 2',
  ].join('\n');

  it('sums only the matching samples of the named metric', () => {
    expect(sumSamples(text, 'mesh_crypto_operations_total')).toBe(13);
    expect(sumSamples(text, 'mesh_crypto_operations_total', { operation: 'encrypt' })).toBe(6);
    expect(
      sumSamples(text, 'mesh_crypto_operations_total', { result: 'success', operation: 'decrypt' }),
    ).toBe(7);
    expect(sumSamples(text, 'mesh_crypto_operations_total_extra')).toBe(100);
    expect(sumSamples(text, 'mesh_missing')).toBe(0);
  });

  it('reads labels and sums histogram buckets over label sets', () => {
    const samples = parseSamples(text);
    expect(samples[0]).toEqual({
      name: 'mesh_crypto_operations_total',
      labels: { operation: 'encrypt', result: 'success', service: 'orders' },
      value: 5,
    });
    expect(sumOf(samples, 'mesh_crypto_operations_total', { result: 'failure' })).toBe(1);
    expect([...histogramBuckets(samples, 'mesh_demo_call_duration_seconds')]).toEqual([
      [0.001, 4],
      [Number.POSITIVE_INFINITY, 6],
    ]);
  });
});

describe('table', () => {
  it('pads every column to its widest cell, numbers right-aligned', () => {
    expect(
      table(
        ['service', 'calls'],
        [
          ['orders', '7'],
          ['payments', '1234'],
        ],
      ).split('\n'),
    ).toEqual(['service   calls', '--------  -----', 'orders        7', 'payments   1234']);
  });
});
