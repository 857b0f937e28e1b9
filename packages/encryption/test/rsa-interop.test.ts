/**
 * The RSA formats (0x02 hybrid, 0x04 direct) are implementable from docs/FORMAT.md alone: Python's
 * `cryptography` opens our envelopes with the private key, and seals envelopes we open.
 */
import { utf8Decode } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { pythonAvailable, runPython } from './support/python.js';
import { codeOf, jsonPayload, makeEncryption, rsaPair } from './support/setup.js';

const PY_COMMON = `import sys, json, zlib, os, hashlib
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
c = json.load(sys.stdin)
priv = serialization.load_pem_private_key(c['priv'].encode(), None)
pub = priv.public_key()
spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
key_id = hashlib.sha256(spki).digest()[:4]
def oaep(label=None):
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
`;

describe('RSA envelopes interoperate with Python cryptography', () => {
  it('Python opens our 0x04 and 0x02 envelopes (with context; never compressed)', async () => {
    if (!pythonAvailable()) return;
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const big = jsonPayload(5000);
    const cases = [
      { data: 'short secret', context: 'orders->partner' },
      { data: 'short, no context', context: '' },
      { data: big, context: 'orders->partner' }, // hybrid, compressible, yet never compressed
      { data: 'z'.repeat(300), context: '' }, // hybrid, below the compression threshold
    ];
    const envelopes = await Promise.all(
      cases.map(async (c) =>
        Buffer.from(await enc.encryptFor(publicKeyPem, c.data, { context: c.context })).toString('hex'),
      ),
    );
    const out = runPython<string[]>(
      `${PY_COMMON}
res = []
for env_hex, ctx in zip(c['envelopes'], c['contexts']):
    env = bytes.fromhex(env_hex)
    header, aad = env[:7], env[:7] + ctx.encode()
    assert env[0] == 1 and env[3:7] == key_id, 'header'
    if env[1] == 4:
        payload = priv.decrypt(env[7:], oaep(aad))
    else:
        assert env[1] == 2
        w = int.from_bytes(env[7:9], 'big')
        data_key = priv.decrypt(env[9:9 + w], oaep())
        nonce = env[9 + w:21 + w]
        payload = AESGCM(data_key).decrypt(nonce, env[21 + w:], aad)
    assert env[2] == 0, 'RSA envelopes never set a flag'
    res.append(payload.decode())
print(json.dumps(res))`,
      { priv: privateKeyPem, envelopes, contexts: cases.map((c) => c.context) },
    );
    expect(out).toEqual(cases.map((c) => c.data));
  });

  it('we open 0x04 and 0x02 envelopes that Python sealed from the spec', async () => {
    if (!pythonAvailable()) return;
    const enc = await makeEncryption();
    const { privateKeyPem } = await rsaPair();
    const sealed = runPython<{ direct: string; hybrid: string; compressed: string }>(
      `${PY_COMMON}
ctx = c['context'].encode()
h4 = bytes([1, 4, 0]) + key_id
direct = h4 + pub.encrypt(b'sealed by python', oaep(h4 + ctx))
def hybrid(flags, payload):
    h2 = bytes([1, 2, flags]) + key_id
    data_key, nonce = os.urandom(32), os.urandom(12)
    wrapped = pub.encrypt(data_key, oaep())
    body = AESGCM(data_key).encrypt(nonce, payload, h2 + ctx)
    return h2 + len(wrapped).to_bytes(2, 'big') + wrapped + nonce + body
print(json.dumps({'direct': direct.hex(), 'hybrid': hybrid(0, c['big'].encode()).hex(),
                  'compressed': hybrid(1, zlib.compress(c['big'].encode(), 6)).hex()}))`,
      { priv: privateKeyPem, context: 'partner->orders', big: jsonPayload(3000) },
    );
    const open = async (hex: string) =>
      utf8Decode(
        await enc.decryptWith(privateKeyPem, Buffer.from(hex, 'hex'), { context: 'partner->orders' }),
      );
    expect(await open(sealed.direct)).toBe('sealed by python');
    expect(await open(sealed.hybrid)).toBe(jsonPayload(3000));
    // A valid envelope with the compressed flag set, as any public-key holder can seal: refused, not inflated.
    expect(await codeOf(open(sealed.compressed))).toBe('ERR_TOKEN_MALFORMED');
  });
});
