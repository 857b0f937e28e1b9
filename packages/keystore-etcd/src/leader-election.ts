/**
 * Leadership of one keyring through etcd3's `Election`, hardened against the client's known faults:
 * - when the old leader is cut off, etcd3 can report two leaders for a few seconds: every leader write is
 *   fenced ({@link LeaderElection.fence}) by a txn comparing the leader key's create revision, and checking
 *   that no older candidate key exists, so a stale leader's write fails in etcd;
 * - a campaign that already emitted `error` can later emit `elected` while etcd shows no leader: `elected`
 *   after `error` is ignored, and leadership is only taken after reading our own key back;
 * - the lease reports `lost` only about 2x TTL after the last good keepalive while etcd may expire it after
 *   1x TTL: the leader steps down by itself when no keepalive has succeeded for 0.8x TTL.
 *
 * @module
 */
import { KeyStoreError } from '@mesh/keys';
import type { Campaign, Election, Etcd3, Lease } from 'etcd3';
import { Emitter } from './_emitter.js';
import { ETCD_TXN_CONDITION, type EtcdTxnCondition } from './condition.js';
import type { EtcdKeyStore } from './etcd-key-store.js';
import { checkNodeId, electionPrefix, prefixEnd } from './layout.js';

/** Options of {@link LeaderElection}. */
export interface LeaderElectionOptions {
  store: EtcdKeyStore;
  /** Keyring whose leadership this is. */
  keyring: string;
  nodeId: string;
  /** Campaign lease TTL in seconds, default 10 (at least 2). */
  ttlSeconds?: number;
  /** Fraction of the TTL without a successful keepalive after which the leader steps down; default 0.8. */
  stepDownAfter?: number;
}

/** This node's leadership as etcd recorded it. */
export interface Leadership {
  /** Absolute etcd key of our candidate entry. */
  readonly key: string;
  /** Its create revision: the fencing token. */
  readonly createRevision: string;
  readonly since: number;
}

/** Why leadership ended. */
export type StepDownReason = 'keepalive-overdue' | 'campaign-error' | 'key-gone' | 'closed';

/** Events of {@link LeaderElection}. */
export interface LeaderElectionEvents {
  elected: Leadership;
  'stepped-down': { readonly reason: StepDownReason; readonly error?: unknown };
  /** A campaign failed (its lease was lost or a call failed); a new one starts after a short backoff. */
  'campaign-failed': { readonly error: unknown };
  /** etcd3 emitted `elected` after its campaign had failed (a known fault); ignored. */
  'stale-elected': { readonly error: unknown };
}

const RETRY_MS = [100, 250, 500, 1_000] as const;

interface CampaignInternals {
  readonly lease?: Lease;
}

/**
 * Campaigns for leadership of a keyring until closed; re-campaigns after every failure.
 *
 * @example
 * ```ts
 * const election = new LeaderElection({ store, keyring: 'default', nodeId: 'node-a' });
 * election.on('elected', () => startRotating());
 * election.on('stepped-down', () => stopRotating());
 * election.start();
 * // a leader write: await keys.promote(id, { condition: election.fence() });
 * ```
 */
export class LeaderElection extends Emitter<LeaderElectionEvents> {
  readonly keyring: string;
  readonly nodeId: string;
  readonly ttlSeconds: number;
  readonly #store: EtcdKeyStore;
  readonly #client: Etcd3;
  readonly #election: Election;
  readonly #prefix: string;
  readonly #stepDownMs: number;
  #campaign: Campaign | undefined;
  #leadership: Leadership | undefined;
  #lastKeepAliveAt = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #attempt = 0;
  #started = false;
  #closed = false;

  constructor(options: LeaderElectionOptions) {
    super();
    this.keyring = options.keyring;
    this.nodeId = checkNodeId(options.nodeId);
    const ttl = options.ttlSeconds ?? 10;
    if (!Number.isSafeInteger(ttl) || ttl < 2) {
      throw new KeyStoreError('ERR_CONFIG_INVALID', 'ttlSeconds must be an integer >= 2');
    }
    const f = options.stepDownAfter ?? 0.8;
    if (!(f > 0 && f < 1)) throw new KeyStoreError('ERR_CONFIG_INVALID', 'stepDownAfter must be in (0, 1)');
    this.ttlSeconds = ttl;
    this.#stepDownMs = f * ttl * 1_000;
    this.#store = options.store;
    this.#client = options.store.client;
    this.#prefix = electionPrefix(options.store.prefix, options.keyring);
    // etcd3 puts candidates under `<namespace>election/<name>/`.
    this.#election = this.#client.namespace(options.store.prefix).election(options.keyring, ttl);
  }

  /** True while this node holds leadership (as of the last keepalive; writes are fenced regardless). */
  get isLeader(): boolean {
    return this.#leadership !== undefined;
  }

  get leadership(): Leadership | undefined {
    return this.#leadership;
  }

  /** Starts campaigning (idempotent). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#watchdog = setInterval(() => this.#check(), Math.max(50, this.ttlSeconds * 25));
    this.#watchdog.unref();
    this.#startCampaign();
  }

  /**
   * The write condition of a leader write: our candidate key still exists with the create revision we were
   * elected with, and no older candidate exists. etcd evaluates it inside the txn, so a deposed leader's
   * write fails even while etcd3 still tells it that it leads.
   *
   * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE` when this node is not the leader.
   */
  fence(): EtcdTxnCondition {
    const l = this.#leadership;
    if (!l)
      throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `not the leader of keyring '${this.keyring}'`);
    return leaderCondition(this.#prefix, l, this.keyring);
  }

  /** The current leader's node id as etcd shows it (undefined: none). */
  async leader(): Promise<string | undefined> {
    return this.#store.call('election leader read', () => this.#election.leader());
  }

  /** Resigns (revoking the campaign lease) and stops campaigning. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    if (this.#leadership) this.#stepDown('closed');
    const c = this.#campaign;
    this.#campaign = undefined;
    if (c) await this.#store.call('resign', () => c.resign()).catch(() => {});
  }

  #startCampaign(): void {
    if (this.#closed) return;
    const campaign = this.#election.campaign(this.nodeId);
    this.#campaign = campaign;
    let failed: unknown;
    // etcd3 1.1.2 keeps the campaign's lease in a private field; its keepalives are what leadership rests on.
    const lease = (campaign as unknown as CampaignInternals).lease;
    lease?.on('keepaliveSucceeded', () => {
      if (this.#campaign === campaign) this.#lastKeepAliveAt = Date.now();
    });
    lease?.grant().then(
      () => {
        if (this.#campaign === campaign) this.#lastKeepAliveAt = Date.now();
      },
      () => {},
    );
    campaign.on('error', (error) => {
      if (failed !== undefined) return;
      failed = error;
      if (this.#campaign !== campaign) return;
      this.emit('campaign-failed', { error });
      if (this.#leadership) this.#stepDown('campaign-error', error);
      this.#retry(campaign);
    });
    campaign.on('elected', () => {
      if (failed !== undefined) {
        this.emit('stale-elected', { error: failed });
        return;
      }
      if (this.#campaign !== campaign || this.#closed) return;
      void this.#confirm(campaign).catch((error) => {
        if (this.#campaign !== campaign) return;
        failed = error;
        this.#retry(campaign);
      });
    });
  }

  /** Reads our key back: leadership is taken only if it exists and no older candidate does. */
  async #confirm(campaign: Campaign): Promise<void> {
    // The full key: the election's namespace prefix (ours + `election/<keyring>/`) and the lease id.
    const key = await this.#store.call('campaign key', () => campaign.getCampaignKey());
    const res = await this.#store.call('election read', () =>
      this.#client.kv.range({
        key: Buffer.from(this.#prefix),
        range_end: prefixEnd(this.#prefix),
        sort_target: 'Create',
        sort_order: 'Ascend',
        limit: 1,
      }),
    );
    const first = res.kvs[0];
    if (!first || first.key.toString() !== key) {
      throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'elected, but our candidate key is not the oldest');
    }
    if (this.#campaign !== campaign || this.#closed) return;
    if (Date.now() - this.#lastKeepAliveAt > this.#stepDownMs) {
      throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', 'elected, but the campaign lease is overdue');
    }
    const leadership: Leadership = { key, createRevision: first.create_revision, since: Date.now() };
    this.#leadership = leadership;
    this.#attempt = 0;
    this.emit('elected', leadership);
  }

  #retry(campaign: Campaign): void {
    if (this.#campaign === campaign) this.#campaign = undefined;
    void this.#store.call('resign', () => campaign.resign()).catch(() => {});
    if (this.#closed) return;
    const delay = RETRY_MS[Math.min(this.#attempt++, RETRY_MS.length - 1)]!;
    setTimeout(() => {
      if (!this.#closed && !this.#campaign) this.#startCampaign();
    }, delay).unref();
  }

  #stepDown(reason: StepDownReason, error?: unknown): void {
    if (!this.#leadership) return;
    this.#leadership = undefined;
    this.emit('stepped-down', { reason, ...(error !== undefined && { error }) });
  }

  #check(): void {
    if (this.#closed || !this.#leadership) return;
    if (Date.now() - this.#lastKeepAliveAt > this.#stepDownMs) {
      this.#stepDown('keepalive-overdue');
      // Give the seat up: once etcd is reachable again a fresh campaign queues behind any new leader.
      const c = this.#campaign;
      if (c) this.#retry(c);
    }
  }
}

/** The fencing condition for `leadership` of the election under `electionKeyPrefix`. */
export function leaderCondition(
  electionKeyPrefix: string,
  leadership: Leadership,
  keyring: string,
): EtcdTxnCondition {
  const rev = BigInt(leadership.createRevision);
  return {
    kind: ETCD_TXN_CONDITION,
    description: `leader of '${keyring}' (candidate created at revision ${leadership.createRevision})`,
    compares: [
      {
        key: Buffer.from(leadership.key),
        target: 'Create',
        result: 'Equal',
        create_revision: rev.toString(),
      },
      {
        key: Buffer.from(electionKeyPrefix),
        range_end: prefixEnd(electionKeyPrefix),
        target: 'Create',
        result: 'Greater',
        create_revision: (rev - 1n).toString(),
      },
    ],
  };
}
