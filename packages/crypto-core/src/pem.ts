/**
 * PEM (RFC 7468) encoding and strict decoding.
 *
 * @module
 */
import { MeshCryptoError } from './errors.js';

/** A decoded PEM block. */
export interface PemBlock {
  /** The label between `-----BEGIN ` and `-----`, e.g. `PUBLIC KEY`. */
  readonly label: string;
  /** The DER bytes. */
  readonly der: Uint8Array;
}

/** Encode DER bytes as PEM with the given label (RFC 7468 §2). */
export function pemEncode(label: string, der: Uint8Array): string {
  void label;
  void der;
  throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'not implemented yet');
}

/** Decode one PEM block, strictly. */
export function pemDecode(pem: string, expectedLabel?: string): PemBlock {
  void pem;
  void expectedLabel;
  throw new MeshCryptoError('ERR_UNSUPPORTED_ALGORITHM', 'not implemented yet');
}
