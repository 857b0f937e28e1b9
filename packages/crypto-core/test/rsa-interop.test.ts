/**
 * RSA-OAEP-SHA256 interop with independent peers on this machine: the `openssl pkeyutl` CLI and Python's
 * `cryptography`. Both directions, every backend, with and without a label. Peers run through
 * child_process with argv arrays (no shell); a peer that is truly absent is skipped with a printed note.
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rsaOaepVectors } from '@mesh/test-vectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeBackend, nodeBackend } from '../src/backends/index.js';
import type { CryptoBackend } from '../src/backends/types.js';
import { DecryptionError } from '../src/errors.js';
import {
  generateRsaKeyPair,
  importRsaPrivateKey,
  type RsaModulusBits,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaOaepMaxPlaintextLength,
} from '../src/rsa.js';

function available(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}
const hasOpenssl = available('openssl', ['version']);
const hasPython = available('python3', ['-c', 'import cryptography']);
if (!hasOpenssl) console.log('SKIPPED: openssl CLI not found, RSA-OAEP openssl interop not run');
if (!hasPython) console.log('SKIPPED: python3 with cryptography not found, RSA-OAEP Python interop not run');

function run(cmd: string, args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync(cmd, args, { input });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.toString()}`);
  }
  return r.stdout;
}

const OAEP_OPTS = [
  '-pkeyopt',
  'rsa_padding_mode:oaep',
  '-pkeyopt',
  'rsa_oaep_md:sha256',
  '-pkeyopt',
  'rsa_mgf1_md:sha256',
];
const labelOpts = (label: Uint8Array | undefined) =>
  label === undefined ? [] : ['-pkeyopt', `rsa_oaep_label:${Buffer.from(label).toString('hex')}`];

/** One Python process for every case: encrypts `theirs` requests and decrypts `ours` ciphertexts. */
const PY = `
import sys, json
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
out = []
for req in json.load(sys.stdin):
    label = bytes.fromhex(req["label"]) if req["label"] is not None else None
    pad = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
    pub = serialization.load_pem_public_key(req["publicPem"].encode())
    priv = serialization.load_pem_private_key(req["privatePem"].encode(), password=None)
    out.append({
        "theirs": pub.encrypt(bytes.fromhex(req["message"]), pad).hex(),
        "decryptedOurs": priv.decrypt(bytes.fromhex(req["ours"]), pad).hex(),
    })
json.dump(out, sys.stdout)
`;

interface Case {
  readonly bits: RsaModulusBits;
  readonly backend: CryptoBackend;
  readonly withLabel: boolean;
}

function wycheproofPair(bits: 3072 | 4096): { publicKeyPem: string; privateKeyPem: string } {
  const group = rsaOaepVectors(bits).testGroups[0];
  if (group === undefined) throw new Error('no Wycheproof group');
  const publicKeyPem = createPublicKey(group.privateKeyPem).export({ type: 'spki', format: 'pem' }) as string;
  return { publicKeyPem, privateKeyPem: group.privateKeyPem };
}

let dir: string;
const pairs = new Map<
  RsaModulusBits,
  { publicKeyPem: string; privateKeyPem: string; pub: string; priv: string }
>();
function pairOf(bits: RsaModulusBits) {
  const pair = pairs.get(bits);
  if (pair === undefined) throw new Error('missing key');
  return pair;
}

const cases: Case[] = [2048, 3072, 4096].flatMap((bits) =>
  [nodeBackend, forgeBackend].flatMap((backend) =>
    [false, true].map((withLabel) => ({ bits: bits as RsaModulusBits, backend, withLabel })),
  ),
);
const caseName = '$bits bits on $backend.name, label: $withLabel';

/** Per case: a message at the size limit, an optional label, our ciphertext, and what Python made of it. */
const pyResults = new Map<Case, { message: Buffer; label?: Buffer; theirs: Buffer; decryptedOurs: Buffer }>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-rsa-interop-'));
  for (const bits of [2048, 3072, 4096] as const) {
    // 2048: a key we generated (OpenSSL must read our output); 3072/4096: Wycheproof's keys (no keygen cost).
    const pair = bits === 2048 ? await generateRsaKeyPair(bits) : wycheproofPair(bits);
    const pub = join(dir, `pub-${bits}.pem`);
    const priv = join(dir, `priv-${bits}.pem`);
    writeFileSync(pub, pair.publicKeyPem);
    writeFileSync(priv, pair.privateKeyPem, { mode: 0o600 });
    pairs.set(bits, { ...pair, pub, priv });
  }
  if (!hasPython) return;
  const requests = cases.map((c) => {
    const { publicKeyPem, privateKeyPem } = pairOf(c.bits);
    const message = Buffer.from(nodeBackend.randomBytes(rsaOaepMaxPlaintextLength(c.bits)));
    const label = c.withLabel ? Buffer.from('orders->payments') : undefined;
    const ours = rsaOaepEncrypt(publicKeyPem, message, { backend: c.backend, label });
    return { c, message, label, publicKeyPem, privateKeyPem, ours };
  });
  const input = JSON.stringify(
    requests.map((r) => ({
      publicPem: r.publicKeyPem,
      privatePem: r.privateKeyPem,
      message: r.message.toString('hex'),
      ours: Buffer.from(r.ours).toString('hex'),
      label: r.label?.toString('hex') ?? null,
    })),
  );
  const answers = JSON.parse(run('python3', ['-c', PY], Buffer.from(input)).toString('utf8')) as Array<{
    theirs: string;
    decryptedOurs: string;
  }>;
  requests.forEach((r, i) => {
    const a = answers[i];
    if (a === undefined) throw new Error('python answered too few requests');
    pyResults.set(r.c, {
      message: r.message,
      ...(r.label ? { label: r.label } : {}),
      theirs: Buffer.from(a.theirs, 'hex'),
      decryptedOurs: Buffer.from(a.decryptedOurs, 'hex'),
    });
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasOpenssl)('openssl pkeyutl interop', () => {
  it.each(cases)(`openssl ciphertext decrypts here (${caseName})`, ({ bits, backend, withLabel }) => {
    const pair = pairOf(bits);
    const key = importRsaPrivateKey(pair.privateKeyPem);
    const length = withLabel ? rsaOaepMaxPlaintextLength(bits) : 0;
    const message = nodeBackend.randomBytes(length);
    const label = withLabel ? nodeBackend.randomBytes(1 + (bits % 61)) : undefined;
    const ct = run(
      'openssl',
      ['pkeyutl', '-encrypt', '-pubin', '-inkey', pair.pub, ...OAEP_OPTS, ...labelOpts(label)],
      message,
    );
    expect(ct.length).toBe(bits / 8);
    expect(Buffer.from(rsaOaepDecrypt(key, ct, { backend, label })).equals(Buffer.from(message))).toBe(true);
    if (label !== undefined) expect(() => rsaOaepDecrypt(key, ct, { backend })).toThrow(DecryptionError);
  });

  it.each(cases)(`our ciphertext decrypts in openssl (${caseName})`, ({ bits, backend, withLabel }) => {
    const pair = pairOf(bits);
    const message = nodeBackend.randomBytes(withLabel ? rsaOaepMaxPlaintextLength(bits) : 1);
    const label = withLabel ? nodeBackend.randomBytes(16) : undefined;
    const ct = rsaOaepEncrypt(pair.publicKeyPem, message, { backend, label });
    const out = run(
      'openssl',
      ['pkeyutl', '-decrypt', '-inkey', pair.priv, ...OAEP_OPTS, ...labelOpts(label)],
      ct,
    );
    expect(out.equals(Buffer.from(message))).toBe(true);
  });
});

describe.skipIf(!hasPython)('Python cryptography interop', () => {
  it.each(cases)(`both directions (${caseName})`, (c) => {
    const r = pyResults.get(c);
    if (r === undefined) throw new Error('no python result');
    expect(r.decryptedOurs.equals(r.message)).toBe(true);
    const pair = pairOf(c.bits);
    const plain = rsaOaepDecrypt(pair.privateKeyPem, r.theirs, { backend: c.backend, label: r.label });
    expect(Buffer.from(plain).equals(r.message)).toBe(true);
  });
});
