/**
 * docs/FORMAT.md is executable: every JSON vector in it is re-derived here from its inputs (key, nonce,
 * context, plaintext), and the GCM and Fernet vectors are also re-derived by Python's `cryptography`,
 * an independent implementation.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CompressionLevel, compress } from '@mesh/compression';
import {
  aesGcmEncrypt,
  Fernet,
  importRsaPrivateKey,
  importRsaPublicKey,
  nobleChaChaBackend,
  rsaKeyId,
  rsaOaepDecrypt,
  utf8Decode,
  utf8Encode,
  xchacha20Poly1305Decrypt,
} from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { openWithPrivateKey } from '../src/asymmetric.js';
import {
  EnvelopeAlgorithm,
  envelopeAad,
  FLAG_COMPRESSED,
  openGcmEnvelope,
  readHeader,
  sealGcmEnvelope,
} from '../src/envelope.js';
import { openXChaChaEnvelope, sealXChaChaEnvelope } from '../src/envelope-xchacha.js';
import { inspect } from '../src/inspect.js';
import { pythonAvailable, runPython, runPythonWithNacl } from './support/python.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/FORMAT.md', import.meta.url)), 'utf8');
// Only the sections this package owns (everything before the streaming section).
const mine = doc.slice(0, doc.indexOf('## Streaming (0x03)'));
const vectors = [...mine.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (m) => JSON.parse(m[1]!) as Record<string, unknown>,
);
const pems = [...mine.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
/** Every field a vector of this document may have (each vector uses a subset). */
interface Vector {
  name: string;
  key: string;
  keyId: number;
  nonce: string;
  context: string;
  plaintext?: string;
  plaintextRepeat?: [string, number];
  zlibLevel?: CompressionLevel;
  payload?: string;
  envelope: string;
  dataKey: string;
  iv: string;
  timestamp: number;
  token: string;
}
const byName = (name: string): Vector => {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`vector ${name} missing from docs/FORMAT.md`);
  return v as unknown as Vector;
};
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const plaintextOf = (v: Vector): string => v.plaintext ?? v.plaintextRepeat![0].repeat(v.plaintextRepeat![1]);

describe('docs/FORMAT.md vectors', () => {
  it('holds the expected vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual([
      'gcm-no-context',
      'gcm-context',
      'gcm-compressed',
      'rsa-direct',
      'hybrid',
      'fernet',
      'xchacha-no-context',
      'xchacha-context',
      'xchacha-compressed',
    ]);
    expect(pems[0]).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  for (const name of ['gcm-no-context', 'gcm-context', 'gcm-compressed']) {
    it(`${name}: re-derives the envelope byte for byte and opens it`, () => {
      const v = byName(name);
      const plaintext = utf8Encode(plaintextOf(v));
      const context = v.context ? utf8Encode(v.context) : undefined;
      let payload = plaintext;
      let flags = 0;
      if (v.zlibLevel !== undefined) {
        payload = compress(plaintext, { level: v.zlibLevel });
        expect(toHex(payload)).toBe(v.payload);
        flags = FLAG_COMPRESSED;
      }
      const envelope = sealGcmEnvelope(hex(v.key), v.keyId, flags, payload, context, hex(v.nonce));
      expect(toHex(envelope)).toBe(v.envelope);
      const header = readHeader(envelope);
      expect(header).toMatchObject({ version: 1, algorithm: 1, keyId: v.keyId, compressed: flags === 1 });
      expect(toHex(openGcmEnvelope(hex(v.key), hex(v.envelope), context))).toBe(toHex(payload));
      expect(inspect(hex(v.envelope))).toEqual({
        format: 'envelope-v1',
        algorithm: 'aes-256-gcm',
        keyId: v.keyId,
        compressed: flags === 1,
        padded: false,
      });
    });
  }

  for (const name of ['xchacha-no-context', 'xchacha-context', 'xchacha-compressed']) {
    it(`${name}: re-derives the envelope byte for byte and opens it`, () => {
      const v = byName(name);
      const plaintext = utf8Encode(plaintextOf(v));
      const context = v.context ? utf8Encode(v.context) : undefined;
      let payload = plaintext;
      let flags = 0;
      if (v.zlibLevel !== undefined) {
        payload = compress(plaintext, { level: v.zlibLevel });
        expect(toHex(payload)).toBe(v.payload);
        flags = FLAG_COMPRESSED;
      }
      const envelope = sealXChaChaEnvelope(hex(v.key), v.keyId, flags, payload, context, hex(v.nonce));
      expect(toHex(envelope)).toBe(v.envelope);
      expect(readHeader(envelope)).toMatchObject({
        version: 1,
        algorithm: 5,
        keyId: v.keyId,
        compressed: flags === 1,
      });
      // Both backends open it (the default is sodium; noble is the pure-JavaScript one).
      expect(toHex(openXChaChaEnvelope(hex(v.key), hex(v.envelope), context))).toBe(toHex(payload));
      const env = hex(v.envelope);
      const aad = envelopeAad(env.subarray(0, 7), context);
      expect(
        toHex(
          xchacha20Poly1305Decrypt(
            hex(v.key),
            env.subarray(7, 31),
            env.subarray(31),
            aad,
            nobleChaChaBackend,
          ),
        ),
      ).toBe(toHex(payload));
      expect(inspect(env)).toEqual({
        format: 'envelope-v1',
        algorithm: 'xchacha20-poly1305',
        keyId: v.keyId,
        compressed: flags === 1,
        padded: false,
      });
    });
  }

  it('XChaCha vectors: PyNaCl (libsodium, AAD = header || context) produces the same bytes', () => {
    const cases = ['xchacha-no-context', 'xchacha-context', 'xchacha-compressed'].map((n) => {
      const v = byName(n);
      const payload = v.payload ?? toHex(utf8Encode(plaintextOf(v)));
      return { key: v.key, nonce: v.nonce, payload, context: v.context, envelope: v.envelope };
    });
    const out = runPythonWithNacl<string[]>(
      `import sys, json
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as seal
res = []
for c in json.load(sys.stdin):
    header = bytes.fromhex(c['envelope'])[:7]
    nonce = bytes.fromhex(c['nonce'])
    res.append((header + nonce + seal(bytes.fromhex(c['payload']), header + c['context'].encode(), nonce, bytes.fromhex(c['key']))).hex())
print(json.dumps(res))`,
      cases,
    );
    expect(out).toEqual(cases.map((c) => c.envelope));
  });

  it('GCM vectors: Python cryptography (AESGCM, AAD = header || context) produces the same bytes', () => {
    if (!pythonAvailable()) return;
    const cases = ['gcm-no-context', 'gcm-context', 'gcm-compressed'].map((n) => {
      const v = byName(n);
      const payload = v.payload ?? toHex(utf8Encode(plaintextOf(v)));
      return { key: v.key, nonce: v.nonce, payload, context: v.context, envelope: v.envelope };
    });
    const out = runPython<string[]>(
      `import sys, json
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
res = []
for c in json.load(sys.stdin):
    env = bytes.fromhex(c['envelope'])
    header = env[:7]
    ct = AESGCM(bytes.fromhex(c['key'])).encrypt(bytes.fromhex(c['nonce']), bytes.fromhex(c['payload']), header + c['context'].encode())
    res.append((header + bytes.fromhex(c['nonce']) + ct).hex())
print(json.dumps(res))`,
      cases,
    );
    expect(out).toEqual(cases.map((c) => c.envelope));
  });

  it('rsa-direct (0x04): key id = SHA-256(SPKI)[0..4], OAEP label = header || context, opens to the plaintext', () => {
    const v = byName('rsa-direct');
    const priv = importRsaPrivateKey(pems[0]!);
    const pub = importRsaPublicKey(pems[1]!);
    const env = hex(v.envelope);
    const header = readHeader(env);
    expect(header.algorithm).toBe(EnvelopeAlgorithm.RSA_OAEP_SHA256);
    expect(header.keyId).toBe(rsaKeyId(pub));
    expect(env.length).toBe(7 + 256);
    const label = envelopeAad(env.subarray(0, 7), utf8Encode(v.context));
    expect(utf8Decode(rsaOaepDecrypt(priv, env.subarray(7), { label }))).toBe(v.plaintext);
    expect(utf8Decode(openWithPrivateKey(priv, env, header, utf8Encode(v.context)))).toBe(v.plaintext);
  });

  it('hybrid (0x02): wrapped key opens to dataKey and the GCM part re-derives from dataKey and nonce', () => {
    const v = byName('hybrid');
    const priv = importRsaPrivateKey(pems[0]!);
    const env = hex(v.envelope);
    const header = readHeader(env);
    expect(header.algorithm).toBe(EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM);
    expect(header.keyId).toBe(rsaKeyId(priv.publicKey));
    const w = (env[7]! << 8) | env[8]!;
    expect(w).toBe(256);
    expect(toHex(rsaOaepDecrypt(priv, env.subarray(9, 9 + w)))).toBe(v.dataKey);
    expect(toHex(env.subarray(9 + w, 21 + w))).toBe(v.nonce);
    const plaintext = plaintextOf(v);
    const gcm = aesGcmEncrypt(
      hex(v.dataKey),
      hex(v.nonce),
      utf8Encode(plaintext),
      envelopeAad(env.subarray(0, 7), utf8Encode(v.context)),
    );
    expect(toHex(env.subarray(21 + w))).toBe(toHex(gcm));
    expect(utf8Decode(openWithPrivateKey(priv, env, header, utf8Encode(v.context)))).toBe(plaintext);
  });

  it('fernet: re-derives the token here and in Python', () => {
    const v = byName('fernet');
    const token = new Fernet(v.key).encrypt(utf8Encode(plaintextOf(v)), { iv: hex(v.iv), now: v.timestamp });
    expect(token).toBe(v.token);
    expect(inspect(v.token)).toEqual({
      format: 'fernet',
      algorithm: 'fernet',
      compressed: false,
      padded: false,
      timestamp: v.timestamp,
    });
    if (!pythonAvailable()) return;
    const py = runPython<{ plaintext: string; ts: number }>(
      `import sys, json
from cryptography.fernet import Fernet
c = json.load(sys.stdin)
f = Fernet(c['key'].encode())
print(json.dumps({'plaintext': f.decrypt(c['token'].encode()).decode(), 'ts': f.extract_timestamp(c['token'].encode())}))`,
      { key: v.key, token: v.token },
    );
    expect(py).toEqual({ plaintext: v.plaintext, ts: v.timestamp });
  });
});
