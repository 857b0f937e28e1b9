/**
 * Opening the keyring a command names on etcd: `--etcd URL [--prefix P]`, an `EtcdKeyStore` from
 * `@mesh/keystore-etcd` (the keyring `default` at `<prefix>keyrings/default`), sealed under the KEK as with
 * the file store. An unreachable etcd fails within one bounded call (`ERR_KEYSTORE_UNAVAILABLE`), never hangs.
 *
 * @module
 */
import { isMeshError } from '@mesh/crypto-core';
import { type KekSource, KeyManager, type StoredKeyring } from '@mesh/keys';
import { DEFAULT_PREFIX, EtcdKeyStore } from '@mesh/keystore-etcd';
import { CliError, EXIT, usage } from './errors.js';
import { KEYRING_NAME } from './keyring-source.js';

/** Upper bound of every etcd call the CLI makes, ms: an unreachable etcd is reported after at most this. */
export const ETCD_CALL_TIMEOUT_MS = 5_000;

/** An open keyring on etcd and where it is. */
export interface OpenEtcdKeyring {
  readonly keys: KeyManager;
  readonly store: EtcdKeyStore;
  readonly url: string;
  readonly prefix: string;
  /** `URL <prefix>keyrings/default`, for messages. */
  readonly where: string;
  readonly stored: StoredKeyring | undefined;
  close(): Promise<void>;
}

/** Checks `--etcd` (http:// or https:// URLs, comma-separated for several members of one cluster). */
export function etcdEndpoints(url: string): string[] {
  const endpoints = url.split(',').map((u) => u.trim());
  for (const e of endpoints) {
    let parsed: URL;
    try {
      parsed = new URL(e);
    } catch {
      throw usage(`--etcd must be an http:// or https:// URL, got '${e}'`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw usage(`--etcd must be an http:// or https:// URL, got '${e}'`);
    }
  }
  return endpoints;
}

function unreachable(url: string, error: unknown): unknown {
  if (isMeshError(error) && error.code === 'ERR_KEYSTORE_UNAVAILABLE') {
    return new CliError(
      'ERR_KEYSTORE_UNAVAILABLE',
      `etcd at ${url} unreachable: ${error.message}`,
      EXIT.DATA,
      {
        cause: error,
      },
    );
  }
  return error;
}

/** Runs `fn`, turning "etcd unavailable" into one line that names the URL. */
export async function naming<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw unreachable(url, error);
  }
}

/**
 * Opens the keyring on etcd. `create: true` (keyring init) requires that none exists; otherwise it must
 * exist (a typo in a prefix must not mint a new keyring). `watch`: keep the keyring current with etcd (for
 * a rotation that waits on the fleet).
 */
export async function openEtcdKeyring(
  url: string,
  prefixOption: string | undefined,
  kek: KekSource,
  { create = false, watch = false }: { create?: boolean; watch?: boolean } = {},
): Promise<OpenEtcdKeyring> {
  const endpoints = etcdEndpoints(url);
  const store = new EtcdKeyStore({
    endpoints,
    prefix: prefixOption ?? DEFAULT_PREFIX,
    callTimeoutMs: ETCD_CALL_TIMEOUT_MS,
  });
  const where = `${url} ${store.keyOf(KEYRING_NAME)}`;
  try {
    const stored = await naming(url, () => store.load(KEYRING_NAME));
    if (create && stored !== undefined) {
      throw new CliError('ERR_KEYRING_EXISTS', `a keyring exists at ${where}`, EXIT.USAGE);
    }
    if (!create && stored === undefined) {
      throw new CliError(
        'ERR_KEYRING_NOT_FOUND',
        `no keyring at ${where} (create one with: meshcrypt keyring init --etcd ${url} ...)`,
        EXIT.USAGE,
      );
    }
    let keys: KeyManager;
    try {
      keys = await naming(url, () => KeyManager.open({ store, kek, name: KEYRING_NAME, watch }));
    } catch (error) {
      if (isMeshError(error) && error.code === 'ERR_DECRYPTION_FAILED') {
        const reason = isMeshError(error.cause) ? `: ${error.cause.message}` : '';
        throw new CliError('ERR_DECRYPTION_FAILED', `wrong KEK for keyring ${where}${reason}`, EXIT.DATA);
      }
      throw error;
    }
    return {
      keys,
      store,
      url,
      prefix: store.prefix,
      where,
      stored,
      async close() {
        await keys.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}
