/**
 * Where things live in etcd, under one prefix (default `mesh/`):
 * - `<prefix>keyrings/<name>`: the sealed keyring document (JSON, never raw key material);
 * - `<prefix>nodes/<node-id>`: a node's registration and acks, bound to the node's own lease;
 * - `<prefix>election/<name>/<lease-id>`: candidates for leadership of keyring `<name>` (etcd3 Election).
 *
 * @module
 */
import { KeyStoreError } from '@mesh/keys';

/** Default key prefix. */
export const DEFAULT_PREFIX = 'mesh/';

const PREFIX_RE = /^[A-Za-z0-9._/-]{1,200}$/;
const NODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The prefix with exactly one trailing `/`. */
export function normalizePrefix(prefix: string | undefined): string {
  const p = prefix ?? DEFAULT_PREFIX;
  if (typeof p !== 'string' || !PREFIX_RE.test(p)) {
    throw new KeyStoreError('ERR_CONFIG_INVALID', 'prefix must be 1-200 characters of [A-Za-z0-9._/-]');
  }
  return p.endsWith('/') ? p : `${p}/`;
}

/** Checks a node id (letters, digits, `.`, `_`, `-`; at most 128). */
export function checkNodeId(id: string): string {
  if (typeof id !== 'string' || !NODE_ID_RE.test(id)) {
    throw new KeyStoreError('ERR_CONFIG_INVALID', 'nodeId must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}');
  }
  return id;
}

export const keyringKey = (prefix: string, name: string): string => `${prefix}keyrings/${name}`;
export const nodesPrefix = (prefix: string): string => `${prefix}nodes/`;
export const nodeKey = (prefix: string, nodeId: string): string => `${prefix}nodes/${nodeId}`;
/** The etcd3 Election name; etcd3 puts candidates under `election/<name>/` of the namespace. */
export const electionNamespace = (prefix: string): string => prefix;
export const electionPrefix = (prefix: string, keyring: string): string => `${prefix}election/${keyring}/`;

/** The end of the etcd range of every key starting with `prefix` (the prefix with its last byte + 1). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  const end = Buffer.alloc(b.length);
  b.copy(end);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
