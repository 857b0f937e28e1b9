/**
 * `RotationCoordinator`: rotates one keyring across a fleet so that no node ever meets a ciphertext under a
 * key it does not hold.
 *
 * Every node registers under `<prefix>nodes/<node-id>` on its own lease and writes there the keyring
 * version it has applied (its ack). One node per keyring leads (etcd election). Only the leader rotates:
 * on its interval, when a node's key manager reports a rotation due (usage), or when any node calls
 * `requestRotation()`. A rotation is two-phase:
 *
 * 1. stage: a new key that decrypts but never encrypts (a fenced write: only the current leader's lands);
 * 2. wait until every live node's ack reaches the staged version (a node whose lease expired is not live
 *    and cannot block); report the lagging nodes when that takes longer than `ackTimeoutMs`, and keep
 *    waiting: never promote early;
 * 3. promote in one txn that also checks the leader's election key and that no registration changed since
 *    the acks were read (so an ack cannot be withdrawn, nor a new lagging node join, in between).
 *
 * A new leader first finishes any staged key it finds. Retention (retiring decrypt-only keys) runs on the
 * leader only. A node that cannot reach etcd keeps serving from its cache, never promotes, and resyncs by
 * itself; while its lease may have expired it reports itself degraded (event, metric hook, `health()`).
 *
 * @module
 */
import {
  type KeyAlgorithm,
  type KeyInfo,
  type KeyManager,
  KeyStoreError,
  parseDuration,
  type RotationDueEvent,
  type RotationTrigger,
  WriteConditionFailedError,
} from '@mesh/keys';
import type { Watcher } from 'etcd3';
import { Emitter } from './_emitter.js';
import { allOf, ETCD_TXN_CONDITION, type EtcdTxnCondition } from './condition.js';
import type { EtcdKeyStore } from './etcd-key-store.js';
import { checkNodeId, nodesPrefix, prefixEnd } from './layout.js';
import { LeaderElection } from './leader-election.js';
import { type DegradedReason, type LiveSet, type NodeHealth, NodeRegistration } from './node-registration.js';

/** Options of {@link RotationCoordinator.start}. */
export interface RotationCoordinatorOptions {
  /** The node's key manager (e.g. `enc.keys` of `createEncryption({ keyStore })`), opened on `store`. */
  keys: KeyManager;
  /** The etcd key store the key manager uses. */
  store: EtcdKeyStore;
  /** Unique id of this node in the fleet. */
  nodeId: string;
  /** Lease TTL of the registration and of the election, seconds; default 10. */
  ttlSeconds?: number;
  /** Age of a primary after which the leader rotates it (ms or `'24h'`); default: only on demand/usage. */
  interval?: number | string;
  /** After this long without every live node's ack the stage is reported stuck (`stage-stuck`); default 30 s. */
  ackTimeoutMs?: number;
  /** How often the leader applies retention (`keys.maintain()`), ms; default 1,000. */
  maintenanceMs?: number;
  /** Metric hook: called with the gauge/counter names documented in the README. Never throws through. */
  onMetric?: (name: FleetMetric, value: number, labels?: Readonly<Record<string, string>>) => void;
}

/** Metric names the coordinator reports through `onMetric`. */
export type FleetMetric =
  | 'mesh_fleet_degraded'
  | 'mesh_fleet_leader'
  | 'mesh_fleet_rotations_total'
  | 'mesh_fleet_stage_ack_ms'
  | 'mesh_fleet_stage_stuck_total';

/** `health()` of a coordinator. */
export interface CoordinatorHealth extends NodeHealth {
  readonly leader: boolean;
  /** Keyring version this node has applied. */
  readonly appliedVersion: number;
}

/** Events of {@link RotationCoordinator}. */
export interface RotationCoordinatorEvents {
  leader: { readonly createRevision: string };
  follower: { readonly reason: string };
  staged: { readonly algorithm: KeyAlgorithm; readonly keyId: number; readonly version: number };
  promoted: {
    readonly algorithm: KeyAlgorithm;
    readonly keyId: number;
    readonly version: number;
    /** Live nodes whose acks the promotion was gated on. */
    readonly nodes: readonly string[];
    /** Time from the staged write until every live node had acked, ms. */
    readonly ackMs: number;
  };
  'stage-stuck': { readonly keyId: number; readonly version: number; readonly lagging: readonly string[] };
  'rotation-failed': { readonly algorithm?: KeyAlgorithm; readonly error: unknown };
  degraded: { readonly reason: DegradedReason };
  healthy: Record<string, never>;
}

const requestsPrefix = (prefix: string, keyring: string) => `${prefix}rotation-requests/${keyring}/`;

interface RotationRequest {
  readonly algorithm?: KeyAlgorithm;
  /** The primary that was due; the leader skips the request if it has been replaced since. */
  readonly primaryKeyId?: number;
  readonly trigger: RotationTrigger;
}

/**
 * Coordinates rotation of one keyring across every node that runs one.
 *
 * @example
 * ```ts
 * const store = new EtcdKeyStore({ endpoints: 'http://127.0.0.1:2379' });
 * const enc = await createEncryption({ keyStore: store, kek: { env: 'MESH_KEK' } });
 * const fleet = await RotationCoordinator.start({ keys: enc.keys, store, nodeId: 'orders-1', interval: '24h' });
 * fleet.on('stage-stuck', (e) => log.warn('nodes lag behind the staged key', e.lagging));
 * // on shutdown: await fleet.close(); await enc.close(); await store.close();
 * ```
 */
export class RotationCoordinator extends Emitter<RotationCoordinatorEvents> {
  readonly nodeId: string;
  readonly keyring: string;
  readonly #keys: KeyManager;
  readonly #store: EtcdKeyStore;
  readonly #registration: NodeRegistration;
  readonly #election: LeaderElection;
  readonly #intervalMs: number | undefined;
  readonly #ackTimeoutMs: number;
  readonly #maintenanceMs: number;
  readonly #onMetric: RotationCoordinatorOptions['onMetric'];
  readonly #unsubscribe: Array<() => void> = [];
  #leaderTimer: NodeJS.Timeout | undefined;
  #nodesWatcher: Watcher | undefined;
  #requestsWatcher: Watcher | undefined;
  #wake: (() => void) | undefined;
  #work: Promise<void> = Promise.resolve();
  /** Leader tasks queued or running. */
  #pendingWork = 0;
  #behind = false;
  #degradedReported = false;
  #lastMaintenance = 0;
  #closed = false;

  private constructor(options: RotationCoordinatorOptions, registration: NodeRegistration) {
    super();
    this.nodeId = options.nodeId;
    this.keyring = options.keys.name;
    this.#keys = options.keys;
    this.#store = options.store;
    this.#registration = registration;
    this.#intervalMs = options.interval === undefined ? undefined : parseDuration(options.interval);
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.#maintenanceMs = options.maintenanceMs ?? 1_000;
    this.#onMetric = options.onMetric;
    this.#election = new LeaderElection({
      store: options.store,
      keyring: this.keyring,
      nodeId: options.nodeId,
      ...(options.ttlSeconds !== undefined && { ttlSeconds: options.ttlSeconds }),
    });
  }

  /**
   * Registers this node (ack = the manager's current version), switches the manager's own rotation off (the
   * leader rotates through this coordinator) and starts campaigning.
   *
   * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE` when etcd cannot be reached at start.
   */
  static async start(options: RotationCoordinatorOptions): Promise<RotationCoordinator> {
    checkNodeId(options.nodeId);
    if (
      !options.keys ||
      typeof options.keys.stage !== 'function' ||
      typeof options.keys.promote !== 'function'
    ) {
      throw new KeyStoreError(
        'ERR_CONFIG_INVALID',
        'RotationCoordinator needs a KeyManager with stage/promote',
      );
    }
    // Never rotate on our own: a rotation that does not wait for every node's ack is what this prevents.
    options.keys.setAutomaticRotation(false);
    const registration = await NodeRegistration.start({
      store: options.store,
      nodeId: options.nodeId,
      ...(options.ttlSeconds !== undefined && { ttlSeconds: options.ttlSeconds }),
      acks: { [options.keys.name]: options.keys.version },
    });
    const c = new RotationCoordinator(options, registration);
    c.#wire();
    c.#election.start();
    return c;
  }

  /** True while this node leads the keyring. */
  get isLeader(): boolean {
    return this.#election.isLeader;
  }

  /** Degraded while the registration may be out of the live set, or until this node has caught up. */
  health(): CoordinatorHealth {
    const h = this.#registration.health();
    const extra: DegradedReason | undefined =
      h.state !== 'healthy'
        ? undefined
        : this.#behind
          ? 'behind'
          : !this.#store.available
            ? 'etcd-unreachable'
            : undefined;
    return {
      ...h,
      ...(extra && { state: 'degraded' as const, reason: extra }),
      leader: this.#election.isLeader,
      appliedVersion: this.#keys.version,
    };
  }

  /** The live set (registrations and acks) as etcd has it now. */
  liveNodes(): Promise<LiveSet> {
    return this.#registration.liveNodes();
  }

  /**
   * Asks the leader to rotate (every algorithm, or `algorithm`). Returns once the request is stored; the
   * rotation itself follows the usual stage/ack/promote path (watch the keyring's `rotated` events).
   * `options.primaryKeyId` (with `algorithm`): rotate only if that key is still the primary when the leader
   * takes the request, so a request that waited behind a rotation already giving a new primary is dropped.
   *
   * @throws {KeyStoreError} `ERR_CONFIG_INVALID` for `primaryKeyId` without `algorithm`.
   */
  async requestRotation(algorithm?: KeyAlgorithm, options: { primaryKeyId?: number } = {}): Promise<void> {
    if (options.primaryKeyId !== undefined && algorithm === undefined) {
      throw new KeyStoreError('ERR_CONFIG_INVALID', 'requestRotation: primaryKeyId needs an algorithm');
    }
    await this.#request({
      ...(algorithm && { algorithm }),
      ...(options.primaryKeyId !== undefined && { primaryKeyId: options.primaryKeyId }),
      trigger: 'manual',
    });
  }

  /**
   * Withdraws this node's rotation request if the leader has not taken it yet (a request already taken goes
   * on through stage/ack/promote). For a caller that stops waiting, e.g. `meshcrypt keyring rotate` once the
   * new primary is in, or when it gives up: otherwise a request still queued behind a rotation in progress
   * would start another rotation after that one.
   */
  async withdrawRotationRequest(): Promise<void> {
    const key = `${requestsPrefix(this.#store.prefix, this.keyring)}${this.nodeId}`;
    await this.#store.call(`delete of ${key}`, () =>
      this.#store.client.kv.deleteRange({ key: Buffer.from(key) }),
    );
  }

  /** Leaves the election and the live set; does not close the key manager or the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#stopLeading();
    await this.#election.close();
    await this.#work.catch(() => {});
    await this.#registration.close();
  }

  // ---------------------------------------------------------------------------------------------------

  #wire(): void {
    const keys = this.#keys;
    const onApplied = (e: { version: number }) => {
      this.#registration.ack(this.keyring, e.version).catch(() => {});
      this.#wakeUp();
    };
    const onDue = (e: RotationDueEvent) => {
      const req: RotationRequest = {
        algorithm: e.algorithm,
        trigger: e.trigger,
        ...(e.keyId !== undefined && { primaryKeyId: e.keyId }),
      };
      if (this.#election.isLeader) this.#schedule(() => this.#handleRequest(req));
      else this.#request(req).catch(() => {});
    };
    keys.on('applied', onApplied);
    keys.on('rotation-due', onDue);
    this.#unsubscribe.push(
      () => keys.off('applied', onApplied),
      () => keys.off('rotation-due', onDue),
    );
    this.#unsubscribe.push(
      this.#election.on('elected', (l) => {
        this.#metric('mesh_fleet_leader', 1);
        this.emit('leader', { createRevision: l.createRevision });
        this.#startLeading();
      }),
      this.#election.on('stepped-down', (e) => {
        this.#metric('mesh_fleet_leader', 0);
        this.#stopLeading();
        this.emit('follower', { reason: e.reason });
      }),
      this.#registration.on('degraded', (e) => this.#reportDegraded(e.reason)),
      this.#registration.on('registered', () => {
        // Re-registered after a lost lease: catch up with etcd before calling ourselves healthy again.
        this.#behind = true;
        void this.#catchUp();
      }),
      this.#registration.on('healthy', () => this.#reportHealth()),
      this.#store.on('unavailable', () => this.#reportDegraded('etcd-unreachable')),
      this.#store.on('available', () => this.#reportHealth()),
    );
  }

  async #catchUp(): Promise<void> {
    while (!this.#closed && this.#behind) {
      try {
        const doc = await this.#store.load(this.keyring);
        if (!doc || this.#keys.version >= doc.version) {
          this.#behind = false;
          await this.#registration.ack(this.keyring, this.#keys.version).catch(() => {});
          this.#reportHealth();
          return;
        }
        await this.#keys.refresh();
      } catch {
        await sleep(200);
      }
    }
  }

  #reportDegraded(reason: DegradedReason): void {
    this.#metric('mesh_fleet_degraded', 1, { reason });
    this.#degradedReported = true;
    this.emit('degraded', { reason });
  }

  #reportHealth(): void {
    if (this.health().state !== 'healthy') return;
    if (this.#degradedReported) {
      this.#degradedReported = false;
      this.#metric('mesh_fleet_degraded', 0);
      this.emit('healthy', {});
    }
  }

  async #request(req: RotationRequest): Promise<void> {
    const key = `${requestsPrefix(this.#store.prefix, this.keyring)}${this.nodeId}`;
    await this.#store.call(`write of ${key}`, () =>
      this.#store.client.kv.put({ key: Buffer.from(key), value: Buffer.from(JSON.stringify(req)) }),
    );
  }

  #startLeading(): void {
    if (this.#closed) return;
    const client = this.#store.client;
    const nodes = nodesPrefix(this.#store.prefix);
    this.#nodesWatcher = client.watch().prefix(nodes).watcher();
    this.#nodesWatcher.on('data', () => this.#wakeUp());
    this.#nodesWatcher.on('error', () => {});
    const reqs = requestsPrefix(this.#store.prefix, this.keyring);
    this.#requestsWatcher = client.watch().prefix(reqs).only('put').watcher();
    this.#requestsWatcher.on('put', () => this.#schedule(() => this.#drainRequests()));
    this.#requestsWatcher.on('error', () => {});
    this.#leaderTimer = setInterval(() => this.#tick(), 100);
    this.#leaderTimer.unref();
    // First finish whatever a previous leader staged, then pick up requests made meanwhile.
    this.#schedule(() => this.#finishStaged());
    this.#schedule(() => this.#drainRequests());
  }

  #stopLeading(): void {
    clearInterval(this.#leaderTimer);
    this.#leaderTimer = undefined;
    void this.#nodesWatcher?.cancel().catch(() => {});
    void this.#requestsWatcher?.cancel().catch(() => {});
    this.#nodesWatcher = undefined;
    this.#requestsWatcher = undefined;
    this.#wakeUp();
  }

  #tick(): void {
    if (!this.#election.isLeader || this.#closed) return;
    const now = Date.now();
    if (now - this.#lastMaintenance >= this.#maintenanceMs && this.#pendingWork === 0) {
      this.#lastMaintenance = now;
      this.#schedule(async () => {
        await this.#finishStaged();
        if (!this.#election.isLeader) return;
        await this.#keys
          .maintain({ condition: this.#election.fence() })
          .catch((error) => this.emit('rotation-failed', { error }));
        await this.#drainRequests();
      });
    }
    if (this.#intervalMs === undefined || this.#pendingWork > 0) return;
    for (const k of this.#keys.keys()) {
      if (k.state === 'primary' && now - (k.promotedAt ?? k.createdAt) >= this.#intervalMs) {
        this.#schedule(() =>
          this.#handleRequest({ algorithm: k.algorithm, primaryKeyId: k.id, trigger: 'interval' }),
        );
        return;
      }
    }
  }

  /** Leader work runs one item at a time. */
  #schedule(task: () => Promise<void>): void {
    this.#pendingWork++;
    const run = this.#work.then(async () => {
      if (!this.#election.isLeader || this.#closed) return;
      try {
        await task();
      } catch (error) {
        if (!(error instanceof WriteConditionFailedError) || this.#election.isLeader) {
          this.emit('rotation-failed', { error });
        }
      }
    });
    this.#work = run.finally(() => {
      this.#pendingWork--;
    });
  }

  async #drainRequests(): Promise<void> {
    const prefix = requestsPrefix(this.#store.prefix, this.keyring);
    const res = await this.#store.call(`read of ${prefix}*`, () =>
      this.#store.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }),
    );
    for (const kv of res.kvs) {
      if (!this.#election.isLeader) return;
      let req: RotationRequest | undefined;
      try {
        req = JSON.parse(kv.value.toString('utf8')) as RotationRequest;
      } catch {
        req = undefined;
      }
      // Delete first (only this version of the request): a request made meanwhile stays for the next round.
      await this.#store.call('request delete', () =>
        this.#store.client.kv.txn({
          compare: [{ key: kv.key, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }],
          success: [{ request_delete_range: { key: kv.key } }],
        }),
      );
      if (req) await this.#handleRequest(req);
    }
  }

  async #handleRequest(req: RotationRequest): Promise<void> {
    const primaries = this.#keys.keys().filter((k) => k.state === 'primary');
    for (const p of primaries) {
      if (req.algorithm !== undefined && p.algorithm !== req.algorithm) continue;
      // Already replaced since the request was made (several nodes noticed the same due rotation).
      if (req.primaryKeyId !== undefined && p.id !== req.primaryKeyId) continue;
      if (req.trigger === 'interval' && this.#intervalMs !== undefined) {
        if (Date.now() - (p.promotedAt ?? p.createdAt) < this.#intervalMs) continue;
      }
      await this.#rotate(p.algorithm);
    }
  }

  async #rotate(algorithm: KeyAlgorithm): Promise<void> {
    if (!this.#election.isLeader) return;
    // A staged key of this algorithm (a previous leader's, or ours that failed to promote) goes first.
    const staged = this.#keys.keys().find((k) => k.algorithm === algorithm && k.state === 'staged');
    if (staged) {
      await this.#promoteWhenAcked(staged);
      return;
    }
    const { keyId, version } = await this.#keys.stage(algorithm, { condition: this.#election.fence() });
    this.emit('staged', { algorithm, keyId, version });
    await this.#promoteWhenAcked({ id: keyId, algorithm, createdInVersion: version });
  }

  async #finishStaged(): Promise<void> {
    for (const k of this.#keys.keys()) {
      if (k.state === 'staged' && this.#election.isLeader) await this.#promoteWhenAcked(k);
    }
  }

  /** Waits until every live node acked `key.createdInVersion`, then promotes in a fenced txn. */
  async #promoteWhenAcked(key: Pick<KeyInfo, 'id' | 'algorithm' | 'createdInVersion'>): Promise<void> {
    const stagedVersion = key.createdInVersion;
    const started = Date.now();
    let reportedStuck = false;
    let ackMs: number | undefined;
    while (this.#election.isLeader && !this.#closed) {
      let live: LiveSet;
      try {
        live = await this.#registration.liveNodes();
      } catch {
        await this.#waitForChange(250);
        continue;
      }
      const lagging = live.nodes
        .filter((n) => (n.acks[this.keyring] ?? 0) < stagedVersion)
        .map((n) => n.nodeId);
      if (lagging.length > 0) {
        if (!reportedStuck && Date.now() - started >= this.#ackTimeoutMs) {
          reportedStuck = true;
          this.#metric('mesh_fleet_stage_stuck_total', 1);
          this.emit('stage-stuck', { keyId: key.id, version: stagedVersion, lagging });
        }
        await this.#waitForChange(250);
        continue;
      }
      ackMs ??= Date.now() - started;
      const condition = allOf(this.#election.fence(), acksUnchangedSince(this.#store.prefix, live.revision));
      try {
        const { version } = await this.#keys.promote(key.id, { condition });
        this.#metric('mesh_fleet_stage_ack_ms', ackMs);
        this.#metric('mesh_fleet_rotations_total', 1, { algorithm: key.algorithm });
        this.emit('promoted', {
          algorithm: key.algorithm,
          keyId: key.id,
          version,
          nodes: live.nodes.map((n) => n.nodeId),
          ackMs,
        });
        return;
      } catch (e) {
        // An ack or a registration changed after we read them (or we lost leadership): read again.
        if (e instanceof WriteConditionFailedError) continue;
        if (e instanceof KeyStoreError && e.code === 'ERR_KEYSTORE_UNAVAILABLE') {
          await this.#waitForChange(250);
          continue;
        }
        throw e;
      }
    }
  }

  /** Resolves on the next change of the live set (acks, joins, leaves) or after `ms`. */
  #waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const previous = this.#wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        previous?.();
        done();
      };
    });
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #metric(name: FleetMetric, value: number, labels?: Record<string, string>): void {
    try {
      this.#onMetric?.(name, value, labels);
    } catch {
      // A metrics sink must never fail a rotation.
    }
  }
}

/** No registration under `<prefix>nodes/` was created or changed after `revision`. */
function acksUnchangedSince(prefix: string, revision: string): EtcdTxnCondition {
  const from = nodesPrefix(prefix);
  return {
    kind: ETCD_TXN_CONDITION,
    description: `no registration changed since revision ${revision}`,
    compares: [
      {
        key: Buffer.from(from),
        range_end: prefixEnd(from),
        target: 'Mod',
        result: 'Less',
        mod_revision: (BigInt(revision) + 1n).toString(),
      },
    ],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
