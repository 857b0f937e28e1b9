/**
 * `@mesh/crypto-core`: Fernet tokens and keys, PEM, RSA public and private key imports, encrypted PKCS#8.
 *
 * @module
 */
import {
  base64UrlDecode,
  base64UrlEncode,
  decryptPrivateKeyPem,
  Fernet,
  forgeBackend,
  importRsaPrivateKey,
  importRsaPublicKey,
  MultiFernet,
  nodeBackend,
  pemDecode,
  pemEncode,
  RSA_MAX_IMPORT_BITS,
  RSA_MIN_IMPORT_BITS,
  rsaKeyId,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
} from '@mesh/crypto-core';
import fc from 'fast-check';
import { FIXTURE_PASSPHRASE, keyFixtures } from '../fixtures.js';
import { hostileBytes, hostileText, jsonish, mutatedBytes } from '../mutate.js';
import { Violation } from '../oracle.js';
import { KnownBytes } from '../support.js';
import { cases, defineTarget } from '../target.js';

const PKG = '@mesh/crypto-core';
const backends = { node: nodeBackend, forge: forgeBackend } as const;
const backendName = fc.constantFrom('node' as const, 'forge' as const);

/** A token as text, as bytes (decoded), or as the ASCII bytes of its text. */
function tokenForms(texts: fc.Arbitrary<string>, bytes: fc.Arbitrary<Uint8Array>) {
  return fc.oneof(
    { weight: 3, arbitrary: texts },
    { weight: 2, arbitrary: bytes },
    { weight: 1, arbitrary: texts.map((t) => Uint8Array.from(t, (c) => c.charCodeAt(0) & 0xff)) },
  );
}

export const fernetTarget = defineTarget({
  name: 'crypto-core/fernet',
  pkg: PKG,
  description:
    'Fernet tokens (text, raw bytes, ASCII bytes): random, mutated valid tokens (bits, version byte, timestamp, IV, ' +
    'ciphertext blocks, HMAC, truncation, padding), with and without TTL, through Fernet and MultiFernet on both ' +
    'backends; Fernet keys (text and bytes) random and mutated',
  async open() {
    const keys = [Fernet.generateKey(), Fernet.generateKey()];
    const known = new KnownBytes();
    const now = 1_700_000_000;
    const tokens: string[] = [];
    for (const [i, len] of [0, 1, 15, 16, 17, 100, 1000].entries()) {
      const plain = new Uint8Array(len).fill(i + 1);
      known.add(plain);
      const f = new Fernet(keys[i % 2]!);
      tokens.push(f.encrypt(plain, { now: now - i }));
    }
    const tokenBytes = tokens.map((t) => base64UrlDecode(t));
    const instances = {
      node: new Fernet(keys[0]!, { backend: nodeBackend, clock: () => now * 1000 }),
      forge: new Fernet(keys[0]!, { backend: forgeBackend, clock: () => now * 1000 }),
    };
    const multi = new MultiFernet([instances.node, new Fernet(keys[1]!, { clock: () => now * 1000 })]);
    const ttl = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(0, 1, 60, 3600, -1, 0.5, Number.NaN, 2 ** 53),
      fc.nat(),
    );
    const token = tokenForms(hostileText(tokens), hostileBytes(tokenBytes, { prefixes: [[0x80]] }));
    const keyText = [keys[0]!, base64UrlEncode(new Uint8Array(32)), `${keys[0]!}=`];
    const inputs = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constantFrom('decrypt' as const, 'multi' as const, 'timestamp' as const),
          token,
          ttl,
          backend: backendName,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('key' as const),
          key: fc.oneof(
            hostileText(keyText),
            mutatedBytes([new Uint8Array(32), base64UrlDecode(keys[0]!)]),
            jsonish,
          ),
        }),
      },
    );
    return cases(inputs, {
      run(input) {
        if (input.kind === 'key') {
          new Fernet(input.key as string);
          return 'key accepted';
        }
        const options = input.ttl === undefined ? {} : { ttl: input.ttl };
        if (input.kind === 'timestamp') {
          instances[input.backend].extractTimestamp(input.token);
          return 'timestamp read';
        }
        const f = input.kind === 'multi' ? multi : instances[input.backend];
        known.expect(f.decrypt(input.token, options), 'a Fernet token');
        return 'decrypted';
      },
    });
  },
});

export const pemTarget = defineTarget({
  name: 'crypto-core/pem',
  pkg: PKG,
  description:
    'PEM text: random text, mutated armour (BEGIN/END lines, labels, dashes), base64 body (characters outside the ' +
    'alphabet, non-canonical padding, line lengths, CR/LF, blank lines, duplicated or swapped lines), RFC 1421 ' +
    'headers, two blocks, 1 MiB+ input, with and without an expected label',
  async open() {
    const f = await keyFixtures();
    const seeds = [
      ...f.publicPems,
      ...f.privatePems,
      f.encryptedPem,
      'Proc-Type: 4,ENCRYPTED\n',
      `${f.publicPems[0]!}${f.publicPems[1]!}`,
    ];
    seeds.push(
      `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n`,
    );
    const inputs = fc.record({
      text: fc.oneof(
        { weight: 20, arbitrary: hostileText(seeds) },
        // Past the length bound: refused before any line is read.
        { weight: 1, arbitrary: fc.constant(`${f.publicPems[0]!}${' '.repeat(1 << 20)}`) },
      ),
      label: fc.constantFrom(undefined, 'PUBLIC KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', '', 'X-Y'),
    });
    return cases(inputs, {
      run({ text, label }) {
        const block = pemDecode(text, label);
        if (label !== undefined && block.label !== label) {
          throw new Violation('wrong-result', `label ${block.label} accepted where ${label} was expected`);
        }
        return 'decoded';
      },
    });
  },
});

/** PEM text, DER bytes, and mutated DER under valid armour (so mutations reach the DER parser). */
function keyInputs(pems: readonly string[], ders: readonly Uint8Array[], labels: readonly string[]) {
  return fc.oneof(
    { weight: 3, arbitrary: hostileText(pems) },
    { weight: 3, arbitrary: hostileBytes(ders, { prefixes: [[0x30, 0x82], [0x30, 0x81], [0x30]] }) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...labels), mutatedBytes(ders))
        .map(([label, der]) => pemEncode(label, der)),
    },
  );
}

export const rsaPublicKeyTarget = defineTarget({
  name: 'crypto-core/rsa-public-key',
  pkg: PKG,
  description:
    'RSA public keys as SPKI PEM and DER: random, mutated PEM text, mutated DER under valid armour (lengths, tags, ' +
    'OIDs, NULL parameters, modulus and exponent bytes), EC/Ed25519/PKCS#1 keys; an imported key then encrypts ' +
    'and gets its key id',
  async open() {
    const f = await keyFixtures();
    return cases(keyInputs(f.publicPems, f.publicDers, ['PUBLIC KEY', 'RSA PUBLIC KEY']), {
      run(input) {
        const key = importRsaPublicKey(input);
        if (key.bits < RSA_MIN_IMPORT_BITS || key.bits > RSA_MAX_IMPORT_BITS) {
          throw new Violation('wrong-result', `imported a ${key.bits}-bit key`);
        }
        rsaKeyId(key);
        rsaOaepEncrypt(key, new Uint8Array(16));
        return 'imported';
      },
    });
  },
});

export const rsaPrivateKeyTarget = defineTarget({
  name: 'crypto-core/rsa-private-key',
  pkg: PKG,
  description:
    'RSA private keys as PKCS#8 PEM, PKCS#1 PEM and PKCS#8 DER: random, mutated PEM text, mutated DER under valid ' +
    'armour (versions, lengths, CRT components, inconsistent primes and exponents), EC/Ed25519 keys, encrypted ' +
    'PEM; an imported key then decrypts a ciphertext on both backends',
  async open() {
    const f = await keyFixtures();
    const ciphertext = rsaOaepEncrypt(f.rsa2048PublicPem, new Uint8Array(16).fill(7));
    return cases(
      fc.record({
        key: keyInputs([...f.privatePems, f.encryptedPem], f.privateDers, ['PRIVATE KEY', 'RSA PRIVATE KEY']),
        backend: backendName,
      }),
      {
        run({ key, backend }) {
          const imported = importRsaPrivateKey(key);
          if (imported.bits < RSA_MIN_IMPORT_BITS || imported.bits > RSA_MAX_IMPORT_BITS) {
            throw new Violation('wrong-result', `imported a ${imported.bits}-bit key`);
          }
          rsaOaepDecrypt(imported, ciphertext, { backend: backends[backend] });
          return 'imported and decrypted';
        },
      },
    );
  },
});

export const pkcs8Target = defineTarget({
  name: 'crypto-core/pkcs8-encrypted',
  pkg: PKG,
  description:
    'Encrypted PKCS#8 (PBES2) PEM: random, mutated PEM text, mutated DER under valid armour (scheme, KDF and cipher ' +
    'OIDs, salt, iteration count up to 2^32-1, key length, IV, ciphertext), wrong and mutated passphrases, on both ' +
    'backends; iterations capped by maxIterations',
  async open() {
    const f = await keyFixtures();
    const der = pemDecode(f.encryptedPem).der;
    return cases(
      fc.record({
        pem: fc.oneof(
          { weight: 3, arbitrary: hostileText([f.encryptedPem]) },
          {
            weight: 5,
            arbitrary: mutatedBytes([der]).map((d) => pemEncode('ENCRYPTED PRIVATE KEY', d)),
          },
        ),
        passphrase: fc.oneof(
          { weight: 4, arbitrary: fc.constant(FIXTURE_PASSPHRASE) },
          { weight: 1, arbitrary: hostileText([FIXTURE_PASSPHRASE], 64) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
        ),
        maxIterations: fc.oneof(
          { weight: 8, arbitrary: fc.constant(5000) },
          { weight: 1, arbitrary: fc.constantFrom(0, -1, 1, 0.5, Number.NaN, 2 ** 53) },
        ),
        backend: fc.oneof({ weight: 4, arbitrary: fc.constant('node' as const) }, backendName),
      }),
      {
        async run({ pem, passphrase, maxIterations, backend }) {
          const out = await decryptPrivateKeyPem(pem, passphrase, {
            maxIterations,
            backend: backends[backend],
          });
          // PBES2 with CBC has no integrity check of its own: an altered ciphertext whose padding and DER
          // survive gives another key. Counted apart; the RSA import then validates whatever came out.
          if (out === f.rsa2048PrivatePem) return 'decrypted';
          importRsaPrivateKey(out);
          return 'decrypted to another valid key';
        },
      },
    );
  },
});
