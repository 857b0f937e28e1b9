/**
 * `@mesh/local-etcd` (private): one real etcd process per test, benchmark or demo run, on free 127.0.0.1
 * ports with a temporary data directory, signalled only by the pid it started. Shared by
 * `@mesh/keystore-etcd`'s tests and benchmark, the CLI's and the release checks' tests and the mesh demo, so
 * that every one of them starts, freezes and stops etcd the same way.
 *
 * @module
 */
export {
  ETCD_BINARY,
  EtcdProcess,
  type EtcdProcessOptions,
  etcdAvailable,
  freePort,
} from './etcd-process.js';
