/**
 * RSA mode: `encryptFor` a peer's public key and `decryptWith` the private key, RSA-OAEP-SHA256 direct (0x04)
 * when the payload fits and hybrid RSA-OAEP + AES-256-GCM (0x02) otherwise (codec in `../asymmetric.ts`,
 * layout in docs/FORMAT.md).
 *
 * Never compressed: an RSA envelope authenticates no sender, so its reader refuses the compressed flag (any
 * public-key holder could otherwise make it inflate a bomb; see `readHeader`). Padded by the service's
 * policy like every other mode; the direct/hybrid choice is made on the padded size (`../asymmetric.ts`).
 *
 * @module
 */

import { wipe } from '@mesh/crypto-core';
import type { CryptoAlgorithm } from '@mesh/metrics';
import {
  openWithPrivateKey,
  type PrivateKeyInput,
  type PublicKeyInput,
  sealForPublicKey,
  toPrivateKey,
  toPublicKey,
} from '../asymmetric.js';
import { EnvelopeAlgorithm, readHeader } from '../envelope.js';
import { invalidInput, unsupported } from '../errors.js';
import { type CiphertextInput, type PlaintextInput, parseCiphertext, plaintextBytes } from '../input.js';
import type { DecryptOptions, EncryptOptions } from '../options.js';
import { type FacadeCore, now } from './core.js';

/** `enc.encryptFor`: seal for the holder of `publicKey`. */
export async function encryptForPublicKey(
  core: FacadeCore,
  publicKey: PublicKeyInput,
  data: PlaintextInput,
  options: EncryptOptions | undefined,
): Promise<Uint8Array> {
  const t0 = now();
  let bytesIn = 0;
  let algorithm: CryptoAlgorithm = 'rsa-oaep-sha256';
  try {
    core.asymmetricEnabled();
    const key = toPublicKey(publicKey);
    const plaintext = plaintextBytes(data);
    bytesIn = plaintext.length;
    const plan = core.plan(options);
    if (options?.compress !== undefined && typeof options.compress !== 'boolean') {
      throw invalidInput('compress must be a boolean');
    }
    try {
      const out = sealForPublicKey(key, plaintext, 0, plan.contextBytes, plan.service.padding);
      algorithm =
        out[1] === EnvelopeAlgorithm.RSA_OAEP_SHA256 ? 'rsa-oaep-sha256' : 'hybrid-rsa-oaep-aes-256-gcm';
      core.metrics.recordOperation(
        'encrypt_for',
        algorithm,
        'success',
        (now() - t0) / 1e3,
        bytesIn,
        out.length,
      );
      return out;
    } finally {
      if (typeof data === 'string') wipe(plaintext);
    }
  } catch (error) {
    throw core.failed('encrypt_for', algorithm, t0, bytesIn, error);
  }
}

/** `enc.decryptWith`: open an 0x02 / 0x04 envelope with the matching private key. */
export async function decryptWithPrivateKey(
  core: FacadeCore,
  privateKey: PrivateKeyInput,
  ciphertext: CiphertextInput,
  options: DecryptOptions | undefined,
): Promise<Uint8Array> {
  const t0 = now();
  let bytesIn = 0;
  let algorithm: CryptoAlgorithm = 'rsa-oaep-sha256';
  try {
    core.asymmetricEnabled();
    const parsed = parseCiphertext(ciphertext);
    if (parsed.kind === 'fernet') throw unsupported('a Fernet token is not an RSA envelope: use decrypt()');
    const envelope = parsed.bytes;
    bytesIn = envelope.length;
    const header = readHeader(envelope);
    if (header.algorithm === EnvelopeAlgorithm.HYBRID_RSA_OAEP_AES_256_GCM) {
      algorithm = 'hybrid-rsa-oaep-aes-256-gcm';
    }
    const plan = core.plan(options);
    // readHeader refused the compressed flag: an RSA payload is never inflated.
    const payload = openWithPrivateKey(toPrivateKey(privateKey), envelope, header, plan.contextBytes);
    const out = header.flags === 0 ? payload : core.unwrapPayload(payload, header, plan);
    core.metrics.recordOperation(
      'decrypt_with',
      algorithm,
      'success',
      (now() - t0) / 1e3,
      bytesIn,
      out.length,
    );
    return out;
  } catch (error) {
    throw core.failed('decrypt_with', algorithm, t0, bytesIn, error);
  }
}
