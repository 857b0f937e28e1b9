/**
 * What a Prometheus server scrapes: names, TYPE, HELP and labels exactly as docs/DESIGN.md §6 says, read back from
 * a real prom-client Registry's text output.
 */
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type OpenMetricsContentType,
  Registry,
  register,
} from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  COLLECTOR_METHODS,
  CRYPTO_ALGORITHMS,
  CRYPTO_OPERATIONS,
  DEFAULT_COMPRESSION_BUCKETS,
  DEFAULT_DURATION_BUCKETS,
  FAILURE_REASONS,
  MetricsError,
  PrometheusCollector,
  REJECTED_INPUT_KINDS,
  ROTATION_TRIGGERS,
} from '../src/index.js';
import { type Exposition, find, parseExposition, value } from './_scrape.js';

/** The contract: family name -> TYPE, label names, HELP. */
const FAMILIES: Record<string, { type: string; labels: string[]; help: string }> = {
  mesh_crypto_operations_total: {
    type: 'counter',
    labels: ['operation', 'algorithm', 'result'],
    help: 'Crypto operations finished, by operation, algorithm and result.',
  },
  mesh_crypto_operation_duration_seconds: {
    type: 'histogram',
    labels: ['operation', 'algorithm'],
    help: 'Duration of crypto operations in seconds, by operation and algorithm.',
  },
  mesh_crypto_bytes_total: {
    type: 'counter',
    labels: ['direction'],
    help: 'Bytes into (plaintext or ciphertext read) and out of crypto operations, by direction.',
  },
  mesh_crypto_failures_total: {
    type: 'counter',
    labels: ['reason'],
    help: 'Failed crypto operations by reason (a closed set).',
  },
  mesh_compression_ratio: {
    type: 'histogram',
    labels: [],
    help: 'Compression ratio (original bytes / compressed bytes) of compressed payloads.',
  },
  mesh_compression_bytes_total: {
    type: 'counter',
    labels: ['stage'],
    help: 'Bytes before (original) and after (compressed) compression of compressed payloads.',
  },
  mesh_key_rotations_total: { type: 'counter', labels: ['trigger'], help: 'Key rotations by trigger.' },
  mesh_key_encryptions_total: {
    type: 'counter',
    labels: ['key_id'],
    help: 'Encryptions under each live key (series removed when the key is retired).',
  },
  mesh_key_age_seconds: {
    type: 'gauge',
    labels: ['key_id'],
    help: 'Age in seconds of each live key, computed at scrape time.',
  },
  mesh_metrics_errors_total: {
    type: 'counter',
    labels: ['method'],
    help: 'Errors thrown by a metrics collector and swallowed so the crypto operation could proceed.',
  },
  mesh_metrics_rejected_inputs_total: {
    type: 'counter',
    labels: ['kind'],
    help: 'Metric inputs not used as given: label outside its closed set, invalid number, key id.',
  },
};

async function scrape(c: PrometheusCollector): Promise<Exposition> {
  return parseExposition(await c.registry.metrics());
}

/** Samples of a family: for histograms its _bucket/_sum/_count series. */
function family(e: Exposition, name: string) {
  return e.samples.filter(
    (s) =>
      s.name === name ||
      (s.name.startsWith(`${name}_`) &&
        e.type.get(name) === 'histogram' &&
        /_(bucket|sum|count)$/.test(s.name)),
  );
}

function exercise(c: PrometheusCollector): void {
  c.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.000012, 1024, 1052);
  c.recordFailure('expired');
  c.recordCompression(4000, 1000);
  c.recordRotation('interval');
  c.recordKeyUse(7);
  c.setKeyAge(7, 0);
}

describe('exposition: names, TYPE, HELP, labels', () => {
  it('has exactly the docs/DESIGN.md §6 families, each with its HELP and TYPE line', async () => {
    const c = new PrometheusCollector({ clock: () => 1000 });
    exercise(c);
    const text = await c.registry.metrics();
    const e = parseExposition(text);
    expect([...e.type.keys()].sort()).toEqual(Object.keys(FAMILIES).sort());
    expect([...e.help.keys()].sort()).toEqual(Object.keys(FAMILIES).sort());
    for (const [name, spec] of Object.entries(FAMILIES)) {
      expect(e.lines).toContain(`# HELP ${name} ${spec.help}`);
      expect(e.lines).toContain(`# TYPE ${name} ${spec.type}`);
      const samples = family(e, name);
      expect(samples.length, name).toBeGreaterThan(0);
      for (const s of samples) {
        const names = Object.keys(s.labels).filter((l) => !(s.name.endsWith('_bucket') && l === 'le'));
        expect(names.sort(), s.name).toEqual([...spec.labels].sort());
      }
    }
  });

  it('starts closed-set counters at zero and exports no operation or key series before they happen', async () => {
    const e = await scrape(new PrometheusCollector());
    expect(find(e, 'mesh_crypto_failures_total').map((s) => s.labels.reason)).toEqual([...FAILURE_REASONS]);
    expect(find(e, 'mesh_crypto_failures_total').every((s) => s.value === 0)).toBe(true);
    expect(find(e, 'mesh_key_rotations_total').map((s) => s.labels.trigger)).toEqual([...ROTATION_TRIGGERS]);
    expect(find(e, 'mesh_crypto_bytes_total').map((s) => [s.labels.direction, s.value])).toEqual([
      ['in', 0],
      ['out', 0],
    ]);
    expect(find(e, 'mesh_metrics_errors_total').map((s) => s.labels.method)).toEqual([...COLLECTOR_METHODS]);
    expect(find(e, 'mesh_metrics_rejected_inputs_total').map((s) => s.labels.kind)).toEqual([
      ...REJECTED_INPUT_KINDS,
    ]);
    expect(find(e, 'mesh_crypto_operations_total')).toEqual([]);
    expect(find(e, 'mesh_crypto_operation_duration_seconds_count')).toEqual([]);
    expect(find(e, 'mesh_key_encryptions_total')).toEqual([]);
    expect(find(e, 'mesh_key_age_seconds')).toEqual([]);
    expect(value(e, 'mesh_compression_ratio_count')).toBe(0);
  });

  it('counts operations by operation, algorithm and result, and bytes by direction', async () => {
    const c = new PrometheusCollector();
    for (let i = 0; i < 3; i++) c.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.00002, 1024, 1052);
    c.recordOperation('decrypt', 'fernet', 'failure', 0.0001, 100, 0);
    c.recordOperation('encrypt_for', 'hybrid-rsa-oaep-aes-256-gcm', 'success', 0.002, 5000, 5300);
    const e = await scrape(c);
    const ops = find(e, 'mesh_crypto_operations_total');
    expect(ops).toHaveLength(3);
    expect(
      value(e, 'mesh_crypto_operations_total', {
        operation: 'encrypt',
        algorithm: 'aes-256-gcm',
        result: 'success',
      }),
    ).toBe(3);
    expect(
      value(e, 'mesh_crypto_operations_total', {
        operation: 'decrypt',
        algorithm: 'fernet',
        result: 'failure',
      }),
    ).toBe(1);
    expect(
      value(e, 'mesh_crypto_operations_total', {
        operation: 'encrypt_for',
        algorithm: 'hybrid-rsa-oaep-aes-256-gcm',
        result: 'success',
      }),
    ).toBe(1);
    expect(value(e, 'mesh_crypto_bytes_total', { direction: 'in' })).toBe(3 * 1024 + 100 + 5000);
    expect(value(e, 'mesh_crypto_bytes_total', { direction: 'out' })).toBe(3 * 1052 + 5300);
  });

  it('exports every operation and algorithm of the closed sets under its own name', async () => {
    const c = new PrometheusCollector();
    for (const op of CRYPTO_OPERATIONS)
      for (const alg of CRYPTO_ALGORITHMS) c.recordOperation(op, alg, 'success', 0.001, 1, 1);
    const e = await scrape(c);
    for (const op of CRYPTO_OPERATIONS) {
      for (const alg of CRYPTO_ALGORITHMS) {
        expect(value(e, 'mesh_crypto_operations_total', { operation: op, algorithm: alg })).toBe(1);
        expect(
          value(e, 'mesh_crypto_operation_duration_seconds_count', { operation: op, algorithm: alg }),
        ).toBe(1);
      }
    }
  });

  it('renders the duration histogram as prom-client renders the same observations', async () => {
    const c = new PrometheusCollector();
    const reference = new Histogram({
      name: 'reference_seconds',
      help: 'h',
      labelNames: ['operation', 'algorithm'],
      buckets: [...DEFAULT_DURATION_BUCKETS],
      registers: [],
    });
    // Bounds themselves (le is inclusive), values between them, zero and beyond the last bound.
    const observations = [...DEFAULT_DURATION_BUCKETS, 0, 0.0000123, 0.003, 0.7, 42, 1e6];
    for (let i = 0; i < 200; i++) observations.push(Math.random() ** 4 * 20);
    for (const v of observations) {
      c.recordOperation('decrypt', 'aes-256-gcm', 'success', v, 0, 0);
      reference.observe({ operation: 'decrypt', algorithm: 'aes-256-gcm' }, v);
    }
    const e = await scrape(c);
    const expected = (await reference.get()).values;
    const buckets = find(e, 'mesh_crypto_operation_duration_seconds_bucket');
    expect(buckets).toHaveLength(DEFAULT_DURATION_BUCKETS.length + 1);
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? '+Inf' : Number(b.labels.le);
      const ref = expected.find(
        (v) => v.metricName === 'reference_seconds_bucket' && (v.labels as Record<string, unknown>).le === le,
      );
      expect(ref, `le=${b.labels.le}`).toBeDefined();
      expect(b.value, `le=${b.labels.le}`).toBe(ref!.value);
    }
    const sum = expected.find((v) => v.metricName === 'reference_seconds_sum')!.value;
    expect(value(e, 'mesh_crypto_operation_duration_seconds_sum')).toBeCloseTo(sum, 9);
    expect(value(e, 'mesh_crypto_operation_duration_seconds_count')).toBe(observations.length);
    // Cumulative and ending at the count.
    const vals = buckets.map((b) => b.value);
    expect(vals).toEqual([...vals].sort((a, b) => a - b));
    expect(vals.at(-1)).toBe(observations.length);
  });

  it('observes original/compressed in mesh_compression_ratio and totals both sizes', async () => {
    const c = new PrometheusCollector();
    c.recordCompression(1000, 1000); // ratio 1: le="1" is inclusive
    c.recordCompression(6000, 1000); // 6
    c.recordCompression(900, 1000); // 0.9, it grew
    const e = await scrape(c);
    const bucket = (le: string) => value(e, 'mesh_compression_ratio_bucket', { le });
    expect(bucket('0.9')).toBe(1);
    expect(bucket('1')).toBe(2);
    expect(bucket('4')).toBe(2);
    expect(bucket('6')).toBe(3);
    expect(bucket('+Inf')).toBe(3);
    expect(find(e, 'mesh_compression_ratio_bucket')).toHaveLength(DEFAULT_COMPRESSION_BUCKETS.length + 1);
    expect(value(e, 'mesh_compression_ratio_sum')).toBeCloseTo(7.9, 12);
    expect(value(e, 'mesh_compression_ratio_count')).toBe(3);
    expect(value(e, 'mesh_compression_bytes_total', { stage: 'original' })).toBe(7900);
    expect(value(e, 'mesh_compression_bytes_total', { stage: 'compressed' })).toBe(3000);
  });

  it('counts failures by reason and rotations by trigger', async () => {
    const c = new PrometheusCollector();
    c.recordFailure('authentication');
    c.recordFailure('authentication');
    c.recordFailure('key_not_found');
    c.recordRotation('initial');
    c.recordRotation('usage');
    c.recordRotation('usage');
    const e = await scrape(c);
    expect(value(e, 'mesh_crypto_failures_total', { reason: 'authentication' })).toBe(2);
    expect(value(e, 'mesh_crypto_failures_total', { reason: 'key_not_found' })).toBe(1);
    expect(value(e, 'mesh_crypto_failures_total', { reason: 'internal' })).toBe(0);
    expect(value(e, 'mesh_key_rotations_total', { trigger: 'usage' })).toBe(2);
    expect(value(e, 'mesh_key_rotations_total', { trigger: 'initial' })).toBe(1);
    expect(value(e, 'mesh_key_rotations_total', { trigger: 'manual' })).toBe(0);
  });
});

describe('key series', () => {
  it('counts uses per key id, one series whichever way the id is spelled', async () => {
    const c = new PrometheusCollector();
    c.recordKeyUse(0x0a1b2c3d);
    c.recordKeyUse('169552957', 2);
    c.recordKeyUse('0x0A1B2C3D', 3);
    c.recordKeyUse(5);
    const e = await scrape(c);
    expect(find(e, 'mesh_key_encryptions_total').map((s) => s.labels.key_id)).toEqual(['169552957', '5']);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '169552957' })).toBe(6);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '5' })).toBe(1);
  });

  it('computes key age at scrape time from the clock', async () => {
    let now = 1_700_000_000_000;
    const c = new PrometheusCollector({ clock: () => now });
    c.setKeyAge(42, now - 90_000);
    expect(value(await scrape(c), 'mesh_key_age_seconds', { key_id: '42' })).toBe(90);
    now += 3_600_000; // nothing recorded in between
    expect(value(await scrape(c), 'mesh_key_age_seconds', { key_id: '42' })).toBe(3690);
    c.setKeyAge(43, now + 5000); // created "in the future" on a node whose clock runs ahead
    expect(value(await scrape(c), 'mesh_key_age_seconds', { key_id: '43' })).toBe(0);
  });

  it("drops a removed key's series and starts it from zero if it comes back", async () => {
    const c = new PrometheusCollector({ clock: () => 10_000 });
    c.recordKeyUse(1, 10);
    c.setKeyAge(1, 0);
    c.recordKeyUse(2, 20);
    c.removeKey('0x1');
    const e = await scrape(c);
    expect(find(e, 'mesh_key_encryptions_total').map((s) => s.labels.key_id)).toEqual(['2']);
    expect(find(e, 'mesh_key_age_seconds')).toEqual([]);
    expect(c.liveKeys).toBe(1);
    c.recordKeyUse(1);
    expect(value(await scrape(c), 'mesh_key_encryptions_total', { key_id: '1' })).toBe(1);
  });
});

describe('options and registry', () => {
  it("uses its own new registry by default, never prom-client's global one", async () => {
    const before = (await register.getMetricsAsJSON()).length;
    const a = new PrometheusCollector();
    const b = new PrometheusCollector();
    expect(a.registry).toBeInstanceOf(Registry);
    expect(a.registry).not.toBe(register);
    expect(a.registry).not.toBe(b.registry);
    expect((await register.getMetricsAsJSON()).length).toBe(before);
  });

  it('applies the prefix to every name', async () => {
    const c = new PrometheusCollector({ prefix: 'orders_' });
    exercise(c);
    const e = await scrape(c);
    expect([...e.type.keys()].sort()).toEqual(
      Object.keys(FAMILIES)
        .map((n) => n.replace(/^mesh_/, 'orders_'))
        .sort(),
    );
    const bare = parseExposition(await new PrometheusCollector({ prefix: '' }).registry.metrics());
    expect(bare.type.has('crypto_operations_total')).toBe(true);
  });

  it('rejects invalid options with a typed ERR_CONFIG_INVALID error', () => {
    const bad: Array<ConstructorParameters<typeof PrometheusCollector>[0]> = [
      { prefix: 'bad-prefix' },
      { prefix: '1mesh_' },
      { buckets: [] },
      { buckets: [0.1, 0.01] },
      { buckets: [0.1, 0.1] },
      { buckets: [-1, 1] },
      { buckets: [0, 1] },
      { buckets: [1, Number.NaN] },
      { buckets: [1, Number.POSITIVE_INFINITY] },
      { compressionBuckets: [3, 2] },
      { maxLiveKeys: 0 },
      { maxLiveKeys: 1.5 },
      { maxLiveKeys: 5000 },
      { clock: 'now' as never },
    ];
    for (const options of bad) {
      let caught: unknown;
      try {
        new PrometheusCollector(options);
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(MetricsError);
      const err = caught as MetricsError;
      expect(err.code).toBe('ERR_CONFIG_INVALID');
      expect(err.name).toBe('MetricsError');
      expect((err as unknown as Record<symbol, unknown>)[Symbol.for('mesh.error')]).toBe(true);
    }
  });

  it('refuses a registry that already has one of its names and leaves that registry as it was', async () => {
    const registry = new Registry();
    const own = new Gauge({ name: 'mesh_key_age_seconds', help: 'someone else', registers: [registry] });
    own.set(5);
    let caught: unknown;
    try {
      new PrometheusCollector({ registry });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MetricsError);
    expect((caught as MetricsError).cause).toBeInstanceOf(Error);
    const json = await registry.getMetricsAsJSON();
    expect(json.map((m) => m.name)).toEqual(['mesh_key_age_seconds']);
    // Two collectors can share a registry under different prefixes.
    const a = new PrometheusCollector({ registry: new Registry() });
    expect(() => new PrometheusCollector({ registry: a.registry, prefix: 'other_' })).not.toThrow();
    expect(() => new PrometheusCollector({ registry: a.registry })).toThrow(MetricsError);
  });

  it('registers default process metrics only when asked', async () => {
    const withDefaults = parseExposition(
      await new PrometheusCollector({ defaultMetrics: true }).registry.metrics(),
    );
    expect(withDefaults.type.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(withDefaults.type.get('mesh_crypto_operations_total')).toBe('counter');
    const without = parseExposition(await new PrometheusCollector().registry.metrics());
    expect(without.type.has('process_cpu_user_seconds_total')).toBe(false);
    // Asking twice on one registry (defaults already there) is a config error, not a silent duplicate.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    expect(() => new PrometheusCollector({ registry, defaultMetrics: true })).toThrow(MetricsError);
    expect((await registry.getMetricsAsJSON()).some((m) => m.name.startsWith('mesh_'))).toBe(false);
  });

  it('speaks OpenMetrics when the registry does', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const c = new PrometheusCollector({ registry });
    exercise(c);
    const text = await registry.metrics();
    const lines = text.split('\n');
    expect(lines).toContain('# TYPE mesh_crypto_operations counter');
    expect(lines).toContain(
      'mesh_crypto_operations_total{operation="encrypt",algorithm="aes-256-gcm",result="success"} 1',
    );
    expect(lines).toContain('# TYPE mesh_compression_ratio histogram');
    expect(lines).toContain('mesh_compression_ratio_bucket{le="4"} 1');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('zeroes totals on reset() and on registry.resetMetrics(), keeping live keys', async () => {
    for (const doReset of [
      (c: PrometheusCollector) => c.reset(),
      (c: PrometheusCollector) => c.registry.resetMetrics(),
    ]) {
      const c = new PrometheusCollector({ clock: () => 5000 });
      exercise(c);
      doReset(c);
      const e = await scrape(c);
      expect(find(e, 'mesh_crypto_operations_total')).toEqual([]);
      expect(value(e, 'mesh_crypto_failures_total', { reason: 'expired' })).toBe(0);
      expect(value(e, 'mesh_compression_ratio_count')).toBe(0);
      expect(value(e, 'mesh_key_rotations_total', { trigger: 'interval' })).toBe(0);
      expect(value(e, 'mesh_key_encryptions_total', { key_id: '7' })).toBe(0);
      expect(value(e, 'mesh_key_age_seconds', { key_id: '7' })).toBe(5);
    }
  });

  it('unregister() removes every family it added', async () => {
    const registry = new Registry();
    const c = new PrometheusCollector({ registry });
    c.unregister();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    expect(() => new PrometheusCollector({ registry })).not.toThrow();
  });

  it("aggregates across cluster workers with prom-client's AggregatorRegistry", async () => {
    const w1 = new PrometheusCollector();
    const w2 = new PrometheusCollector();
    w1.recordOperation('encrypt', 'fernet', 'success', 0.003, 10, 20);
    w2.recordOperation('encrypt', 'fernet', 'success', 0.0004, 30, 40);
    w2.recordKeyUse(9, 4);
    const merged = AggregatorRegistry.aggregate([
      await w1.registry.getMetricsAsJSON(),
      await w2.registry.getMetricsAsJSON(),
    ]);
    const e = parseExposition(await merged.metrics());
    expect(value(e, 'mesh_crypto_operations_total', { operation: 'encrypt' })).toBe(2);
    expect(value(e, 'mesh_crypto_bytes_total', { direction: 'out' })).toBe(60);
    expect(value(e, 'mesh_crypto_operation_duration_seconds_count')).toBe(2);
    expect(value(e, 'mesh_crypto_operation_duration_seconds_bucket', { le: '0.0005' })).toBe(1);
    expect(value(e, 'mesh_crypto_operation_duration_seconds_bucket', { le: '0.005' })).toBe(2);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '9' })).toBe(4);
  });
});
