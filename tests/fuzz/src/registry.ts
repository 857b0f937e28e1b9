/**
 * Every fuzz target, in the order `pnpm fuzz` runs them (lowest layer first).
 *
 * @module
 */
import type { FuzzTarget } from './target.js';
import { cliArgumentsTarget } from './targets/cli.js';
import { decompressStreamTarget, decompressTarget, policyTarget } from './targets/compression.js';
import {
  fernetTarget,
  pemTarget,
  pkcs8Target,
  rsaPrivateKeyTarget,
  rsaPublicKeyTarget,
} from './targets/crypto-core.js';
import {
  configTarget,
  envelopeGcmTarget,
  envelopeXChaChaTarget,
  fernetFacadeTarget,
  inspectTarget,
  rsaEnvelopeTarget,
  streamNodeTarget,
  streamWebTarget,
} from './targets/encryption.js';
import { fileKeyStoreTarget, kekSourceTarget, keyringDocumentTarget } from './targets/keys.js';
import { etcdValueTarget } from './targets/keystore-etcd.js';

export const TARGETS: readonly FuzzTarget[] = [
  fernetTarget,
  pemTarget,
  rsaPublicKeyTarget,
  rsaPrivateKeyTarget,
  pkcs8Target,
  decompressTarget,
  decompressStreamTarget,
  policyTarget,
  keyringDocumentTarget,
  fileKeyStoreTarget,
  kekSourceTarget,
  etcdValueTarget,
  envelopeGcmTarget,
  envelopeXChaChaTarget,
  rsaEnvelopeTarget,
  inspectTarget,
  fernetFacadeTarget,
  streamNodeTarget,
  streamWebTarget,
  configTarget,
  cliArgumentsTarget,
];

/** Targets whose name is `pattern`, starts with `pattern/`, or matches it with `*` as a wildcard. */
export function selectTargets(
  patterns: readonly string[],
  from: readonly FuzzTarget[] = TARGETS,
): FuzzTarget[] {
  if (patterns.length === 0) return [...from];
  const picked = from.filter((t) =>
    patterns.some((p) => {
      if (p.includes('*')) return new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`).test(t.name);
      return t.name === p || t.name.startsWith(`${p}/`);
    }),
  );
  return picked;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
