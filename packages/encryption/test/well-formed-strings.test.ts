/**
 * Distinct contexts must never give the same associated data. `TextEncoder` turns every lone surrogate into
 * U+FFFD, so without a check an envelope sealed for 'tenant-\uD800' opened under 'tenant-\uDFFF' and
 * 'tenant-\uFFFD' (envelopes and streams alike), and plaintext strings lost such characters silently. Every
 * string that becomes bytes (context, plaintext, service name, configured default context) must be
 * well-formed UTF-16, else ERR_INVALID_INPUT (ERR_CONFIG_INVALID in the configuration).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createEncryption } from '../src/index.js';
import { codeOf, makeEncryption, rsaPair, syncCodeOf } from './support/setup.js';

const LONE = ['tenant-\uD800', 'tenant-\uDFFF', '\uDC00', 'x\uD83D'];

async function drain(stream: NodeJS.ReadWriteStream, input: Uint8Array): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', () => {});
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from([input]).pipe(stream as unknown as NodeJS.WritableStream);
  await done;
}

describe('lone surrogates are refused wherever a string becomes bytes', () => {
  it('a context with a lone surrogate is refused by encrypt, decrypt, rewrap, encryptFor, decryptWith', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem, privateKeyPem } = await rsaPair();
    const sealed = await enc.encrypt('hello', { context: 'tenant-\uFFFD' });
    const rsa = await enc.encryptFor(publicKeyPem, 'hello', { context: 'tenant-\uFFFD' });
    for (const context of LONE) {
      expect(await codeOf(enc.encrypt('hello', { context })), context).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.decrypt(sealed, { context })), context).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.rewrap(sealed, { context })), context).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.encryptFor(publicKeyPem, 'x', { context })), context).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.decryptWith(privateKeyPem, rsa, { context })), context).toBe(
        'ERR_INVALID_INPUT',
      );
    }
    // U+FFFD itself is a well-formed character: it still works, and only under itself.
    expect(await enc.decryptToString(sealed, { context: 'tenant-\uFFFD' })).toBe('hello');
  });

  it('plaintext strings with a lone surrogate are refused, not silently altered', async () => {
    const enc = await makeEncryption();
    const { publicKeyPem } = await rsaPair();
    for (const text of LONE) {
      expect(await codeOf(enc.encrypt(text))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.encryptToString(text))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.fernet.encrypt(text))).toBe('ERR_INVALID_INPUT');
      expect(await codeOf(enc.encryptFor(publicKeyPem, text))).toBe('ERR_INVALID_INPUT');
    }
    expect(await enc.decryptToString(await enc.encrypt('\uD83D\uDE00'))).toBe('\uD83D\uDE00');
  });

  it('streams refuse such a context at once (Node and WHATWG)', async () => {
    const enc = await makeEncryption();
    for (const context of LONE) {
      for (const make of [
        () => enc.encryptStream({ context }),
        () => enc.decryptStream({ context }),
        () => enc.encryptWebStream({ context }),
        () => enc.decryptWebStream({ context }),
      ]) {
        expect(syncCodeOf(make), context).toBe('ERR_INVALID_INPUT');
      }
    }
    // A stream sealed for 'tenant-\uFFFD' still opens under exactly that context.
    const chunks: Uint8Array[] = [];
    const sealer = enc.encryptStream({ context: 'tenant-\uFFFD' });
    sealer.on('data', (c: Uint8Array) => chunks.push(c));
    await drain(sealer, new Uint8Array(100));
    await drain(enc.decryptStream({ context: 'tenant-\uFFFD' }), Uint8Array.from(Buffer.concat(chunks)));
  });

  it('service names and configured contexts must be well-formed too', async () => {
    const enc = await makeEncryption();
    expect(await codeOf(enc.encrypt('x', { service: 'orders\uD800' }))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(createEncryption({ service: 'orders\uDFFF' }))).toBe('ERR_CONFIG_INVALID');
    expect(await codeOf(createEncryption({ services: { orders: { context: 'tenant-\uD800' } } }))).toBe(
      'ERR_CONFIG_INVALID',
    );
  });
});
