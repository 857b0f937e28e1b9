/**
 * `@mesh/keystore-etcd`: Mesh Encryption keyrings on etcd. {@link EtcdKeyStore} keeps each sealed keyring at
 * one etcd key with compare-and-swap, a watch that survives restarts and compaction, and bounded calls;
 * {@link NodeRegistration} and {@link LeaderElection} are the fleet building blocks (live set with acks,
 * fenced leadership per keyring).
 *
 * @example
 * ```ts
 * import { KeyManager } from '@mesh/keys';
 * import { EtcdKeyStore } from '@mesh/keystore-etcd';
 * const store = new EtcdKeyStore({ endpoints: 'http://127.0.0.1:2379' });
 * const keys = await KeyManager.open({ store, kek: { env: 'MESH_KEK' } });
 * ```
 *
 * @module
 */
export type { EtcdTxnCondition } from './condition.js';
export { allOf, ETCD_TXN_CONDITION, isEtcdTxnCondition } from './condition.js';
export type { EtcdConnectionOptions, EtcdTlsOptions } from './connection.js';
export { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_KEEPALIVE_MS, MIN_KEEPALIVE_MS } from './connection.js';
export type {
  EtcdKeyStoreEvents,
  EtcdKeyStoreOptions,
  WatchRestartedEvent,
} from './etcd-key-store.js';
export { DEFAULT_ETCD_MAX_DOCUMENT_BYTES, EtcdKeyStore } from './etcd-key-store.js';
export { DEFAULT_PREFIX } from './layout.js';
export type {
  LeaderElectionEvents,
  LeaderElectionOptions,
  Leadership,
  StepDownReason,
} from './leader-election.js';
export { LeaderElection } from './leader-election.js';
export type {
  DegradedReason,
  LiveNode,
  LiveSet,
  NodeHealth,
  NodeRecord,
  NodeRegistrationEvents,
  NodeRegistrationOptions,
} from './node-registration.js';
export { listFleetNodes, NodeRegistration } from './node-registration.js';
export type {
  CoordinatorHealth,
  FleetMetric,
  RotationCoordinatorEvents,
  RotationCoordinatorOptions,
} from './rotation-coordinator.js';
export { RotationCoordinator } from './rotation-coordinator.js';
