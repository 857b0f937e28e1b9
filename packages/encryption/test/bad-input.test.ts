/**
 * The bad-input table: each hostile or mistaken input gets its typed error, never a crash, a hang or an
 * allocation sized by the attacker. The same table is in README.md ("Bad input"); the last test checks that
 * every row here appears there with the same code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { base64UrlDecode, generateRsaKeyPair, isMeshError } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import type { Encryption } from '../src/index.js';
import { codeOf, jsonPayload, makeEncryption, rsaPair, syncCodeOf } from './support/setup.js';

interface Fixtures {
  enc: Encryption;
  gcm: Uint8Array;
  hybrid: Uint8Array;
  direct: Uint8Array;
  fernet: string;
  privateKeyPem: string;
  otherPrivateKeyPem: string;
}

interface Case {
  /** Row name, as in the README table. */
  name: string;
  code: string;
  /** Runs the case; returns one code per input tried (truncation rows try many). */
  run(f: Fixtures): Promise<string[]>;
}

const header = (version: number, algorithm: number, flags: number, rest = 40) =>
  Uint8Array.from([version, algorithm, flags, 0, 0, 0, 1, ...new Array(rest).fill(7)]);
const decryptCodes = async (f: Fixtures, inputs: unknown[]) =>
  Promise.all(inputs.map((i) => codeOf(f.enc.decrypt(i as Uint8Array))));
const withBytes = (base: Uint8Array, edit: (b: Uint8Array) => void) => {
  const copy = Uint8Array.from(base);
  edit(copy);
  return copy;
};

/** A hybrid envelope with its u16 wrapped-key length field set to `w`. */
const withWrappedLength = (hybrid: Uint8Array, w: number) =>
  withBytes(hybrid, (b) => {
    b[7] = w >> 8;
    b[8] = w & 0xff;
  });

/** Bytes a base64url text decodes to, or -1 when the (strict) decoder rejects it. */
function decodedLength(text: string): number {
  try {
    return base64UrlDecode(text).length;
  } catch {
    return -1;
  }
}

/** Expected code for a truncated Fernet token: malformed unless the cut leaves whole blocks (then the MAC fails). */
function fernetTruncationCode(text: string): string {
  let bytes: Uint8Array;
  try {
    bytes = base64UrlDecode(text);
  } catch {
    return 'ERR_TOKEN_MALFORMED';
  }
  return bytes.length >= 73 && (bytes.length - 57) % 16 === 0
    ? 'ERR_DECRYPTION_FAILED'
    : 'ERR_TOKEN_MALFORMED';
}

const CASES: Case[] = [
  { name: 'empty bytes', code: 'ERR_TOKEN_MALFORMED', run: (f) => decryptCodes(f, [new Uint8Array(0)]) },
  { name: 'empty string', code: 'ERR_TOKEN_MALFORMED', run: (f) => decryptCodes(f, ['']) },
  {
    name: 'one byte (0x01, 0x80, 0x00)',
    code: 'ERR_TOKEN_MALFORMED',
    run: (f) => decryptCodes(f, [Uint8Array.of(1), Uint8Array.of(0x80), Uint8Array.of(0)]),
  },
  {
    name: 'GCM envelope truncated to 1-34 bytes',
    code: 'ERR_TOKEN_MALFORMED',
    run: (f) =>
      decryptCodes(
        f,
        Array.from({ length: 34 }, (_, i) => f.gcm.subarray(0, i + 1)),
      ),
  },
  {
    name: 'GCM envelope truncated to 35 bytes .. length-1',
    code: 'ERR_DECRYPTION_FAILED',
    run: (f) =>
      decryptCodes(
        f,
        Array.from({ length: f.gcm.length - 35 }, (_, i) => f.gcm.subarray(0, 35 + i)),
      ),
  },
  {
    name: 'GCM envelope text truncated at every length',
    code: 'ERR_TOKEN_MALFORMED or ERR_DECRYPTION_FAILED',
    run: async (f) => {
      const text = Buffer.from(f.gcm).toString('base64url');
      const codes: string[] = [];
      for (let n = 1; n < text.length; n++) {
        const code = await codeOf(f.enc.decrypt(text.slice(0, n)));
        // Not base64url (n % 4 == 1, or non-zero leftover bits: the decoder is strict) is malformed;
        // otherwise the decoded length decides, as for bytes.
        const decoded = decodedLength(text.slice(0, n));
        const expected = decoded >= 35 ? 'ERR_DECRYPTION_FAILED' : 'ERR_TOKEN_MALFORMED';
        codes.push(code === expected ? 'ERR_TOKEN_MALFORMED or ERR_DECRYPTION_FAILED' : `${code} at ${n}`);
      }
      return codes;
    },
  },
  {
    name: 'hybrid envelope truncated at every length',
    code: 'ERR_TOKEN_MALFORMED or ERR_DECRYPTION_FAILED',
    run: async (f) => {
      const codes: string[] = [];
      for (let n = 1; n < f.hybrid.length; n++) {
        const code = await codeOf(f.enc.decryptWith(f.privateKeyPem, f.hybrid.subarray(0, n)));
        // Structure needs 7 + 2 + 256 + 12 + 16 bytes; past that only authentication can fail.
        const expected = n >= 9 + 256 + 28 ? 'ERR_DECRYPTION_FAILED' : 'ERR_TOKEN_MALFORMED';
        codes.push(code === expected ? 'ERR_TOKEN_MALFORMED or ERR_DECRYPTION_FAILED' : `${code} at ${n}`);
      }
      return codes;
    },
  },
  {
    name: 'Fernet token truncated at every length',
    code: 'ERR_TOKEN_MALFORMED or ERR_DECRYPTION_FAILED',
    run: async (f) => {
      const codes: string[] = [];
      const unpadded = f.fernet.replace(/=+$/, '');
      for (let n = 1; n < unpadded.length; n++) {
        // Cuts that only drop '=' padding leave the same token (padding is optional): not a truncation.
        const cut = f.fernet.slice(0, n);
        const code = await codeOf(f.enc.decrypt(cut));
        codes.push(
          code === fernetTruncationCode(cut)
            ? 'ERR_TOKEN_MALFORMED or ERR_DECRYPTION_FAILED'
            : `${code} at ${n}`,
        );
      }
      return codes;
    },
  },
  {
    name: 'wrong version (0x00, 0x02, 0x7f, 0xff)',
    code: 'ERR_UNSUPPORTED_ALGORITHM',
    run: (f) => decryptCodes(f, [header(0, 1, 0), header(2, 1, 0), header(0x7f, 1, 0), header(0xff, 1, 0)]),
  },
  {
    name: 'unknown algorithm (0x00, 0x06, 0xff)',
    code: 'ERR_UNSUPPORTED_ALGORITHM',
    run: (f) => decryptCodes(f, [header(1, 0, 0), header(1, 6, 0), header(1, 0xff, 0)]),
  },
  {
    name: 'RSA (0x02, 0x04) or streaming (0x03) envelope given to decrypt',
    code: 'ERR_UNSUPPORTED_ALGORITHM',
    run: (f) => decryptCodes(f, [f.hybrid, f.direct, header(1, 3, 0)]),
  },
  {
    name: 'GCM envelope or Fernet token given to decryptWith',
    code: 'ERR_UNSUPPORTED_ALGORITHM',
    run: (f) => Promise.all([f.gcm, f.fernet].map((c) => codeOf(f.enc.decryptWith(f.privateKeyPem, c)))),
  },
  {
    name: 'unknown flag bits (0x04, 0x80, 0xfc, 0xff)',
    code: 'ERR_TOKEN_MALFORMED',
    run: (f) =>
      decryptCodes(
        f,
        [0x04, 0x80, 0xfc, 0xff].map((flags) => withBytes(f.gcm, (b) => (b[2] = flags))),
      ),
  },
  {
    name: "string with a lone surrogate as context or plaintext ('t-\\uD800', 't-\\uDFFF')",
    code: 'ERR_INVALID_INPUT',
    run: (f) =>
      Promise.all(
        ['t-\uD800', 't-\uDFFF'].flatMap((s) => [
          codeOf(f.enc.encrypt('x', { context: s })),
          codeOf(f.enc.decrypt(f.gcm, { context: s })),
          codeOf(f.enc.encrypt(s)),
        ]),
      ),
  },
  {
    name: 'RSA envelope (0x02, 0x04) with the compressed flag set',
    code: 'ERR_TOKEN_MALFORMED',
    run: (f) =>
      Promise.all(
        [f.hybrid, f.direct].map((e) =>
          codeOf(
            f.enc.decryptWith(
              f.privateKeyPem,
              withBytes(e, (b) => (b[2] = 0x01)),
            ),
          ),
        ),
      ),
  },
  {
    name: 'hybrid wrapped-key length 65535 or 0',
    code: 'ERR_TOKEN_MALFORMED',
    run: (f) =>
      Promise.all(
        [0xffff, 0].map((w) => codeOf(f.enc.decryptWith(f.privateKeyPem, withWrappedLength(f.hybrid, w)))),
      ),
  },
  {
    name: 'hybrid wrapped-key length that is not the key size (255, 257)',
    code: 'ERR_DECRYPTION_FAILED',
    run: (f) =>
      Promise.all(
        [255, 257].map((w) => codeOf(f.enc.decryptWith(f.privateKeyPem, withWrappedLength(f.hybrid, w)))),
      ),
  },
  {
    name: 'RSA direct envelope with a body of the wrong size',
    code: 'ERR_DECRYPTION_FAILED',
    run: (f) =>
      Promise.all(
        [f.direct.subarray(0, f.direct.length - 1), Uint8Array.from([...f.direct, 0])].map((c) =>
          codeOf(f.enc.decryptWith(f.privateKeyPem, c)),
        ),
      ),
  },
  {
    name: 'header only (7 bytes)',
    code: 'ERR_TOKEN_MALFORMED',
    run: async (f) => [
      ...(await decryptCodes(f, [f.gcm.subarray(0, 7)])),
      await codeOf(f.enc.decryptWith(f.privateKeyPem, f.direct.subarray(0, 7))),
    ],
  },
  {
    name: 'unknown key id',
    code: 'ERR_KEY_NOT_FOUND',
    run: (f) => decryptCodes(f, [withBytes(f.gcm, (b) => b.set([0xde, 0xad, 0xbe, 0xef], 3))]),
  },
  {
    name: 'RSA envelope for another private key',
    code: 'ERR_KEY_NOT_FOUND',
    run: (f) =>
      Promise.all([f.direct, f.hybrid].map((c) => codeOf(f.enc.decryptWith(f.otherPrivateKeyPem, c)))),
  },
  {
    name: "non-base64 text ('not base64!', 'AQE=A', 'héllo', ' AQEA', 'g!!!')",
    code: 'ERR_TOKEN_MALFORMED',
    run: (f) => decryptCodes(f, ['not base64!', 'AQE=A', 'héllo', ' AQEA', 'g!!!']),
  },
  {
    name: 'wrong types (42, null, undefined, {}, [], true, ArrayBuffer, 1n)',
    code: 'ERR_INVALID_INPUT',
    run: async (f) => {
      const values: unknown[] = [42, null, undefined, {}, [], true, new ArrayBuffer(8), 1n];
      const out: string[] = [];
      for (const v of values) {
        out.push(await codeOf(f.enc.decrypt(v as Uint8Array)));
        out.push(await codeOf(f.enc.encrypt(v as Uint8Array)));
        out.push(await codeOf(f.enc.rewrap(v as Uint8Array)));
        out.push(syncCodeOf(() => f.enc.inspect(v as Uint8Array)));
      }
      return out;
    },
  },
  {
    name: 'wrong option types (context 42, options "x", service "", compress "yes")',
    code: 'ERR_INVALID_INPUT',
    run: async (f) => [
      await codeOf(f.enc.encrypt('x', { context: 42 as unknown as string })),
      await codeOf(f.enc.decrypt(f.gcm, { context: {} as unknown as string })),
      await codeOf(f.enc.encrypt('x', 'x' as never)),
      await codeOf(f.enc.encrypt('x', { service: '' })),
      await codeOf(f.enc.encrypt('x'.repeat(2000), { compress: 'yes' as unknown as boolean })),
    ],
  },
  {
    name: 'malformed RSA key (PEM garbage)',
    code: 'ERR_INVALID_INPUT',
    run: async (f) => [
      await codeOf(f.enc.encryptFor('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', 'x')),
      await codeOf(f.enc.decryptWith('not a key', f.hybrid)),
    ],
  },
  {
    name: 'valid envelope, plaintext not UTF-8, read with decryptToString',
    code: 'ERR_INVALID_INPUT',
    run: async (f) => [await codeOf(f.enc.decryptToString(await f.enc.encrypt(Uint8Array.of(0xff, 0xfe))))],
  },
  {
    name: 'Fernet token older than the TTL',
    code: 'ERR_TOKEN_EXPIRED',
    run: async (f) => {
      const { Fernet } = await import('@mesh/crypto-core');
      const primary = f.enc.keys.decryptionKeys('fernet')[0]!;
      const old = new Fernet(primary.material).encrypt('x', { now: Math.floor(Date.now() / 1000) - 120 });
      return [await codeOf(f.enc.decrypt(old, { ttl: 60 }))];
    },
  },
  {
    name: 'compressed payload that inflates past maxInflatedBytes',
    code: 'ERR_COMPRESSION_LIMIT',
    run: async (f) => {
      // A key holder sealed 4 MiB of zeros (4 KiB compressed); this reader allows 1 MiB.
      const reader = await makeEncryption({
        keyManager: f.enc.keys,
        compression: { maxInflatedBytes: 1 << 20 },
      });
      const bomb = await f.enc.encrypt(new Uint8Array(4 << 20));
      expect(f.enc.inspect(bomb).compressed).toBe(true);
      expect(bomb.length).toBeLessThan(8 * 1024);
      return [await codeOf(reader.decrypt(bomb))];
    },
  },
  {
    name: '16 MiB of zeros',
    code: 'ERR_UNSUPPORTED_ALGORITHM',
    run: (f) => decryptCodes(f, [new Uint8Array(16 << 20)]),
  },
];

describe('bad-input table', async () => {
  const enc = await makeEncryption();
  const { publicKeyPem, privateKeyPem } = await rsaPair();
  const other = await generateRsaKeyPair(2048);
  const fixtures: Fixtures = {
    enc,
    gcm: await enc.encrypt('a small secret payload'),
    hybrid: await enc.encryptFor(publicKeyPem, jsonPayload(250), { compress: false }),
    direct: await enc.encryptFor(publicKeyPem, 'short'),
    fernet: await enc.fernet.encrypt('fernet payload'),
    privateKeyPem,
    otherPrivateKeyPem: other.privateKeyPem,
  };
  let total = 0;

  for (const c of CASES) {
    it(`${c.name} -> ${c.code}`, async () => {
      const codes = await c.run(fixtures);
      expect(codes.length).toBeGreaterThan(0);
      for (const code of codes) expect(code).toBe(c.code);
      total += codes.length;
    });
  }

  it('every error is a Mesh error (no raw TypeError / RangeError escapes)', async () => {
    for (const input of [Symbol('x'), () => 1, new Date(), Number.NaN]) {
      try {
        await enc.decrypt(input as unknown as Uint8Array);
        expect.unreachable();
      } catch (error) {
        expect(isMeshError(error)).toBe(true);
      }
    }
    console.log(`bad-input table: ${CASES.length} rows, ${total} inputs, each with its typed error`);
  });

  it('README.md carries the same table (row name and code)', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    for (const c of CASES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| ${c.name} |`));
      expect(row, `README row for "${c.name}"`).toBeDefined();
      expect(row).toContain(c.code.includes(' or ') ? c.code.split(' or ')[0]! : `\`${c.code}\``);
    }
  });
});

export { CASES as BAD_INPUT_CASES };
