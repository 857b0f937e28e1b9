/**
 * The backend interface (jose's `runtime/interfaces.d.ts` pattern): portable code in `src/` imports only
 * these types; `node/` and `forge/` implement them. Given the same key, nonce/IV and input, both backends
 * must produce identical bytes.
 *
 * Backends do raw work only. Argument validation (lengths, bounds), error typing and wiping of temporaries
 * live in the public wrappers (`aes-gcm.ts`, `fernet.ts`, ...), once, not in every backend.
 *
 * @module
 */

/** Names of the built-in backends. */
export type BackendName = 'node' | 'forge';

/** Symmetric primitives and hashes. All inputs have already been validated by the caller. */
export interface SymmetricBackend {
  readonly name: BackendName;
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;
  /**
   * Longest AES-GCM nonce this backend accepts, in bytes (node:crypto / OpenSSL 3: 128; forge: no limit of its
   * own). The public API always uses 12; longer nonces only matter for test vectors.
   */
  readonly gcmMaxNonceLength: number;
  /**
   * AES-GCM (key 16/24/32 bytes, any non-empty nonce length, 16-byte tag). Writes `ciphertext || tag`
   * into `out` starting at `outOffset` and returns the offset just past the tag.
   */
  gcmSealInto(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array | undefined,
    out: Uint8Array,
    outOffset: number,
  ): number;
  /**
   * AES-GCM seal with a detached 16-byte tag. Both arrays are fresh and own their whole `ArrayBuffer` (no
   * shared pool): the node backend hands back node:crypto's own outputs without copying them.
   */
  gcmSeal(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array | undefined,
  ): { ciphertext: Uint8Array; tag: Uint8Array };
  /**
   * AES-GCM open with a detached tag (`tag.length` bytes, already checked against the wrapper's tag length).
   * Returns the plaintext, or `undefined` when authentication fails.
   */
  gcmOpenDetached(
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    aad: Uint8Array | undefined,
  ): Uint8Array | undefined;
  /** AES-CBC with PKCS#7 padding. */
  cbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * AES-CBC with PKCS#7 padding, written into `out` at `outOffset` (room for `(floor(len / 16) + 1) * 16`
   * bytes already checked). Returns the offset just past the ciphertext. Lets Fernet build a token in one
   * allocation.
   */
  cbcEncryptInto(
    key: Uint8Array,
    iv: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): number;
  /** AES-CBC with PKCS#7 padding; `undefined` when the padding is invalid. */
  cbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined;
  /** HMAC-SHA256 over the concatenation of `parts`. */
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF with SHA-256; `length` already checked to be <= 255 * 32. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** PBKDF2-HMAC-SHA256. Must not block the event loop for long on the node backend. */
  pbkdf2Sha256(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Promise<Uint8Array>;
}

/** Names of the ChaCha20-Poly1305 backends: `sodium` (sodium-native, libsodium) and `noble` (@noble/ciphers). */
export type ChaChaBackendName = 'sodium' | 'noble';

/**
 * ChaCha20-Poly1305 AEADs (16-byte tag, 32-byte key). The nonce length picks the construction: 12 bytes is
 * ChaCha20-Poly1305 (RFC 8439), 24 bytes is XChaCha20-Poly1305 (HChaCha20 subkey, then RFC 8439). Inputs are
 * already validated by the caller; given the same inputs both backends produce identical bytes.
 */
export interface ChaChaBackend {
  readonly name: ChaChaBackendName;
  /**
   * Fills `bytes` with CSPRNG output (sodium: libsodium's `randombytes_buf`; noble: node:crypto
   * `randomFillSync`), for the random nonces of XChaCha20-Poly1305.
   */
  randomFill(bytes: Uint8Array): void;
  /**
   * Writes `ciphertext || tag` (`plaintext.length + 16` bytes) into `out` at `outOffset` and returns the offset
   * just past the tag. `plaintext` is either disjoint from that target or starts exactly at it (in place).
   */
  chachaSealInto(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array | undefined,
    out: Uint8Array,
    outOffset: number,
  ): number;
  /**
   * Verifies and decrypts `ciphertext || tag` (at least 16 bytes) into a new array that owns its whole
   * `ArrayBuffer`. Returns `undefined` when authentication fails; no plaintext is released then.
   */
  chachaOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertextAndTag: Uint8Array,
    aad: Uint8Array | undefined,
  ): Uint8Array | undefined;
}

/** A PEM-encoded RSA key pair: SPKI public key and unencrypted PKCS#8 private key. */
export interface RsaKeyPairPem {
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

/** RSA primitives. Keys travel as DER bytes between wrapper and backend. */
export interface RsaBackend {
  /** Generate an RSA key pair (e = 65537) without blocking the event loop. */
  generateRsaKeyPair(modulusBits: number): Promise<RsaKeyPairPem>;
  /** RSA-OAEP with SHA-256 and MGF1-SHA256. `spkiDer` is the public key's SubjectPublicKeyInfo DER. */
  rsaOaepEncrypt(spkiDer: Uint8Array, plaintext: Uint8Array, label: Uint8Array | undefined): Uint8Array;
  /** RSA-OAEP-SHA256 decrypt; `undefined` on any failure. `pkcs8Der` is the private key's PKCS#8 DER. */
  rsaOaepDecrypt(
    pkcs8Der: Uint8Array,
    ciphertext: Uint8Array,
    label: Uint8Array | undefined,
  ): Uint8Array | undefined;
}

/** A complete backend. */
export interface CryptoBackend extends SymmetricBackend, RsaBackend {}
