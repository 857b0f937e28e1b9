/**
 * Interop through the binary with independent peers: python3 `cryptography` (Fernet both ways, TTL) and the
 * `openssl` CLI (RSA-OAEP-SHA256 both ways, our encrypted private key opened by `openssl pkey -passin`,
 * `derive` against `openssl kdf` and python's `hashlib`). A missing peer is reported and its tests skipped,
 * as in the library packages' interop suites.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { available, expectFailure, expectSuccess, meshcrypt, runCommand, tempDir } from './helpers.js';

const hasPython = available('python3', ['-c', 'import cryptography.fernet']);
const hasOpenssl = available('openssl', ['version']);
if (!hasPython) console.warn('cli interop: python3 with cryptography not found, Python peer tests SKIPPED');
if (!hasOpenssl) console.warn('cli interop: openssl not found, OpenSSL peer tests SKIPPED');

const tmp = tempDir('meshcrypt-interop-');
afterAll(tmp.cleanup);
const f = (name: string) => join(tmp.dir, name);

async function python(code: string, env: Record<string, string> = {}, input?: string): Promise<string> {
  const r = await runCommand('python3', ['-c', code], {
    env,
    cwd: tmp.dir,
    ...(input === undefined ? {} : { input }),
  });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  return r.out;
}

async function openssl(args: string[], env: Record<string, string> = {}): Promise<Buffer> {
  const r = await runCommand('openssl', args, { env, cwd: tmp.dir });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  return r.stdout;
}

describe.skipIf(!hasPython)('Fernet with python3 cryptography', () => {
  it('Python reads our tokens and we read Python tokens, under keys made by either side', async () => {
    const ours = (await meshcrypt(['fernet', 'keygen'])).out.trim();
    const theirs = (
      await python('from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
    ).trim();
    for (const key of [ours, theirs]) {
      const env = { FERNET_KEY: key };
      const sealed = await meshcrypt(['fernet', 'encrypt', '--key-env', 'FERNET_KEY'], {
        env,
        input: 'from meshcrypt ✓',
      });
      expectSuccess(sealed);
      writeFileSync(f('ours.token'), sealed.out);
      const read = await python(
        'import os, sys; from cryptography.fernet import Fernet\n' +
          'sys.stdout.buffer.write(Fernet(os.environ["FERNET_KEY"]).decrypt(open("ours.token","rb").read().strip(), ttl=3600))',
        env,
      );
      expect(read).toBe('from meshcrypt ✓');

      const token = await python(
        'import os; from cryptography.fernet import Fernet\n' +
          'print(Fernet(os.environ["FERNET_KEY"]).encrypt("from python ✓".encode()).decode())',
        env,
      );
      const opened = await meshcrypt(['fernet', 'decrypt', '--key-env', 'FERNET_KEY', '--ttl', '3600'], {
        env,
        input: token,
      });
      expectSuccess(opened);
      expect(opened.out).toBe('from python ✓');
    }
  });

  it('TTL agrees both ways: an old Python token is expired for us, our timestamp is expired for Python', async () => {
    const key = (await meshcrypt(['fernet', 'keygen'])).out.trim();
    const env = { FERNET_KEY: key };
    const old = await python(
      'import os, time; from cryptography.fernet import Fernet\n' +
        'print(Fernet(os.environ["FERNET_KEY"]).encrypt_at_time(b"old", int(time.time()) - 300).decode())',
      env,
    );
    expectFailure(
      await meshcrypt(['fernet', 'decrypt', '--key-env', 'FERNET_KEY', '--ttl', '60'], { env, input: old }),
      1,
      'ERR_TOKEN_EXPIRED',
    );
    const fresh = await meshcrypt(['fernet', 'decrypt', '--key-env', 'FERNET_KEY', '--ttl', '600'], {
      env,
      input: old,
    });
    expectSuccess(fresh);
    expect(fresh.out).toBe('old');

    const ours = await meshcrypt(['fernet', 'encrypt', '--key-env', 'FERNET_KEY'], { env, input: 'now' });
    writeFileSync(f('ttl.token'), ours.out);
    const verdicts = await python(
      'import os, time; from cryptography.fernet import Fernet, InvalidToken\n' +
        'k = Fernet(os.environ["FERNET_KEY"]); t = open("ttl.token","rb").read().strip(); now = int(time.time())\n' +
        'print(k.extract_timestamp(t) - now)\n' +
        'print(k.decrypt_at_time(t, ttl=60, current_time=now + 30).decode())\n' +
        'try:\n    k.decrypt_at_time(t, ttl=60, current_time=now + 120); print("accepted")\n' +
        'except InvalidToken:\n    print("expired")',
      env,
    );
    const [skew, within, beyond] = verdicts.trim().split('\n');
    expect(Math.abs(Number(skew))).toBeLessThanOrEqual(5);
    expect(within).toBe('now');
    expect(beyond).toBe('expired');
  });
});

describe.skipIf(!hasOpenssl)('RSA with openssl', () => {
  const env = { RSA_PASS: 'interop passphrase' };
  const context = 'orders->partner';
  const hex = (b: Uint8Array | string) => Buffer.from(b).toString('hex');

  it('openssl pkey -passin opens our encrypted private key (and refuses a wrong passphrase)', async () => {
    expectSuccess(
      await meshcrypt(
        [
          'rsa',
          'keygen',
          '--bits',
          '2048',
          '--out',
          f('ours.pem'),
          '--pub',
          f('ours.pub'),
          '--passphrase-env',
          'RSA_PASS',
        ],
        { env },
      ),
    );
    const pub = await openssl(['pkey', '-in', f('ours.pem'), '-passin', 'env:RSA_PASS', '-pubout'], env);
    expect(pub.toString()).toBe(readFileSync(f('ours.pub'), 'utf8'));
    const wrong = await runCommand('openssl', [
      'pkey',
      '-in',
      f('ours.pem'),
      '-passin',
      'pass:wrong',
      '-noout',
    ]);
    expect(wrong.status).not.toBe(0);
    const text = (
      await openssl(['pkey', '-in', f('ours.pem'), '-passin', 'env:RSA_PASS', '-text', '-noout'], env)
    ).toString();
    expect(text).toContain('Private-Key: (2048 bit');
  });

  it('openssl decrypts our RSA-OAEP-SHA256 (0x04: header, then OAEP with label = header || context)', async () => {
    const sealed = await meshcrypt(['rsa', 'encrypt', '--pub', f('ours.pub'), '--context', context], {
      input: 'to openssl',
    });
    expectSuccess(sealed);
    const header = sealed.stdout.subarray(0, 7);
    expect([...header.subarray(0, 3)]).toEqual([0x01, 0x04, 0x00]);
    // Key id = SHA-256 of the SubjectPublicKeyInfo DER, first 4 bytes, computed here from openssl's DER.
    const spki = await openssl(['pkey', '-pubin', '-in', f('ours.pub'), '-outform', 'DER']);
    expect(hex(header.subarray(3, 7))).toBe(createHash('sha256').update(spki).digest('hex').slice(0, 8));
    writeFileSync(f('body.bin'), sealed.stdout.subarray(7));
    const plain = await openssl(
      [
        'pkeyutl',
        '-decrypt',
        '-inkey',
        f('ours.pem'),
        '-passin',
        'env:RSA_PASS',
        '-in',
        f('body.bin'),
        '-pkeyopt',
        'rsa_padding_mode:oaep',
        '-pkeyopt',
        'rsa_oaep_md:sha256',
        '-pkeyopt',
        'rsa_mgf1_md:sha256',
        '-pkeyopt',
        `rsa_oaep_label:${hex(Buffer.concat([header, Buffer.from(context)]))}`,
      ],
      env,
    );
    expect(plain.toString()).toBe('to openssl');
  });

  it('we decrypt what openssl encrypts, with a key pair openssl made (encrypted PKCS#8, PBES2)', async () => {
    await openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      f('theirs-plain.pem'),
    ]);
    await openssl(
      [
        'pkcs8',
        '-topk8',
        '-in',
        f('theirs-plain.pem'),
        '-out',
        f('theirs.pem'),
        '-v2',
        'aes-256-cbc',
        '-v2prf',
        'hmacWithSHA256',
        '-passout',
        'env:RSA_PASS',
      ],
      env,
    );
    await openssl(['pkey', '-in', f('theirs-plain.pem'), '-pubout', '-out', f('theirs.pub')]);
    const spki = await openssl(['pkey', '-pubin', '-in', f('theirs.pub'), '-outform', 'DER']);
    const header = Buffer.concat([
      Buffer.from([0x01, 0x04, 0x00]),
      createHash('sha256').update(spki).digest().subarray(0, 4),
    ]);
    writeFileSync(f('msg.txt'), 'from openssl');
    const body = await openssl([
      'pkeyutl',
      '-encrypt',
      '-pubin',
      '-inkey',
      f('theirs.pub'),
      '-in',
      f('msg.txt'),
      '-pkeyopt',
      'rsa_padding_mode:oaep',
      '-pkeyopt',
      'rsa_oaep_md:sha256',
      '-pkeyopt',
      'rsa_mgf1_md:sha256',
      '-pkeyopt',
      `rsa_oaep_label:${hex(Buffer.concat([header, Buffer.from(context)]))}`,
    ]);
    const envelope = Buffer.concat([header, body]);
    for (const key of ['theirs.pem', 'theirs-plain.pem']) {
      const opened = await meshcrypt(
        ['rsa', 'decrypt', '--key', f(key), '--passphrase-env', 'RSA_PASS', '--context', context],
        { env, input: envelope },
      );
      expectSuccess(opened);
      expect(opened.out).toBe('from openssl');
    }
    // And our encryption for openssl's public key opens with openssl's private key, hybrid included.
    const big = Buffer.from(crypto.getRandomValues(new Uint8Array(4096)));
    const sealed = await meshcrypt(['rsa', 'encrypt', '--pub', f('theirs.pub')], { input: big });
    expect(sealed.stdout[1]).toBe(0x02);
    const opened = await meshcrypt(
      ['rsa', 'decrypt', '--key', f('theirs.pem'), '--passphrase-env', 'RSA_PASS'],
      { env, input: sealed.stdout },
    );
    expect(opened.stdout.equals(big)).toBe(true);
  });
});

describe('derive against other PBKDF2 implementations', () => {
  const cases = [
    {
      password: 'correct horse battery staple',
      salt: '000102030405060708090a0b0c0d0e0f',
      iterations: 100_000,
      length: 32,
    },
    { password: 'pässwörd ✓', salt: 'a0b1c2d3e4f5', iterations: 1_000, length: 64 },
    { password: 'x', salt: 'ff', iterations: 1, length: 20 },
  ];

  it.skipIf(!hasOpenssl).each(cases)(
    'openssl kdf PBKDF2 ($iterations iterations, $length bytes)',
    async (c) => {
      const ours = await meshcrypt(
        [
          'derive',
          '--password-stdin',
          '--salt',
          c.salt,
          '--iterations',
          String(c.iterations),
          '--length',
          String(c.length),
        ],
        { input: c.password },
      );
      expectSuccess(ours);
      const theirs = await openssl([
        'kdf',
        '-keylen',
        String(c.length),
        '-kdfopt',
        'digest:SHA256',
        '-kdfopt',
        `pass:${c.password}`,
        '-kdfopt',
        `hexsalt:${c.salt}`,
        '-kdfopt',
        `iter:${c.iterations}`,
        'PBKDF2',
      ]);
      expect(ours.out.trim()).toBe(theirs.toString().trim().replaceAll(':', '').toLowerCase());
    },
  );

  it.skipIf(!hasPython).each(cases)(
    'python hashlib.pbkdf2_hmac ($iterations iterations, $length bytes)',
    async (c) => {
      const ours = await meshcrypt(
        [
          'derive',
          '--password-stdin',
          '--salt',
          c.salt,
          '--iterations',
          String(c.iterations),
          '--length',
          String(c.length),
        ],
        { input: `${c.password}\n` },
      );
      expectSuccess(ours);
      const theirs = await python(
        'import hashlib, sys; p = sys.stdin.buffer.read()\n' +
          `print(hashlib.pbkdf2_hmac("sha256", p, bytes.fromhex("${c.salt}"), ${c.iterations}, ${c.length}).hex())`,
        {},
        c.password,
      );
      expect(ours.out).toBe(theirs);
    },
  );
});
