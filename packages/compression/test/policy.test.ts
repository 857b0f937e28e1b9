import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompressionPolicy,
  CompressionPolicyResolver,
  DEFAULT_COMPRESSION_POLICY,
  MAX_INFLATED_BYTES_CEILING,
  validatePolicy,
} from '../src/index.js';
import { thrown } from './helpers/engine-suite.js';

describe('DEFAULT_COMPRESSION_POLICY', () => {
  it('is frozen, valid, and the documented values', () => {
    expect(Object.isFrozen(DEFAULT_COMPRESSION_POLICY)).toBe(true);
    expect(validatePolicy(DEFAULT_COMPRESSION_POLICY)).toEqual(DEFAULT_COMPRESSION_POLICY);
    expect(DEFAULT_COMPRESSION_POLICY).toEqual({
      enabled: true,
      thresholdBytes: 1024,
      level: 6,
      minSavingsRatio: 0.1,
      maxInflatedBytes: 64 * 1024 * 1024,
    });
  });
});

describe('validatePolicy', () => {
  it('completes a partial policy from the default (or a given base) and freezes it', () => {
    const p = validatePolicy({ level: 9 });
    expect(p).toEqual({ ...DEFAULT_COMPRESSION_POLICY, level: 9 });
    expect(Object.isFrozen(p)).toBe(true);
    const base = validatePolicy({ thresholdBytes: 10, enabled: false });
    expect(validatePolicy({ level: 1 }, 'x', base)).toEqual({ ...base, level: 1 });
  });

  it('accepts every valid policy unchanged', () => {
    const valid = fc.record({
      enabled: fc.boolean(),
      thresholdBytes: fc.nat(),
      level: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9 as const),
      minSavingsRatio: fc.double({ min: 0, max: 0.999, noNaN: true }),
      maxInflatedBytes: fc.integer({ min: 0, max: MAX_INFLATED_BYTES_CEILING }),
    });
    fc.assert(
      fc.property(valid, (p) => {
        expect(validatePolicy(p as CompressionPolicy)).toEqual(p);
      }),
    );
  });

  const invalid: [string, unknown][] = [
    ['enabled', 'yes'],
    ['enabled', 1],
    ['thresholdBytes', -1],
    ['thresholdBytes', 1.5],
    ['thresholdBytes', Number.NaN],
    ['thresholdBytes', '1024'],
    ['level', 10],
    ['level', -1],
    ['level', 6.5],
    ['level', '6'],
    ['minSavingsRatio', 1],
    ['minSavingsRatio', -0.1],
    ['minSavingsRatio', Number.NaN],
    ['minSavingsRatio', null],
    ['maxInflatedBytes', -1],
    ['maxInflatedBytes', MAX_INFLATED_BYTES_CEILING + 1],
    ['maxInflatedBytes', Number.POSITIVE_INFINITY],
    ['maxInflatedBytes', 2.5],
  ];
  it.each(invalid)('rejects %s = %s with ERR_CONFIG_INVALID naming the field', (field, value) => {
    const error = thrown(() =>
      validatePolicy({ [field]: value } as Partial<CompressionPolicy>, 'services.orders'),
    );
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(new RegExp(`^services\\.orders\\.${field} `));
  });

  it('rejects unknown (misspelt) fields by name, and non-objects', () => {
    const typo = thrown(() => validatePolicy({ maxInflatedByte: 10 } as Partial<CompressionPolicy>));
    expect(typo.code).toBe('ERR_CONFIG_INVALID');
    expect(typo.message).toContain('policy.maxInflatedByte ');
    for (const bad of [null, 5, 'x', []]) {
      const e = thrown(() => validatePolicy(bad as unknown as Partial<CompressionPolicy>, 'default'));
      expect(e.code).toBe('ERR_CONFIG_INVALID');
      expect(e.message).toMatch(/^default must be an object/);
    }
  });

  it('never echoes a string value into the message (only its type)', () => {
    const e = thrown(() => validatePolicy({ level: 'secret-ish' } as unknown as Partial<CompressionPolicy>));
    expect(e.message).not.toContain('secret-ish');
    expect(e.message).toContain('a string');
  });
});

describe('CompressionPolicyResolver', () => {
  const resolver = new CompressionPolicyResolver({
    default: { thresholdBytes: 2048 },
    services: {
      payments: { enabled: false },
      'orders->audit': { level: 9 },
      audit: { level: 1 },
    },
  });

  it('no context, or an empty one, gets the default (itself completed from DEFAULT_COMPRESSION_POLICY)', () => {
    expect(resolver.forContext()).toEqual({ ...DEFAULT_COMPRESSION_POLICY, thresholdBytes: 2048 });
    expect(resolver.forContext('')).toBe(resolver.default);
  });

  it('an exact service name matches; overrides inherit the configured default', () => {
    expect(resolver.forContext('payments')).toEqual({ ...resolver.default, enabled: false });
  });

  it("a route 'source->target' matches the whole route first, then its target", () => {
    expect(resolver.forContext('orders->audit').level).toBe(9);
    expect(resolver.forContext('billing->audit').level).toBe(1);
    expect(resolver.forContext('orders->payments').enabled).toBe(false);
    expect(resolver.forContext('a->b->payments').enabled).toBe(false);
  });

  it('matching is exact: no source match, no prefix, no case folding, no trimming', () => {
    for (const context of [
      'payments->orders',
      'Payments',
      'payments ',
      'pay',
      'orders->Payments',
      'orders',
    ]) {
      expect(resolver.forContext(context)).toBe(resolver.default);
    }
  });

  it('returns the same frozen object per match (validated once)', () => {
    expect(resolver.forContext('payments')).toBe(resolver.forContext('x->payments'));
    expect(Object.isFrozen(resolver.forContext('payments'))).toBe(true);
    expect(resolver.overrides).toEqual(['payments', 'orders->audit', 'audit']);
  });

  it('an empty configuration resolves everything to DEFAULT_COMPRESSION_POLICY', () => {
    expect(new CompressionPolicyResolver().forContext('any->thing')).toEqual(DEFAULT_COMPRESSION_POLICY);
  });

  it('invalid configuration fails in the constructor, naming the field path', () => {
    const cases: [unknown, RegExp][] = [
      [{ default: { level: 11 } }, /^default\.level /],
      [{ services: { payments: { minSavingsRatio: 2 } } }, /^services\.payments\.minSavingsRatio /],
      [{ services: { payments: { enable: false } } }, /^services\.payments\.enable /],
      [{ services: { '': { level: 1 } } }, /^services /],
      [{ services: [] }, /^services must be an object/],
      [{ service: {} }, /^config\.service /],
      [{ services: { payments: null } }, /^services\.payments must be an object/],
    ];
    for (const [config, message] of cases) {
      const e = thrown(() => new CompressionPolicyResolver(config as never));
      expect(e.code).toBe('ERR_CONFIG_INVALID');
      expect(e.message).toMatch(message);
    }
  });

  it('a non-string context is a typed error', () => {
    expect(thrown(() => resolver.forContext(42 as unknown as string)).code).toBe('ERR_INVALID_INPUT');
  });
});
