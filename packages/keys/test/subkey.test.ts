import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { deriveSubkey } from '../src/index.js';
import { havePythonCryptography } from './helpers.js';

const root = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

describe('deriveSubkey', () => {
  it('is HKDF-SHA256 with info = service name (checked against Python cryptography)', (ctx) => {
    if (!havePythonCryptography()) return ctx.skip();
    const cases = [
      ['orders', 32],
      ['payments', 64],
      ['überservice', 16],
    ] as const;
    // One Python process for all cases: start-up dominates.
    const py = execFileSync(
      'python3',
      [
        '-c',
        'import sys,json;from cryptography.hazmat.primitives import hashes;' +
          'from cryptography.hazmat.primitives.kdf.hkdf import HKDF;' +
          'ikm=bytes.fromhex(sys.argv[1]);' +
          'print(json.dumps([HKDF(algorithm=hashes.SHA256(),length=n,salt=None,info=s.encode()).derive(ikm).hex()' +
          ' for s,n in json.loads(sys.argv[2])]))',
        Buffer.from(root).toString('hex'),
        JSON.stringify(cases),
      ],
      { encoding: 'utf8' },
    );
    const expected = JSON.parse(py) as string[];
    expect(expected).toHaveLength(cases.length);
    cases.forEach(([service, length], i) => {
      expect(Buffer.from(deriveSubkey(root, service, length)).toString('hex')).toBe(expected[i]);
    });
  });

  it('gives independent keys per service and the same key for the same service', () => {
    expect(deriveSubkey(root, 'orders')).toEqual(deriveSubkey(root, 'orders'));
    expect(deriveSubkey(root, 'orders')).not.toEqual(deriveSubkey(root, 'payments'));
    expect(deriveSubkey(root, 'orders')).toHaveLength(32);
  });

  it.each([
    ['a short key', () => deriveSubkey(new Uint8Array(8), 'x')],
    ['an empty service', () => deriveSubkey(root, '')],
    ['length 0', () => deriveSubkey(root, 'x', 0)],
    ['length 8161', () => deriveSubkey(root, 'x', 8161)],
  ])('rejects %s with ERR_KEY_DERIVATION', (_, f) => {
    expect(f).toThrow(expect.objectContaining({ code: 'ERR_KEY_DERIVATION' }));
  });
});
