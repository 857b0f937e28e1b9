/**
 * The symmetric comparison: AES-256-GCM and Fernet at each payload size, every implementation in one group
 * of interleaved rounds, with the Python peer's round and `openssl speed` run between the Node rounds.
 *
 * Implementations (ids are stable: results, tables and the chart refer to them):
 * - ours: the facade (`@mesh/encryption`) with no-op metrics, with a context, with Prometheus metrics, and its
 *   Fernet mode; crypto-core with the forge backend (the facade has no backend option, so the pure-JavaScript
 *   backend is measured one layer down, through crypto-core's public API).
 * - peers: raw node:crypto (as a user would write it: `Buffer.concat`, and the faster one-output variant;
 *   and like for like, `raw-envelope`: the facade's own envelope bytes, header as AAD, one owned output),
 *   the AWS Encryption SDK for JavaScript with a raw AES keyring (unsigned committing suite 0x0478 and the
 *   default signed suite 0x0578), `fernet-nodejs`, npm `fernet`, Python `cryptography`, `openssl speed`.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { buildDecrypt } from '@aws-crypto/decrypt-node';
import { buildEncrypt } from '@aws-crypto/encrypt-node';
import { AlgorithmSuiteIdentifier, CommitmentPolicy } from '@aws-crypto/material-management-node';
import { RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/raw-aes-keyring-node';
import { aesGcmDecrypt, aesGcmEncrypt, Fernet, forgeBackend } from '@mesh/crypto-core';
import { createEncryption, type Encryption } from '@mesh/encryption';
import { NoopCollector, PrometheusCollector } from '@mesh/metrics';
import npmFernet from 'fernet';
import { Fernet as FernetNodejs } from 'fernet-nodejs';
import { Registry } from 'prom-client';
import { opensslSpeed } from '../peers/openssl.js';
import { PYTHON_CANDIDATES, type PythonPeer } from '../peers/python.js';
import { type Candidate, type RoundSamples, runRounds } from '../rounds.js';

/** Every implementation of the symmetric group, with the label the reports print. */
export const IMPLEMENTATIONS = {
  facade: 'Mesh facade, AES-256-GCM',
  'facade-ctx': 'Mesh facade, AES-256-GCM with context',
  'facade-prom': 'Mesh facade, AES-256-GCM, Prometheus metrics',
  'core-forge-gcm': 'crypto-core AES-256-GCM, forge backend',
  'fernet-facade': 'Mesh Fernet mode',
  'fernet-core-forge': 'crypto-core Fernet, forge backend',
  'raw-naive': 'node:crypto AES-256-GCM (Buffer.concat)',
  'raw-one-output': 'node:crypto AES-256-GCM (one output buffer)',
  raw: 'node:crypto AES-256-GCM',
  'raw-envelope': "node:crypto AES-256-GCM, the facade's envelope (header as AAD, one owned array)",
  'aws-0478': 'AWS Encryption SDK, suite 0x0478 (unsigned)',
  'aws-0578': 'AWS Encryption SDK, suite 0x0578 (signed, default)',
  'fernet-nodejs': 'fernet-nodejs',
  'npm-fernet': 'npm fernet',
  'python-aesgcm': 'Python cryptography AESGCM',
  'python-fernet': 'Python cryptography Fernet',
  'openssl-gcm': 'openssl speed AES-256-GCM',
  'openssl-cbc': 'openssl speed AES-128-CBC',
} as const;
export type ImplementationId = keyof typeof IMPLEMENTATIONS;
export type Operation = 'encrypt' | 'decrypt';

/** Every candidate id the symmetric group reports at each size (the smoke test checks all are present). */
export const SYMMETRIC_CANDIDATE_IDS: readonly string[] = [
  ...(
    [
      'facade',
      'facade-ctx',
      'facade-prom',
      'core-forge-gcm',
      'fernet-facade',
      'fernet-core-forge',
      'aws-0478',
      'aws-0578',
      'fernet-nodejs',
      'npm-fernet',
      'python-aesgcm',
      'python-fernet',
    ] as const
  ).flatMap((i) => [`${i}:encrypt`, `${i}:decrypt`]),
  'raw-naive:encrypt',
  'raw-one-output:encrypt',
  'raw:decrypt',
  'raw-envelope:encrypt',
  'raw-envelope:decrypt',
  'openssl-gcm:encrypt',
  'openssl-cbc:encrypt',
];

/** Options of one symmetric run. */
export interface SymmetricOptions {
  readonly sizes: readonly number[];
  readonly rounds: number;
  readonly sliceMs: number;
  readonly python: PythonPeer | undefined;
  /** openssl speed seconds per cipher per round (0: not at all); rounds after `opensslRounds` skip it. */
  readonly opensslSeconds: number;
  readonly opensslRounds: number;
  readonly log: (line: string) => void;
}

/** Per-size rounds of every candidate (ops/s per round). Absent candidates have no entry. */
export type SymmetricResult = Record<string, RoundSamples>;

/** Rates per CPU second (what the report uses) and per wall-clock second of the same loops. */
export interface SymmetricRun {
  readonly cpu: SymmetricResult;
  readonly wall: SymmetricResult;
}

const CONTEXT = 'orders->payments';

/** Printable text of exactly `size` bytes (the Fernet libraries take strings; the rest take its bytes). */
export function payloadText(size: number): string {
  let s = '';
  for (let i = 0; s.length < size; i++) {
    s += `${JSON.stringify({ id: i, sku: `SKU-${i % 97}`, qty: (i * 7) % 13, status: i % 3 ? 'shipped' : 'open' })},`;
  }
  return s.slice(0, size);
}

function rawNaive(key: Buffer, data: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([iv, c.update(data), c.final(), c.getAuthTag()]);
}

function rawOneOutput(key: Buffer, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(12 + data.length + 16);
  const iv = randomBytes(12);
  out.set(iv, 0);
  const c = createCipheriv('aes-256-gcm', key, iv);
  out.set(c.update(data), 12);
  c.final();
  out.set(c.getAuthTag(), 12 + data.length);
  return out;
}

function rawDecrypt(key: Buffer, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  const out = d.update(sealed.subarray(12, sealed.length - 16));
  d.final();
  return out;
}

/** Envelope v1 header of an AES-256-GCM envelope (version, algorithm 0x01, no flags, key id) under `keyId`. */
function gcmHeader(keyId: number): Uint8Array {
  return Uint8Array.of(1, 1, 0, keyId >>> 24, (keyId >>> 16) & 0xff, (keyId >>> 8) & 0xff, keyId & 0xff);
}

/**
 * node:crypto producing exactly what the facade produces (the like-for-like peer): the 7-byte header, a
 * `randomBytes(12)` nonce, the header as AAD, and header, nonce, ciphertext and tag in one plain `Uint8Array`
 * that owns its whole buffer (the facade's memory rule; `Buffer.concat` would hand out a slice of Node's
 * shared pool). The facade opens these envelopes and this opens the facade's (checked before timing).
 */
function rawEnvelopeSeal(key: Uint8Array, header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(7 + 12 + data.length + 16);
  out.set(header, 0);
  const nonce = randomBytes(12);
  out.set(nonce, 7);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(header);
  out.set(c.update(data), 19);
  c.final();
  out.set(c.getAuthTag(), 19 + data.length);
  return out;
}

/** Opens an envelope v1 GCM body with the header as AAD; the plaintext as a plain `Uint8Array` (owned). */
function rawEnvelopeOpen(key: Uint8Array, envelope: Uint8Array): Uint8Array {
  const end = envelope.length - 16;
  const d = createDecipheriv('aes-256-gcm', key, envelope.subarray(7, 19));
  d.setAuthTag(envelope.subarray(end));
  d.setAAD(envelope.subarray(0, 7));
  const out = d.update(envelope.subarray(19, end));
  d.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The facades the group uses, built once per run. */
export interface Facades {
  readonly noop: Encryption;
  readonly prom: Encryption;
  close(): Promise<void>;
}

export async function openFacades(): Promise<Facades> {
  const noop = await createEncryption({ compression: false, metrics: new NoopCollector() });
  const prom = await createEncryption({
    compression: false,
    metrics: new PrometheusCollector({ registry: new Registry() }),
  });
  return { noop, prom, close: async () => void (await Promise.all([noop.close(), prom.close()])) };
}

/** The Node candidates at one size. */
async function candidatesAt(size: number, facades: Facades): Promise<Candidate[]> {
  const text = payloadText(size);
  const data = new Uint8Array(Buffer.from(text, 'latin1'));
  const key = randomBytes(32);
  const { noop, prom } = facades;

  const sealedRaw = rawOneOutput(key, data);
  const envelopeHeader = gcmHeader(0x0a1b2c3d);
  const sealedEnvelope = rawEnvelopeSeal(key, envelopeHeader, data);
  const sealed = await noop.encrypt(data);
  const sealedCtx = await noop.encrypt(data, { context: CONTEXT });
  const sealedProm = await prom.encrypt(data);
  const token = await noop.fernet.encrypt(data);

  const forgeKey = new Uint8Array(randomBytes(32));
  const forgeNonce = new Uint8Array(randomBytes(12));
  const forgeSealed = aesGcmEncrypt(forgeKey, forgeNonce, data, undefined, forgeBackend);
  const forgeFernet = new Fernet(Fernet.generateKey(), { backend: forgeBackend });
  const forgeToken = forgeFernet.encrypt(data);

  const awsKeyring = new RawAesKeyringNode({
    keyName: 'bench',
    keyNamespace: 'mesh',
    unencryptedMasterKey: new Uint8Array(randomBytes(32)),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const { encrypt: awsEncrypt } = buildEncrypt(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { decrypt: awsDecrypt } = buildDecrypt(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const unsigned = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
  const signed = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
  const aws0478 = (await awsEncrypt(awsKeyring, data, { suiteId: unsigned })).result;
  const aws0578 = (await awsEncrypt(awsKeyring, data, { suiteId: signed })).result;

  const fnKey = FernetNodejs.generateKey();
  const fn = new FernetNodejs(fnKey);
  const fnToken = fn.encrypt(text);

  const npmSecret = new npmFernet.Secret(randomBytes(32).toString('base64url'));
  const npmToken = new npmFernet.Token({ secret: npmSecret, ttl: 0 }).encode(text);

  return [
    { id: 'raw-naive:encrypt', op: () => rawNaive(key, data) },
    { id: 'raw-one-output:encrypt', op: () => rawOneOutput(key, data) },
    { id: 'raw:decrypt', op: () => rawDecrypt(key, sealedRaw) },
    { id: 'raw-envelope:encrypt', op: () => rawEnvelopeSeal(key, envelopeHeader, data) },
    { id: 'raw-envelope:decrypt', op: () => rawEnvelopeOpen(key, sealedEnvelope) },
    { id: 'facade:encrypt', op: () => noop.encrypt(data) },
    { id: 'facade:decrypt', op: () => noop.decrypt(sealed) },
    { id: 'facade-ctx:encrypt', op: () => noop.encrypt(data, { context: CONTEXT }) },
    { id: 'facade-ctx:decrypt', op: () => noop.decrypt(sealedCtx, { context: CONTEXT }) },
    { id: 'facade-prom:encrypt', op: () => prom.encrypt(data) },
    { id: 'facade-prom:decrypt', op: () => prom.decrypt(sealedProm) },
    {
      id: 'core-forge-gcm:encrypt',
      op: () => aesGcmEncrypt(forgeKey, forgeNonce, data, undefined, forgeBackend),
    },
    {
      id: 'core-forge-gcm:decrypt',
      op: () => aesGcmDecrypt(forgeKey, forgeNonce, forgeSealed, undefined, forgeBackend),
    },
    { id: 'fernet-facade:encrypt', op: () => noop.fernet.encrypt(data) },
    { id: 'fernet-facade:decrypt', op: () => noop.fernet.decrypt(token) },
    { id: 'fernet-core-forge:encrypt', op: () => forgeFernet.encrypt(data) },
    { id: 'fernet-core-forge:decrypt', op: () => forgeFernet.decrypt(forgeToken) },
    { id: 'aws-0478:encrypt', op: () => awsEncrypt(awsKeyring, data, { suiteId: unsigned }) },
    { id: 'aws-0478:decrypt', op: () => awsDecrypt(awsKeyring, aws0478) },
    { id: 'aws-0578:encrypt', op: () => awsEncrypt(awsKeyring, data, { suiteId: signed }) },
    { id: 'aws-0578:decrypt', op: () => awsDecrypt(awsKeyring, aws0578) },
    { id: 'fernet-nodejs:encrypt', op: () => fn.encrypt(text) },
    { id: 'fernet-nodejs:decrypt', op: () => fn.decrypt(fnToken) },
    { id: 'npm-fernet:encrypt', op: () => new npmFernet.Token({ secret: npmSecret }).encode(text) },
    {
      id: 'npm-fernet:decrypt',
      op: () => new npmFernet.Token({ secret: npmSecret, token: npmToken, ttl: 0 }).decode(),
    },
  ];
}

/** Checks that every peer really round-trips the payload before it is timed (a fast wrong answer is no peer). */
async function verifyRoundTrips(size: number, facades: Facades): Promise<void> {
  const text = payloadText(size);
  const data = new Uint8Array(Buffer.from(text, 'latin1'));
  const same = (a: Uint8Array | string, what: string) => {
    const got = typeof a === 'string' ? a : Buffer.from(a).toString('latin1');
    if (got !== text) throw new Error(`${what} did not round-trip ${size} bytes`);
  };
  same(await facades.noop.decrypt(await facades.noop.encrypt(data)), 'facade');
  same(await facades.noop.fernet.decrypt(await facades.noop.fernet.encrypt(data)), 'Fernet mode');
  const key = randomBytes(32);
  same(rawDecrypt(key, rawNaive(key, data)), 'raw node:crypto');
  // The like-for-like peer writes and reads the facade's own envelope bytes: under the facade's key, the
  // facade opens what it seals and it opens what the facade seals.
  const facadeSealed = await facades.noop.encrypt(data);
  const keyId = new DataView(facadeSealed.buffer).getUint32(3);
  const facadeKey = (await facades.noop.keys.getDecryptionKey(keyId)).material;
  same(rawEnvelopeOpen(facadeKey, facadeSealed), "raw envelope (opening the facade's)");
  same(
    await facades.noop.decrypt(rawEnvelopeSeal(facadeKey, gcmHeader(keyId), data)),
    'raw envelope (opened by the facade)',
  );
  const fn = new FernetNodejs(FernetNodejs.generateKey());
  same(fn.decrypt(fn.encrypt(text)), 'fernet-nodejs');
  const secret = new npmFernet.Secret(randomBytes(32).toString('base64url'));
  same(
    new npmFernet.Token({ secret, token: new npmFernet.Token({ secret }).encode(text), ttl: 0 }).decode(),
    'npm fernet',
  );
}

/** Runs the whole symmetric group. */
export async function runSymmetric(options: SymmetricOptions): Promise<SymmetricRun> {
  const facades = await openFacades();
  const result: SymmetricResult = {};
  const wallResult: SymmetricResult = {};
  try {
    for (const size of options.sizes) {
      await verifyRoundTrips(size, facades);
      const candidates = await candidatesAt(size, facades);
      const extra: RoundSamples = {};
      const extraWall: RoundSamples = {};
      for (const id of ['python-aesgcm', 'python-fernet'].flatMap((i) => [`${i}:encrypt`, `${i}:decrypt`])) {
        if (options.python) {
          extra[id] = [];
          extraWall[id] = [];
        }
      }
      if (options.opensslSeconds > 0) {
        extra['openssl-gcm:encrypt'] = [];
        extra['openssl-cbc:encrypt'] = [];
      }
      const wall: RoundSamples = {};
      const samples = await runRounds(
        candidates,
        options,
        async (round) => {
          // A B A B: the Python peer's round right after each Node round, then the native reference.
          if (options.python) {
            const r = await options.python.round(size, options.sliceMs, round);
            for (const name of PYTHON_CANDIDATES) {
              const [lib, op] = name.split('_') as ['aesgcm' | 'fernet', Operation];
              extra[`python-${lib}:${op}`]!.push(r.cpu[name]);
              extraWall[`python-${lib}:${op}`]!.push(r.wall[name]);
            }
          }
          if (options.opensslSeconds > 0 && round < options.opensslRounds) {
            // openssl speed times its loop by user CPU time, like the Node and Python sides.
            extra['openssl-gcm:encrypt']!.push(opensslSpeed('aes-256-gcm', size, options.opensslSeconds));
            extra['openssl-cbc:encrypt']!.push(opensslSpeed('aes-128-cbc', size, options.opensslSeconds));
          }
          options.log(`  symmetric ${size} B: round ${round + 1}/${options.rounds}`);
        },
        wall,
      );
      result[String(size)] = { ...samples, ...extra };
      wallResult[String(size)] = { ...wall, ...extraWall };
    }
  } finally {
    await facades.close();
  }
  return { cpu: result, wall: wallResult };
}
