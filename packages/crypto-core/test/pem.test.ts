/** PEM (RFC 7468): the encoder's exact output and the strict decoder's rejections. */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMeshError } from '../src/errors.js';
import { pemDecode, pemEncode } from '../src/pem.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isMeshError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const { publicKey: opensslPem } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

describe('pemEncode', () => {
  it('writes exactly what OpenSSL writes', () => {
    const { label, der } = pemDecode(opensslPem);
    expect(label).toBe('PUBLIC KEY');
    expect(pemEncode(label, der)).toBe(opensslPem);
  });

  it('round-trips any bytes, with base64 equal to an independent encoder and 64-character lines', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), (der) => {
        const pem = pemEncode('TEST DATA', der);
        const lines = pem.split('\n');
        expect(lines[0]).toBe('-----BEGIN TEST DATA-----');
        expect(lines.at(-2)).toBe('-----END TEST DATA-----');
        expect(lines.at(-1)).toBe('');
        const body = lines.slice(1, -2);
        for (const line of body.slice(0, -1)) expect(line.length).toBe(64);
        expect(body.join('')).toBe(Buffer.from(der).toString('base64'));
        expect(pemDecode(pem, 'TEST DATA').der).toEqual(der);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects labels outside RFC 7468 §3 and non-byte content', () => {
    for (const label of ['-LEADING', 'TRAILING-', 'TWO  SPACES', 'A--B', 'TAB\tX', 'NEW\nLINE', 'é']) {
      expect(
        codeOf(() => pemEncode(label, new Uint8Array([1]))),
        label,
      ).toBe('ERR_INVALID_INPUT');
    }
    expect(codeOf(() => pemEncode('X', 'text' as unknown as Uint8Array))).toBe('ERR_INVALID_INPUT');
  });
});

describe('pemDecode', () => {
  const good = pemEncode('PUBLIC KEY', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]));

  it('accepts CRLF line endings and surrounding whitespace', () => {
    expect(pemDecode(good.replace(/\n/g, '\r\n')).der).toEqual(pemDecode(good).der);
    expect(pemDecode(`\n  ${good}\n\n`).label).toBe('PUBLIC KEY');
  });

  it('rejects anything that is not one canonical block with ERR_INVALID_INPUT', () => {
    const bad: Record<string, string> = {
      empty: '',
      'no armour': 'MAMCAQc=',
      'label mismatch': good.replace('END PUBLIC KEY', 'END PRIVATE KEY'),
      'bad label': good.replace(/PUBLIC KEY/g, 'PUBLIC  KEY'),
      'empty body': '-----BEGIN X-----\n-----END X-----\n',
      'character outside base64': good.replace('MAMC', 'MA*C'),
      'url-safe alphabet': pemEncode('X', new Uint8Array([0xfb, 0xff])).replace('+/8=', '-_8='),
      'missing padding': good.replace('MAMCAQc=', 'MAMCAQc'),
      'non-canonical padding bits': good.replace('MAMCAQc=', 'MAMCAQd='),
      'padding in the middle': '-----BEGIN X-----\nQQ==QUFB\n-----END X-----\n',
      'two blocks': good + good,
      'explanatory text before': `Bag Attributes\n${good}`,
      'no final line break': good.replace('\n-----END', '-----END'),
    };
    for (const [what, pem] of Object.entries(bad))
      expect(
        codeOf(() => pemDecode(pem)),
        what,
      ).toBe('ERR_INVALID_INPUT');
    expect(codeOf(() => pemDecode(good, 'PRIVATE KEY'))).toBe('ERR_INVALID_INPUT');
    expect(codeOf(() => pemDecode(42 as unknown as string))).toBe('ERR_INVALID_INPUT');
  });

  it('stays linear on hostile input and bounds its size', () => {
    // Shapes that make backtracking regular expressions quadratic; a quadratic decoder would hit the timeout.
    const hostile = [
      `-----BEGIN X-----\n${'-----END '.repeat(100_000)}`,
      `-----BEGIN X-----\n${' '.repeat(500_000)}x\n-----END X-----\n`,
      `-----BEGIN ${'A'.repeat(500_000)}\nQQ==\n-----END X-----\n`,
    ];
    for (const pem of hostile) expect(codeOf(() => pemDecode(pem))).toBe('ERR_INVALID_INPUT');
    const huge = pemEncode('X', new Uint8Array(800_000)); // > 1 MiB of text
    expect(codeOf(() => pemDecode(huge))).toBe('ERR_INVALID_INPUT');
  });

  it('refuses legacy encrypted PEM (RFC 1421 headers) as unsupported', () => {
    const legacy =
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nMAMCAQc=\n-----END RSA PRIVATE KEY-----\n';
    expect(codeOf(() => pemDecode(legacy))).toBe('ERR_UNSUPPORTED_ALGORITHM');
  });
});
