/**
 * The closed label sets, the error-code -> reason table, and the collector contract shared by every
 * implementation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COLLECTOR_METHODS,
  CRYPTO_ALGORITHMS,
  CRYPTO_OPERATIONS,
  FAILURE_REASONS,
  failureReasonFromCode,
  failureReasonOf,
  isFailureReason,
  type MetricsCollector,
  MetricsError,
  NoopCollector,
  OPERATION_RESULTS,
  PrometheusCollector,
  ROTATION_TRIGGERS,
  safeCollector,
} from '../src/index.js';

/** A Mesh error as another package (e.g. crypto-core) would throw it: same shape, same marker. */
function meshError(code: string): Error {
  return Object.assign(new Error('x'), { code, [Symbol.for('mesh.error')]: true });
}

describe('closed label sets', () => {
  it('are frozen, duplicate-free and valid Prometheus label values without escaping', () => {
    for (const list of [
      CRYPTO_OPERATIONS,
      CRYPTO_ALGORITHMS,
      OPERATION_RESULTS,
      FAILURE_REASONS,
      ROTATION_TRIGGERS,
    ]) {
      expect(Object.isFrozen(list)).toBe(true);
      expect(new Set(list).size).toBe(list.length);
      for (const v of list) expect(v).toMatch(/^[a-z0-9_-]+$/);
      expect(() => (list as string[]).push('x')).toThrow(TypeError);
    }
    expect(FAILURE_REASONS).toHaveLength(12);
    expect(CRYPTO_OPERATIONS).toHaveLength(9);
  });

  it('isFailureReason accepts exactly the listed reasons', () => {
    for (const r of FAILURE_REASONS) expect(isFailureReason(r)).toBe(true);
    for (const r of ['', 'Internal', 'toString', '__proto__', 'constructor', null, 1, {}]) {
      expect(isFailureReason(r)).toBe(false);
    }
  });
});

describe('failure reasons from errors', () => {
  const TABLE: Array<[string, string]> = [
    ['ERR_DECRYPTION_FAILED', 'authentication'],
    ['ERR_TOKEN_MALFORMED', 'malformed'],
    ['ERR_TOKEN_EXPIRED', 'expired'],
    ['ERR_KEY_NOT_FOUND', 'key_not_found'],
    ['ERR_KEY_STATE', 'key_state'],
    ['ERR_KEYSTORE_UNAVAILABLE', 'keystore_unavailable'],
    ['ERR_KEYSTORE_CORRUPT', 'keystore_unavailable'],
    ['ERR_KEY_DERIVATION', 'internal'],
    ['ERR_PLAINTEXT_TOO_LARGE', 'plaintext_too_large'],
    ['ERR_COMPRESSION_LIMIT', 'compression_limit'],
    ['ERR_CONFIG_INVALID', 'config_invalid'],
    ['ERR_UNSUPPORTED_ALGORITHM', 'unsupported_algorithm'],
    ['ERR_INVALID_INPUT', 'invalid_input'],
  ];

  it('maps every docs/DESIGN.md §7 code', () => {
    for (const [code, reason] of TABLE) {
      expect(failureReasonFromCode(code), code).toBe(reason);
      expect(failureReasonOf(meshError(code)), code).toBe(reason);
    }
    // Every reason but the fallback is reachable from some code.
    const reached = new Set(TABLE.map(([, r]) => r));
    expect(FAILURE_REASONS.filter((r) => !reached.has(r))).toEqual([]);
  });

  it('gives internal for anything else, whatever the thrown value', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('getter trap');
        },
      },
    );
    for (const thrown of [
      new Error('ERR_DECRYPTION_FAILED'),
      Object.assign(new Error('no marker'), { code: 'ERR_TOKEN_EXPIRED' }),
      meshError('ERR_SOMETHING_NEW'),
      meshError('toString'),
      'ERR_TOKEN_EXPIRED',
      null,
      undefined,
      42,
      hostile,
    ]) {
      expect(failureReasonOf(thrown)).toBe('internal');
    }
    expect(failureReasonFromCode(undefined)).toBe('internal');
    expect(failureReasonFromCode('__proto__')).toBe('internal');
  });

  it("recognises this package's own error as a Mesh error", () => {
    const err = new MetricsError('ERR_CONFIG_INVALID', 'bad');
    expect(err).toBeInstanceOf(Error);
    expect((err as unknown as Record<symbol, unknown>)[Symbol.for('mesh.error')]).toBe(true);
    expect(failureReasonOf(err)).toBe('config_invalid');
    const withCause = new MetricsError('ERR_CONFIG_INVALID', 'bad', { cause: 'root' });
    expect(withCause.cause).toBe('root');
  });
});

describe('collector contract', () => {
  const implementations: Array<[string, () => MetricsCollector]> = [
    ['NoopCollector', () => new NoopCollector()],
    ['PrometheusCollector', () => new PrometheusCollector()],
    ['safeCollector(PrometheusCollector)', () => safeCollector(new PrometheusCollector())],
  ];

  for (const [name, make] of implementations) {
    it(`${name}: every method exists, returns undefined and never throws on any input`, () => {
      const c = make();
      for (const method of COLLECTOR_METHODS) expect(typeof c[method], method).toBe('function');
      fc.assert(
        fc.property(
          fc.constantFrom(...COLLECTOR_METHODS),
          fc.array(fc.anything(), { maxLength: 6 }),
          (method, args) => {
            const f = c[method] as (...a: unknown[]) => unknown;
            expect(f.apply(c, args)).toBeUndefined();
          },
        ),
        { numRuns: 500 },
      );
    });
  }
});
