/**
 * A node's registration in the fleet: `<prefix>nodes/<node-id>`, bound to the node's own etcd lease, holding
 * the keyring versions the node has applied (its acks). The key disappears when the lease expires, so the
 * set of registrations is the set of live nodes.
 *
 * Client fault handled here: etcd3's lease reports `lost` only about 2x TTL after the last good keepalive,
 * while etcd may expire the lease after 1x TTL. The registration therefore calls itself degraded as soon as
 * no keepalive has succeeded for 0.8x TTL, and re-registers (new lease, same acks) when the lease is lost.
 *
 * @module
 */
import { KeyStoreError } from '@mesh/keys';
import type { Etcd3, IKeyValue, Lease } from 'etcd3';
import { Emitter } from './_emitter.js';
import { errorText } from './connection.js';
import type { EtcdKeyStore } from './etcd-key-store.js';
import { checkNodeId, nodeKey, nodesPrefix, prefixEnd } from './layout.js';

/** Options of {@link NodeRegistration.start}. */
export interface NodeRegistrationOptions {
  /** The node's key store; its client and prefix are used. */
  store: EtcdKeyStore;
  /** Unique id of this node in the fleet (`[A-Za-z0-9][A-Za-z0-9._-]{0,127}`). */
  nodeId: string;
  /** Lease TTL in seconds, default 10 (at least 2). A node silent for this long leaves the live set. */
  ttlSeconds?: number;
  /** Initial acks (keyring name -> applied version). */
  acks?: Readonly<Record<string, number>>;
}

/** The value stored at `<prefix>nodes/<node-id>`. */
export interface NodeRecord {
  readonly nodeId: string;
  /** Keyring name -> keyring version this node has applied. */
  readonly acks: Readonly<Record<string, number>>;
  /** When this registration (lease) was made, ms since the epoch. */
  readonly registeredAt: number;
}

/** A live node as read from etcd. */
export interface LiveNode extends NodeRecord {
  /** etcd mod revision of the registration key (changes with every ack). */
  readonly modRevision: string;
  readonly lease: string;
}

/** The live set at one etcd revision. */
export interface LiveSet {
  readonly revision: string;
  readonly nodes: readonly LiveNode[];
}

/** `health()` of a registration or coordinator. */
export interface NodeHealth {
  readonly nodeId: string;
  /** `healthy`: registered and keepalives succeed; `degraded`: this node may be out of the live set. */
  readonly state: 'healthy' | 'degraded';
  /** Why it is degraded (absent when healthy). */
  readonly reason?: DegradedReason;
  /** Since when the current state holds, ms since the epoch. */
  readonly since: number;
  /** Last successful lease keepalive, ms since the epoch (0: never). */
  readonly lastKeepAliveAt: number;
}

/** Why a node reports itself degraded. */
export type DegradedReason =
  | 'keepalive-overdue'
  | 'lease-lost'
  | 'not-registered'
  | 'behind'
  | 'etcd-unreachable'
  | 'closed';

/** Events of {@link NodeRegistration}. */
export interface NodeRegistrationEvents {
  degraded: { readonly reason: DegradedReason; readonly error?: unknown };
  healthy: { readonly lease: string };
  /** A new lease was granted and the registration written. */
  registered: { readonly lease: string };
}

const RETRY_MS = [100, 250, 500, 1_000] as const;

/**
 * This node's presence and acks in etcd.
 *
 * @example
 * ```ts
 * const reg = await NodeRegistration.start({ store, nodeId: 'node-a', ttlSeconds: 10 });
 * keys.on('applied', ({ version }) => void reg.ack(keys.name, version));
 * const { nodes } = await reg.liveNodes();
 * ```
 */
export class NodeRegistration extends Emitter<NodeRegistrationEvents> {
  readonly nodeId: string;
  readonly ttlSeconds: number;
  readonly #store: EtcdKeyStore;
  readonly #client: Etcd3;
  readonly #key: string;
  readonly #acks = new Map<string, number>();
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  #registeredAt = 0;
  #lastKeepAliveAt = 0;
  #state: 'healthy' | 'degraded' = 'degraded';
  #reason: DegradedReason | undefined = 'not-registered';
  #since = Date.now();
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  #registering: Promise<void> | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #closed = false;
  #attempt = 0;

  private constructor(options: NodeRegistrationOptions) {
    super();
    this.nodeId = checkNodeId(options.nodeId);
    const ttl = options.ttlSeconds ?? 10;
    if (!Number.isSafeInteger(ttl) || ttl < 2) {
      throw new KeyStoreError('ERR_CONFIG_INVALID', 'ttlSeconds must be an integer >= 2');
    }
    this.ttlSeconds = ttl;
    this.#store = options.store;
    this.#client = options.store.client;
    this.#key = nodeKey(options.store.prefix, this.nodeId);
    for (const [k, v] of Object.entries(options.acks ?? {})) this.#acks.set(k, v);
  }

  /**
   * Grants a lease and writes the registration.
   *
   * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE` when etcd cannot be reached.
   */
  static async start(options: NodeRegistrationOptions): Promise<NodeRegistration> {
    const reg = new NodeRegistration(options);
    await reg.#register();
    reg.#watchdog = setInterval(() => reg.#check(), Math.max(50, reg.ttlSeconds * 50));
    reg.#watchdog.unref();
    return reg;
  }

  /** The etcd key of this node's registration. */
  get key(): string {
    return this.#key;
  }

  /** The current lease id (decimal string), if registered. */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  /** The acks this node has recorded (keyring -> version). */
  get acks(): ReadonlyMap<string, number> {
    return this.#acks;
  }

  /** Healthy when registered and the last keepalive is younger than 0.8x TTL. */
  health(): NodeHealth {
    return {
      nodeId: this.nodeId,
      state: this.#state,
      ...(this.#reason && { reason: this.#reason }),
      since: this.#since,
      lastKeepAliveAt: this.#lastKeepAliveAt,
    };
  }

  /**
   * Records that this node has applied `version` of `keyring` (never lowers an ack) and writes it. Resolves
   * once written; while etcd is unreachable it rejects, and the ack is written with the next registration.
   */
  async ack(keyring: string, version: number): Promise<void> {
    if (this.#closed) throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'registration is closed');
    const before = this.#acks.get(keyring) ?? 0;
    if (version <= before) return;
    this.#acks.set(keyring, version);
    await this.#write();
  }

  /** Every live registration under the prefix, at one revision. */
  async liveNodes(): Promise<LiveSet> {
    return readLiveSet(this.#store);
  }

  /** Revokes the lease (the registration disappears at once) and stops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#setState('degraded', 'closed');
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease) await this.#store.call('lease revoke', () => lease.revoke()).catch(() => {});
  }

  #record(): NodeRecord {
    return { nodeId: this.nodeId, acks: Object.fromEntries(this.#acks), registeredAt: this.#registeredAt };
  }

  /** Serialised writes of the registration; a write that fails leaves `#dirty` for the next attempt. */
  #write(): Promise<void> {
    this.#dirty = true;
    const run = this.#writing.then(async () => {
      if (!this.#dirty || this.#closed) return;
      const leaseId = this.#leaseId;
      if (leaseId === undefined)
        throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'node is not registered');
      this.#dirty = false;
      try {
        await this.#store.call(`write of ${this.#key}`, () =>
          this.#client.kv.put({
            key: Buffer.from(this.#key),
            value: Buffer.from(JSON.stringify(this.#record())),
            lease: leaseId,
          }),
        );
      } catch (e) {
        this.#dirty = true;
        if (/lease not found/i.test(errorText((e as { cause?: unknown }).cause ?? e))) this.#lost(e);
        throw e;
      }
    });
    this.#writing = run.catch(() => {});
    return run;
  }

  #register(): Promise<void> {
    if (!this.#registering) {
      this.#registering = this.#registerOnce().finally(() => {
        this.#registering = undefined;
      });
    }
    return this.#registering;
  }

  async #registerOnce(): Promise<void> {
    const lease = this.#client.lease(this.ttlSeconds, { autoKeepAlive: true });
    lease.on('lost', (e) => {
      if (this.#lease === lease) this.#lost(e);
    });
    lease.on('keepaliveSucceeded', () => {
      if (this.#lease !== lease) return;
      this.#lastKeepAliveAt = Date.now();
      this.#store.markAvailable();
      if (this.#state === 'degraded' && this.#reason === 'keepalive-overdue') {
        this.#setState('healthy', undefined);
      }
    });
    let id: string;
    try {
      id = await this.#store.call('lease grant', () => lease.grant());
    } catch (e) {
      lease.release();
      throw e;
    }
    const previous = this.#lease;
    this.#lease = lease;
    this.#leaseId = id;
    this.#lastKeepAliveAt = Date.now();
    this.#registeredAt = Date.now();
    previous?.release();
    try {
      await this.#write();
    } catch (e) {
      this.#lease = undefined;
      this.#leaseId = undefined;
      lease.release();
      throw e;
    }
    if (this.#closed) {
      await lease.revoke().catch(() => {});
      return;
    }
    this.#attempt = 0;
    this.emit('registered', { lease: id });
    this.#setState('healthy', undefined);
  }

  #lost(error: unknown): void {
    if (this.#closed) return;
    const lease = this.#lease;
    this.#lease = undefined;
    this.#leaseId = undefined;
    lease?.release();
    this.#setState('degraded', 'lease-lost', error);
    this.#scheduleRegister();
  }

  #scheduleRegister(): void {
    if (this.#closed || this.#registering) return;
    const delay = RETRY_MS[Math.min(this.#attempt++, RETRY_MS.length - 1)]!;
    setTimeout(() => {
      if (this.#closed || this.#lease) return;
      this.#register().catch(() => this.#scheduleRegister());
    }, delay).unref();
  }

  #check(): void {
    if (this.#closed) return;
    if (!this.#lease) {
      this.#scheduleRegister();
      return;
    }
    if (Date.now() - this.#lastKeepAliveAt > 0.8 * this.ttlSeconds * 1_000 && this.#state === 'healthy') {
      this.#setState('degraded', 'keepalive-overdue');
    }
    if (this.#dirty && this.#state === 'healthy') this.#write().catch(() => {});
  }

  #setState(state: 'healthy' | 'degraded', reason: DegradedReason | undefined, error?: unknown): void {
    if (this.#state === state && this.#reason === reason) return;
    this.#state = state;
    this.#reason = reason;
    this.#since = Date.now();
    if (state === 'degraded')
      this.emit('degraded', { reason: reason!, ...(error !== undefined && { error }) });
    else this.emit('healthy', { lease: this.#leaseId ?? '' });
  }
}

/**
 * The fleet's live nodes and the keyring version each has acked, read from etcd in one linearizable range
 * request, without registering the caller (for operator tools such as `meshcrypt keyring status`). A node
 * whose lease expired is not in the result; a value under `<prefix>nodes/` that is not a registration is
 * skipped.
 *
 * @example
 * ```ts
 * const store = new EtcdKeyStore({ endpoints: 'http://127.0.0.1:2379' });
 * const { nodes } = await listFleetNodes(store);
 * for (const n of nodes) console.log(n.nodeId, n.acks.default);
 * ```
 *
 * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE` when etcd cannot be reached within the store's call timeout.
 */
export function listFleetNodes(store: EtcdKeyStore): Promise<LiveSet> {
  return readLiveSet(store);
}

/** Reads every registration under `prefix` in one range request. */
export async function readLiveSet(store: EtcdKeyStore): Promise<LiveSet> {
  const from = nodesPrefix(store.prefix);
  const res = await store.call(`read of ${from}*`, () =>
    store.client.kv.range({ key: Buffer.from(from), range_end: prefixEnd(from) }),
  );
  const nodes: LiveNode[] = [];
  for (const kv of res.kvs) {
    const n = parseNode(kv);
    if (n) nodes.push(n);
  }
  return { revision: res.header.revision, nodes };
}

function parseNode(kv: IKeyValue): LiveNode | undefined {
  try {
    const v = JSON.parse(kv.value.toString('utf8')) as Partial<NodeRecord>;
    if (typeof v.nodeId !== 'string' || typeof v.acks !== 'object' || v.acks === null) return undefined;
    const acks: Record<string, number> = {};
    for (const [k, n] of Object.entries(v.acks)) if (Number.isSafeInteger(n)) acks[k] = n;
    return {
      nodeId: v.nodeId,
      acks,
      registeredAt: typeof v.registeredAt === 'number' ? v.registeredAt : 0,
      modRevision: kv.mod_revision,
      lease: kv.lease,
    };
  } catch {
    // A registration that is not ours (or damaged) does not count as a live node.
    return undefined;
  }
}
