/**
 * Canary test of the CLI's error output: the built `meshcrypt` meets canary KEKs (environment, file,
 * passphrase on stdin), Fernet keys (on argv), RSA passphrases, passwords, plaintexts and contexts on its
 * failure paths (the wrong KEK, passphrase or key, tampered input, a KEK or key that is a secret, the KEK file
 * named as the keyring, a mistyped option followed by a secret). Its stderr and stdout must hold no canary;
 * on the one success path run here, stderr is empty and stdout is exactly the plaintext. Keyrings, envelopes
 * and keys are made in process with the libraries (spawning the CLI costs a Node start each).
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base64UrlEncode, Fernet } from '@mesh/crypto-core';
import { createEncryption } from '@mesh/encryption';
import { FileKeyStore, KeyManager, saveRsaKeyPair } from '@mesh/keys';
import { afterAll, describe, expect, it } from 'vitest';
import { Canaries, expectClean } from './scanner.js';

const BIN = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'apps',
  'cli',
  'bin',
  'meshcrypt.js',
);
const dir = mkdtempSync(join(tmpdir(), 'mesh-canary-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const canaries = new Canaries();
const kekHex = Buffer.from(canaries.bytes('cli KEK')).toString('hex');
const wrongKekHex = Buffer.from(canaries.bytes('cli wrong KEK')).toString('base64');
const passphrase = canaries.text('cli KEK passphrase');
const fernetKey = base64UrlEncode(canaries.bytes('cli fernet key'));
const otherFernetKey = base64UrlEncode(canaries.bytes('cli other fernet key'));
const rsaPassphrase = canaries.text('cli rsa passphrase');
const password = canaries.text('cli password');
// Each canary below appears in some failing invocation; the scanner must find none of them in its output.
const plaintext = canaries.text('cli plaintext', 60);
const context = canaries.text('cli context');
const secret = canaries.text('cli secret in a bad argument');
const env = {
  MESH_KEK: kekHex,
  WRONG_KEK: wrongKekHex,
  BAD_KEK: secret,
  WRONG_PASS: `${rsaPassphrase}x`,
};

interface Result {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function meshcrypt(args: string[], input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    child.on('close', (status) =>
      resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.end(input);
  });
}

const keyring = join(dir, 'keyring.json');
const phraseRing = join(dir, 'phrase.json');
const K = ['--keyring', keyring, '--kek-env', 'MESH_KEK'];

/** Runs `args`; when it fails, stderr and stdout must hold no canary. Returns the result. */
async function fails(name: string, args: string[], input?: string | Buffer): Promise<void> {
  const r = await meshcrypt(args, input as string);
  expect(r.status, `${name}: ${r.stderr}`).not.toBe(0);
  expect(r.stderr, name).toMatch(/^meshcrypt: [A-Z_]+: /);
  expectClean(canaries, `${name}: stderr`, r.stderr);
  expectClean(canaries, `${name}: stdout`, Uint8Array.from(r.stdout));
}

describe('meshcrypt', () => {
  it('every failure with a canary at hand says nothing of it on stderr or stdout', async () => {
    // Set up in process (the CLI reads what the library writes): a keyring under the canary KEK, one under the
    // canary passphrase (the CLI's own iteration count), an envelope, a tampered stream, an RSA key file.
    const kek = Buffer.from(kekHex, 'hex');
    const enc = await createEncryption({ keyStore: new FileKeyStore({ path: keyring }), kek: { key: kek } });
    const envelope = await enc.encryptToString(plaintext, { context });
    const stream = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const s = enc.encryptStream({ context });
      s.on('data', (c: Buffer) => parts.push(c));
      s.on('end', () => resolve(Buffer.concat(parts)));
      s.on('error', reject);
      s.end(Buffer.from(plaintext));
    });
    await enc.close();
    const tampered = Buffer.from(stream);
    tampered[tampered.length - 3]! ^= 1;
    writeFileSync(join(dir, 'tampered.mesh'), tampered);
    await (
      await KeyManager.open({
        store: new FileKeyStore({ path: phraseRing }),
        kek: { passphrase },
        watch: false,
      })
    ).close();
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const { publicKeyPath, privateKeyPath } = await saveRsaKeyPair(
      dir,
      { publicKeyPem: pair.publicKey, privateKeyPem: pair.privateKey },
      rsaPassphrase,
      { iterations: 1_000 },
    );
    const sender = await createEncryption();
    const sealed = await sender.encryptFor(pair.publicKey, plaintext, { context });
    await sender.close();
    const token = new Fernet(fernetKey).encrypt(plaintext);
    const kekFile = join(dir, 'kek-file');
    writeFileSync(kekFile, `${secret}\n`);
    const realKekFile = join(dir, 'real-kek');
    writeFileSync(realKekFile, `${kekHex}\n`);

    // The one success path run through the CLI: a decryption's stderr is empty (its stdout is the plaintext).
    const ok = await meshcrypt(['decrypt', ...K, '--text', '--context', context], envelope);
    expect({ status: ok.status, stderr: ok.stderr, out: ok.stdout.toString() }).toEqual({
      status: 0,
      stderr: '',
      out: plaintext,
    });
    await Promise.all([
      fails('wrong KEK', ['decrypt', '--keyring', keyring, '--kek-env', 'WRONG_KEK', '--text'], envelope),
      fails(
        'a KEK variable that is a secret',
        ['decrypt', '--keyring', keyring, '--kek-env', 'BAD_KEK'],
        envelope,
      ),
      fails(
        'a KEK file that is a secret',
        ['decrypt', '--keyring', keyring, '--kek-file', kekFile],
        envelope,
      ),
      fails('the KEK file named as the keyring', [
        'keyring',
        'list',
        '--keyring',
        realKekFile,
        '--kek-env',
        'MESH_KEK',
      ]),
      fails('wrong context', ['decrypt', ...K, '--text', '--context', `${context}x`], envelope),
      fails('tampered stream', ['decrypt', ...K, '--context', context, '--in', join(dir, 'tampered.mesh')]),
      fails(
        'wrong passphrase',
        ['keyring', 'list', '--keyring', phraseRing, '--passphrase-stdin'],
        `${passphrase}x`,
      ),
    ]);
    await Promise.all([
      fails('a mistyped option followed by a secret', ['encrypt', ...K, '--contxt', secret], plaintext),
      fails('decrypt a secret', ['decrypt', ...K, '--text'], secret),
      fails('Fernet: wrong key on argv', ['fernet', 'decrypt', '--key', otherFernetKey], token),
      fails('Fernet: a secret as the key', ['fernet', 'decrypt', '--key', secret], token),
      fails(
        'RSA: wrong passphrase',
        ['rsa', 'decrypt', '--key', privateKeyPath, '--passphrase-env', 'WRONG_PASS'],
        Buffer.from(sealed),
      ),
      fails(
        'RSA: the public key as the private key',
        ['rsa', 'decrypt', '--key', publicKeyPath],
        Buffer.from(sealed),
      ),
      fails(
        'derive: a secret as the salt',
        ['derive', '--password-stdin', '--salt', secret, '--iterations', '1000'],
        password,
      ),
    ]);
    expectClean(canaries, 'the keyring files', readFileSync(keyring), readFileSync(phraseRing));
  });
});
