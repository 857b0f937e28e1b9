import { MemoryKeyStore } from '@mesh/keys';
import { describe, expect, it } from 'vitest';
import { createEncryption, DEFAULTS, type EncryptionConfig, resolveConfig } from '../src/index.js';
import { codeOf, makeEncryption } from './support/setup.js';

/** [config, the field the error must name] */
const INVALID: [unknown, string][] = [
  [{ keySize: 128 }, 'keySize'],
  [{ keySize: 192 }, 'keySize'],
  [{ keySize: '256' }, 'keySize'],
  [{ pbkdf2Iterations: 1000 }, 'pbkdf2Iterations'],
  [{ pbkdf2Iterations: 20_000_000 }, 'pbkdf2Iterations'],
  [{ pbkdf2Iterations: 600_000.5 }, 'pbkdf2Iterations'],
  [{ service: '' }, 'service'],
  [{ service: 42 }, 'service'],
  [{ keyring: 'x'.repeat(300) }, 'keyring'],
  [{ compression: 'on' }, 'compression'],
  [{ compression: { thresholdBytes: -1 } }, 'compression.thresholdBytes'],
  [{ compression: { level: 12 } }, 'compression.level'],
  [{ compression: { minSavingsRatio: 1 } }, 'compression.minSavingsRatio'],
  [{ compression: { maxInflatedBytes: 2 ** 40 } }, 'compression.maxInflatedBytes'],
  [{ compression: { treshold: 10 } }, 'compression.treshold'],
  [{ compression: { services: { payments: { level: 10 } } } }, 'compression.services.payments.level'],
  [{ compression: { services: { payments: { enabled: 'no' } } } }, 'compression.services.payments.enabled'],
  [
    { compression: { services: { payments: { level: 1 } } }, services: { payments: { compression: false } } },
    'services.payments.compression',
  ],
  [{ services: { payments: { compression: { level: -1 } } } }, 'services.payments.compression.level'],
  [{ services: { payments: { context: 7 } } }, 'services.payments.context'],
  [{ services: { payments: { requireContext: 'yes' } } }, 'services.payments.requireContext'],
  [{ services: { payments: { keyDerivation: 1 } } }, 'services.payments.keyDerivation'],
  [{ services: { payments: { colour: 'red' } } }, 'services.payments.colour'],
  [{ services: [] }, 'services'],
  [{ keyDerivation: 'yes' }, 'keyDerivation'],
  [{ asymmetric: 1 }, 'asymmetric'],
  [{ fernet: { ttl: 0 } }, 'fernet.ttl'],
  [{ fernet: { enabled: 'yes' } }, 'fernet.enabled'],
  [{ rotation: { interval: '1 fortnight' } }, 'rotation.interval'],
  [{ rotation: { retention: -5 } }, 'rotation.retention'],
  [{ rotation: { maxEncryptionsPerKey: 2 ** 33 } }, 'rotation.maxEncryptionsPerKey'],
  [{ rotation: { maxEncryptionsPerKey: 0 } }, 'rotation.maxEncryptionsPerKey'],
  [{ rotation: { maxRetainedKeys: -1 } }, 'rotation.maxRetainedKeys'],
  [{ rotation: { intervall: '1h' } }, 'rotation.intervall'],
  [{ keyStore: new MemoryKeyStore() }, 'kek'],
  [{ keyStore: {} }, 'keyStore'],
  [{ kek: 'secret' }, 'kek'],
  [{ metrics: {} }, 'metrics'],
  [{ clock: 5 }, 'clock'],
  [{ colour: 'red' }, 'colour'],
];

describe('EncryptionConfig validation', () => {
  for (const [config, field] of INVALID) {
    it(`rejects ${JSON.stringify(config, (_, v) => (v instanceof MemoryKeyStore ? '<MemoryKeyStore>' : v))} naming ${field}`, async () => {
      let error: { code?: string; message?: string } | undefined;
      try {
        resolveConfig(config as EncryptionConfig);
      } catch (e) {
        error = e as typeof error;
      }
      expect(error?.code).toBe('ERR_CONFIG_INVALID');
      expect(error?.message).toContain(field);
      // createEncryption validates before touching any store.
      expect(await codeOf(createEncryption(config as EncryptionConfig))).toBe('ERR_CONFIG_INVALID');
    });
  }

  it('rejects combining keyManager with store settings', async () => {
    const enc = await makeEncryption();
    for (const field of ['keyStore', 'kek', 'rotation', 'keyring'] as const) {
      const value =
        field === 'keyStore'
          ? new MemoryKeyStore()
          : field === 'kek'
            ? { key: new Uint8Array(32) }
            : field === 'rotation'
              ? {}
              : 'x';
      expect(() => resolveConfig({ keyManager: enc.keys, [field]: value })).toThrow(field);
    }
  });

  it('resolves the documented defaults', () => {
    const c = resolveConfig({});
    expect(c).toMatchObject({
      service: 'default',
      keyring: 'default',
      keySize: 256,
      pbkdf2Iterations: 600_000,
      asymmetric: true,
    });
    expect(c.fernet).toEqual({ enabled: true, ttl: undefined });
    expect(c.compressionPolicy('default', undefined)).toEqual(DEFAULTS.compression);
    expect(DEFAULTS.compression).toEqual({
      enabled: true,
      thresholdBytes: 1024,
      level: 6,
      minSavingsRatio: 0.1,
      maxInflatedBytes: 64 * 1024 * 1024,
    });
    expect(c.serviceConfig('orders')).toEqual({
      name: 'orders',
      algorithm: 'aes-256-gcm',
      context: undefined,
      requireContext: false,
      keyDerivation: false,
    });
  });

  it('compression policy: context (exact, then route target), then service, then default', () => {
    const c = resolveConfig({
      compression: {
        thresholdBytes: 2048,
        services: { payments: { enabled: false }, 'orders->audit': { level: 9 } },
      },
      services: { search: { compression: { thresholdBytes: 64 } } },
    });
    expect(c.compressionPolicy('orders', 'orders->payments').enabled).toBe(false);
    expect(c.compressionPolicy('orders', 'orders->audit').level).toBe(9);
    expect(c.compressionPolicy('orders', 'orders->audit').thresholdBytes).toBe(2048);
    expect(c.compressionPolicy('payments', undefined).enabled).toBe(false);
    expect(c.compressionPolicy('search', 'tenant-1').thresholdBytes).toBe(64);
    expect(c.compressionPolicy('orders', 'tenant-1')).toMatchObject({
      enabled: true,
      thresholdBytes: 2048,
      level: 6,
    });
  });

  it('the policy reaches the wire: disabled contexts and compress:false store payloads uncompressed', async () => {
    const enc = await makeEncryption({
      compression: { services: { 'orders->secrets': { enabled: false } } },
    });
    const json = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ i, a: 'aaaa' })));
    expect(enc.inspect(await enc.encrypt(json, { context: 'orders->billing' })).compressed).toBe(true);
    expect(enc.inspect(await enc.encrypt(json, { context: 'orders->secrets' })).compressed).toBe(false);
    expect(
      enc.inspect(await enc.encrypt(json, { context: 'orders->billing', compress: false })).compressed,
    ).toBe(false);
  });

  it('a passphrase KEK uses pbkdf2Iterations, and a persisted keyring reopens with it', async () => {
    const store = new MemoryKeyStore();
    const first = await createEncryption({
      keyStore: store,
      kek: { passphrase: 'correct horse' },
      pbkdf2Iterations: 100_000,
    });
    const sealed = await first.encrypt('persisted');
    await first.close();
    const doc = await store.load('default');
    expect(doc?.kek).toMatchObject({ type: 'passphrase', iterations: 100_000 });
    const second = await createEncryption({
      keyStore: store,
      kek: { passphrase: 'correct horse' },
      pbkdf2Iterations: 100_000,
    });
    expect(await second.decryptToString(sealed)).toBe('persisted');
    await second.close();
    expect(
      await codeOf(
        createEncryption({ keyStore: store, kek: { passphrase: 'wrong' }, pbkdf2Iterations: 100_000 }),
      ),
    ).toBe('ERR_DECRYPTION_FAILED');
  });
});
