/**
 * `serveMetrics` over real HTTP on the loopback interface, read by fetch and by an independent client
 * (Python's urllib), with the registry's own content type.
 */
import { execFile } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { type OpenMetricsContentType, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsError, type MetricsServer, PrometheusCollector, serveMetrics } from '../src/index.js';
import { parseExposition, value } from './_scrape.js';

const run = promisify(execFile);
const servers: MetricsServer[] = [];

async function start(...args: Parameters<typeof serveMetrics>): Promise<MetricsServer> {
  const server = await serveMetrics(...args);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function collector(): PrometheusCollector {
  const c = new PrometheusCollector();
  c.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.00002, 1024, 1052);
  c.recordKeyUse(77);
  return c;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('serveMetrics', () => {
  it('serves the registry on 127.0.0.1 with registry.contentType', async () => {
    const c = collector();
    const server = await start(c.registry, { port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(c.registry.contentType);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    const e = parseExposition(body);
    expect(value(e, 'mesh_crypto_operations_total', { operation: 'encrypt' })).toBe(1);
    expect(value(e, 'mesh_key_encryptions_total', { key_id: '77' })).toBe(1);
    // Each scrape sees current values.
    c.recordKeyUse(77, 4);
    const again = parseExposition(await (await fetch(server.url)).text());
    expect(value(again, 'mesh_key_encryptions_total', { key_id: '77' })).toBe(5);
  });

  it('is readable by an independent HTTP client (Python urllib)', async (ctx) => {
    const c = collector();
    const server = await start(c.registry, { port: 0 });
    const script = [
      'import sys, urllib.request',
      'r = urllib.request.urlopen(sys.argv[1], timeout=10)',
      'body = r.read().decode("utf-8")',
      'print(r.status)',
      'print(r.headers["Content-Type"])',
      'print(sum(1 for l in body.splitlines() if l.startswith("# TYPE mesh_")))',
    ].join('\n');
    let out: string;
    try {
      out = (await run('python3', ['-c', script, server.url], { timeout: 20_000 })).stdout;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        console.log('skipped: python3 not installed');
        ctx.skip();
      }
      throw e;
    }
    expect(out.trim().split('\n')).toEqual(['200', c.registry.contentType, '11']);
  });

  it('answers HEAD, ignores a query string, refuses other methods and paths', async () => {
    const server = await start(collector().registry, { port: 0, path: '/internal/metrics' });
    expect(server.url.endsWith('/internal/metrics')).toBe(true);
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${server.url}?name[]=x`)).status).toBe(200);
    const post = await fetch(server.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const base = server.url.replace('/internal/metrics', '');
    for (const path of ['/metrics', '/internal/metrics/', '/internal', '/']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).toBe('not found\n');
    }
  });

  it('uses the OpenMetrics content type when the registry is set to it', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new PrometheusCollector({ registry }).recordFailure('expired');
    const server = await start(registry, { port: 0 });
    const res = await fetch(server.url);
    expect(res.headers.get('content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    const body = await res.text();
    expect(body).toContain('mesh_crypto_failures_total{reason="expired"} 1');
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('answers 500 without details when the scrape fails', async () => {
    const registry = new Registry();
    const c = new PrometheusCollector({
      registry,
      clock: () => {
        throw new Error('clock broke: /etc/secret');
      },
    });
    c.setKeyAge(1, 0); // the key-age gauge calls the clock at scrape time
    const server = await start(registry, { port: 0 });
    const res = await fetch(server.url);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('metrics unavailable\n');
    // The server is still up.
    c.removeKey(1);
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('binds the IPv6 loopback when asked', async (ctx) => {
    const hasV6 = Object.values(networkInterfaces()).some((list) =>
      list?.some((i) => i.family === 'IPv6' && i.address === '::1'),
    );
    if (!hasV6) {
      console.log('skipped: no ::1 on this host');
      ctx.skip();
    }
    const server = await start(collector().registry, { port: 0, host: '::1' });
    expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+\/metrics$/);
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('reports a port in use as ERR_CONFIG_INVALID with the system error as cause', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    try {
      const port = (blocker.address() as AddressInfo).port;
      const err = await caught(serveMetrics(new Registry(), { port }));
      expect(err).toBeInstanceOf(MetricsError);
      expect((err as MetricsError).code).toBe('ERR_CONFIG_INVALID');
      expect(((err as MetricsError).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('rejects invalid options', async () => {
    const registry = new Registry();
    for (const options of [
      { port: -1 },
      { port: 65536 },
      { port: 1.5 },
      { port: Number.NaN },
      { host: '' },
      { path: 'metrics' },
      { path: '/a b' },
      { path: '/m\r\nX: y' },
    ]) {
      const err = await caught(serveMetrics(registry, options));
      expect(err, JSON.stringify(options)).toBeInstanceOf(MetricsError);
      expect((err as MetricsError).code).toBe('ERR_CONFIG_INVALID');
    }
    expect(await caught(serveMetrics({} as Registry))).toBeInstanceOf(MetricsError);
  });

  it('closes with a keep-alive connection open, twice, and stops answering', async () => {
    const server = await serveMetrics(collector().registry, { port: 0 });
    const agentRes = await new Promise<number>((resolve, reject) => {
      const req = request(server.url, { headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentRes).toBe(200);
    // close() also ends idle keep-alive connections, so it resolves without waiting for their timeout.
    await server.close();
    await server.close();
    expect(await caught(fetch(server.url))).toBeInstanceOf(Error);
  });
});
