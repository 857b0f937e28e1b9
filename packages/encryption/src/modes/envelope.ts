/**
 * Envelope mode: `encrypt` / `decrypt` of in-memory envelopes under a keyring key, AES-256-GCM (0x01) or
 * XChaCha20-Poly1305 (0x05) as the service chose, compressed by policy, then padded by the service's
 * padding policy (docs/FORMAT.md).
 *
 * This is the facade's hot path, one function each way: {@link encryptEnvelope} and {@link decryptEnvelope}.
 * Why it stays within a few percent of raw node:crypto: the config is validated once at construction; the
 * per-(service, context) decision (compression policy, context bytes) is cached by the core's `plan`; the key
 * comes from the key manager's in-memory lease (no store I/O per call); the envelope is built in one
 * allocation with its nonce drawn from crypto-core's CSPRNG pool (no CSPRNG call per message); metrics are two
 * clock reads and a few counter increments, and with the no-op collector not even that (no clock is read, no
 * collector called). `apps/bench` measures what each of these costs.
 *
 * @module
 */
import { wipe } from '@mesh/crypto-core';
import type { EnvelopeCipher } from '../config.js';
import {
  ENVELOPE_VERSION,
  EnvelopeAlgorithm,
  type EnvelopeHeader,
  FLAG_COMPRESSED,
  FLAG_PADDED,
  readHeader,
} from '../envelope.js';
import { type EncryptionError, malformed, unsupported } from '../errors.js';
import {
  type CiphertextInput,
  type ParsedCiphertext,
  type PlaintextInput,
  parseCiphertext,
  plaintextBytes,
} from '../input.js';
import type { DecryptOptions, EncryptOptions } from '../options.js';
import { paddedLength } from '../padding.js';
import {
  cipherOfEnvelope,
  minEnvelopeLength,
  openEnvelope,
  sealEnvelope,
  sealPaddedEnvelope,
} from '../symmetric-envelope.js';
import { type CallPlan, type FacadeCore, GCM, now } from './core.js';
import { FERNET_NO_CONTEXT, fernetDecrypt } from './fernet.js';

/** `enc.encrypt`: seal into an envelope of the service's cipher, compressing by policy. */
export async function encryptEnvelope(
  core: FacadeCore,
  data: PlaintextInput,
  options: EncryptOptions | undefined,
): Promise<Uint8Array> {
  const t0 = core.observed ? now() : 0;
  let bytesIn = 0;
  let cipher: EnvelopeCipher = GCM;
  try {
    const plaintext = plaintextBytes(data);
    bytesIn = plaintext.length;
    const plan = core.plan(options);
    cipher = plan.service.algorithm;
    const payload = core.compress(plaintext, plan, options?.compress);
    try {
      const key = await core.keys.acquireEncryptionKey(cipher);
      const flags = payload === plaintext ? 0 : FLAG_COMPRESSED;
      const padding = plan.service.padding;
      const out =
        padding === undefined
          ? sealEnvelope(cipher, core.keyFor(key, plan.service), key.id, flags, payload, plan.contextBytes)
          : sealPaddedEnvelope(
              cipher,
              core.keyFor(key, plan.service),
              key.id,
              flags | FLAG_PADDED,
              payload,
              paddedLength(padding, payload.length),
              plan.contextBytes,
            );
      if (core.observed) {
        core.metrics.recordKeyUse(key.id);
        core.metrics.recordOperation('encrypt', cipher, 'success', (now() - t0) / 1e3, bytesIn, out.length);
      }
      return out;
    } finally {
      if (payload !== plaintext) wipe(payload); // the compressed copy is plaintext too
      if (typeof data === 'string') wipe(plaintext); // our own encoding of the caller's string
    }
  } catch (error) {
    throw core.failed('encrypt', cipher, t0, bytesIn, error);
  }
}

/** `enc.decrypt`: open an envelope (bytes or text), or hand a Fernet token to the Fernet mode. */
export async function decryptEnvelope(
  core: FacadeCore,
  ciphertext: CiphertextInput,
  options: DecryptOptions | undefined,
): Promise<Uint8Array> {
  const t0 = core.observed ? now() : 0;
  let parsed: ParsedCiphertext | undefined;
  let envelope: Uint8Array | undefined;
  // Envelope bytes (version byte first) are the common case: no classification object for them.
  if (ciphertext instanceof Uint8Array && ciphertext.length > 0 && ciphertext[0] === ENVELOPE_VERSION) {
    envelope = ciphertext;
  } else {
    try {
      parsed = parseCiphertext(ciphertext);
    } catch (error) {
      throw core.failed('decrypt', GCM, t0, 0, error);
    }
    if (parsed.kind === 'envelope') envelope = parsed.bytes;
  }
  let plan: CallPlan;
  try {
    plan = core.plan(options);
  } catch (error) {
    throw core.failed('decrypt', GCM, t0, 0, error);
  }
  if (envelope === undefined) {
    const token = (parsed as Extract<ParsedCiphertext, { kind: 'fernet' }>).token;
    // A Fernet token cannot carry a context. Accepting one where the caller expects a context would let a
    // token sealed for another tenant or route stand in for this one's envelope: refuse instead.
    if (plan.contextBytes !== undefined) {
      throw core.failed('fernet_decrypt', 'fernet', t0, token.length, unsupported(FERNET_NO_CONTEXT));
    }
    return fernetDecrypt(core, token, options?.ttl, t0);
  }
  let cipher: EnvelopeCipher = GCM;
  try {
    const header = readHeader(envelope);
    cipher = cipherOfEnvelope(header.algorithm) ?? throwWrongEntryPoint(header);
    if (envelope.length < minEnvelopeLength(cipher))
      throw malformed('envelope is shorter than nonce and tag');
    const key = await core.decryptionKey(header.keyId, cipher);
    const payload = openEnvelope(cipher, core.keyFor(key, plan.service), envelope, plan.contextBytes);
    const out = header.flags === 0 ? payload : core.unwrapPayload(payload, header, plan);
    if (core.observed) {
      core.metrics.recordOperation(
        'decrypt',
        cipher,
        'success',
        (now() - t0) / 1e3,
        envelope.length,
        out.length,
      );
    }
    return out;
  } catch (error) {
    throw core.failed('decrypt', cipher, t0, envelope.length, error);
  }
}

function wrongEntryPoint(header: EnvelopeHeader): EncryptionError {
  if (header.algorithm === EnvelopeAlgorithm.STREAM_AES_256_GCM) {
    return unsupported('streaming (0x03) envelope: use decryptStream()');
  }
  return unsupported('RSA envelope: use decryptWith(privateKey, ...)');
}

/** `ERR_UNSUPPORTED_ALGORITHM` naming the right entry point for a stream or RSA envelope. */
export function throwWrongEntryPoint(header: EnvelopeHeader): never {
  throw wrongEntryPoint(header);
}
