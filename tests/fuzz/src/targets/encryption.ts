/**
 * `@mesh/encryption`: envelopes (0x01 AES-256-GCM, 0x05 XChaCha20-Poly1305, RSA 0x02 / 0x04), `inspect`,
 * Fernet tokens through the facade, streaming frames (Node and WHATWG openers, any chunking) and
 * configuration objects, all through `createEncryption` and the package's other public exports.
 *
 * A decryption that succeeds on altered input must give back a plaintext that was sealed (anything else is
 * a forgery); every other outcome must be a typed error.
 *
 * @module
 */
import { base64UrlDecode, importRsaPrivateKey } from '@mesh/crypto-core';
import {
  algorithmName,
  createEncryption,
  type Encryption,
  type EncryptionConfig,
  inspect,
  readHeader,
  resolveConfig,
} from '@mesh/encryption';
import fc from 'fast-check';
import { keyFixtures } from '../fixtures.js';
import { hostileBytes, hostileText, jsonish, mutatedBytes, mutatedJson, mutatedText } from '../mutate.js';
import { Violation } from '../oracle.js';
import { chunk, chunkSizes, hex, KnownBytes, throughNode, throughWeb } from '../support.js';
import { cases, defineTarget } from '../target.js';

const PKG = '@mesh/encryption';
const MiB = 1024 * 1024;

/** Services of the fuzzed facade: each changes how an envelope is opened. */
const SERVICES = ['fuzz', 'derived', 'strict', 'xc', 'big', 'padded', 'pow2', 'xcpad'] as const;
const CONTEXTS = ['', 'tenant-1', 'orders->payments'] as const;

/**
 * One facade for every encryption target: small inflation limit by default, a larger one for service `big`;
 * services that pad (flag bit1) to multiples of 64 and to powers of two, on both ciphers, compressed or not.
 */
async function facade(): Promise<Encryption> {
  return createEncryption({
    service: 'fuzz',
    compression: {
      thresholdBytes: 64,
      maxInflatedBytes: 64 * 1024,
      services: { big: { maxInflatedBytes: 4 * MiB } },
    },
    services: {
      derived: { keyDerivation: true },
      strict: { requireContext: true },
      xc: { algorithm: 'xchacha20-poly1305' },
      big: {},
      padded: { padding: { multipleOf: 64 } },
      pow2: { padding: { powerOfTwo: true, minBytes: 16, maxBytes: 256 }, compression: false },
      xcpad: { algorithm: 'xchacha20-poly1305', padding: { multipleOf: 32 } },
    },
  });
}

/** Plaintexts sealed as seeds: empty, short, compressible (flag set), and a bomb (1 MiB of zeros). */
function plaintexts(): Uint8Array[] {
  return [
    new Uint8Array(0),
    new TextEncoder().encode('hello'),
    new Uint8Array(100).map((_, i) => i),
    new TextEncoder().encode(JSON.stringify(Array(60).fill({ sku: 'A-1', qty: 2 }))),
    new Uint8Array(MiB),
  ];
}

/** Call options: known services and contexts mostly, any string or odd value sometimes. */
const callOptions = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        context: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...CONTEXTS) },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
          { weight: 1, arbitrary: jsonish },
        ),
        service: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...SERVICES) },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
          { weight: 1, arbitrary: jsonish },
        ),
        ttl: fc.oneof(fc.constant(undefined), fc.constantFrom(0, 60, -1, 0.5), jsonish),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: jsonish },
);

/** A ciphertext as bytes, or as base64url text (mutated as text, or encoded after a byte mutation). */
function ciphertextForms(
  bytes: readonly Uint8Array[],
  prefixes: number[][],
): fc.Arbitrary<Uint8Array | string> {
  const texts = bytes.map((b) => Buffer.from(b).toString('base64url'));
  return fc.oneof(
    { weight: 4, arbitrary: hostileBytes(bytes, { prefixes }) },
    { weight: 1, arbitrary: hostileText(texts) },
    { weight: 1, arbitrary: mutatedBytes(bytes).map((b) => Buffer.from(b).toString('base64url')) },
    { weight: 1, arbitrary: jsonish as fc.Arbitrary<Uint8Array | string> },
  );
}

interface Sealed {
  enc: Encryption;
  known: KnownBytes;
  envelopes: Uint8Array[];
}

/** Envelopes of every plaintext, service and context, for the services given. */
async function sealAll(services: readonly string[]): Promise<Sealed> {
  const enc = await facade();
  const known = new KnownBytes();
  const envelopes: Uint8Array[] = [];
  for (const plain of plaintexts()) {
    known.add(plain);
    for (const service of services) {
      for (const context of CONTEXTS) {
        if (plain.length === MiB && service !== 'big') continue;
        if (service === 'strict' && context === '') continue;
        envelopes.push(await enc.encrypt(plain, { service, context }));
      }
    }
  }
  return { enc, known, envelopes };
}

function symmetricTarget(
  name: string,
  algorithm: 0x01 | 0x05,
  services: readonly string[],
  description: string,
) {
  return defineTarget({
    name,
    pkg: PKG,
    description,
    async open() {
      const { enc, known, envelopes } = await sealAll(services);
      const inputs = fc.record({
        ciphertext: ciphertextForms(envelopes, [[0x01, algorithm], [0x01, algorithm, 0x01], [0x01]]),
        options: callOptions,
        op: fc.constantFrom(
          'decrypt' as const,
          'decrypt' as const,
          'decryptToString' as const,
          'rewrap' as const,
        ),
      });
      return cases(inputs, {
        async run({ ciphertext, options, op }) {
          const o = options as never;
          if (op === 'rewrap') {
            const again = await enc.rewrap(ciphertext, o);
            known.expect(await enc.decrypt(again, o), 'a rewrapped envelope');
            return 'rewrapped';
          }
          if (op === 'decryptToString') {
            known.expect(new TextEncoder().encode(await enc.decryptToString(ciphertext, o)), 'an envelope');
            return 'decrypted';
          }
          known.expect(await enc.decrypt(ciphertext, o), 'an envelope');
          return 'decrypted';
        },
        close: () => enc.close(),
      });
    },
  });
}

export const envelopeGcmTarget = symmetricTarget(
  'encryption/envelope-gcm',
  0x01,
  ['fuzz', 'derived', 'strict', 'big', 'padded', 'pow2'],
  'AES-256-GCM envelopes (0x01) as bytes and base64url text to decrypt, decryptToString and rewrap: random, ' +
    'mutated valid envelopes (version, algorithm, flags, key id, nonce, tag, truncated to the header and below, ' +
    'extended, spliced), padded envelopes (flag bit1: marker and zero bytes altered, padding without a marker), ' +
    'compressed envelopes inflating past the limit, derived-key and context-bound ' +
    'envelopes opened under the wrong service or context, options of every type',
);

export const envelopeXChaChaTarget = symmetricTarget(
  'encryption/envelope-xchacha',
  0x05,
  ['xc', 'xcpad'],
  'XChaCha20-Poly1305 envelopes (0x05) as bytes and text to decrypt, decryptToString and rewrap: random, mutated ' +
    'valid envelopes (header, 24-byte nonce, tag, truncation, splices with 0x01 bodies), padded envelopes, wrong contexts and ' +
    'services, options of every type',
);

export const rsaEnvelopeTarget = defineTarget({
  name: 'encryption/rsa',
  pkg: PKG,
  description:
    'RSA envelopes, direct (0x04) and hybrid (0x02), to decryptWith: random, mutated valid envelopes (wrapped key ' +
    'length field, wrapped key, nonce, tag, compressed flag, truncation), wrong contexts; private keys as PEM, ' +
    'imported objects, look-alike objects with mutated PKCS#8 DER, and values of every type',
  async open() {
    const f = await keyFixtures();
    const enc = await facade();
    const known = new KnownBytes();
    const envelopes: Uint8Array[] = [];
    for (const plain of [
      new Uint8Array(0),
      new TextEncoder().encode('hello'),
      new Uint8Array(1000).fill(3),
    ]) {
      known.add(plain);
      for (const context of CONTEXTS) {
        envelopes.push(await enc.encryptFor(f.rsa2048PublicPem, plain, { context }));
        envelopes.push(await enc.encryptFor(f.rsa2048PublicPem, plain, { context, service: 'padded' }));
      }
    }
    const imported = importRsaPrivateKey(f.rsa2048PrivatePem);
    const privateKey = fc.oneof(
      { weight: 8, arbitrary: fc.constant(imported) },
      { weight: 1, arbitrary: fc.constantFrom(...f.privatePems) },
      {
        weight: 1,
        arbitrary: mutatedBytes([imported.pkcs8Der, ...f.privateDers]).map((pkcs8Der) => ({ pkcs8Der })),
      },
      { weight: 1, arbitrary: jsonish },
    );
    const inputs = fc.record({
      privateKey,
      ciphertext: ciphertextForms(envelopes, [
        [0x01, 0x02],
        [0x01, 0x04],
        [0x01, 0x02, 0x00],
      ]),
      options: callOptions,
    });
    return cases(inputs, {
      async run({ privateKey: key, ciphertext, options }) {
        known.expect(await enc.decryptWith(key as never, ciphertext, options as never), 'an RSA envelope');
        return 'decrypted';
      },
      close: () => enc.close(),
    });
  },
});

/** Every kind of ciphertext, for inspect and the facade's Fernet path. */
async function everyCiphertext(enc: Encryption): Promise<{ bytes: Uint8Array[]; tokens: string[] }> {
  const f = await keyFixtures();
  const bytes: Uint8Array[] = [
    await enc.encrypt('hello'),
    await enc.encrypt(new Uint8Array(2000), { context: 'tenant-1' }),
    await enc.encrypt('hello', { service: 'xc' }),
    await enc.encrypt('hello', { service: 'padded' }),
    await throughNode(enc.encryptStream({ segmentSize: 16, service: 'pow2' }), [new Uint8Array(40)]),
    await enc.encryptFor(f.rsa2048PublicPem, 'hello'),
    await enc.encryptFor(f.rsa2048PublicPem, new Uint8Array(1000)),
    await throughNode(enc.encryptStream({ segmentSize: 16 }), [new Uint8Array(40)]),
  ];
  const tokens = [await enc.fernet.encrypt('hello'), await enc.fernet.encrypt(new Uint8Array(100))];
  bytes.push(...tokens.map((t) => base64UrlDecode(t)));
  return { bytes, tokens };
}

export const inspectTarget = defineTarget({
  name: 'encryption/inspect',
  pkg: PKG,
  description:
    'inspect() and readHeader() of every ciphertext kind (0x01-0x05 envelopes, stream headers, Fernet tokens as ' +
    'text, bytes and ASCII bytes): random, mutated, truncated below each minimum length, unknown versions, ' +
    'algorithms and flags, Fernet timestamps past 2^53, values of every type',
  async open() {
    const enc = await facade();
    const { bytes, tokens } = await everyCiphertext(enc);
    await enc.close();
    const inputs = fc.record({
      ciphertext: fc.oneof(
        { weight: 6, arbitrary: ciphertextForms(bytes, [[0x01], [0x80], [0x67]]) },
        { weight: 2, arbitrary: hostileText(tokens) },
      ),
      header: fc.boolean(),
    });
    return cases(inputs, {
      run({ ciphertext, header }) {
        if (header) {
          if (!(ciphertext instanceof Uint8Array)) return 'skipped';
          const h = readHeader(ciphertext);
          algorithmName(h.algorithm);
          return 'header read';
        }
        const info = inspect(ciphertext);
        if (info.format !== 'envelope-v1' && info.format !== 'fernet') {
          throw new Violation('wrong-result', `format ${String(info.format)}`);
        }
        if (info.timestamp !== undefined && !Number.isSafeInteger(info.timestamp)) {
          throw new Violation('wrong-result', `timestamp ${info.timestamp}`);
        }
        return 'inspected';
      },
    });
  },
});

export const fernetFacadeTarget = defineTarget({
  name: 'encryption/fernet',
  pkg: PKG,
  description:
    'Fernet tokens through the facade (fernet.decrypt, fernet.rotate, decrypt, rewrap) as text, raw bytes and ' +
    'ASCII bytes: random, mutated valid tokens, envelopes given to the Fernet entry points, a context given with ' +
    'a token, TTLs of every type',
  async open() {
    const enc = await facade();
    const known = new KnownBytes();
    const tokens: string[] = [];
    for (const plain of [new Uint8Array(0), new TextEncoder().encode('hello'), new Uint8Array(100).fill(9)]) {
      known.add(plain);
      tokens.push(await enc.fernet.encrypt(plain));
    }
    const envelope = await enc.encrypt('hello');
    known.add(new TextEncoder().encode('hello'));
    const tokenBytes = tokens.map((t) => base64UrlDecode(t));
    const inputs = fc.record({
      token: fc.oneof(
        { weight: 4, arbitrary: hostileText([...tokens, Buffer.from(envelope).toString('base64url')]) },
        { weight: 2, arbitrary: hostileBytes(tokenBytes, { prefixes: [[0x80]] }) },
        { weight: 1, arbitrary: mutatedText(tokens).map((t) => new TextEncoder().encode(t)) },
        { weight: 1, arbitrary: jsonish as fc.Arbitrary<string> },
      ),
      op: fc.constantFrom(
        'fernet.decrypt' as const,
        'fernet.rotate' as const,
        'decrypt' as const,
        'rewrap' as const,
      ),
      options: callOptions,
    });
    return cases(inputs, {
      async run({ token, op, options }) {
        const o = options as never;
        switch (op) {
          case 'fernet.decrypt':
            known.expect(await enc.fernet.decrypt(token, o), 'a Fernet token');
            return 'decrypted';
          case 'decrypt':
            known.expect(await enc.decrypt(token, o), 'a Fernet token');
            return 'decrypted';
          case 'fernet.rotate':
            known.expect(
              await enc.fernet.decrypt(await enc.fernet.rotate(token as string)),
              'a rotated token',
            );
            return 'rotated';
          case 'rewrap':
            known.expect(await enc.decrypt(await enc.rewrap(token, o)), 'a rewrapped token');
            return 'rewrapped';
        }
      },
      close: () => enc.close(),
    });
  },
});

/** Stream envelopes of several sizes and segment sizes (so mutations hit segment boundaries). */
async function sealStreams(enc: Encryption): Promise<{ streams: Uint8Array[]; known: KnownBytes }> {
  const known = new KnownBytes();
  const streams: Uint8Array[] = [];
  for (const length of [0, 15, 16, 17, 100, 3000]) {
    const plain = new Uint8Array(length).map((_, i) => (i * 7) & 0xff);
    known.add(plain);
    for (const segmentSize of [16, 64, 1000]) {
      for (const context of ['', 'tenant-1']) {
        streams.push(await throughNode(enc.encryptStream({ segmentSize, context }), chunk(plain, [33])));
      }
      // Padded streams (flag bit1): the last segment ends in padding.
      for (const service of ['padded', 'pow2']) {
        streams.push(await throughNode(enc.encryptStream({ segmentSize, service }), chunk(plain, [33])));
      }
    }
  }
  return { streams, known };
}

function streamTarget(name: string, flavour: 'node' | 'web') {
  return defineTarget({
    name,
    pkg: PKG,
    description:
      `streaming envelopes (0x03) through the ${flavour === 'node' ? 'Node Transform (decryptStream)' : 'WHATWG TransformStream (decryptWebStream)'}, ` +
      'cut into arbitrary chunks (empty writes included): random, mutated valid and padded streams (header fields and flags, segment ' +
      'size 0 to 2^32-1, segments flipped, truncated at and inside segment boundaries, reordered, duplicated, ' +
      'appended), wrong contexts, options of every type',
    async open() {
      const enc = await facade();
      const { streams, known } = await sealStreams(enc);
      const inputs = fc.record({
        data: hostileBytes(streams, { prefixes: [[0x01, 0x03, 0x00]] }),
        sizes: chunkSizes,
        options: fc.oneof(
          { weight: 8, arbitrary: fc.record({ context: fc.constantFrom('', 'tenant-1', 'tenant-2') }) },
          { weight: 2, arbitrary: fc.record({ service: fc.constantFrom('padded', 'pow2') }) },
          { weight: 1, arbitrary: callOptions },
        ),
      });
      return cases(inputs, {
        async run({ data, sizes, options }) {
          const o = options as never;
          const chunks = chunk(data, sizes);
          const out =
            flavour === 'node'
              ? await throughNode(enc.decryptStream(o), chunks)
              : await throughWeb(enc.decryptWebStream(o), chunks);
          known.expect(out, 'a stream');
          return 'decrypted';
        },
        close: () => enc.close(),
      });
    },
  });
}

export const streamNodeTarget = streamTarget('encryption/stream-node', 'node');
export const streamWebTarget = streamTarget('encryption/stream-web', 'web');

/** A configuration using every JSON-expressible option. */
const VALID_CONFIG = {
  service: 'orders',
  keyring: 'orders-ring',
  algorithm: 'aes-256-gcm',
  keySize: 256,
  pbkdf2Iterations: 600_000,
  rotation: { interval: '24h', retention: '7d', maxEncryptionsPerKey: 1_000_000, maxRetainedKeys: 10 },
  compression: {
    enabled: true,
    thresholdBytes: 1024,
    level: 6,
    minSavingsRatio: 0.1,
    maxInflatedBytes: MiB,
    services: { payments: { enabled: false }, 'orders->audit': { level: 1 } },
  },
  keyDerivation: false,
  asymmetric: true,
  fernet: { enabled: true, ttl: 3600 },
  padding: { multipleOf: 256 },
  services: {
    audit2: { padding: { powerOfTwo: true, minBytes: 256, maxBytes: 65_536 } },
    plain: { padding: false },
    payments: {
      algorithm: 'xchacha20-poly1305',
      compression: false,
      context: 'payments',
      requireContext: true,
      keyDerivation: true,
    },
    audit: { compression: { level: 9 } },
  },
};

const CONFIG_KEYS = [
  ...Object.keys(VALID_CONFIG),
  'kek',
  'keyStore',
  'keyManager',
  'metrics',
  'clock',
  'interval',
  'retention',
  'maxEncryptionsPerKey',
  'maxRetainedKeys',
  'minDecryptionVersion',
  'usageLeaseSize',
  'enabled',
  'ttl',
  'context',
  'requireContext',
  'passphrase',
  'env',
  'key',
  'file',
  'iterations',
  'padding',
  'multipleOf',
  'powerOfTwo',
  'minBytes',
  'maxBytes',
];

export const configTarget = defineTarget({
  name: 'encryption/config',
  pkg: PKG,
  description:
    'configuration objects for resolveConfig and createEncryption: mutated valid configs (every field set to ' +
    'boundary numbers, wrong types, NaN, bigint, symbols, functions, null-prototype objects; unknown and ' +
    '__proto__ keys; durations; services, compression and padding overrides), random JSON-ish values; every config ' +
    'accepted then encrypts, decrypts and closes',
  async open() {
    return cases(
      fc.oneof(
        { weight: 8, arbitrary: mutatedJson([VALID_CONFIG, {}], CONFIG_KEYS, 4) },
        { weight: 1, arbitrary: jsonish },
      ),
      {
        async run(config) {
          resolveConfig(config as EncryptionConfig);
          // A passphrase KEK derives with the configured PBKDF2 count (100,000 at least): accepted configs with
          // one are checked by resolveConfig only, so that a case costs no PBKDF2 run.
          const kek =
            typeof config === 'object' && config !== null ? (config as { kek?: unknown }).kek : undefined;
          if (typeof kek === 'object' && kek !== null && 'passphrase' in kek)
            return 'resolved (passphrase KEK)';
          const enc = await createEncryption(config as EncryptionConfig);
          try {
            const sealed = await enc.encrypt('hello', { context: 'payments' });
            const opened = await enc.decrypt(sealed, { context: 'payments' });
            if (hex(opened) !== hex(new TextEncoder().encode('hello'))) {
              throw new Violation('wrong-result', 'a configured facade did not round-trip');
            }
          } finally {
            await enc.close();
          }
          return 'created';
        },
      },
    );
  },
});
