/**
 * `serveMetrics`: a minimal `/metrics` endpoint over node:http for the apps.
 *
 * Binds to 127.0.0.1 unless told otherwise: metrics reveal traffic patterns, so exposing them is an explicit
 * choice. The response carries `registry.contentType` (Prometheus text 0.0.4 or OpenMetrics 1.0, whichever
 * the registry is set to), so the scraper parses it with the right parser. A failing scrape answers 500
 * without details; errors never reach the client or crash the process.
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsError, needs } from './errors.js';
import type { MetricsRegistry } from './prometheus.js';

/**
 * Options of {@link serveMetrics}.
 *
 * @example
 * ```ts
 * import { type ServeMetricsOptions } from '@mesh/metrics';
 * const options: ServeMetricsOptions = { host: '0.0.0.0', port: 9464, path: '/metrics' }; // exposed on purpose
 * ```
 */
export interface ServeMetricsOptions {
  /** TCP port, default 9464; 0 picks a free one (see `url`). */
  port?: number;
  /** Interface to bind, default `'127.0.0.1'`; `'::1'` for IPv6 loopback, `'0.0.0.0'` to expose it. */
  host?: string;
  /** Path that serves the metrics, default `'/metrics'`; every other path answers 404. */
  path?: string;
}

/**
 * A running metrics endpoint.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { serveMetrics } from '@mesh/metrics';
 * const server = await serveMetrics(new Registry(), { port: 0 });
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export interface MetricsServer {
  /** Where it listens, e.g. `http://127.0.0.1:9464/metrics` (the real port when 0 was asked for). */
  readonly url: string;
  /** Stops listening and closes open connections; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Default port: 9464, the port OpenTelemetry's Prometheus exporter uses.
 *
 * @example
 * ```ts
 * import { DEFAULT_METRICS_PORT } from '@mesh/metrics';
 * console.log(`scrape http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics`);
 * ```
 */
export const DEFAULT_METRICS_PORT = 9464;

const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

/**
 * Serves `registry` on `GET|HEAD <path>` until closed.
 *
 * @throws MetricsError `ERR_CONFIG_INVALID` for an invalid option, or when it cannot listen (the `cause`
 * holds the system error, e.g. `EADDRINUSE`).
 *
 * @example
 * ```ts
 * import { PrometheusCollector, serveMetrics } from '@mesh/metrics';
 * const metrics = new PrometheusCollector({ defaultMetrics: true });
 * const server = await serveMetrics(metrics.registry, { port: 0 });
 * const res = await fetch(server.url);
 * console.log(res.headers.get('content-type')); // text/plain; version=0.0.4; charset=utf-8
 * await server.close();
 * ```
 */
export async function serveMetrics(
  registry: MetricsRegistry,
  options: ServeMetricsOptions = {},
): Promise<MetricsServer> {
  const port = options.port ?? DEFAULT_METRICS_PORT;
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/metrics';
  needs(typeof registry?.metrics === 'function', 'registry must be a prom-client Registry');
  needs(Number.isInteger(port) && port >= 0 && port <= 65535, 'port must be an integer from 0 to 65535');
  needs(typeof host === 'string' && host.length > 0 && host.length <= 255, 'host must be a non-empty string');
  needs(
    typeof path === 'string' && path.length <= 1024 && PATH.test(path),
    'path must be an absolute URL path',
  );

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    if (pathname !== path) return reply(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch {
      // The error may say anything about the process; a scraper only needs to know the scrape failed.
      return reply(res, 500, 'metrics unavailable\n');
    }
    res.writeHead(200, {
      'Content-Type': registry.contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server = createServer({ maxHeaderSize: 8192 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, 'metrics unavailable\n');
      else res.destroy();
    });
  });
  // A scraper sends one small GET; anything slower than this is a stuck or hostile client.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (cause: Error): void => {
      reject(new MetricsError('ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}`, { cause }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // After listening, a socket-level error must not become an uncaught 'error' event.
  server.on('error', () => {});

  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}${path}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
