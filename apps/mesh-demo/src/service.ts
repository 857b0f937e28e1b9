/**
 * One mesh service, run as its own process by the orchestrator (`main.ts`): an HTTP server on 127.0.0.1
 * whose every request and response body is a Mesh envelope bound to the route (`from->to`) as context. All
 * services share one sealed keyring (the file key store by default), so a rotation made by any of them is
 * picked up by the others through the store (watch, and a re-read when an unknown key id arrives).
 *
 * Endpoints: `POST /call?to=<service>` (the traffic driver asks this service to call a peer), `POST /inbox`
 * (peer traffic), `POST /admin/rotate`, `GET /metrics` (Prometheus text from prom-client), `GET /healthz`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEncryption, type Encryption } from '@mesh/encryption';
import { FileKeyStore, type KeyStore } from '@mesh/keys';
import { EtcdKeyStore, RotationCoordinator } from '@mesh/keystore-etcd';
import { PrometheusCollector } from '@mesh/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { orderPayload } from './payload.js';
import { type FailedMessage, PEER_UNAVAILABLE, type ReadyMessage, type ServiceControl } from './protocol.js';

/** What the orchestrator passes a service process through its environment. */
interface ServiceEnv {
  name: string;
  port: number;
  keyringPath: string;
  kekFile: string;
  /** etcd endpoint and key prefix: the fleet on etcd with a RotationCoordinator, instead of the file. */
  etcd: { endpoint: string; prefix: string } | undefined;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Peer connection failures: the peer process is gone or restarting, not a crypto or protocol failure. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

function readEnv(): ServiceEnv {
  const {
    MESH_DEMO_SERVICE: name,
    MESH_DEMO_PORT: port,
    MESH_DEMO_KEYRING: keyringPath,
    MESH_DEMO_KEK_FILE: kekFile,
    MESH_DEMO_ETCD: etcd,
    MESH_DEMO_ETCD_PREFIX: prefix,
  } = process.env;
  if (!name || !keyringPath || !kekFile) throw new Error('service.js is started by main.js (missing env)');
  return {
    name,
    port: Number(port ?? 0),
    keyringPath,
    kekFile,
    etcd: etcd ? { endpoint: etcd, prefix: prefix ?? 'mesh-demo/' } : undefined,
  };
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** POST `body` to a peer on loopback; resolves with the status and body. */
function post(port: number, path: string, body: Uint8Array, headers: Record<string, string>) {
  return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function reply(res: ServerResponse, status: number, body: string | Uint8Array, type = 'text/plain') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Id of the AES-256-GCM key this service encrypts under (what a rotation changes). */
function primaryKeyId(enc: Encryption): number {
  return enc.keys.keys().find((k) => k.algorithm === 'aes-256-gcm' && k.state === 'primary')?.id ?? 0;
}

/** Resolves when the AES-256-GCM primary is no longer `before` (rejects after `timeoutMs`). */
function untilPrimaryChanges(enc: Encryption, before: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (primaryKeyId(enc) === before) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no new primary key within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      enc.keys.off('rotated', check);
    };
    enc.keys.on('rotated', check);
    check();
  });
}

/**
 * Counts, per new primary key, whether this node held it as `staged` before it became primary: with
 * two-phase rotation every node should, so no node ever meets a ciphertext under a key it lacks.
 */
function watchTwoPhase(enc: Encryption, promotions: Counter<'algorithm' | 'staged_first'>): void {
  const staged = new Set<number>();
  let primaries = new Map<string, number>();
  const scan = () => {
    const next = new Map<string, number>();
    for (const k of enc.keys.keys()) {
      if (k.state === 'staged') staged.add(k.id);
      if (k.state === 'primary') next.set(k.algorithm, k.id);
    }
    for (const [algorithm, id] of next) {
      const before = primaries.get(algorithm);
      if (before !== undefined && before !== id) {
        promotions.inc({ algorithm, staged_first: staged.has(id) ? 'yes' : 'no' });
      }
    }
    primaries = next;
  };
  scan();
  for (const event of ['staged', 'applied', 'rotated'] as const) enc.keys.on(event as 'applied', scan);
}

/** The demo's own metrics, registered beside the library's in the same prom-client registry. */
function demoMetrics(
  registry: Registry,
  enc: () => Encryption | undefined,
  coordinator: () => RotationCoordinator | undefined,
) {
  const calls = new Counter({
    name: 'mesh_demo_calls_total',
    help: 'Calls this service made to a peer (request sealed here, reply opened here), by peer and result.',
    labelNames: ['peer', 'result'] as const,
    registers: [registry],
  });
  const callSeconds = new Histogram({
    name: 'mesh_demo_call_duration_seconds',
    help: 'Duration of a call to a peer as this service sees it: seal, send, peer opens and answers, open reply.',
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const served = new Counter({
    name: 'mesh_demo_requests_served_total',
    help: 'Peer requests this service opened and answered, by caller.',
    labelNames: ['from'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'mesh_demo_keyring_version',
    help: 'Revision of the keyring document this service holds (each store write, not only rotations, adds one).',
    registers: [registry],
    collect() {
      const e = enc();
      if (e) this.set(e.keys.version);
    },
  });
  new Gauge({
    name: 'mesh_demo_primary_key_id',
    help: 'Id of the key this service encrypts under, by algorithm.',
    labelNames: ['algorithm'] as const,
    registers: [registry],
    collect() {
      const e = enc();
      if (!e) return;
      this.reset();
      for (const k of e.keys.keys()) if (k.state === 'primary') this.set({ algorithm: k.algorithm }, k.id);
    },
  });
  new Gauge({
    name: 'mesh_demo_keys',
    help: 'Keys in the keyring as this service holds it, by algorithm and state.',
    labelNames: ['algorithm', 'state'] as const,
    registers: [registry],
    collect() {
      const e = enc();
      if (!e) return;
      this.reset();
      for (const k of e.keys.keys()) this.inc({ algorithm: k.algorithm, state: k.state });
    },
  });
  const promotions = new Counter({
    name: 'mesh_demo_promotions_seen_total',
    help: 'New primary keys this service took up, by whether it held the key staged first (two-phase rotation).',
    labelNames: ['algorithm', 'staged_first'] as const,
    registers: [registry],
  });
  // The rotation coordinator's own metrics (etcd mode), under the names its README documents.
  const fleetGauges = new Map<string, Gauge>();
  const fleetCounters = new Map<string, Counter>();
  const fleet = (name: string, value: number, labels?: Readonly<Record<string, string>>) => {
    if (name.endsWith('_total')) {
      let c = fleetCounters.get(name);
      if (!c) {
        c = new Counter({
          name,
          help: `RotationCoordinator ${name}`,
          labelNames: ['algorithm'],
          registers: [registry],
        });
        fleetCounters.set(name, c);
      }
      c.inc(labels?.algorithm ? { algorithm: labels.algorithm } : {}, value);
    } else {
      let g = fleetGauges.get(name);
      if (!g) {
        g = new Gauge({ name, help: `RotationCoordinator ${name}`, registers: [registry] });
        fleetGauges.set(name, g);
      }
      g.set(value);
    }
  };
  new Gauge({
    name: 'mesh_demo_fleet_leader',
    help: 'Whether this service is the elected rotation leader (etcd mode): 1 or 0.',
    registers: [registry],
    collect() {
      const c = coordinator();
      if (c) this.set(c.isLeader ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mesh_demo_fleet_degraded',
    help: 'Whether this service reports itself degraded in the fleet (etcd mode): 1 or 0.',
    registers: [registry],
    collect() {
      const c = coordinator();
      if (c) this.set(c.health().state === 'degraded' ? 1 : 0);
    },
  });
  const stageAck = new Histogram({
    name: 'mesh_demo_stage_ack_seconds',
    help: 'Promotions this service made as rotation leader: time from staging a key until every live node acked it.',
    labelNames: ['algorithm'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return { calls, callSeconds, served, promotions, fleet, stageAck };
}

async function main(): Promise<void> {
  const env = readEnv();
  const registry = new Registry();
  registry.setDefaultLabels({ service: env.name });
  let encRef: Encryption | undefined;
  let coordinatorRef: RotationCoordinator | undefined;
  const metrics = demoMetrics(
    registry,
    () => encRef,
    () => coordinatorRef,
  );
  const etcdStore = env.etcd
    ? new EtcdKeyStore({ endpoints: env.etcd.endpoint, prefix: env.etcd.prefix, callTimeoutMs: 3_000 })
    : undefined;
  const keyStore: KeyStore = etcdStore ?? new FileKeyStore({ path: env.keyringPath });
  const enc: Encryption = await createEncryption({
    service: env.name,
    keyStore,
    kek: { file: env.kekFile },
    compression: { thresholdBytes: 512 },
    metrics: new PrometheusCollector({ registry }),
  });
  encRef = enc;
  watchTwoPhase(enc, metrics.promotions);
  // On etcd the fleet rotates in two phases: the elected leader stages a key, waits until every live node
  // has acked it, then promotes it. This node's own rotation is switched off by the coordinator.
  const coordinator = etcdStore
    ? await RotationCoordinator.start({
        keys: enc.keys,
        store: etcdStore,
        nodeId: env.name,
        ttlSeconds: 5,
        onMetric: (name, value, labels) => metrics.fleet(name, value, labels),
      })
    : undefined;
  coordinator?.on('promoted', (e) => metrics.stageAck.observe({ algorithm: e.algorithm }, e.ackMs / 1000));
  coordinatorRef = coordinator;
  let peers: Record<string, number> = {};
  let seq = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const code = (error as { code?: string }).code ?? 'ERR_INTERNAL';
      if (!res.headersSent) reply(res, 500, code);
    });
  });

  async function call(to: string, res: ServerResponse): Promise<void> {
    const port = peers[to];
    if (port === undefined) return reply(res, 404, `unknown peer ${to}`);
    const stop = metrics.callSeconds.startTimer();
    const id = ++seq;
    const payload = orderPayload(id, 1 + (id % 40));
    let answer: { status: number; body: Buffer };
    try {
      const sealed = await enc.encrypt(payload, { context: `${env.name}->${to}` });
      answer = await post(port, '/inbox', sealed, { 'x-mesh-from': env.name });
      if (answer.status !== 200) throw new Error(`${to} answered ${answer.status}: ${answer.body}`);
      const receipt = JSON.parse(await enc.decryptToString(answer.body, { context: `${to}->${env.name}` }));
      if (receipt.orderId !== `ord-${id}`) throw new Error('receipt does not match the order');
      stop();
      metrics.calls.inc({ peer: to, result: 'ok' });
      return reply(res, 200, JSON.stringify({ bytes: payload.length }), 'application/json');
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (CONNECTION_ERRORS.has(code)) {
        // The peer is down: the driver routes the request elsewhere. Not a failed call of this service.
        metrics.calls.inc({ peer: to, result: 'peer_unavailable' });
        return reply(res, 503, `${PEER_UNAVAILABLE} ${to} (${code})`);
      }
      metrics.calls.inc({ peer: to, result: 'failed' });
      return reply(res, 502, `${env.name}->${to}: ${code || (error as Error).message}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      return reply(res, 200, await registry.metrics(), registry.contentType);
    }
    if (req.method === 'GET' && url.pathname === '/healthz') return reply(res, 200, 'ok');
    if (req.method === 'POST' && url.pathname === '/admin/rotate') {
      if (!coordinator) {
        await enc.rotate();
        return reply(res, 200, JSON.stringify({ keyId: primaryKeyId(enc) }), 'application/json');
      }
      // Ask the leader; answer once this node encrypts under the new key (staged, acked, promoted).
      const before = primaryKeyId(enc);
      await coordinator.requestRotation();
      await untilPrimaryChanges(enc, before, 60_000);
      return reply(res, 200, JSON.stringify({ keyId: primaryKeyId(enc) }), 'application/json');
    }
    if (req.method === 'POST' && url.pathname === '/inbox') {
      // Peer traffic: the body is bound to the route it claims; a body replayed on another route fails.
      const from = String(req.headers['x-mesh-from'] ?? '');
      const order = JSON.parse(
        await enc.decryptToString(await readBody(req), { context: `${from}->${env.name}` }),
      );
      const receipt = JSON.stringify({
        orderId: order.orderId,
        acceptedBy: env.name,
        lines: order.items.length,
      });
      const sealed = await enc.encrypt(receipt, { context: `${env.name}->${from}` });
      metrics.served.inc({ from });
      return reply(res, 200, sealed, 'application/octet-stream');
    }
    if (req.method === 'POST' && url.pathname === '/call') return call(url.searchParams.get('to') ?? '', res);
    return reply(res, 404, 'not found');
  }

  server.listen(env.port, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  // Ctrl-C reaches the whole process group: the orchestrator stops the services itself, after its summary.
  process.on('SIGINT', () => {});
  // An orchestrator that died cannot stop us: do not linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ServiceControl) => {
    if (message.type === 'peers') peers = message.peers;
    if (message.type === 'stop') {
      server.close();
      server.closeAllConnections();
      void (async () => {
        await coordinator?.close().catch(() => {});
        await enc.close().catch(() => {});
        await etcdStore?.close().catch(() => {});
        process.exit(0);
      })();
    }
  });
  const ready: ReadyMessage = { type: 'ready', name: env.name, port, primaryKeyId: primaryKeyId(enc) };
  process.send?.(ready);
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  const name = process.env.MESH_DEMO_SERVICE ?? '?';
  if (process.send) {
    const failed: FailedMessage = { type: 'failed', name, code, message };
    process.send(failed, () => process.exit(1));
  } else {
    console.error(`service ${name}: failed to start: ${message}`);
    process.exit(1);
  }
});
