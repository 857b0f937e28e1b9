/**
 * docs/DESIGN.md §6: label values never carry unbounded input. One million operations whose labels and key ids are
 * random caller strings must leave the number of series bounded by the options alone, counted from
 * `registry.getMetricsAsJSON()`, and must not lose a single operation.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COLLECTOR_METHODS,
  CRYPTO_ALGORITHMS,
  CRYPTO_OPERATIONS,
  DEFAULT_COMPRESSION_BUCKETS,
  DEFAULT_DURATION_BUCKETS,
  FAILURE_REASONS,
  PrometheusCollector,
  parseKeyId,
  REJECTED_INPUT_KINDS,
  ROTATION_TRIGGERS,
} from '../src/index.js';
import { parseExposition, value } from './_scrape.js';

/** Upper bound on series for a collector's options, from the closed sets alone. */
function seriesBound(maxLiveKeys: number): number {
  const ops = CRYPTO_OPERATIONS.length + 1; // + 'unknown'
  const algs = CRYPTO_ALGORITHMS.length + 1;
  const perHistogram = (buckets: number) => buckets + 1 + 2; // buckets, +Inf, _sum, _count
  return (
    ops * algs * 2 + // operations_total
    ops * algs * perHistogram(DEFAULT_DURATION_BUCKETS.length) +
    2 + // bytes
    FAILURE_REASONS.length +
    perHistogram(DEFAULT_COMPRESSION_BUCKETS.length) +
    2 + // compression bytes
    ROTATION_TRIGGERS.length +
    1 + // rotations 'unknown'
    2 * maxLiveKeys + // key encryptions + key age
    COLLECTOR_METHODS.length +
    REJECTED_INPUT_KINDS.length
  );
}

/** Every label value a scrape may contain, per label name (key_id checked separately). */
const ALLOWED: Record<string, ReadonlySet<string>> = {
  operation: new Set([...CRYPTO_OPERATIONS, 'unknown']),
  algorithm: new Set([...CRYPTO_ALGORITHMS, 'unknown']),
  result: new Set(['success', 'failure']),
  direction: new Set(['in', 'out']),
  stage: new Set(['original', 'compressed']),
  reason: new Set(FAILURE_REASONS),
  trigger: new Set([...ROTATION_TRIGGERS, 'unknown']),
  method: new Set(COLLECTOR_METHODS),
  kind: new Set(REJECTED_INPUT_KINDS),
  le: new Set([...DEFAULT_DURATION_BUCKETS, ...DEFAULT_COMPRESSION_BUCKETS, '+Inf'].map(String)),
};

async function countSeries(c: PrometheusCollector): Promise<{ total: number; byName: Map<string, number> }> {
  const json = await c.registry.getMetricsAsJSON();
  const byName = new Map<string, number>();
  for (const metric of json) byName.set(metric.name, metric.values.length);
  return { total: json.reduce((n, m) => n + m.values.length, 0), byName };
}

/** xorshift32: a cheap PRNG, so the test spends its time in the collector, not in making strings. */
let state = randomBytes(4).readUInt32LE(0) | 1;
function rand(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}

/** Long caller text (1-2 KiB) with a unique tail each time it is used. */
const LONG = Array.from({ length: 16 }, () => randomBytes(700).toString('base64'));

/** Random caller text: a context string, sometimes with quotes, newlines, huge or look-alike values. */
function contextString(i: number): string {
  switch (i & 7) {
    case 0:
      return `orders->payments/${rand().toString(36)}`;
    case 1:
      return `tenant "${rand()}"\n} evil_metric 1`;
    case 2:
      return i & 0x38 ? `ctx-${rand().toString(16)}` : `${LONG[i & 15]}${i}`;
    case 3:
      return `encrypt ${i}`; // close to a real value
    case 4:
      return 'ENCRYPT';
    case 5:
      return `${rand()}`; // looks like a key id
    case 6:
      return '__proto__';
    default:
      return `ctx-${rand().toString(36)}${i}`;
  }
}

describe('bounded cardinality', () => {
  it('keeps series bounded over one million operations with random context strings', async () => {
    const maxLiveKeys = 64;
    const c = new PrometheusCollector({ maxLiveKeys });
    // A real key before the flood: it must keep being counted.
    c.recordKeyUse(0xcafe);
    const N = 1_000_000;
    let validOps = 0;
    let invalidLabels = 0;
    let failuresRecorded = 0;
    let keyUses = 1;
    let realKeyUses = 1;
    for (let i = 0; i < N; i++) {
      const ctx = contextString(i);
      const valid = i % 4 === 0;
      const op = valid ? CRYPTO_OPERATIONS[i % CRYPTO_OPERATIONS.length]! : ctx;
      const alg = valid ? CRYPTO_ALGORITHMS[i % CRYPTO_ALGORITHMS.length]! : `${ctx}:alg`;
      const result = i % 3 === 0 ? 'success' : i % 3 === 1 ? 'failure' : ctx;
      c.recordOperation(op as never, alg as never, result as never, (i % 1000) / 1e5, 1024, 1052);
      if (valid) validOps++;
      else invalidLabels += 2;
      if (i % 3 === 2) invalidLabels++;
      if (i % 2 === 0) {
        c.recordFailure((i % 10 === 0 ? FAILURE_REASONS[i % FAILURE_REASONS.length]! : ctx) as never);
        failuresRecorded++;
      }
      if (i % 5 === 0) c.recordRotation(ctx as never);
      // Key ids straight from caller text, and random well-formed ids (each would be a new series).
      if (i % 3 === 0) c.recordKeyUse(i % 6 === 0 ? ctx : rand());
      if (i % 7 === 0) c.setKeyAge(ctx, Date.now());
      if (i % 11 === 0) {
        c.recordKeyUse('0xcafe');
        keyUses++;
        realKeyUses++;
      }
    }

    const { total, byName } = await countSeries(c);
    expect(total).toBeLessThanOrEqual(seriesBound(maxLiveKeys));
    expect(byName.get('mesh_key_encryptions_total')).toBe(maxLiveKeys);
    expect(byName.get('mesh_key_age_seconds')).toBeLessThanOrEqual(maxLiveKeys);
    expect(c.liveKeys).toBe(maxLiveKeys);

    const e = parseExposition(await c.registry.metrics());
    for (const s of e.samples) {
      for (const [label, v] of Object.entries(s.labels)) {
        if (label === 'key_id') {
          expect(parseKeyId(v)).toBeDefined();
          expect(String(parseKeyId(v))).toBe(v); // canonical decimal, nothing else
        } else {
          expect(ALLOWED[label]?.has(v), `${s.name}{${label}="${v.slice(0, 40)}"}`).toBe(true);
        }
      }
    }
    // Nothing lost: every operation counted, valid ones under their own labels.
    const ops = e.samples.filter((s) => s.name === 'mesh_crypto_operations_total');
    expect(ops.reduce((n, s) => n + s.value, 0)).toBe(N);
    expect(ops.filter((s) => s.labels.operation !== 'unknown').reduce((n, s) => n + s.value, 0)).toBe(
      validOps,
    );
    expect(value(e, 'mesh_crypto_bytes_total', { direction: 'in' })).toBe(N * 1024);
    const failures = e.samples.filter((s) => s.name === 'mesh_crypto_failures_total');
    expect(failures.reduce((n, s) => n + s.value, 0)).toBe(failuresRecorded);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: String(0xcafe) })).toBe(realKeyUses);
    expect(keyUses).toBe(realKeyUses);
    // Every replaced label was counted.
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'label' })).toBeGreaterThanOrEqual(
      invalidLabels,
    );
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'key_limit' })).toBeGreaterThan(0);
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'key_id' })).toBeGreaterThan(0);
  });

  it('admits new keys again once retired ones are removed', async () => {
    const c = new PrometheusCollector({ maxLiveKeys: 3 });
    for (const id of [1, 2, 3, 4]) c.recordKeyUse(id);
    let e = parseExposition(await c.registry.metrics());
    expect(
      e.samples.filter((s) => s.name === 'mesh_key_encryptions_total').map((s) => s.labels.key_id),
    ).toEqual(['1', '2', '3']);
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'key_limit' })).toBe(1);
    c.removeKey(2);
    c.recordKeyUse(4, 7);
    e = parseExposition(await c.registry.metrics());
    const keys = e.samples.filter((s) => s.name === 'mesh_key_encryptions_total');
    expect(keys.map((s) => s.labels.key_id).sort()).toEqual(['1', '3', '4']);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '4' })).toBe(7);
  });

  it('never throws and never adds a label value for arbitrary inputs (property)', async () => {
    const c = new PrometheusCollector({ maxLiveKeys: 8 });
    const anything = fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withSet: true });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(6), anything, anything, anything, anything), { maxLength: 50 }),
        (calls) => {
          for (const [method, a, b, d, e] of calls) {
            const f = c[COLLECTOR_METHODS[method]!] as (...args: unknown[]) => void;
            f.call(c, a, b, d, e, a, b);
          }
        },
      ),
      { numRuns: 300 },
    );
    const e = parseExposition(await c.registry.metrics());
    for (const s of e.samples) {
      for (const [label, v] of Object.entries(s.labels)) {
        if (label === 'key_id') expect(String(parseKeyId(v))).toBe(v);
        else expect(ALLOWED[label]?.has(v), `${label}="${v}"`).toBe(true);
      }
      expect(Number.isNaN(s.value)).toBe(false);
      expect(s.value).toBeGreaterThanOrEqual(0);
    }
    expect((await countSeries(c)).total).toBeLessThanOrEqual(seriesBound(8));
  });

  it('ignores numbers that are not finite and >= 0, and counts them', async () => {
    const c = new PrometheusCollector();
    const bad = [
      Number.NaN,
      -1,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      '5',
      null,
      undefined,
      10n,
    ];
    for (const v of bad) {
      c.recordOperation('encrypt', 'aes-256-gcm', 'success', v as never, v as never, v as never);
      c.recordCompression(v as never, 10);
      c.recordKeyUse(1, v as never);
      c.setKeyAge(2, v as never);
    }
    c.recordCompression(10, 0); // division by zero
    const e = parseExposition(await c.registry.metrics());
    expect(value(e, 'mesh_crypto_operations_total')).toBe(bad.length); // the operation itself still counts
    expect(e.samples.filter((s) => s.name.startsWith('mesh_crypto_operation_duration_seconds'))).toEqual([]);
    expect(value(e, 'mesh_crypto_bytes_total', { direction: 'in' })).toBe(0);
    expect(value(e, 'mesh_compression_ratio_count')).toBe(0);
    // `undefined` is the default count (1); every other bad count is ignored.
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '1' })).toBe(1);
    expect(e.samples.filter((s) => s.name === 'mesh_key_age_seconds')).toEqual([]);
    expect(value(e, 'mesh_metrics_rejected_inputs_total', { kind: 'value' })).toBe(bad.length * 6 - 1 + 1);
  });
});

describe('parseKeyId', () => {
  it('accepts u32 integers, decimal and 0x-hex strings only', () => {
    expect(parseKeyId(0)).toBe(0);
    expect(parseKeyId(0xffffffff)).toBe(0xffffffff);
    expect(parseKeyId('4294967295')).toBe(0xffffffff);
    expect(parseKeyId('0xffffffff')).toBe(0xffffffff);
    expect(parseKeyId('0X0a1B2c3D')).toBe(0x0a1b2c3d);
    expect(parseKeyId('007')).toBe(7);
    for (const bad of [
      -1,
      1.5,
      2 ** 32,
      Number.NaN,
      '4294967296',
      '0x100000000',
      '12345678901',
      '',
      ' 7',
      '7 ',
      '+7',
      '-7',
      '1e3',
      '0x',
      'cafe',
      '0xcafe\n',
      '７',
      null,
      undefined,
      {},
      [7],
      7n,
    ]) {
      expect(parseKeyId(bad), String(bad)).toBeUndefined();
    }
  });
});
