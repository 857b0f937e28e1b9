/**
 * Rewrap mode: re-encrypt an envelope or a Fernet token under the current primary without returning
 * plaintext (`enc.rewrap`; `enc.rewrapMany` runs it over a list, see `../rewrap.ts`).
 *
 * An envelope's payload stays as it was sealed (compressed or not): no inflation, so no decompression bomb
 * to defuse, and its flags are carried over into the new, again authenticated, header. It is sealed again
 * with the service's cipher, so rewrapping also migrates envelopes from one cipher to the other.
 *
 * @module
 */
import { base64UrlEncode, wipe } from '@mesh/crypto-core';
import type { CryptoAlgorithm } from '@mesh/metrics';
import { readHeader } from '../envelope.js';
import { malformed } from '../errors.js';
import { type CiphertextInput, type ParsedCiphertext, parseCiphertext } from '../input.js';
import type { RewrapOptions } from '../options.js';
import { cipherOfEnvelope, minEnvelopeLength, openEnvelope, sealEnvelope } from '../symmetric-envelope.js';
import { type FacadeCore, GCM, now } from './core.js';
import { throwWrongEntryPoint } from './envelope.js';
import { rewrapFernet } from './fernet.js';

/** `enc.rewrap`: same form (bytes or text) out as in. */
export async function rewrapCiphertext(
  core: FacadeCore,
  ciphertext: CiphertextInput,
  options: RewrapOptions | undefined,
): Promise<Uint8Array | string> {
  const t0 = now();
  let parsed: ParsedCiphertext | undefined;
  const bytesIn = typeof ciphertext === 'string' || ciphertext instanceof Uint8Array ? ciphertext.length : 0;
  try {
    parsed = parseCiphertext(ciphertext);
    const out =
      parsed.kind === 'fernet'
        ? await rewrapFernet(core, parsed, options)
        : await rewrapEnvelope(core, parsed, options);
    const algorithm: CryptoAlgorithm =
      parsed.kind === 'fernet' ? 'fernet' : core.plan(options).service.algorithm;
    core.metrics.recordOperation('rewrap', algorithm, 'success', (now() - t0) / 1e3, bytesIn, out.length);
    return out;
  } catch (error) {
    throw core.failed('rewrap', parsed?.kind === 'fernet' ? 'fernet' : GCM, t0, bytesIn, error);
  }
}

async function rewrapEnvelope(
  core: FacadeCore,
  parsed: Extract<ParsedCiphertext, { kind: 'envelope' }>,
  options: RewrapOptions | undefined,
): Promise<Uint8Array | string> {
  const envelope = parsed.bytes;
  const plan = core.plan(options);
  const header = readHeader(envelope);
  const oldCipher = cipherOfEnvelope(header.algorithm) ?? throwWrongEntryPoint(header);
  if (envelope.length < minEnvelopeLength(oldCipher))
    throw malformed('envelope is shorter than nonce and tag');
  const oldKey = await core.decryptionKey(header.keyId, oldCipher);
  const payload = openEnvelope(oldCipher, core.keyFor(oldKey, plan.service), envelope, plan.contextBytes);
  try {
    const cipher = plan.service.algorithm;
    const key = await core.keys.acquireEncryptionKey(cipher);
    const out = sealEnvelope(
      cipher,
      core.keyFor(key, plan.service),
      key.id,
      header.flags,
      payload,
      plan.contextBytes,
    );
    core.metrics.recordKeyUse(key.id);
    return parsed.text ? base64UrlEncode(out) : out;
  } finally {
    wipe(payload);
  }
}
