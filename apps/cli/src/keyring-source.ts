/**
 * Opening the keyring a command names: `--keyring PATH` (a `FileKeyStore`) sealed under the KEK from
 * `--kek-env VAR`, `--kek-file FILE` or `--passphrase-stdin`. A KEK never comes from argv.
 *
 * @module
 */
import { isMeshError } from '@mesh/crypto-core';
import { FileKeyStore, type KekSource, KeyManager, type StoredKeyring } from '@mesh/keys';
import { CliError, EXIT, usage } from './errors.js';
import { readSecretFromStdin } from './io.js';

/** The keyring name inside the file (a `FileKeyStore` holds one keyring). */
export const KEYRING_NAME = 'default';

/** The KEK options every keyring command takes. */
export interface KekOptions {
  kekEnv?: string;
  kekFile?: string;
  passphraseStdin?: boolean;
}

/** Exactly one KEK source from the options; a passphrase is read from stdin now. */
export async function kekFrom(options: KekOptions): Promise<KekSource> {
  const given = [options.kekEnv, options.kekFile, options.passphraseStdin ? true : undefined].filter(
    (v) => v !== undefined,
  );
  if (given.length !== 1) {
    throw usage('give the KEK with exactly one of --kek-env VAR, --kek-file FILE, --passphrase-stdin');
  }
  if (options.kekEnv !== undefined) return { env: options.kekEnv };
  if (options.kekFile !== undefined) return { file: options.kekFile };
  return { passphrase: await readSecretFromStdin('the passphrase') };
}

/** An open keyring and what it was opened from. */
export interface OpenKeyring {
  readonly keys: KeyManager;
  readonly store: FileKeyStore;
  readonly path: string;
  /** The stored document as read before opening (its MAC was checked by `KeyManager.open`). */
  readonly stored: StoredKeyring | undefined;
  close(): Promise<void>;
}

/**
 * Opens the keyring file at `path`. `create: true` (keyring init) requires that none exists; otherwise it
 * must exist: `KeyManager.open` would create one, and a typo in a path must not mint a new keyring.
 */
export async function openKeyring(path: string, kek: KekSource, create = false): Promise<OpenKeyring> {
  const warned = new Set<string>();
  const store = new FileKeyStore({
    path,
    // Served from the backup copy: the command goes on, and the operator is told once, on stderr.
    onBackupServed: (event) => {
      const line = `meshcrypt: warning: ${event.reason.code}: keyring file ${event.path} is damaged; using its backup ${event.backupPath} (version ${event.version})\n`;
      if (!warned.has(line)) process.stderr.write(line);
      warned.add(line);
    },
  });
  let stored: StoredKeyring | undefined;
  try {
    stored = await store.load(KEYRING_NAME);
  } catch (error) {
    await store.close?.();
    throw error;
  }
  if (create && stored !== undefined) {
    await store.close?.();
    throw new CliError('ERR_KEYRING_EXISTS', `a keyring exists at ${path}`, EXIT.USAGE);
  }
  if (!create && stored === undefined) {
    await store.close?.();
    throw new CliError(
      'ERR_KEYRING_NOT_FOUND',
      `no keyring at ${path} (create one with: meshcrypt keyring init --keyring ${path} ...)`,
      EXIT.USAGE,
    );
  }
  let keys: KeyManager;
  try {
    keys = await KeyManager.open({ store, kek, name: KEYRING_NAME, watch: false });
  } catch (error) {
    await store.close?.();
    // A local operator gets told which thing was wrong: the KEK, not "decryption failed".
    if (isMeshError(error) && error.code === 'ERR_DECRYPTION_FAILED') {
      const reason = isMeshError(error.cause) ? `: ${error.cause.message}` : '';
      throw new CliError('ERR_DECRYPTION_FAILED', `wrong KEK for keyring ${path}${reason}`, EXIT.DATA);
    }
    throw error;
  }
  return {
    keys,
    store,
    path,
    stored,
    async close() {
      await keys.close();
      await store.close?.();
    },
  };
}
