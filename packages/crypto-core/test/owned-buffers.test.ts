/**
 * The memory contract: every array a public function returns owns its whole `ArrayBuffer` (byteOffset 0,
 * `buffer.byteLength === length`), so `new Uint8Array(out.buffer)` shows nothing but `out`; and strings that
 * become plaintext or key bytes are never encoded into Node's shared Buffer pool, where any later pooled
 * Buffer's `.buffer` would expose them.
 *
 * Every public function of the package that returns bytes is listed below, on both backends, with canary
 * plaintexts and keys processed around it.
 */
import { describe, expect, it } from 'vitest';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesGcmOpenDetached,
  aesGcmSeal,
  base64UrlDecode,
  base64UrlEncode,
  concatBytes,
  Fernet,
  generateRsaKeyPair,
  hkdfSha256,
  hmacSha256,
  importRsaPrivateKey,
  importRsaPublicKey,
  MultiFernet,
  pbkdf2Sha256,
  pemDecode,
  randomBytes,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  sha256,
  toBytes,
  utf8Encode,
} from '../src/index.js';
import { BACKENDS } from './helpers.js';

const enc = new TextEncoder();
/** A canary plaintext, passed as a string the way callers do. */
const CANARY_TEXT = 'CANARY-plaintext-7f3e9c1d-do-not-leak';
const CANARY = enc.encode(CANARY_TEXT);
/** A canary key: recognisable bytes, given as base64url text (decoded by the library) and as bytes. */
const CANARY_KEY = enc.encode('CANARY-KEY-0123456789abcdefghijkl'); // 33 bytes; first 32 used
const FERNET_KEY = CANARY_KEY.slice(0, 32);
const FERNET_KEY_TEXT = `${base64UrlEncode(FERNET_KEY)}=`;

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Node's current Buffer pool: where a `Buffer.from(smallString)` would have put its bytes. */
function currentPool(): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafe(1).buffer);
}

/** The returned array owns its whole buffer, and that buffer holds no canary. */
function expectOwned(name: string, bytes: Uint8Array, canaries: readonly Uint8Array[] = [CANARY]): void {
  expect(bytes, name).toBeInstanceOf(Uint8Array);
  expect(bytes.byteOffset, `${name}: byteOffset`).toBe(0);
  expect(bytes.buffer.byteLength, `${name}: buffer.byteLength`).toBe(bytes.length);
  const whole = new Uint8Array(bytes.buffer);
  for (const canary of canaries) expect(indexOf(whole, canary), `${name}: canary in backing store`).toBe(-1);
}

/** After `fn` ran, the current pool holds none of the canaries (strings were not Buffer.from'd). */
async function expectPoolClean(
  name: string,
  fn: () => unknown,
  canaries: readonly Uint8Array[],
): Promise<void> {
  await fn();
  const pool = currentPool();
  for (const canary of canaries) expect(indexOf(pool, canary), `${name}: canary in the Buffer pool`).toBe(-1);
}

describe.each(BACKENDS)('returned bytes own their buffer ($name backend)', (backend) => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);

  it('bytes helpers', () => {
    aesGcmEncrypt(key, nonce, CANARY_TEXT); // a canary plaintext went through the library just before
    expectOwned('randomBytes', randomBytes(16, backend));
    expectOwned('base64UrlDecode', base64UrlDecode('AQIDBAUGBwgJCgsMDQ4PEA'));
    expectOwned('concatBytes', concatBytes(Uint8Array.of(1), Uint8Array.of(2)));
    expectOwned('toBytes(string)', toBytes('hello'));
    expectOwned('utf8Encode', utf8Encode('hello'));
  });

  it('AES-GCM', () => {
    const sealed = aesGcmEncrypt(key, nonce, CANARY_TEXT, 'aad', backend);
    expectOwned('aesGcmEncrypt', sealed);
    expectOwned(
      'aesGcmDecrypt',
      aesGcmDecrypt(key, nonce, aesGcmEncrypt(key, nonce, 'x', 'aad', backend), 'aad', backend),
    );
    expectOwned('aesGcmDecrypt (canary itself)', aesGcmDecrypt(key, nonce, sealed, 'aad', backend), []);
    const detached = aesGcmSeal(key, nonce, 'small', undefined, backend);
    expectOwned('aesGcmSeal.ciphertext', detached.ciphertext);
    expectOwned('aesGcmSeal.tag', detached.tag);
    expectOwned(
      'aesGcmOpenDetached',
      aesGcmOpenDetached(key, nonce, detached.ciphertext, detached.tag, undefined, backend),
    );
  });

  it('AES-CBC: the plaintext is not a view that also holds the padding', () => {
    const cbcKey = randomBytes(16);
    const iv = randomBytes(16);
    aesCbcEncrypt(cbcKey, iv, CANARY_TEXT, backend);
    expectOwned('aesCbcEncrypt', aesCbcEncrypt(cbcKey, iv, 'hello', backend));
    for (const length of [0, 1, 15, 16, 17, 1000]) {
      const plain = new Uint8Array(length).fill(0x61);
      expectOwned(
        `aesCbcDecrypt ${length}`,
        aesCbcDecrypt(cbcKey, iv, aesCbcEncrypt(cbcKey, iv, plain, backend), backend),
      );
    }
  });

  it('HMAC, SHA-256, HKDF, PBKDF2', async () => {
    expectOwned('hmacSha256', hmacSha256(key, CANARY_TEXT, backend));
    expectOwned('sha256', sha256(CANARY_TEXT, backend));
    expectOwned('hkdfSha256', hkdfSha256(key, 'salt', 'info', 32, backend));
    expectOwned('hkdfSha256 long info', hkdfSha256(key, 'salt', 'i'.repeat(2000), 64, backend));
    expectOwned('pbkdf2Sha256', await pbkdf2Sha256(CANARY_TEXT, 'salt', 1000, 32, { backend }));
  });

  it('Fernet and MultiFernet decrypt (every padding length)', () => {
    const f = new Fernet(FERNET_KEY_TEXT, { backend });
    const other = new Fernet(randomBytes(32), { backend });
    const mf = new MultiFernet([other, f]);
    for (const length of [0, 1, 15, 16, 17, 100]) {
      const token = f.encrypt(new Uint8Array(length).fill(0x62));
      expectOwned(`Fernet.decrypt ${length}`, f.decrypt(token), [CANARY, FERNET_KEY]);
      expectOwned(`MultiFernet.decrypt ${length}`, mf.decrypt(token), [CANARY, FERNET_KEY]);
    }
    expectOwned('Fernet.decrypt (canary itself)', f.decrypt(f.encrypt(CANARY_TEXT)), [FERNET_KEY]);
  });
});

describe('RSA outputs own their buffer', () => {
  it.each(BACKENDS)('import, encrypt, decrypt ($name backend)', async (backend) => {
    const { publicKeyPem, privateKeyPem } = await generateRsaKeyPair(2048);
    const pub = importRsaPublicKey(publicKeyPem);
    const priv = importRsaPrivateKey(privateKeyPem);
    expectOwned('pemDecode().der', pemDecode(publicKeyPem).der);
    expectOwned('RsaPublicKey.spkiDer', pub.spkiDer);
    expectOwned('RsaPrivateKey.pkcs8Der', priv.pkcs8Der);
    const wrapped = rsaOaepEncrypt(pub, CANARY_TEXT, { label: 'l', backend });
    expectOwned('rsaOaepEncrypt', wrapped);
    expectOwned('rsaOaepDecrypt (canary itself)', rsaOaepDecrypt(priv, wrapped, { label: 'l', backend }), []);
    const small = rsaOaepEncrypt(pub, 'x', { backend });
    expectOwned('rsaOaepDecrypt', rsaOaepDecrypt(priv, small, { backend }));
  });
});

describe('strings that become secrets never go through the Buffer pool', () => {
  it('plaintext strings: GCM, CBC, Fernet, HMAC', async () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    await expectPoolClean('aesGcmEncrypt(string)', () => aesGcmEncrypt(key, nonce, CANARY_TEXT), [CANARY]);
    await expectPoolClean('aesCbcEncrypt(string)', () => aesCbcEncrypt(key, randomBytes(16), CANARY_TEXT), [
      CANARY,
    ]);
    const f = new Fernet(randomBytes(32));
    await expectPoolClean('Fernet.encrypt(string)', () => f.encrypt(CANARY_TEXT), [CANARY]);
  });

  it('a Fernet key given as base64url text is decoded into unpooled memory', async () => {
    await expectPoolClean('new Fernet(text)', () => new Fernet(FERNET_KEY_TEXT), [FERNET_KEY]);
    await expectPoolClean('base64UrlDecode(key text)', () => base64UrlDecode(FERNET_KEY_TEXT), [FERNET_KEY]);
  });

  it('a Fernet key given as a pooled Buffer is copied, not kept as a view', () => {
    const pooled = Buffer.from(FERNET_KEY); // the caller's Buffer, from the pool
    const f = new Fernet(pooled);
    const token = f.encrypt('x');
    pooled.fill(0); // the caller wipes its copy: the Fernet must keep working on its own
    expect(new TextDecoder().decode(f.decrypt(token))).toBe('x');
  });
});
