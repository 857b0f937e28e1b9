/**
 * The scanner's self-test: the same scanner every canary test uses must find a secret put into an error in
 * each way a leak can happen (message, `cause` chain, enumerable, hidden and symbol properties, an
 * AggregateError, a byte-valued property, a log line, a warning), in each encoding (raw, hex with and without
 * separators, base64 and base64url at every alignment, decimal lists, escapes, a 10-character quote), and in
 * a real operation wrapped by a deliberately leaky wrapper; and it must find nothing in clean errors of the
 * same operations. If it could not fail, the canary tests would prove nothing.
 */
import { inspect } from 'node:util';
import { createEncryption } from '@mesh/encryption';
import { KeyManager, MemoryKeyStore } from '@mesh/keys';
import { describe, expect, it } from 'vitest';
import { Canaries, Capture, expectClean, expectPrintsClean, findIn, Probe } from './scanner.js';

const canaries = new Canaries();
const key = canaries.bytes('self-test key');
const passphrase = canaries.text('self-test passphrase');
const hex = Buffer.from(key).toString('hex');

/** The labels of the secrets found in everything `value` exposes. */
const found = (value: unknown): string[] => [
  ...new Set(findIn(canaries, 'self-test', value).map((f) => f.secret)),
];

describe('the scanner finds a secret in every encoding', () => {
  const within = (prefix: number) => Buffer.concat([Buffer.alloc(prefix, 0x20), key, Buffer.alloc(5, 0x21)]);
  const encodings: Array<[string, string]> = [
    ['raw latin1', Buffer.from(key).toString('latin1')],
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
    ['spaced hex (a Buffer printed)', inspect(Buffer.from(key))],
    ['colon hex', hex.match(/../g)!.join(':')],
    ['base64', Buffer.from(key).toString('base64')],
    ['base64url', Buffer.from(key).toString('base64url')],
    ['base64 inside a longer buffer (offset 1)', within(1).toString('base64')],
    ['base64url inside a longer buffer (offset 2)', within(2).toString('base64url')],
    ['decimal list (a Uint8Array printed)', inspect(key, { maxArrayLength: Number.POSITIVE_INFINITY })],
    ['decimal list (JSON of a Buffer)', JSON.stringify(Buffer.from(key))],
    ['escapes (a binary string printed)', inspect(Buffer.from(key).toString('latin1'))],
    ['a 10-character quote of the hex', `Unexpected token 'a', "${hex.slice(0, 10)}"... is not valid JSON`],
    ['passphrase as text', `wrong passphrase ${passphrase}`],
    ['passphrase in hex', Buffer.from(passphrase).toString('hex')],
    ['passphrase in base64', Buffer.from(passphrase).toString('base64')],
    ['16 bytes from the middle, base64', Buffer.from(key.subarray(9, 25)).toString('base64')],
  ];
  for (const [encoding, text] of encodings) {
    it(encoding, () => {
      expect(found(new Error(`failed: ${text}`)).length, text).toBeGreaterThan(0);
    });
  }
});

describe('the scanner finds a secret wherever an error carries it', () => {
  it('message, cause chain, enumerable, hidden and symbol properties, AggregateError, byte properties', () => {
    const deep = new Error('outer', { cause: new Error('middle', { cause: new Error(`inner ${hex}`) }) });
    const enumerable = Object.assign(new Error('x'), { detail: { nested: [{ key: hex }] } });
    const hidden = new Error('x');
    Object.defineProperty(hidden, 'secret', { value: passphrase, enumerable: false });
    const symbol = Object.assign(new Error('x'), { [Symbol('k')]: Buffer.from(key).toString('base64') });
    const aggregate = new AggregateError([new Error('a'), new Error(`b ${passphrase}`)], 'both');
    const bytes = Object.assign(new Error('x'), { material: Uint8Array.from(key) });
    const causeNotError = new Error('x', { cause: { response: { body: hex } } });
    for (const [what, error] of Object.entries({
      deep,
      enumerable,
      hidden,
      symbol,
      aggregate,
      bytes,
      causeNotError,
    })) {
      expect(found(error).length, what).toBeGreaterThan(0);
    }
  });

  it('log lines and process warnings captured while an operation runs', () => {
    const capture = new Capture().start();
    console.warn('retrying with', { key: Buffer.from(key) });
    process.emitWarning(`keyring fallback ${passphrase}`, { code: 'X' });
    const lines = capture.stop();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(findIn(canaries, 'log', ...lines).map((f) => f.secret)).toEqual(
      expect.arrayContaining(['self-test key', 'self-test passphrase']),
    );
  });

  it('an object that prints what it holds', () => {
    const holder = { id: 7 };
    Object.defineProperty(holder, 'material', { value: Uint8Array.from(key), enumerable: false });
    expect(() => expectPrintsClean(canaries, 'holder', holder)).toThrow(/self-test key/);
  });
});

describe('the scanner fails a real operation behind a deliberately leaky wrapper, and passes the clean one', () => {
  it('a wrong-KEK failure: clean as the library throws it, caught when a wrapper adds the KEK', async () => {
    const store = new MemoryKeyStore();
    await (await KeyManager.open({ store, kek: { key } })).close();
    const wrongKek = canaries.bytes('self-test wrong KEK');
    const probe = new Probe(canaries);
    // The library's own error: typed and clean.
    await probe.fails('open with a wrong KEK', () => KeyManager.open({ store, kek: { key: wrongKek } }));
    // The same failure through a wrapper that "helpfully" puts the KEK into its message, its cause and a field.
    const leaky = async () => {
      try {
        return await KeyManager.open({ store, kek: { key: wrongKek } });
      } catch (error) {
        throw Object.assign(
          new Error(`could not open keyring with KEK ${Buffer.from(wrongKek).toString('hex')}`),
          {
            code: (error as { code: string }).code,
            [Symbol.for('mesh.error')]: true,
          },
        );
      }
    };
    await expect(probe.fails('leaky wrapper', leaky)).rejects.toThrow(/self-test wrong KEK/);
    const leakyCause = async () => {
      try {
        await KeyManager.open({ store, kek: { key: wrongKek } });
      } catch (error) {
        (error as { kek?: unknown }).kek = { key: wrongKek };
        throw error;
      }
    };
    await expect(probe.fails('leaky property', leakyCause)).rejects.toThrow(/self-test wrong KEK/);
  });

  it('a facade decryption that logs its plaintext is caught through the console capture', async () => {
    const plaintext = canaries.text('self-test plaintext', 40);
    const enc = await createEncryption({ service: 'self-test' });
    try {
      const sealed = await enc.encrypt(plaintext);
      const probe = new Probe(canaries);
      await probe.succeeds('decrypt', () => enc.decryptToString(sealed)); // clean: returns it, logs nothing
      const logging = async () => {
        const text = await enc.decryptToString(sealed);
        console.debug('decrypted', text);
        return text;
      };
      await expect(probe.succeeds('decrypt and log', logging)).rejects.toThrow(/self-test plaintext/);
    } finally {
      await enc.close();
    }
  });

  it('finds nothing in unrelated text (no false positives from hex, base64 or numbers)', () => {
    const noise = [
      'decryption failed (wrong key or context, or the data was altered)',
      inspect(Buffer.from('00112233445566778899aabbccddeeff', 'hex')),
      Buffer.from('an unrelated value of some length').toString('base64'),
      inspect(new Uint8Array(64).map((_, i) => i)),
      new Error('x').stack!,
    ];
    expectClean(canaries, 'noise', ...noise);
  });
});
