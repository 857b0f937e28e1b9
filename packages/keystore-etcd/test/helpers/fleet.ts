/**
 * Parent side of the fleet tests and the benchmark: each node is a separate Node process running
 * `test/fleet/fleet-node.mjs` (the built packages, as a service would import them), driven over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fleet', 'fleet-node.mjs');

/** Configuration one node process gets (see fleet-node.mjs). */
export interface FleetNodeConfig {
  nodeId: string;
  endpoint: string;
  prefix: string;
  keyring: string;
  kekHex: string;
  ttlSeconds?: number;
  interval?: number;
  ackTimeoutMs?: number;
  callTimeoutMs?: number;
  /** The keyring's rotation policy (retention); the leader applies it. */
  rotation?: { maxRetainedKeys?: number; retention?: number | string };
}

/** What a node reports. */
export interface NodeStats {
  encrypted: number;
  decrypted: number;
  failures: { kind: string; at: number; degraded: boolean; code: string }[];
  undelivered: number;
  sentOk: number;
  version: number;
  health: { state: string; reason?: string };
  leader: boolean;
}

/** An event a node's coordinator emitted. */
export interface FleetEvent {
  type: 'event';
  event: string;
  nodeId: string;
  at: number;
  [k: string]: unknown;
}

/** One node process this test started (ended only through its own pid). */
export class FleetNode {
  readonly config: FleetNodeConfig;
  readonly events: FleetEvent[] = [];
  port = 0;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (m: Record<string, unknown>) => void>();
  readonly #listeners = new Set<(e: FleetEvent) => void>();
  #next = 0;
  #exited = false;

  private constructor(config: FleetNodeConfig) {
    this.config = config;
    this.#child = fork(NODE_SCRIPT, [], {
      env: { ...process.env, MESH_FLEET_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('exit', () => {
      this.#exited = true;
      for (const r of this.#pending.values()) r({ error: 'exited' });
      this.#pending.clear();
    });
    this.#child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'event') {
        this.events.push(m as FleetEvent);
        for (const l of this.#listeners) l(m as FleetEvent);
      } else if (m.type === 'reply') {
        const r = this.#pending.get(m.id as number);
        this.#pending.delete(m.id as number);
        r?.(m);
      }
    });
  }

  static async start(config: FleetNodeConfig): Promise<FleetNode> {
    const node = new FleetNode(config);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (m.type === 'ready') {
          node.port = m.port as number;
          node.#child.off('message', onMessage);
          resolve();
        }
      };
      node.#child.on('message', onMessage);
      node.#child.once('exit', (code) =>
        reject(new Error(`node ${config.nodeId} exited (${code}) before ready`)),
      );
    });
    return node;
  }

  get nodeId(): string {
    return this.config.nodeId;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  onEvent(listener: (e: FleetEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  call<T = Record<string, unknown>>(type: string, payload: Record<string, unknown> = {}): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`node ${this.nodeId} has exited`));
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (m) => (m.error ? reject(new Error(String(m.error))) : resolve(m as T)));
      this.#child.send({ type, id, ...payload });
    });
  }

  async stats(): Promise<NodeStats> {
    return (await this.call<{ stats: NodeStats }>('stats')).stats;
  }

  /** Sends `sig` to this node's own pid. */
  signal(sig: NodeJS.Signals): void {
    if (!this.#exited) this.#child.kill(sig);
  }

  async kill(): Promise<void> {
    if (this.#exited) return;
    const gone = new Promise((r) => this.#child.once('exit', r));
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const gone = new Promise((r) => this.#child.once('exit', r));
    const timer = setTimeout(() => this.signal('SIGKILL'), 10_000);
    await this.call('stop').catch(() => {});
    await gone;
    clearTimeout(timer);
  }
}

/** Tells every node where the others listen. */
export function announcePeers(nodes: FleetNode[]): void {
  const peers = nodes.filter((n) => n.alive).map((n) => ({ nodeId: n.nodeId, port: n.port }));
  for (const n of nodes) if (n.alive) void n.call('peers', { peers }).catch(() => {});
}

/** Waits for the first event matching `match` on any of `nodes`. */
export function nextEvent(
  nodes: FleetNode[],
  match: (e: FleetEvent) => boolean,
  timeoutMs = 60_000,
): Promise<FleetEvent> {
  return new Promise((resolve, reject) => {
    const offs: Array<() => void> = [];
    const timer = setTimeout(() => {
      for (const o of offs) o();
      reject(new Error('event not seen in time'));
    }, timeoutMs);
    for (const n of nodes) {
      offs.push(
        n.onEvent((e) => {
          if (!match(e)) return;
          clearTimeout(timer);
          for (const o of offs) o();
          resolve(e);
        }),
      );
    }
  });
}
