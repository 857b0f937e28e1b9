/**
 * The memory contract of the facade: every array it returns or emits owns its whole `ArrayBuffer`
 * (byteOffset 0, `buffer.byteLength === length`), so `new Uint8Array(out.buffer)` shows `out` and nothing
 * else (no other call's plaintext, no key); and string plaintexts are never encoded into Node's shared Buffer
 * pool. Every public method that returns bytes is exercised, with a canary plaintext sealed just before and
 * (first test) a canary KEK sealing the keyring.
 */
import { Readable } from 'node:stream';
import { importRsaPrivateKey } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { jsonPayload, makeEncryption, rsaPair } from './support/setup.js';

const CANARY_TEXT = 'CANARY-plaintext-c0ffee-do-not-leak';
const CANARY = new TextEncoder().encode(CANARY_TEXT);
/** A canary KEK: recognisable bytes that must never show up behind a returned array. */
const CANARY_KEK = Uint8Array.from({ length: 32 }, (_, i) => 0xc0 + i);

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function expectOwned(name: string, bytes: Uint8Array, canary: Uint8Array | null = CANARY): void {
  expect(bytes, name).toBeInstanceOf(Uint8Array);
  expect(bytes.byteOffset, `${name}: byteOffset`).toBe(0);
  expect(bytes.buffer.byteLength, `${name}: buffer.byteLength`).toBe(bytes.length);
  const whole = new Uint8Array(bytes.buffer);
  if (canary !== null) expect(indexOf(whole, canary), `${name}: canary in backing store`).toBe(-1);
  expect(indexOf(whole, CANARY_KEK), `${name}: KEK in backing store`).toBe(-1);
}

function expectPoolClean(name: string): void {
  const pool = new Uint8Array(Buffer.allocUnsafe(1).buffer);
  expect(indexOf(pool, CANARY), `${name}: canary plaintext in the Buffer pool`).toBe(-1);
}

async function nodeChunks(
  stream: NodeJS.ReadWriteStream,
  input: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Uint8Array) => out.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from(input).pipe(stream as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

async function webChunks(
  stream: TransformStream<Uint8Array, Uint8Array>,
  input: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      for (const i of input) c.enqueue(i);
      c.close();
    },
  }).pipeThrough(stream);
  for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) out.push(chunk);
  return out;
}

describe('facade outputs own their buffer', () => {
  it('encrypt, decrypt, rewrap, rewrapMany (plain and compressed)', async () => {
    const enc = await makeEncryption({ kek: { key: CANARY_KEK.slice() } });
    await enc.encrypt(CANARY_TEXT); // a canary plaintext just went through the facade
    expectPoolClean('encrypt(string)');
    const small = await enc.encrypt('hello');
    expectOwned('encrypt', small);
    expectOwned('encrypt(bytes)', await enc.encrypt(Uint8Array.of(1, 2, 3)));
    expectOwned('decrypt', await enc.decrypt(small));
    expectOwned('decrypt (text)', await enc.decrypt(await enc.encryptToString('hello')));
    const big = await enc.encrypt(jsonPayload(5000), { context: 'ctx' });
    expect(enc.inspect(big).compressed).toBe(true);
    expectOwned('encrypt (compressed)', big);
    expectOwned('decrypt (compressed)', await enc.decrypt(big, { context: 'ctx' }));
    const big40k = await enc.encrypt(jsonPayload(40_000));
    expectOwned('decrypt (compressed, 40 KB)', await enc.decrypt(big40k));
    expectOwned('rewrap', await enc.rewrap(small));
    expectOwned('rewrap (compressed)', await enc.rewrap(big, { context: 'ctx' }));
    const [result] = await enc.rewrapMany([small]);
    expect(result?.ok).toBe(true);
    expectOwned('rewrapMany', (result as { ciphertext: Uint8Array }).ciphertext);
    expectOwned('decrypt (canary itself)', await enc.decrypt(await enc.encrypt(CANARY_TEXT)), null);
    expectPoolClean('decrypt');
  });

  it('Fernet: decrypt, fernet.decrypt, rewrap of raw and ASCII token bytes', async () => {
    const enc = await makeEncryption();
    await enc.fernet.encrypt(CANARY_TEXT);
    expectPoolClean('fernet.encrypt(string)');
    for (const length of [0, 5, 16, 100]) {
      const token = await enc.fernet.encrypt('y'.repeat(length));
      expectOwned(`decrypt(Fernet token) ${length}`, await enc.decrypt(token));
      expectOwned(`fernet.decrypt ${length}`, await enc.fernet.decrypt(token));
    }
    const token = await enc.fernet.encrypt('hello');
    const raw = Uint8Array.from(Buffer.from(token, 'base64url'));
    expectOwned('rewrap(raw Fernet bytes)', await enc.rewrap(raw));
    const ascii = new TextEncoder().encode(token);
    expectOwned('rewrap(ASCII Fernet bytes)', await enc.rewrap(ascii));
  });

  it('encryptFor / decryptWith (direct and hybrid)', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    await enc.encryptFor(publicKeyPem, CANARY_TEXT);
    expectPoolClean('encryptFor(string)');
    const direct = await enc.encryptFor(publicKeyPem, 'hello');
    expectOwned('encryptFor (direct)', direct);
    expectOwned('decryptWith (direct)', await enc.decryptWith(privateKeyPem, direct));
    const hybrid = await enc.encryptFor(publicKeyPem, jsonPayload(5000));
    expectOwned('encryptFor (hybrid)', hybrid);
    expectOwned('decryptWith (hybrid)', await enc.decryptWith(importRsaPrivateKey(privateKeyPem), hybrid));
  });

  it('stream chunks (Node and WHATWG)', async () => {
    const enc = await makeEncryption();
    const plain = new Uint8Array(70_000).fill(0x61);
    const input = [plain.subarray(0, 100), plain.subarray(100, 40_000), plain.subarray(40_000)];
    const sealed = await nodeChunks(enc.encryptStream({ segmentSize: 16_384 }), input);
    for (const [i, c] of sealed.entries()) expectOwned(`encryptStream chunk ${i}`, c);
    const joined = Buffer.concat(sealed);
    const pieces = [joined.subarray(0, 10), joined.subarray(10, 30_000), joined.subarray(30_000)];
    for (const [i, c] of (await nodeChunks(enc.decryptStream(), pieces)).entries())
      expectOwned(`decryptStream chunk ${i}`, c);
    const webSealed = await webChunks(enc.encryptWebStream({ segmentSize: 16_384 }), input);
    for (const [i, c] of webSealed.entries()) expectOwned(`encryptWebStream chunk ${i}`, c);
    for (const [i, c] of (await webChunks(enc.decryptWebStream(), pieces)).entries())
      expectOwned(`decryptWebStream chunk ${i}`, c);
  });
});
