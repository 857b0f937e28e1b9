/** Fernet suite, run once per backend: the spec's generate/verify/invalid vectors and the TTL rules. */
import {
  fernetGenerateVectors,
  fernetInvalidVectors,
  fernetVerifyVectors,
  rfc3339ToUnixSeconds,
} from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';
import {
  base64UrlDecode,
  base64UrlEncode,
  Fernet,
  type MeshErrorCode,
  MultiFernet,
  type SymmetricBackend,
  utf8Decode,
} from '../../src/index.js';
import { expectCode, outcome, reportVectors } from '../helpers.js';

/** What each spec `invalid.json` case must give, by its `desc` (docs/DESIGN.md §3, contract "Errors"). */
const INVALID_EXPECTED: Record<string, MeshErrorCode> = {
  'incorrect mac': 'ERR_DECRYPTION_FAILED',
  'too short': 'ERR_TOKEN_MALFORMED',
  'invalid base64': 'ERR_TOKEN_MALFORMED',
  'payload size not multiple of block size': 'ERR_TOKEN_MALFORMED',
  'payload padding error': 'ERR_DECRYPTION_FAILED',
  'far-future TS (unacceptable clock skew)': 'ERR_TOKEN_EXPIRED',
  'expired TTL': 'ERR_TOKEN_EXPIRED',
  'incorrect IV (causes padding error)': 'ERR_DECRYPTION_FAILED',
};

/** A clock frozen at an RFC 3339 instant (milliseconds, as `Date.now`). */
const frozen = (rfc3339: string) => () => Date.parse(rfc3339);

export function fernetSuite(backend: SymmetricBackend): void {
  describe(`Fernet on ${backend.name}`, () => {
    it('reproduces generate.json exactly with an injected clock and IV', () => {
      const vectors = fernetGenerateVectors();
      for (const v of vectors) {
        const f = new Fernet(v.secret, { backend, clock: frozen(v.now) });
        expect(f.encrypt(v.src, { iv: Uint8Array.from(v.iv) })).toBe(v.token);
        // Same through the explicit `now` option.
        const g = new Fernet(v.secret, { backend });
        expect(g.encrypt(v.src, { iv: Uint8Array.from(v.iv), now: rfc3339ToUnixSeconds(v.now) })).toBe(
          v.token,
        );
      }
      reportVectors('fernet/generate.json', backend.name, vectors.length, 1);
    });

    it('decrypts verify.json with its TTL at its time', () => {
      const vectors = fernetVerifyVectors();
      for (const v of vectors) {
        const f = new Fernet(v.secret, { backend, clock: frozen(v.now) });
        expect(utf8Decode(f.decrypt(v.token, { ttl: v.ttl_sec }))).toBe(v.src);
        expect(f.extractTimestamp(v.token)).toBe(rfc3339ToUnixSeconds('1985-10-26T01:20:00-07:00'));
      }
      reportVectors('fernet/verify.json', backend.name, vectors.length, 1);
    });

    it('rejects every invalid.json token with the exact code', () => {
      const vectors = fernetInvalidVectors();
      expect(new Set(vectors.map((v) => v.desc))).toEqual(new Set(Object.keys(INVALID_EXPECTED)));
      for (const v of vectors) {
        const f = new Fernet(v.secret, { backend, clock: frozen(v.now) });
        expectCode(() => f.decrypt(v.token, { ttl: v.ttl_sec }), INVALID_EXPECTED[v.desc]!);
      }
      reportVectors('fernet/invalid.json', backend.name, vectors.length, 8);
    });

    it('applies TTL and the 60 s skew exactly at their boundaries, only when a TTL is given', () => {
      const f = new Fernet(Fernet.generateKey(), { backend });
      const t = 1_700_000_000;
      const token = f.encrypt('x', { now: t });
      expect(outcome(() => f.decrypt(token, { ttl: 10, now: t + 10 }))).toBe('ok');
      expect(outcome(() => f.decrypt(token, { ttl: 10, now: t + 11 }))).toBe('ERR_TOKEN_EXPIRED');
      expect(outcome(() => f.decrypt(token, { ttl: 0, now: t }))).toBe('ok');
      expect(outcome(() => f.decrypt(token, { ttl: 10, now: t - 60 }))).toBe('ok');
      expect(outcome(() => f.decrypt(token, { ttl: 10, now: t - 61 }))).toBe('ERR_TOKEN_EXPIRED');
      // No TTL: neither age nor skew is checked (Python's decrypt(token) behaves the same).
      expect(outcome(() => f.decrypt(token))).toBe('ok');
      const clocked = new Fernet(Fernet.generateKey(), { backend, clock: () => (t + 100) * 1000 });
      expect(outcome(() => clocked.decrypt(clocked.encrypt('y', { now: t }), { ttl: 99 }))).toBe(
        'ERR_TOKEN_EXPIRED',
      );
      expect(outcome(() => clocked.decrypt(clocked.encrypt('y', { now: t }), { ttl: 100 }))).toBe('ok');
      expectCode(() => f.decrypt(token, { ttl: -1 }), 'ERR_INVALID_INPUT');
    });

    it('accepts tokens without padding and as bytes; refuses bad keys', () => {
      const key = Fernet.generateKey();
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
      const f = new Fernet(key, { backend });
      const token = f.encrypt('hello');
      expect(utf8Decode(f.decrypt(token.replace(/=+$/, '')))).toBe('hello');
      expect(utf8Decode(f.decrypt(new TextEncoder().encode(token)))).toBe('hello');
      expect(utf8Decode(new Fernet(base64UrlDecode(key), { backend }).decrypt(token))).toBe('hello');
      expectCode(() => new Fernet(base64UrlEncode(new Uint8Array(31)), { backend }), 'ERR_INVALID_INPUT');
      expectCode(() => new Fernet('not base64!', { backend }), 'ERR_INVALID_INPUT');
      expectCode(() => new Fernet(new Uint8Array(16), { backend }), 'ERR_INVALID_INPUT');
      expectCode(() => f.encrypt('x', { iv: new Uint8Array(12) }), 'ERR_INVALID_INPUT');
      // Wrong key: MAC fails.
      expectCode(() => new Fernet(Fernet.generateKey(), { backend }).decrypt(token), 'ERR_DECRYPTION_FAILED');
      expect(JSON.stringify({ f })).toBe('{"f":"Fernet"}');
    });

    it('MultiFernet encrypts with the primary, decrypts with any, rotates keeping the timestamp', () => {
      const a = new Fernet(Fernet.generateKey(), { backend });
      const b = new Fernet(Fernet.generateKey(), { backend });
      const c = new Fernet(Fernet.generateKey(), { backend });
      const mf = new MultiFernet([a, b]);
      const fromB = b.encrypt('old', { now: 1000 });
      expect(utf8Decode(mf.decrypt(fromB))).toBe('old');
      expect(utf8Decode(a.decrypt(mf.encrypt('new')))).toBe('new');
      const rotated = mf.rotate(fromB);
      expect(a.extractTimestamp(rotated)).toBe(1000);
      expect(utf8Decode(a.decrypt(rotated))).toBe('old');
      expectCode(() => b.decrypt(rotated), 'ERR_DECRYPTION_FAILED');
      expect(mf.extractTimestamp(fromB)).toBe(1000);
      expectCode(() => mf.decrypt(c.encrypt('x')), 'ERR_DECRYPTION_FAILED');
      expectCode(() => mf.rotate(c.encrypt('x')), 'ERR_DECRYPTION_FAILED');
      expectCode(() => mf.decrypt(fromB, { ttl: 10, now: 2000 }), 'ERR_TOKEN_EXPIRED');
      expectCode(() => mf.decrypt('gAAA'), 'ERR_TOKEN_MALFORMED');
      expectCode(() => new MultiFernet([]), 'ERR_INVALID_INPUT');
    });
  });
}
