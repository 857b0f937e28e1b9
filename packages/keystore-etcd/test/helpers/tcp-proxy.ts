/**
 * A loopback TCP proxy a test can black-hole: while black-holed it keeps every connection open (and accepts
 * new ones) but forwards no byte in either direction, which is what a cut network link looks like to a
 * client (no RST, no FIN: only silence). `heal()` resumes forwarding; `reset()` destroys every connection.
 */
import { createServer, type Server, Socket } from 'node:net';

const LOOPBACK = '127.0.0.1';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/** A proxy from `127.0.0.1:<port>` to `127.0.0.1:<targetPort>`. */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #blackholed = false;
  #port = 0;

  private constructor(targetPort: number) {
    this.#server = createServer({ pauseOnConnect: true }, (client) => this.#accept(client, targetPort));
  }

  /** Listens on a free loopback port. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, LOOPBACK, () => resolve());
    });
    const address = proxy.#server.address();
    if (!address || typeof address !== 'object') throw new Error('proxy has no address');
    proxy.#port = address.port;
    return proxy;
  }

  /** `http://127.0.0.1:<proxy port>` */
  get endpoint(): string {
    return `http://${LOOPBACK}:${this.#port}`;
  }

  get blackholed(): boolean {
    return this.#blackholed;
  }

  /** Stops forwarding in both directions without closing anything. */
  blackhole(): void {
    this.#blackholed = true;
    for (const p of this.#pairs) {
      p.client.pause();
      p.upstream.pause();
    }
  }

  /** Resumes forwarding (bytes held while black-holed are delivered now, as TCP would after a partition). */
  heal(): void {
    this.#blackholed = false;
    for (const p of this.#pairs) {
      p.client.resume();
      p.upstream.resume();
    }
  }

  /** Destroys every open connection (the client sees a reset). */
  reset(): void {
    for (const p of this.#pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, targetPort: number): void {
    const upstream = new Socket();
    const pair: Pair = { client, upstream };
    this.#pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.connect(targetPort, LOOPBACK, () => {
      // Manual forwarding (not pipe()) so pause()/resume() alone decide whether bytes flow.
      client.on('data', (chunk) => {
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on('data', (chunk) => {
        if (!client.write(chunk)) upstream.pause();
      });
      client.on('drain', () => {
        if (!this.#blackholed) upstream.resume();
      });
      upstream.on('drain', () => {
        if (!this.#blackholed) client.resume();
      });
      if (this.#blackholed) upstream.pause();
      else client.resume();
    });
  }
}
