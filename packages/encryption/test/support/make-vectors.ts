/**
 * Generates the test vectors printed in docs/FORMAT.md (run once: `npx tsx test/support/make-vectors.ts`).
 * The vectors test (test/format-vectors.test.ts) re-derives every value from the document, so this script
 * is only a convenience for writing the doc, never a source of truth.
 */
import { compress } from '@mesh/compression';
import {
  aesGcmEncrypt,
  Fernet,
  generateRsaKeyPair,
  importRsaPublicKey,
  rsaKeyId,
  rsaOaepEncrypt,
  utf8Encode,
} from '@mesh/crypto-core';
import {
  EnvelopeAlgorithm,
  envelopeAad,
  FLAG_COMPRESSED,
  sealGcmEnvelope,
  writeHeader,
} from '../../src/envelope.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const seq = (start: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

const key = seq(0x00, 32);
const nonce = seq(0xa0, 12);
const keyId = 0x0a0b0c0d;
const out: unknown[] = [];

for (const [name, plaintext, context, compressed] of [
  ['gcm-no-context', 'hello, mesh', '', false],
  ['gcm-context', 'hello, mesh', 'orders->payments', false],
  ['gcm-compressed', '{"sku":"A-1","qty":2},'.repeat(8), 'orders->audit', true],
] as const) {
  const pt = utf8Encode(plaintext);
  const payload = compressed ? compress(pt, { level: 6 }) : pt;
  const env = sealGcmEnvelope(
    key,
    keyId,
    compressed ? FLAG_COMPRESSED : 0,
    payload,
    context ? utf8Encode(context) : undefined,
    nonce,
  );
  out.push({
    name,
    algorithm: 1,
    key: hex(key),
    keyId,
    nonce: hex(nonce),
    context,
    plaintext,
    ...(compressed ? { zlibLevel: 6, payload: hex(payload) } : {}),
    envelope: hex(env),
  });
}

const pair = await generateRsaKeyPair(2048);
const pub = importRsaPublicKey(pair.publicKeyPem);
// direct 0x04
{
  const context = 'orders->partner';
  const header = new Uint8Array(7);
  writeHeader(header, 0, EnvelopeAlgorithm.RSA_OAEP_SHA256, 0, rsaKeyId(pub));
  const block = rsaOaepEncrypt(pub, utf8Encode('short secret'), {
    label: envelopeAad(header, utf8Encode(context)),
  });
  out.push({
    name: 'rsa-direct',
    algorithm: 4,
    context,
    plaintext: 'short secret',
    envelope: hex(header) + hex(block),
  });
}
// hybrid 0x02
{
  const context = 'orders->partner';
  const dataKey = seq(0x40, 32);
  const plaintext = 'x'.repeat(300);
  const wrapped = rsaOaepEncrypt(pub, dataKey);
  const head = new Uint8Array(9);
  writeHeader(head, 0, EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM, 0, rsaKeyId(pub));
  head[7] = wrapped.length >> 8;
  head[8] = wrapped.length & 0xff;
  const ct = aesGcmEncrypt(
    dataKey,
    nonce,
    utf8Encode(plaintext),
    envelopeAad(head.subarray(0, 7), utf8Encode(context)),
  );
  out.push({
    name: 'hybrid',
    algorithm: 2,
    context,
    plaintext,
    dataKey: hex(dataKey),
    nonce: hex(nonce),
    envelope: hex(head) + hex(wrapped) + hex(nonce) + hex(ct),
  });
}
// Fernet
{
  const fkey = Buffer.from(seq(0x60, 32)).toString('base64url') + '=';
  const iv = seq(0xc0, 16);
  const token = new Fernet(fkey).encrypt(utf8Encode('hello, python'), { iv, now: 1_700_000_000 });
  out.push({
    name: 'fernet',
    key: fkey,
    iv: hex(iv),
    timestamp: 1_700_000_000,
    plaintext: 'hello, python',
    token,
  });
}
console.log(pair.privateKeyPem);
console.log(pair.publicKeyPem);
for (const v of out) console.log(JSON.stringify(v, null, 2));
