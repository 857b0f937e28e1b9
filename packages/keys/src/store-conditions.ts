/**
 * Shared rule of the built-in stores for {@link CompareAndSwapOptions.condition}: they cannot check one, so
 * they refuse the write instead of ignoring it (internal).
 *
 * @module
 * @internal
 */
import { KeyStoreError } from './errors.js';
import type { CompareAndSwapOptions } from './types.js';

/** @throws {KeyStoreError} `ERR_CONFIG_INVALID` when `options` carries a condition. */
export function refuseCondition(store: string, options: CompareAndSwapOptions | undefined): void {
  if (options?.condition !== undefined) {
    throw new KeyStoreError(
      'ERR_CONFIG_INVALID',
      `${store} cannot check write condition '${String(options.condition.kind)}'; use a store that can (e.g. EtcdKeyStore)`,
    );
  }
}
