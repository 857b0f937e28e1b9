/**
 * One context rule for every entry point: the stream factories apply the service's `requireContext` and its
 * default `context` exactly as `encrypt`/`decrypt` do (the same code decides), and take the same `service`
 * option. Before, a stream of a service that requires a context could be sealed without one, and a service's
 * default context was not bound into its streams.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Encryption, StreamOptions } from '../src/index.js';
import { codeOf, makeEncryption, syncCodeOf } from './support/setup.js';

async function run(stream: NodeJS.ReadWriteStream, input: Uint8Array): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Uint8Array) => out.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  Readable.from([input]).pipe(stream as unknown as NodeJS.WritableStream);
  await done;
  return Uint8Array.from(Buffer.concat(out));
}

const factories = (enc: Encryption) => [
  (o?: StreamOptions) => enc.encryptStream(o),
  (o?: StreamOptions) => enc.decryptStream(o),
  (o?: StreamOptions) => enc.encryptWebStream(o),
  (o?: StreamOptions) => enc.decryptWebStream(o),
];

describe('streams follow the service context rules of encrypt/decrypt', () => {
  it('requireContext: refused without a context, for the configured service and for options.service', async () => {
    const enc = await makeEncryption({
      services: { orders: { requireContext: true }, strict: { requireContext: true }, open: {} },
    });
    // encrypt() is the reference behaviour.
    expect(await codeOf(enc.encrypt('x'))).toBe('ERR_INVALID_INPUT');
    expect(await codeOf(enc.encrypt('x', { service: 'strict' }))).toBe('ERR_INVALID_INPUT');
    for (const make of factories(enc)) {
      expect(syncCodeOf(() => make())).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => make({ context: '' }))).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => make({ service: 'strict' }))).toBe('ERR_INVALID_INPUT');
      expect(syncCodeOf(() => make({ service: 'open' }))).toBe('returned');
      expect(syncCodeOf(() => make({ context: 'tenant-7' }))).toBe('returned');
      expect(syncCodeOf(() => make({ service: '' }))).toBe('ERR_INVALID_INPUT');
    }
  });

  it("a service's default context is bound into its streams as into its envelopes", async () => {
    const enc = await makeEncryption({ services: { orders: { context: 'tenant-7' } } });
    const data = new Uint8Array(5000).fill(0x42);
    const sealed = await run(enc.encryptStream(), data); // no context given: the service default applies
    expect(
      Buffer.from(await run(enc.decryptStream({ context: 'tenant-7' }), sealed)).equals(Buffer.from(data)),
    ).toBe(true);
    expect(Buffer.from(await run(enc.decryptStream(), sealed)).equals(Buffer.from(data))).toBe(true);
    // Bound to 'tenant-7', so another service without that default (context '') cannot open it.
    await expect(run(enc.decryptStream({ service: 'other' }), sealed)).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    // Same rule as the envelope: encrypt() without context also binds 'tenant-7'.
    expect(await enc.decryptToString(await enc.encrypt('x'), { context: 'tenant-7' })).toBe('x');
  });
});
