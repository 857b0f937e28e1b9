/**
 * Interop with Python's `cryptography` through the facade (docs/DESIGN.md §1: "read and write the Fernet tokens
 * their older Python services already produce").
 *
 * 1. Python makes key K1 and a token under it; we import K1 into the keyring.
 * 2. We rotate (twice: a random new primary, then another): the Python token still decrypts (K1 is decrypt-only).
 * 3. We rotate once more, to K2, by importing a key Python also holds as primary (`importFernetKey(k, { primary: true })`).
 *    `@mesh/keys` deliberately offers no way to export key material, so this is how a fleet hands a new key
 *    to its Python services: one documented API, no test-only back door.
 * 4. We rewrap the Python token: Python decrypts it with K2 alone, sees the original timestamp, and K1 no
 *    longer opens it.
 */
import { Fernet } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { pythonAvailable, runPython } from './support/python.js';
import { makeEncryption } from './support/setup.js';

describe('Python cryptography interop through the facade', () => {
  it('an old Python token decrypts after rotation; our rewrapped token decrypts in Python under the new key', async () => {
    if (!pythonAvailable()) return;
    const made = runPython<{ k1: string; token: string; ts: number }>(
      `import sys, json, time
from cryptography.fernet import Fernet
json.load(sys.stdin)
k1 = Fernet.generate_key()
token = Fernet(k1).encrypt_at_time(b'from python, made long ago', int(time.time()) - 86400)
print(json.dumps({'k1': k1.decode(), 'token': token.decode(), 'ts': Fernet(k1).extract_timestamp(token)}))`,
      {},
    );

    const enc = await makeEncryption();
    await enc.keys.importFernetKey(made.k1, { primary: true });
    await enc.rotate();
    await enc.rotate({ algorithm: 'fernet' });
    // K1 is now two rotations old (decrypt-only): the token still decrypts, through decrypt() and fernet.
    expect(await enc.decryptToString(made.token)).toBe('from python, made long ago');
    expect(await enc.fernet.decryptToString(made.token, { ttl: 2 * 86400 })).toBe(
      'from python, made long ago',
    );
    expect((await enc.fernet.decrypt(made.token, { ttl: 60 }).catch((e) => e)).code).toBe(
      'ERR_TOKEN_EXPIRED',
    );

    const k2 = Fernet.generateKey();
    const k2Id = await enc.keys.importFernetKey(k2, { primary: true });
    expect(enc.keys.keys().find((k) => k.id === k2Id)?.state).toBe('primary');
    const rewrapped = await enc.rewrap(made.token);
    const ours = await enc.fernet.encrypt('from node');
    expect(enc.inspect(rewrapped).timestamp).toBe(made.ts);

    const py = runPython<{ rewrapped: string; ts: number; k1Fails: boolean; ours: string; multi: string }>(
      `import sys, json
from cryptography.fernet import Fernet, MultiFernet, InvalidToken
c = json.load(sys.stdin)
f2 = Fernet(c['k2'].encode())
r = c['rewrapped'].encode()
try:
    Fernet(c['k1'].encode()).decrypt(r)
    k1_fails = False
except InvalidToken:
    k1_fails = True
multi = MultiFernet([f2, Fernet(c['k1'].encode())])
print(json.dumps({'rewrapped': f2.decrypt(r).decode(), 'ts': f2.extract_timestamp(r), 'k1Fails': k1_fails,
  'ours': f2.decrypt(c['ours'].encode()).decode(), 'multi': multi.decrypt(c['token'].encode()).decode()}))`,
      { k1: made.k1, k2, rewrapped, ours, token: made.token },
    );
    console.log('python interop:', JSON.stringify(py));
    expect(py).toEqual({
      rewrapped: 'from python, made long ago',
      ts: made.ts,
      k1Fails: true,
      ours: 'from node',
      multi: 'from python, made long ago',
    });
  });
});
