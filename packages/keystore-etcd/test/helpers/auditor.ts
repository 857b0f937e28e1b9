/**
 * An independent audit of the fleet from etcd's own history: one watch over the whole prefix, applied in
 * revision order, so at the revision of every promotion the auditor knows exactly which registrations were
 * live and what each had acked. A promotion while a live node's ack was below the staged key's version is a
 * violation.
 */
import { Etcd3, type Watcher } from 'etcd3';

interface DocKey {
  id: number;
  algorithm: string;
  state: string;
  createdInVersion: number;
}

export interface Violation {
  revision: string;
  keyId: number;
  stagedVersion: number;
  lagging: { nodeId: string; ack: number }[];
}

export class FleetAuditor {
  readonly promotions: { revision: string; keyId: number; algorithm: string; live: string[] }[] = [];
  readonly violations: Violation[] = [];
  readonly #client: Etcd3;
  readonly #nodes = new Map<string, { nodeId: string; ack: number }>();
  #states = new Map<number, string>();
  #watcher: Watcher | undefined;
  readonly #prefix: string;
  readonly #keyring: string;

  private constructor(endpoint: string, prefix: string, keyring: string) {
    this.#client = new Etcd3({ hosts: endpoint });
    this.#prefix = prefix;
    this.#keyring = keyring;
  }

  /** Starts watching from revision 1 (etcd is never compacted in these tests). */
  static async start(endpoint: string, prefix: string, keyring: string): Promise<FleetAuditor> {
    const a = new FleetAuditor(endpoint, prefix, keyring);
    a.#watcher = await a.#client.watch().prefix(prefix).startRevision('1').create();
    a.#watcher.on('data', (res) => {
      for (const ev of res.events) a.#apply(ev.type, ev.kv.key.toString(), ev.kv.value, ev.kv.mod_revision);
    });
    return a;
  }

  #apply(type: string, key: string, value: Buffer, revision: string): void {
    const nodeKeyPrefix = `${this.#prefix}nodes/`;
    if (key.startsWith(nodeKeyPrefix)) {
      const id = key.slice(nodeKeyPrefix.length);
      if (type === 'Delete') this.#nodes.delete(id);
      else {
        const v = JSON.parse(value.toString('utf8')) as { acks: Record<string, number> };
        this.#nodes.set(id, { nodeId: id, ack: v.acks[this.#keyring] ?? 0 });
      }
      return;
    }
    if (key !== `${this.#prefix}keyrings/${this.#keyring}` || type === 'Delete') return;
    const doc = JSON.parse(value.toString('utf8')) as { keys: DocKey[] };
    const next = new Map(doc.keys.map((k) => [k.id, k.state]));
    for (const k of doc.keys) {
      const before = this.#states.get(k.id);
      if (k.state !== 'primary' || before === 'primary') continue;
      // Newly primary at this revision. A key created primary at once (the keyring's first keys) is exempt.
      if (before === undefined && this.#states.size === 0) continue;
      const live = [...this.#nodes.values()];
      this.promotions.push({
        revision,
        keyId: k.id,
        algorithm: k.algorithm,
        live: live.map((n) => n.nodeId),
      });
      const lagging = live.filter((n) => n.ack < k.createdInVersion);
      if (before !== 'staged' || lagging.length > 0) {
        this.violations.push({ revision, keyId: k.id, stagedVersion: k.createdInVersion, lagging });
      }
    }
    this.#states = next;
  }

  async close(): Promise<void> {
    await this.#watcher?.cancel().catch(() => {});
    this.#client.close();
  }
}
