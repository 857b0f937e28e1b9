/**
 * Options of the facade's calls, shared by every mode module (`modes/`) and re-exported by the facade.
 *
 * @module
 */

/** Options of `encrypt`, `encryptToString` and `encryptFor`. */
export interface EncryptOptions {
  /** Bound as associated data (service, tenant, route); decryption must give the same. */
  context?: string;
  /** Whose overrides apply (compression, default context, key derivation). Default: `config.service`. */
  service?: string;
  /** `false` skips compression for this call whatever the policy (secrets next to attacker data). */
  compress?: boolean;
}

/** Options of `decrypt`, `decryptToString` and `decryptWith`. */
export interface DecryptOptions {
  /** The context given at encryption. */
  context?: string;
  /** The service given at encryption (selects the derived subkey and the inflation limit). */
  service?: string;
  /** Fernet tokens only: maximum age in seconds (default `config.fernet.ttl`). */
  ttl?: number;
}

/** Options of `rewrap`. */
export interface RewrapOptions {
  context?: string;
  service?: string;
}
