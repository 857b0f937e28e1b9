/**
 * One mesh service, run as its own process by `main.ts`: an HTTP server on 127.0.0.1 whose every request
 * and response body is a Mesh envelope bound to the route (`from->to`) as context. All services share one
 * keyring in a `FileKeyStore` (the embedded default), so a rotation made by any of them is picked up by the
 * others through the store (watch, and a re-read when an unknown key id arrives).
 *
 * Endpoints: `POST /call?to=<service>` (driver: make an encrypted call to a peer), `POST /inbox` (peer
 * traffic), `POST /admin/rotate`, `GET /metrics` (Prometheus text), `GET /healthz`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEncryption, type Encryption } from '@mesh/encryption';
import { FileKeyStore } from '@mesh/keys';
import { PrometheusCollector } from '@mesh/metrics';
import { Registry } from 'prom-client';
import { orderPayload } from './payload.js';

/** What the orchestrator passes a service process through its environment. */
interface ServiceEnv {
  name: string;
  keyringPath: string;
  kekFile: string;
}

/** Messages from the orchestrator over the IPC channel. */
type ControlMessage = { type: 'peers'; peers: Record<string, number> } | { type: 'stop' };

const MAX_BODY_BYTES = 4 * 1024 * 1024;

function readEnv(): ServiceEnv {
  const {
    MESH_DEMO_SERVICE: name,
    MESH_DEMO_KEYRING: keyringPath,
    MESH_DEMO_KEK_FILE: kekFile,
  } = process.env;
  if (!name || !keyringPath || !kekFile) throw new Error('service.ts is started by main.ts (missing env)');
  return { name, keyringPath, kekFile };
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

async function main(): Promise<void> {
  const env = readEnv();
  const registry = new Registry();
  registry.setDefaultLabels({ service: env.name });
  const enc: Encryption = await createEncryption({
    service: env.name,
    keyStore: new FileKeyStore({ path: env.keyringPath }),
    kek: { file: env.kekFile },
    compression: { thresholdBytes: 512 },
    metrics: new PrometheusCollector({ registry }),
  });
  let peers: Record<string, number> = {};
  let seq = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const code = (error as { code?: string }).code ?? 'ERR_INTERNAL';
      if (!res.headersSent) reply(res, 500, code);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      return reply(res, 200, await registry.metrics(), registry.contentType);
    }
    if (req.method === 'GET' && url.pathname === '/healthz') return reply(res, 200, 'ok');
    if (req.method === 'POST' && url.pathname === '/admin/rotate') {
      await enc.rotate();
      return reply(res, 200, JSON.stringify({ version: enc.keys.version }), 'application/json');
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
      return reply(res, 200, sealed, 'application/octet-stream');
    }
    if (req.method === 'POST' && url.pathname === '/call') {
      const to = url.searchParams.get('to') ?? '';
      const port = peers[to];
      if (port === undefined) return reply(res, 404, `unknown peer ${to}`);
      const id = ++seq;
      const payload = orderPayload(id, 1 + (id % 40));
      const sealed = await enc.encrypt(payload, { context: `${env.name}->${to}` });
      const answer = await post(port, '/inbox', sealed, { 'x-mesh-from': env.name });
      if (answer.status !== 200) return reply(res, 502, answer.body.toString('utf8'));
      const receipt = JSON.parse(await enc.decryptToString(answer.body, { context: `${to}->${env.name}` }));
      if (receipt.orderId !== `ord-${id}`) return reply(res, 502, 'receipt does not match the order');
      return reply(
        res,
        200,
        JSON.stringify({ bytes: payload.length, sealed: sealed.length }),
        'application/json',
      );
    }
    return reply(res, 404, 'not found');
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  process.on('message', (message: ControlMessage) => {
    if (message.type === 'peers') peers = message.peers;
    if (message.type === 'stop') {
      server.close();
      server.closeAllConnections();
      void enc.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', name: env.name, port, keyIds: enc.keys.keys().map((k) => k.id) });
}

main().catch((error: unknown) => {
  console.error(`service ${process.env.MESH_DEMO_SERVICE}: failed to start:`, error);
  process.exit(1);
});
