/**
 * docs/FORMAT.md "Padding (flag bit1)" is executable: its vectors (made with Python `cryptography` and PyNaCl
 * from the text) are sealed here byte for byte where they are deterministic, and every one is opened, through
 * the low-level codecs and through the facade. Python re-derives the GCM ones at test time as well.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CompressionLevel, compress, decompress } from '@mesh/compression';
import {
  aesGcmEncrypt,
  importRsaPrivateKey,
  rsaKeyId,
  rsaOaepDecrypt,
  utf8Decode,
  utf8Encode,
} from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { openWithPrivateKey } from '../src/asymmetric.js';
import { envelopeAad, openGcmEnvelope, readHeader, sealPaddedGcmEnvelope } from '../src/envelope.js';
import { openXChaChaEnvelope, sealPaddedXChaChaEnvelope } from '../src/envelope-xchacha.js';
import { inspect } from '../src/inspect.js';
import { type PaddingPolicy, paddedLength, stripPadding, unpaddedLength } from '../src/padding.js';
import { concat, decryptWith, encryptWith, pinnedKeyring } from './stream-fixtures.js';
import { pythonAvailable, runPython } from './support/python.js';
import { makeEncryption } from './support/setup.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/FORMAT.md', import.meta.url)), 'utf8');
const section = doc.slice(doc.indexOf('## Padding (flag bit1)'));
const vectors = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (m) => JSON.parse(m[1]!) as Record<string, unknown>,
);
// The throw-away RSA key printed in the RSA section.
const privatePem = /-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/.exec(doc)![0];

interface Vector {
  name: string;
  key: string;
  keyId: number;
  nonce: string;
  context: string;
  padding: PaddingPolicy;
  plaintext?: string;
  plaintextRepeat?: [string, number];
  zlibLevel?: CompressionLevel;
  payload?: string;
  paddedPayload?: string;
  paddedPayloadLength?: number;
  dataKey?: string;
  envelope: string;
  salt: string;
  noncePrefix: string;
  segmentSize: number;
  header: string;
  cases: { plaintext: string; stream: string }[];
}
const byName = (name: string): Vector => {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`vector ${name} missing from docs/FORMAT.md "Padding (flag bit1)"`);
  return v as unknown as Vector;
};
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const plaintextOf = (v: Vector): string => v.plaintext ?? v.plaintextRepeat![0].repeat(v.plaintextRepeat![1]);

describe('docs/FORMAT.md padding vectors', () => {
  it('holds the documented vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual([
      'gcm-padded',
      'gcm-compressed-padded',
      'xchacha-padded',
      'rsa-direct-padded',
      'hybrid-padded',
      'stream-padded',
    ]);
  });

  for (const name of ['gcm-padded', 'gcm-compressed-padded', 'xchacha-padded']) {
    it(`${name}: the padded payload follows the policy, the envelope re-derives byte for byte and opens`, () => {
      const v = byName(name);
      const context = utf8Encode(v.context);
      const plaintext = utf8Encode(plaintextOf(v));
      const payload = v.zlibLevel === undefined ? plaintext : compress(plaintext, { level: v.zlibLevel });
      if (v.payload !== undefined) expect(toHex(payload)).toBe(v.payload);
      const padded = paddedLength(v.padding, payload.length);
      expect(padded).toBe(v.paddedPayload!.length / 2);
      const flags = v.zlibLevel === undefined ? 0x02 : 0x03;
      const seal = name.startsWith('xchacha') ? sealPaddedXChaChaEnvelope : sealPaddedGcmEnvelope;
      const envelope = seal(hex(v.key), v.keyId, flags, payload, padded, context, hex(v.nonce));
      expect(toHex(envelope)).toBe(v.envelope);
      expect(readHeader(envelope)).toMatchObject({ flags, padded: true, compressed: flags === 0x03 });
      expect(inspect(envelope)).toMatchObject({ padded: true, compressed: flags === 0x03 });
      const open = name.startsWith('xchacha') ? openXChaChaEnvelope : openGcmEnvelope;
      const opened = open(hex(v.key), hex(v.envelope), context);
      expect(toHex(opened)).toBe(v.paddedPayload);
      const stripped = stripPadding(opened);
      expect(toHex(stripped)).toBe(toHex(payload));
      const text = flags === 0x03 ? decompress(stripped, { maxInflatedBytes: 1 << 20 }) : stripped;
      expect(utf8Decode(text)).toBe(plaintextOf(v));
    });
  }

  it('GCM padded vectors: Python cryptography seals the same bytes from the padded payload', () => {
    if (!pythonAvailable()) return;
    const cases = ['gcm-padded', 'gcm-compressed-padded'].map((n) => {
      const v = byName(n);
      return {
        key: v.key,
        nonce: v.nonce,
        padded: v.paddedPayload,
        context: v.context,
        envelope: v.envelope,
      };
    });
    const out = runPython<string[]>(
      `import sys, json
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
res = []
for c in json.load(sys.stdin):
    header = bytes.fromhex(c['envelope'])[:7]
    nonce = bytes.fromhex(c['nonce'])
    res.append((header + nonce + AESGCM(bytes.fromhex(c['key'])).encrypt(nonce, bytes.fromhex(c['padded']), header + c['context'].encode())).hex())
print(json.dumps(res))`,
      cases,
    );
    expect(out).toEqual(cases.map((c) => c.envelope));
  });

  it('rsa-direct-padded (0x04): the OAEP message is the padded payload; decryptWith returns the plaintext', async () => {
    const v = byName('rsa-direct-padded');
    const priv = importRsaPrivateKey(privatePem);
    const env = hex(v.envelope);
    const header = readHeader(env);
    expect(header).toMatchObject({ algorithm: 0x04, flags: 0x02, keyId: rsaKeyId(priv.publicKey) });
    expect(paddedLength(v.padding, v.plaintext!.length)).toBe(v.paddedPayload!.length / 2);
    const label = envelopeAad(env.subarray(0, 7), utf8Encode(v.context));
    expect(toHex(rsaOaepDecrypt(priv, env.subarray(7), { label }))).toBe(v.paddedPayload);
    expect(toHex(openWithPrivateKey(priv, env, header, utf8Encode(v.context)))).toBe(v.paddedPayload);
    // A reader needs no policy of its own.
    const enc = await makeEncryption();
    expect(utf8Decode(await enc.decryptWith(privatePem, env, { context: v.context }))).toBe(v.plaintext);
  });

  it('hybrid-padded (0x02): the GCM part re-derives from dataKey, nonce and the padded payload', async () => {
    const v = byName('hybrid-padded');
    const priv = importRsaPrivateKey(privatePem);
    const env = hex(v.envelope);
    expect(readHeader(env)).toMatchObject({ algorithm: 0x02, flags: 0x02 });
    const w = (env[7]! << 8) | env[8]!;
    expect(toHex(rsaOaepDecrypt(priv, env.subarray(9, 9 + w)))).toBe(v.dataKey);
    expect(toHex(env.subarray(9 + w, 21 + w))).toBe(v.nonce);
    const plaintext = utf8Encode(plaintextOf(v));
    const padded = new Uint8Array(paddedLength(v.padding, plaintext.length));
    expect(padded.length).toBe(v.paddedPayloadLength);
    padded.set(plaintext);
    padded[plaintext.length] = 0x80;
    const gcm = aesGcmEncrypt(
      hex(v.dataKey!),
      hex(v.nonce),
      padded,
      envelopeAad(env.subarray(0, 7), utf8Encode(v.context)),
    );
    expect(toHex(env.subarray(21 + w))).toBe(toHex(gcm));
    expect(unpaddedLength(padded)).toBe(plaintext.length);
    const enc = await makeEncryption();
    expect(utf8Decode(await enc.decryptWith(privatePem, env, { context: v.context }))).toBe(plaintextOf(v));
  });

  it('stream-padded (0x03): both flavours write each stream byte for byte and read it back', async () => {
    const v = byName('stream-padded');
    const ring = pinnedKeyring(hex(v.key), v.keyId);
    const deps = { ...ring.deps, padding: v.padding };
    const hooks = { salt: hex(v.salt), noncePrefix: hex(v.noncePrefix) };
    const options = { segmentSize: v.segmentSize, context: v.context };
    for (const c of v.cases) {
      const plaintext = utf8Encode(c.plaintext);
      expect(c.stream.startsWith(v.header)).toBe(true);
      for (const flavour of ['node', 'web'] as const) {
        const sealed = await encryptWith(flavour, deps, [plaintext], options, hooks);
        expect(toHex(sealed), `${flavour} '${c.plaintext}'`).toBe(c.stream);
        // The reader follows the header; a deps object without a policy reads it the same.
        const opened = await decryptWith(flavour, ring.deps, [hex(c.stream)], { context: v.context });
        expect(utf8Decode(concat([opened]))).toBe(c.plaintext);
      }
    }
  });
});
