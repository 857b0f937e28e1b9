/**
 * Property tests (fast-check): round trips for random payloads, contexts, services and compression choices;
 * random bytes and random text never crash `decrypt` or `inspect` (always a Mesh error with a code).
 */
import { isMeshError } from '@mesh/crypto-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEncryption } from './support/setup.js';

describe('properties', () => {
  it('decrypt(encrypt(x, ctx), ctx) = x; any other context fails', async () => {
    const enc = await makeEncryption({
      compression: { thresholdBytes: 64 },
      services: { billing: { keyDerivation: true } },
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc.string({ maxLength: 2000 }).map((s) => new TextEncoder().encode(s.repeat(3))),
        ),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.constantFrom('orders', 'billing'),
        fc.boolean(),
        async (data, context, service, compress) => {
          const sealed = await enc.encrypt(data, { context, service, compress });
          expect(Buffer.from(await enc.decrypt(sealed, { context, service }))).toEqual(Buffer.from(data));
          const other = `${context ?? ''}!`;
          const failed = await enc.decrypt(sealed, { context: other, service }).then(
            () => 'resolved',
            (e: { code?: string }) => e.code,
          );
          expect(failed).toBe('ERR_DECRYPTION_FAILED');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random bytes and random text never crash decrypt or inspect', async () => {
    const enc = await makeEncryption();
    const anyInput = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.uint8Array({ minLength: 7, maxLength: 400 }).map((b) => {
        b[0] = 1; // make the header plausible so deeper checks are reached
        b[1] = (b[1]! % 4) + 1;
        b[2] = b[2]! & 1;
        return b;
      }),
      fc.string({ maxLength: 400 }),
      fc.base64String({ maxLength: 400 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_')),
    );
    await fc.assert(
      fc.asyncProperty(anyInput, async (input) => {
        const error = await enc.decrypt(input).then(
          () => undefined,
          (e: unknown) => e,
        );
        // Random input can never authenticate: it must fail, with a Mesh error.
        expect(isMeshError(error)).toBe(true);
        try {
          enc.inspect(input);
        } catch (e) {
          expect(isMeshError(e)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
