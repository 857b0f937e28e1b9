/**
 * Interop with an independent peer: PyNaCl (Python's libsodium binding, over Debian's own libsodium build,
 * installed by `.ci/run` as the `python3-nacl` package). What it seals opens here on both backends and is
 * byte-identical to ours; what we seal opens there; what we alter it rejects. Data travels as JSON on
 * stdin/stdout, the script as an argv element: no shell.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  getChaChaBackend,
  nobleChaChaBackend,
  randomBytes,
  xchacha20Poly1305Decrypt,
  xchacha20Poly1305Encrypt,
} from '../src/index.js';
import { hex, unhex } from './helpers.js';

/** The first Python that has PyNaCl: Debian's package lands in /usr/bin/python3, which may not be first on PATH. */
const PYTHON = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import nacl.bindings'], { encoding: 'utf8' }).status === 0,
);

function python(script: string, input: unknown): unknown {
  if (PYTHON === undefined) {
    throw new Error(
      'no python3 with PyNaCl found: install it with `apt-get install python3-nacl` (.ci/run does)',
    );
  }
  const r = spawnSync(PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const PY_SEAL = `
import json, os, sys
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as seal
req = json.load(sys.stdin)
out = []
for n in req["sizes"]:
    k, nonce, msg, aad = os.urandom(32), os.urandom(24), os.urandom(n), os.urandom(n % 37)
    out.append({"key": k.hex(), "nonce": nonce.hex(), "msg": msg.hex(), "aad": aad.hex(),
                "sealed": seal(msg, aad, nonce, k).hex()})
print(json.dumps(out))
`;

const PY_OPEN = `
import json, sys
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt as open_
from nacl.exceptions import CryptoError
res = []
for c in json.load(sys.stdin):
    try:
        res.append(open_(bytes.fromhex(c["sealed"]), bytes.fromhex(c["aad"]), bytes.fromhex(c["nonce"]), bytes.fromhex(c["key"])).hex())
    except CryptoError:
        res.append(None)
print(json.dumps(res))
`;

const SIZES = [0, 1, 15, 16, 17, 63, 64, 65, 1000, 1024, 70_000];
const BACKENDS = [getChaChaBackend('sodium'), nobleChaChaBackend];

describe('XChaCha20-Poly1305 interop with PyNaCl (libsodium)', () => {
  it('PyNaCl seals; both backends open it and reproduce the exact bytes', () => {
    const cases = python(PY_SEAL, { sizes: SIZES }) as Array<Record<string, string>>;
    expect(cases.length).toBe(SIZES.length);
    for (const c of cases) {
      const [key, nonce, msg, aad, sealed] = [c.key!, c.nonce!, c.msg!, c.aad!, c.sealed!].map(unhex) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      for (const backend of BACKENDS) {
        expect(hex(xchacha20Poly1305Decrypt(key, nonce, sealed, aad, backend))).toBe(c.msg);
        expect(hex(xchacha20Poly1305Encrypt(key, nonce, msg, aad, backend))).toBe(c.sealed);
      }
    }
  });

  it('we seal on each backend; PyNaCl opens it, and rejects every altered copy', () => {
    const cases: Array<Record<string, string>> = [];
    const expected: Array<string | null> = [];
    for (const backend of BACKENDS) {
      for (const n of SIZES) {
        const key = randomBytes(32);
        const nonce = randomBytes(24);
        const msg = randomBytes(n);
        const aad = randomBytes(n % 29);
        const sealed = xchacha20Poly1305Encrypt(key, nonce, msg, aad, backend);
        const base = { key: hex(key), nonce: hex(nonce), aad: hex(aad) };
        cases.push({ ...base, sealed: hex(sealed) });
        expected.push(hex(msg));
        // One flipped bit in the tag, then in the first ciphertext byte (when there is one).
        const badTag = sealed.slice();
        badTag[badTag.length - 1]! ^= 0x01;
        cases.push({ ...base, sealed: hex(badTag) });
        expected.push(null);
        if (n > 0) {
          const badCt = sealed.slice();
          badCt[0]! ^= 0x80;
          cases.push({ ...base, sealed: hex(badCt) });
          expected.push(null);
        }
      }
    }
    expect(python(PY_OPEN, cases)).toEqual(expected);
  });
});
