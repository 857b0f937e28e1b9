/**
 * docs/DESIGN.md §6: a metrics failure never fails an encryption. A collector that throws (or rejects) inside an
 * operation is swallowed by `safeCollector`, the operation returns its normal result, and the swallowed
 * error is counted in `mesh_metrics_errors_total{method}`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  COLLECTOR_METHODS,
  type MetricsCollector,
  NoopCollector,
  PrometheusCollector,
  safeCollector,
} from '../src/index.js';
import { parseExposition, value } from './_scrape.js';

const KEY = randomBytes(32);
const KEY_ID = 0x1234abcd;

/** A stand-in for the facade: AES-256-GCM seal that reports to its collector the way the facade does. */
function seal(plaintext: Uint8Array, metrics: MetricsCollector): Buffer {
  const t0 = performance.now();
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', KEY, nonce);
  const out = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  metrics.recordOperation(
    'encrypt',
    'aes-256-gcm',
    'success',
    (performance.now() - t0) / 1e3,
    plaintext.length,
    out.length,
  );
  metrics.recordKeyUse(KEY_ID);
  return out;
}

function open(sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', KEY, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

class ThrowingCollector implements MetricsCollector {
  calls = 0;
  private fail(): never {
    this.calls++;
    throw new Error('collector exploded: secret=hunter2');
  }
  recordOperation(): void {
    this.fail();
  }
  recordFailure(): void {
    this.fail();
  }
  recordCompression(): void {
    this.fail();
  }
  recordRotation(): void {
    this.fail();
  }
  recordKeyUse(): void {
    this.fail();
  }
  setKeyAge(): void {
    this.fail();
  }
  removeKey(): void {
    this.fail();
  }
}

/** Calls every interface method once with valid arguments. */
function callAll(m: MetricsCollector): void {
  m.recordOperation('decrypt', 'fernet', 'failure', 0.001, 10, 0);
  m.recordFailure('expired');
  m.recordCompression(100, 50);
  m.recordRotation('manual');
  m.recordKeyUse(1);
  m.setKeyAge(1, 0);
  m.removeKey(1);
}

describe('safeCollector', () => {
  it('keeps an operation working when its collector throws, and counts the error', async () => {
    const throwing = new ThrowingCollector();
    const plaintext = randomBytes(1024);
    // Control: unwrapped, the collector's error does fail the operation.
    expect(() => seal(plaintext, throwing)).toThrow('collector exploded');

    const prom = new PrometheusCollector();
    const safe = safeCollector(throwing, { errorsTo: prom });
    const sealed = seal(plaintext, safe);
    expect(open(sealed).equals(plaintext)).toBe(true);
    expect(safe.errorCount).toBe(2);
    const e = parseExposition(await prom.registry.metrics());
    expect(value(e, 'mesh_metrics_errors_total', { method: 'recordOperation' })).toBe(1);
    expect(value(e, 'mesh_metrics_errors_total', { method: 'recordKeyUse' })).toBe(1);
    expect(value(e, 'mesh_metrics_errors_total', { method: 'recordFailure' })).toBe(0);
    // The error text never reaches the exposition.
    expect(await prom.registry.metrics()).not.toContain('hunter2');
  });

  it('swallows and counts an error from every method', async () => {
    const prom = new PrometheusCollector();
    const safe = safeCollector(new ThrowingCollector(), { errorsTo: prom });
    expect(() => callAll(safe)).not.toThrow();
    expect(safe.errorCount).toBe(COLLECTOR_METHODS.length);
    const e = parseExposition(await prom.registry.metrics());
    for (const method of COLLECTOR_METHODS) expect(value(e, 'mesh_metrics_errors_total', { method })).toBe(1);
  });

  it('counts in the wrapped PrometheusCollector itself by default', async () => {
    class Broken extends PrometheusCollector {
      override recordOperation(): void {
        throw new TypeError('bug');
      }
    }
    const broken = new Broken();
    const safe = safeCollector(broken);
    expect(() => seal(randomBytes(64), safe)).not.toThrow();
    const e = parseExposition(await broken.registry.metrics());
    expect(value(e, 'mesh_metrics_errors_total', { method: 'recordOperation' })).toBe(1);
    // The methods that work still record.
    expect(value(e, 'mesh_key_encryptions_total', { key_id: String(KEY_ID) })).toBe(1);
  });

  it('catches a rejected promise from an async collector instead of leaving it unhandled', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const asyncCollector = Object.assign(new NoopCollector(), {
        recordOperation: async () => {
          throw new Error('async boom');
        },
        recordFailure: () => Promise.reject(new Error('rejected')),
        recordRotation: () => Promise.resolve(),
      }) as unknown as MetricsCollector;
      const onError = vi.fn();
      const safe = safeCollector(asyncCollector, { onError });
      expect(() => seal(randomBytes(16), safe)).not.toThrow();
      safe.recordFailure('internal');
      safe.recordRotation('manual');
      await new Promise((r) => setTimeout(r, 20));
      expect(safe.errorCount).toBe(2);
      expect(onError.mock.calls.map((c) => c[1])).toEqual(['recordOperation', 'recordFailure']);
      expect((onError.mock.calls[0]![0] as Error).message).toBe('async boom');
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('survives an onError hook and an error sink that throw themselves', () => {
    const sink = {
      recordCollectorError: () => {
        throw new Error('sink broken too');
      },
    };
    const safe = safeCollector(new ThrowingCollector(), {
      errorsTo: sink,
      onError: () => {
        throw new Error('logger broken');
      },
    });
    expect(() => callAll(safe)).not.toThrow();
    expect(safe.errorCount).toBe(COLLECTOR_METHODS.length);
  });

  it('survives collectors that are not collectors at all', () => {
    for (const bogus of [{}, { recordOperation: 42 }, Object.create(null)]) {
      const safe = safeCollector(bogus as MetricsCollector);
      expect(() => callAll(safe)).not.toThrow();
      expect(safe.errorCount).toBe(COLLECTOR_METHODS.length);
    }
  });

  it('passes every argument through unchanged and returns the same wrapper when wrapped twice', async () => {
    const prom = new PrometheusCollector({ clock: () => 61_000 });
    const safe = safeCollector(prom);
    expect(safeCollector(safe)).toBe(safe);
    expect(safe.inner).toBe(prom);
    callAll(safe);
    safe.setKeyAge(2, 1000);
    safe.recordKeyUse(2, 3);
    const e = parseExposition(await prom.registry.metrics());
    expect(
      value(e, 'mesh_crypto_operations_total', {
        operation: 'decrypt',
        algorithm: 'fernet',
        result: 'failure',
      }),
    ).toBe(1);
    expect(value(e, 'mesh_crypto_bytes_total', { direction: 'in' })).toBe(10);
    expect(value(e, 'mesh_crypto_failures_total', { reason: 'expired' })).toBe(1);
    expect(value(e, 'mesh_compression_ratio_sum')).toBe(2);
    expect(value(e, 'mesh_key_rotations_total', { trigger: 'manual' })).toBe(1);
    expect(e.samples.some((s) => s.labels.key_id === '1')).toBe(false); // removed by callAll
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '2' })).toBe(3);
    expect(value(e, 'mesh_key_age_seconds', { key_id: '2' })).toBe(60);
    expect(safe.errorCount).toBe(0);
  });
});
