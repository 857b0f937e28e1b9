/**
 * The fleet: one Node process per service, started, killed and restarted by the orchestrator. Each service
 * keeps its port across a restart, so its peers need no new address.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { FailedMessage, ReadyMessage, ServiceControl } from './protocol.js';

/** Where a service stands, as the dashboard and the summary show it. */
export type NodeStatus = 'starting' | 'up' | 'down';

/** One service process and what happened to it. */
export interface FleetNode {
  readonly name: string;
  port: number;
  status: NodeStatus;
  pid: number | undefined;
  /** Times it was started again after it was killed. */
  restarts: number;
  /** AES-256-GCM primary key id it opened at its last start. */
  startKeyId: number;
  child: ChildProcess | undefined;
}

const SERVICE_SCRIPT = fileURLToPath(new URL('./service.js', import.meta.url));

/** Starts, kills and restarts the service processes. */
export class Fleet {
  readonly nodes: FleetNode[];

  constructor(
    names: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    ports: readonly number[],
  ) {
    this.nodes = names.map((name, i) => ({
      name,
      port: ports[i] ?? 0,
      status: 'starting',
      pid: undefined,
      restarts: 0,
      startKeyId: 0,
      child: undefined,
    }));
  }

  /** The node named `name`. */
  node(name: string): FleetNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no service ${name}`);
    return node;
  }

  /** Names of the services that are up. */
  live(): string[] {
    return this.nodes.filter((n) => n.status === 'up').map((n) => n.name);
  }

  /** Starts every service: the first creates the keyring if there is none, the others then open it. */
  async start(): Promise<void> {
    const [first, ...rest] = this.nodes;
    if (first) await this.spawn(first);
    await Promise.all(rest.map((n) => this.spawn(n)));
    this.broadcastPeers();
  }

  /** SIGKILLs a service (a crash: no drain, no goodbye) and waits until the process is gone. */
  async kill(name: string): Promise<void> {
    const node = this.node(name);
    const child = node.child;
    node.status = 'down';
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed service again on the same port; resolves when it has opened the keyring. */
  async restart(name: string): Promise<FleetNode> {
    const node = this.node(name);
    await this.spawn(node);
    node.restarts++;
    this.broadcastPeers();
    return node;
  }

  /** Asks every live service to stop, then waits for every process to exit. */
  async stop(): Promise<void> {
    const exits: Promise<unknown>[] = [];
    for (const node of this.nodes) {
      const child = node.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      exits.push(once(child, 'exit'));
      if (child.connected) child.send({ type: 'stop' } satisfies ServiceControl);
      else child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const node of this.nodes) if (node.child?.exitCode === null) node.child.kill('SIGKILL');
    }, 5_000);
    await Promise.all(exits);
    clearTimeout(timer);
    for (const node of this.nodes) node.status = 'down';
  }

  private broadcastPeers(): void {
    const peers = Object.fromEntries(this.nodes.map((n) => [n.name, n.port]));
    for (const node of this.nodes) {
      if (node.child?.connected) node.child.send({ type: 'peers', peers } satisfies ServiceControl);
    }
  }

  private async spawn(node: FleetNode): Promise<void> {
    node.status = 'starting';
    const child = fork(SERVICE_SCRIPT, [], {
      env: { ...this.env, MESH_DEMO_SERVICE: node.name, MESH_DEMO_PORT: String(node.port) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    node.child = child;
    node.pid = child.pid;
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`service ${node.name} exited with code ${code} before it was ready`);
      }),
    ])) as [ReadyMessage | FailedMessage];
    if (message.type === 'failed') {
      await once(child, 'exit');
      const error = new Error(
        message.code === 'EADDRINUSE'
          ? `port ${node.port} for ${node.name} is in use; pass --port <another> or --port 0 for free ports`
          : `service ${node.name} could not start: ${message.message}`,
      );
      throw Object.assign(error, { code: message.code });
    }
    node.port = message.port;
    node.startKeyId = message.primaryKeyId;
    node.status = 'up';
    child.on('exit', () => {
      if (node.child === child) node.status = 'down';
    });
  }
}
