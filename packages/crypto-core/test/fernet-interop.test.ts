/**
 * Interop with an independent peer: Python's `cryptography` Fernet. Tokens it makes decrypt here (both
 * backends); tokens we make decrypt there, with the same timestamp. Data travels as JSON on stdin/stdout
 * (hex and base64), the script as an argv element: no shell.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Fernet, MultiFernet, randomBytes } from '../src/index.js';
import { BACKENDS, expectCode, hex, unhex } from './helpers.js';

function python(script: string, input: unknown): unknown {
  const r = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`python3 failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const probe = spawnSync('python3', ['-c', 'import cryptography.fernet'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available)
  console.log('SKIPPED Fernet interop with Python: python3 with `cryptography` is not installed');

const SIZES = [0, 1, 15, 16, 17, 1000, 70_000];
const T = 1_700_000_000;

const PY_ENCRYPT = `
import json, sys
from cryptography.fernet import Fernet
req = json.load(sys.stdin)
key = Fernet.generate_key()
f = Fernet(key)
out = {"key": key.decode(), "tokens": [f.encrypt_at_time(bytes.fromhex(m), req["now"]).decode() for m in req["messages"]]}
out["now_token"] = f.encrypt(b"now").decode()
print(json.dumps(out))
`;

const PY_DECRYPT = `
import json, sys
from cryptography.fernet import Fernet, InvalidToken
req = json.load(sys.stdin)
f = Fernet(req["key"].encode())
res = []
for t in req["tokens"]:
    try:
        res.append({"plain": f.decrypt_at_time(t.encode(), req["ttl"], req["now"]).hex(), "ts": f.extract_timestamp(t.encode())})
    except InvalidToken:
        res.append({"invalid": True})
print(json.dumps(res))
`;

describe.skipIf(!available)('Fernet interop with Python cryptography', () => {
  const messages = SIZES.map((n) => hex(randomBytes(n)));

  it('tokens made by Python decrypt here, on both backends', () => {
    const py = python(PY_ENCRYPT, { messages, now: T }) as {
      key: string;
      tokens: string[];
      now_token: string;
    };
    expect(py.tokens.length).toBe(SIZES.length);
    for (const backend of BACKENDS) {
      const f = new Fernet(py.key, { backend });
      py.tokens.forEach((token, i) => {
        expect(f.extractTimestamp(token)).toBe(T);
        expect(hex(f.decrypt(token, { ttl: 60, now: T + 60 }))).toBe(messages[i]);
        expectCode(() => f.decrypt(token, { ttl: 60, now: T + 61 }), 'ERR_TOKEN_EXPIRED');
      });
      // Python's own clock: decrypt with our real clock and a generous TTL.
      expect(new TextDecoder().decode(f.decrypt(py.now_token, { ttl: 600 }))).toBe('now');
      // A rotated Python token is ours, and the timestamp survives.
      const mine = new Fernet(Fernet.generateKey(), { backend });
      const rotated = new MultiFernet([mine, f]).rotate(py.tokens[3]!);
      expect(mine.extractTimestamp(rotated)).toBe(T);
    }
  });

  it('tokens made here decrypt in Python, on both backends; tampered ones do not', () => {
    // One Python run for both backends (interpreter start-up dominates): same key, tokens from each backend.
    const key = Fernet.generateKey();
    const tokens: string[] = [];
    for (const backend of BACKENDS) {
      const f = new Fernet(key, { backend });
      tokens.push(...messages.map((m) => f.encrypt(unhex(m), { now: T })));
    }
    // Flip one bit in the ciphertext of one token: Python must refuse it too.
    const raw = Buffer.from(tokens[1]!, 'base64url');
    raw[30]! ^= 1;
    tokens.push(raw.toString('base64url'));
    const res = python(PY_DECRYPT, { key, tokens, ttl: 60, now: T + 30 }) as Array<{
      plain?: string;
      ts?: number;
      invalid?: boolean;
    }>;
    expect(res.length).toBe(BACKENDS.length * messages.length + 1);
    BACKENDS.forEach((backend, b) => {
      messages.forEach((m, i) => {
        expect(res[b * messages.length + i], `${backend.name} size ${SIZES[i]}`).toEqual({ plain: m, ts: T });
      });
    });
    expect(res.at(-1)).toEqual({ invalid: true });
  });
});
