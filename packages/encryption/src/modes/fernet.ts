/**
 * Fernet mode (`enc.fernet`, and Fernet tokens reaching `decrypt` or `rewrap`): standard tokens under the
 * keyring's Fernet keys, for Python services (docs/FORMAT.md "Fernet"). The MultiFernet work is in
 * `../fernet-mode.ts`; this module is the facade's side of it: config switch, context rule, TTL, metrics.
 *
 * @module
 */
import { base64UrlDecode, wipe } from '@mesh/crypto-core';
import { invalidInput, malformed, unsupported } from '../errors.js';
import type { FernetDecryptOptions } from '../fernet-mode.js';
import { type ParsedCiphertext, type PlaintextInput, parseCiphertext, plaintextBytes } from '../input.js';
import type { RewrapOptions } from '../options.js';
import { type FacadeCore, now, toText } from './core.js';

/** Fernet mode (`enc.fernet`): standard tokens under the keyring's Fernet keys. */
export interface FernetApi {
  /** A standard Fernet token (URL-safe base64 text) under the Fernet primary. */
  encrypt(data: PlaintextInput): Promise<string>;
  /** MultiFernet decrypt: primary first, then older keys; optional TTL in seconds. */
  decrypt(token: string | Uint8Array, options?: FernetDecryptOptions): Promise<Uint8Array>;
  /** `decrypt`, then UTF-8. */
  decryptToString(token: string | Uint8Array, options?: FernetDecryptOptions): Promise<string>;
  /**
   * MultiFernet.rotate: re-encrypt under the primary keeping the original timestamp. Fernet tokens only:
   * an envelope is `ERR_TOKEN_MALFORMED` (use `rewrap`), a non-string `ERR_INVALID_INPUT`.
   */
  rotate(token: string): Promise<string>;
}

/** Why `decrypt` and `rewrap` refuse a Fernet token when a context is in effect. */
export const FERNET_NO_CONTEXT =
  'a Fernet token cannot be bound to a context: decrypt it without one, or with enc.fernet.decrypt()';

/**
 * The `enc.fernet` object. `rewrap` is the facade's own (`rotate` goes through it, so a rotation is recorded
 * as a rewrap like any other).
 */
export function createFernetApi(core: FacadeCore, rewrap: (token: string) => Promise<string>): FernetApi {
  const api: FernetApi = {
    encrypt: async (data) => {
      const t0 = now();
      let bytesIn = 0;
      try {
        core.fernetEnabled();
        const plaintext = plaintextBytes(data);
        bytesIn = plaintext.length;
        let token: string;
        try {
          token = await core.fernet.encrypt(plaintext);
        } finally {
          if (typeof data === 'string') wipe(plaintext);
        }
        core.metrics.recordOperation(
          'fernet_encrypt',
          'fernet',
          'success',
          (now() - t0) / 1e3,
          bytesIn,
          token.length,
        );
        return token;
      } catch (error) {
        throw core.failed('fernet_encrypt', 'fernet', t0, bytesIn, error);
      }
    },
    decrypt: async (token, options) => {
      const t0 = now();
      let parsed: ParsedCiphertext;
      try {
        parsed = parseCiphertext(token);
        if (parsed.kind !== 'fernet') throw malformed('not a Fernet token');
      } catch (error) {
        throw core.failed('fernet_decrypt', 'fernet', t0, 0, error);
      }
      return fernetDecrypt(core, parsed.token, options?.ttl, t0);
    },
    decryptToString: async (token, options) => toText(await api.decrypt(token, options)),
    rotate: async (token) => {
      // Fernet tokens only: an envelope given here would come back rewrapped as an envelope, which a
      // caller expecting a Fernet token would store as one.
      const t0 = now();
      try {
        if (typeof token !== 'string') throw invalidInput('token must be a Fernet token (string)');
        if (parseCiphertext(token).kind !== 'fernet') {
          throw malformed(
            'not a Fernet token: fernet.rotate takes Fernet tokens only (use rewrap for envelopes)',
          );
        }
      } catch (error) {
        throw core.failed('rewrap', 'fernet', t0, 0, error);
      }
      return rewrap(token);
    },
  };
  return api;
}

/** Open a Fernet token (MultiFernet) with the call's TTL or the config's; records the operation. */
export async function fernetDecrypt(
  core: FacadeCore,
  token: string,
  ttl: number | undefined,
  t0: number,
): Promise<Uint8Array> {
  try {
    core.fernetEnabled();
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 0)) {
      throw invalidInput('ttl must be a non-negative integer number of seconds');
    }
    const { plaintext } = await core.fernet.open(token, ttl ?? core.config.fernet.ttl);
    core.metrics.recordOperation(
      'fernet_decrypt',
      'fernet',
      'success',
      (now() - t0) / 1e3,
      token.length,
      plaintext.length,
    );
    return plaintext;
  } catch (error) {
    throw core.failed('fernet_decrypt', 'fernet', t0, token.length, error);
  }
}

/** `rewrap` of a Fernet token: MultiFernet.rotate, answered in the form it came in (text, bytes, ASCII). */
export async function rewrapFernet(
  core: FacadeCore,
  parsed: Extract<ParsedCiphertext, { kind: 'fernet' }>,
  options: RewrapOptions | undefined,
): Promise<Uint8Array | string> {
  core.fernetEnabled();
  if (core.plan(options).contextBytes !== undefined) throw unsupported(FERNET_NO_CONTEXT);
  const token = await core.fernet.rotate(parsed.token);
  if (parsed.text) return token;
  return parsed.ascii ? asciiBytes(token) : base64UrlDecode(token);
}

function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
