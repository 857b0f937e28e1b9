/**
 * The nonce/IV pool: every byte of CSPRNG output is handed out at most once, in order, is zeroed in the pool
 * as it leaves, and what callers receive never shares memory with the pool.
 */
import { describe, expect, it } from 'vitest';
import { RandomPool } from '../src/_random-pool.js';
import { aesGcmDecrypt, Fernet, forgeBackend, MAX_NONCE_LENGTH, randomNonceInto } from '../src/index.js';
import { expectCode } from './helpers.js';

/** A pool over a recording CSPRNG: `filled` is every byte it ever produced, in order. */
function recordingPool(blockSize: number) {
  const filled: number[] = [];
  const blocks: Uint8Array[] = [];
  const pool = new RandomPool(blockSize, (block) => {
    globalThis.crypto.getRandomValues(block);
    blocks.push(block);
    filled.push(...block);
  });
  return { pool, filled, blocks };
}

describe('RandomPool', () => {
  it('hands out every byte once, in order, across refills; leftovers too short for a request are dropped', () => {
    const { pool, filled } = recordingPool(64);
    const handed: number[] = [];
    const taken: number[][] = [];
    const lengths = [12, 16, 12, 12, 16, 12, 7, 30, 12, 64, 1, 16, 12];
    for (let round = 0; round < 20; round++) {
      for (const n of lengths) {
        const out = new Uint8Array(n + 3);
        pool.fill(out, 3, n);
        taken.push([...out.subarray(3)]);
        handed.push(...out.subarray(3));
        expect([...out.subarray(0, 3)]).toEqual([0, 0, 0]); // nothing written outside the range
      }
    }
    // Replay: walking the produced bytes block by block, each request takes the next `n` bytes of the
    // current block, or skips to the next block when fewer than `n` remain. No byte is used twice.
    let block = 0;
    let at = 64; // empty
    const expected: number[][] = [];
    for (let round = 0; round < 20; round++) {
      for (const n of lengths) {
        if (64 - at < n) {
          at = 0;
          block++;
        }
        expected.push(filled.slice((block - 1) * 64 + at, (block - 1) * 64 + at + n));
        at += n;
      }
    }
    expect(taken).toEqual(expected);
    expect(handed.length).toBeLessThanOrEqual(filled.length);
  });

  it('zeroes each byte in the pool as it is handed out and never returns a view of the pool', () => {
    const { pool, blocks } = recordingPool(48);
    const out = new Uint8Array(12);
    pool.fill(out, 0, 12);
    const block = blocks[0]!;
    expect([...block.subarray(0, 12)]).toEqual(new Array(12).fill(0));
    expect(block.subarray(12).some((b) => b !== 0)).toBe(true); // the rest is still fresh
    expect(out.buffer).not.toBe(block.buffer);
    pool.fill(out, 0, 12);
    pool.fill(out, 0, 12);
    pool.fill(out, 0, 12);
    expect(block.every((b) => b === 0)).toBe(true); // all 48 bytes handed out, none left in the pool
  });

  it('serves a request larger than a block straight from the CSPRNG', () => {
    const { pool, filled } = recordingPool(16);
    const out = new Uint8Array(40);
    pool.fill(out, 0, 40);
    expect([...out]).toEqual(filled.slice(0, 40));
  });
});

describe('randomNonceInto', () => {
  it('writes distinct nonces in place; validates its arguments', () => {
    const seen = new Set<string>();
    const out = new Uint8Array(20);
    for (let i = 0; i < 2000; i++) {
      randomNonceInto(out, 4, 12);
      const hex = Buffer.from(out.subarray(4, 16)).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    expect([...out.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expectCode(() => randomNonceInto(out, 10, 12), 'ERR_INVALID_INPUT');
    expectCode(() => randomNonceInto(out, -1, 12), 'ERR_INVALID_INPUT');
    expectCode(() => randomNonceInto(out, 0, 0), 'ERR_INVALID_INPUT');
    expectCode(() => randomNonceInto(new Uint8Array(300), 0, MAX_NONCE_LENGTH + 1), 'ERR_INVALID_INPUT');
    expectCode(() => randomNonceInto([] as unknown as Uint8Array, 0, 1), 'ERR_INVALID_INPUT');
  });
});

describe('messages built on pooled nonces and IVs', () => {
  it('Fernet tokens (node backend) carry distinct IVs across refills and decrypt', () => {
    const f = new Fernet(Fernet.generateKey());
    const ivs = new Set<string>();
    for (let i = 0; i < 600; i++) {
      // 600 tokens cross two 4 KiB refills of 16-byte IVs.
      const token = f.encrypt('canary plaintext');
      const raw = Buffer.from(token, 'base64url');
      ivs.add(raw.subarray(9, 25).toString('hex'));
      expect(new TextDecoder().decode(f.decrypt(token))).toBe('canary plaintext');
    }
    expect(ivs.size).toBe(600);
  });

  it('forge-backend Fernet tokens draw pooled IVs too, distinct, and interoperate with the node backend', () => {
    const key = Fernet.generateKey();
    const forge = new Fernet(key, { backend: forgeBackend });
    const node = new Fernet(key);
    const ivs = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const token = forge.encrypt(`message ${i}`);
      ivs.add(Buffer.from(token, 'base64url').subarray(9, 25).toString('hex'));
      expect(new TextDecoder().decode(node.decrypt(token))).toBe(`message ${i}`);
    }
    expect(ivs.size).toBe(300);
  });

  it('a GCM message sealed on a pooled nonce opens', async () => {
    const { aesGcmEncryptInto, randomBytes } = await import('../src/index.js');
    const key = randomBytes(32);
    const data = new TextEncoder().encode('hello');
    const message = new Uint8Array(12 + data.length + 16);
    randomNonceInto(message, 0, 12);
    aesGcmEncryptInto(key, message.subarray(0, 12), data, undefined, message, 12);
    expect(new TextDecoder().decode(aesGcmDecrypt(key, message.subarray(0, 12), message.subarray(12)))).toBe(
      'hello',
    );
  });
});
