import { execFileSync } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// Count real PBKDF2 runs: a cache hit must not derive.
const pbkdf2Calls = vi.hoisted(() => ({ n: 0 }));
vi.mock('@mesh/crypto-core', async (importOriginal) => {
  const orig = await importOriginal<typeof import('@mesh/crypto-core')>();
  return {
    ...orig,
    pbkdf2Sha256: (...args: Parameters<typeof orig.pbkdf2Sha256>) => {
      pbkdf2Calls.n++;
      return orig.pbkdf2Sha256(...args);
    },
  };
});

const { derivePasswordKey, PasswordKeyCache, PASSWORD_SALT_LENGTH, DEFAULT_MAX_PASSWORD_ITERATIONS } =
  await import('../src/index.js');
const { FakeClock, havePythonCryptography } = await import('./helpers.js');

const FAST = 1_000; // iterations for tests that are not about the default

beforeEach(() => {
  pbkdf2Calls.n = 0;
});

describe('derivePasswordKey', () => {
  it('defaults to 600,000 iterations and a fresh 16-byte salt, and returns the parameters', async () => {
    const a = await derivePasswordKey('correct horse battery staple');
    const b = await derivePasswordKey('correct horse battery staple');
    expect(a.params.iterations).toBe(600_000);
    expect(a.params.algorithm).toBe('pbkdf2-hmac-sha256');
    expect(a.params.salt).toHaveLength(PASSWORD_SALT_LENGTH);
    expect(a.key).toHaveLength(32);
    expect(b.params.salt).not.toEqual(a.params.salt);
    expect(b.key).not.toEqual(a.key);
    const again = await derivePasswordKey('correct horse battery staple', a.params);
    expect(again.key).toEqual(a.key);
  });

  it('matches Python cryptography (PBKDF2HMAC SHA256)', async (ctx) => {
    if (!havePythonCryptography()) return ctx.skip();
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i);
    const { key } = await derivePasswordKey('pässwörd', { salt, iterations: 4096 });
    const py = execFileSync(
      'python3',
      [
        '-c',
        'import sys;from cryptography.hazmat.primitives import hashes;' +
          'from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC;' +
          'k=PBKDF2HMAC(algorithm=hashes.SHA256(),length=32,salt=bytes.fromhex(sys.argv[2]),iterations=int(sys.argv[3]))' +
          '.derive(sys.argv[1].encode());print(k.hex())',
        'pässwörd',
        Buffer.from(salt).toString('hex'),
        '4096',
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(Buffer.from(key).toString('hex')).toBe(py);
  });

  it.each([
    ['iterations above the cap', { iterations: DEFAULT_MAX_PASSWORD_ITERATIONS + 1 }],
    ['zero iterations', { iterations: 0 }],
    ['fractional iterations', { iterations: 1.5 }],
    ['a 4-byte salt', { salt: new Uint8Array(4) }],
  ])('rejects %s with ERR_KEY_DERIVATION before deriving', async (_, params) => {
    await expect(derivePasswordKey('pw', params)).rejects.toMatchObject({ code: 'ERR_KEY_DERIVATION' });
    expect(pbkdf2Calls.n).toBe(0);
  });

  it('rejects an empty password', async () => {
    await expect(derivePasswordKey('')).rejects.toMatchObject({ code: 'ERR_KEY_DERIVATION' });
  });

  it('honours a caller-chosen cap', async () => {
    await expect(derivePasswordKey('pw', { iterations: 5000, maxIterations: 4000 })).rejects.toMatchObject({
      code: 'ERR_KEY_DERIVATION',
    });
  });
});

describe('PasswordKeyCache', () => {
  it('a hit returns the same key without deriving; another salt, iteration count or password misses', async () => {
    const cache = new PasswordKeyCache();
    const first = await cache.derive('pw', { iterations: FAST });
    expect(pbkdf2Calls.n).toBe(1);
    const hit = await cache.derive('pw', { salt: first.params.salt, iterations: FAST });
    expect(pbkdf2Calls.n).toBe(1);
    expect(hit.key).toEqual(first.key);
    expect(hit.key).not.toBe(first.key); // a copy each time
    hit.key.fill(0); // a caller wiping its copy does not damage the cache
    expect((await cache.derive('pw', { salt: first.params.salt, iterations: FAST })).key).toEqual(first.key);
    await cache.derive('pw', { salt: first.params.salt, iterations: FAST + 1 });
    await cache.derive('pw2', { salt: first.params.salt, iterations: FAST });
    await cache.derive('pw', { salt: new Uint8Array(16), iterations: FAST });
    expect(pbkdf2Calls.n).toBe(4);
    expect(cache.size).toBe(4);
  });

  it('concurrent misses for the same input share one derivation', async () => {
    const cache = new PasswordKeyCache();
    const salt = new Uint8Array(16).fill(7);
    const keys = await Promise.all(
      Array.from({ length: 20 }, () => cache.derive('pw', { salt, iterations: FAST })),
    );
    expect(pbkdf2Calls.n).toBe(1);
    for (const k of keys) expect(k.key).toEqual(keys[0]!.key);
  });

  it('is a bounded LRU: the least recently used entry goes first', async () => {
    const cache = new PasswordKeyCache({ maxEntries: 2 });
    const salt = new Uint8Array(16);
    await cache.derive('a', { salt, iterations: FAST });
    await cache.derive('b', { salt, iterations: FAST });
    await cache.derive('a', { salt, iterations: FAST }); // a is now the most recent
    await cache.derive('c', { salt, iterations: FAST }); // evicts b
    expect(cache.size).toBe(2);
    expect(pbkdf2Calls.n).toBe(3);
    await cache.derive('a', { salt, iterations: FAST });
    expect(pbkdf2Calls.n).toBe(3);
    await cache.derive('b', { salt, iterations: FAST });
    expect(pbkdf2Calls.n).toBe(4);
  });

  it('entries expire after ttlMs', async () => {
    const clock = new FakeClock();
    const cache = new PasswordKeyCache({ ttlMs: 1000, clock: clock.fn });
    const salt = new Uint8Array(16);
    await cache.derive('a', { salt, iterations: FAST });
    clock.advance(999);
    await cache.derive('a', { salt, iterations: FAST });
    expect(pbkdf2Calls.n).toBe(1);
    clock.advance(1);
    await cache.derive('a', { salt, iterations: FAST });
    expect(pbkdf2Calls.n).toBe(2);
  });

  it('caps iterations accepted from stored parameters', async () => {
    const cache = new PasswordKeyCache({ maxIterations: 100_000 });
    await expect(cache.derive('pw', { salt: new Uint8Array(16), iterations: 100_001 })).rejects.toMatchObject(
      {
        code: 'ERR_KEY_DERIVATION',
      },
    );
    expect(pbkdf2Calls.n).toBe(0);
  });

  it('never holds the password, in any form', async () => {
    const password = 'Tr0ub4dor&3-unique-marker';
    const cache = new PasswordKeyCache();
    const { key } = await cache.derive(password, { iterations: FAST });
    const pwHex = Buffer.from(password, 'utf8').toString('hex');
    const forms = [password, Buffer.from(password).toString('base64'), pwHex];
    // The cache keeps its state in #private fields, out of reach of plain JS: walk them through the V8
    // inspector, which sees private fields, Map entries and typed-array bytes.
    const session = new Session();
    session.connect();
    const found: string[] = [];
    const seen = new Set<string>();
    let visited = 0;
    const arrays: string[] = [];
    try {
      (globalThis as Record<string, unknown>).__meshCacheUnderTest = cache;
      const root = await session.post('Runtime.evaluate', { expression: 'globalThis.__meshCacheUnderTest' });
      const walk = async (
        obj: { objectId?: string; type: string; subtype?: string; value?: unknown },
        at: string,
      ) => {
        if (obj.type === 'string') {
          if (forms.some((f) => String(obj.value).includes(f))) found.push(at);
          return;
        }
        if (!obj.objectId || seen.has(obj.objectId) || visited > 2_000) return;
        seen.add(obj.objectId);
        visited++;
        if (obj.subtype === 'typedarray') {
          const hex = await session.post('Runtime.callFunctionOn', {
            objectId: obj.objectId,
            functionDeclaration:
              'function () { return Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString("hex"); }',
            returnByValue: true,
          });
          if (String(hex.result.value).includes(pwHex)) found.push(at);
          arrays.push(String(hex.result.value));
          return;
        }
        if (obj.subtype === 'map') {
          const entries = await session.post('Runtime.callFunctionOn', {
            objectId: obj.objectId,
            functionDeclaration: 'function () { return [...this.entries()]; }',
          });
          await walk(entries.result, `${at}.entries`);
          return;
        }
        if (obj.type === 'function') return;
        const props = await session.post('Runtime.getProperties', {
          objectId: obj.objectId,
          ownProperties: true,
        });
        for (const p of props.result) if (p.value) await walk(p.value, `${at}.${p.name}`);
        for (const p of (props as { privateProperties?: typeof props.result }).privateProperties ?? [])
          if (p.value) await walk(p.value, `${at}.${p.name}`);
      };
      await walk(root.result, 'cache');
    } finally {
      delete (globalThis as Record<string, unknown>).__meshCacheUnderTest;
      session.disconnect();
    }
    expect(visited).toBeGreaterThan(3); // the walk did reach the entries
    // Positive control: the walk reached the #private entries (it saw the cached key's bytes).
    expect(arrays).toContain(Buffer.from(key).toString('hex'));
    expect(found).toEqual([]);
  });
});
