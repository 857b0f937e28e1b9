/**
 * The dashboard server: a page (`/`), its script, the uPlot charting library straight from node_modules,
 * and `/events`, a server-sent event stream of the monitor's snapshot once per tick. Loopback only.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Snapshot } from './monitor.js';

const require = createRequire(import.meta.url);
/** The page and its script are plain files beside the sources; the chart library comes from node_modules. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': {
    file: fileURLToPath(new URL('../src/static/index.html', import.meta.url)),
    type: 'text/html; charset=utf-8',
  },
  '/dashboard.js': {
    file: fileURLToPath(new URL('../src/static/dashboard.js', import.meta.url)),
    type: 'text/javascript; charset=utf-8',
  },
  '/uPlot.iife.min.js': {
    file: require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** A running dashboard server. */
export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  /** Sends a snapshot to every open page. */
  publish(snapshot: Snapshot): void;
  close(): Promise<void>;
}

/** Serves the dashboard on 127.0.0.1:`port` (0: a free port). */
export async function serveDashboard(port: number, initial: () => Snapshot): Promise<DashboardServer> {
  const clients = new Set<ServerResponse>();
  let last = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`retry: 1000\ndata: ${last || JSON.stringify(initial())}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    if (path === '/snapshot.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(last || JSON.stringify(initial()));
      return;
    }
    const asset = ASSETS[path];
    if (!asset || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    readFile(asset.file).then(
      (body) => res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('asset missing'),
    );
  });
  server.listen(port, '127.0.0.1');
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    publish(snapshot) {
      last = JSON.stringify(snapshot);
      for (const res of clients) res.write(`data: ${last}\n\n`);
    },
    async close() {
      for (const res of clients) res.end();
      server.close();
      server.closeAllConnections();
    },
  };
}
