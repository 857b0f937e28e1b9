/**
 * A real single-member etcd for tests, benchmarks and the demo's `--start-etcd`: the `etcd` binary on free
 * loopback ports (client and peer) with its own temporary data directory. Stopped, frozen, killed and
 * restarted only by the pid this module started; never any address but 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOOPBACK = '127.0.0.1';

/** The etcd binary: `MESH_ETCD_BINARY` when set, else `etcd` on PATH. */
export const ETCD_BINARY = process.env.MESH_ETCD_BINARY ?? 'etcd';

/** Whether the etcd binary (default {@link ETCD_BINARY}) runs: `etcd --version` exits 0. */
export async function etcdAvailable(binary: string = ETCD_BINARY): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/** A free TCP port on loopback (the kernel picks it; a tiny race with other processes is retried by start). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options of {@link EtcdProcess.start}. */
export interface EtcdProcessOptions {
  /** Keep etcd's output (for debugging a failing test). */
  verbose?: boolean;
  /** Directory the temporary data directory is made in, default the OS temp dir (e.g. `/dev/shm`). */
  dataRoot?: string;
  /** The etcd binary, default {@link ETCD_BINARY}. */
  binary?: string;
  /** The member name, also the data directory's prefix (default `mesh-test`). */
  name?: string;
  /** Serve clients over TLS and require client certificates signed by `caFile` (PEM file paths). */
  tls?: { certFile: string; keyFile: string; caFile: string; clientCertFile: string; clientKeyFile: string };
}

/** One etcd server process this test started. */
export class EtcdProcess {
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  #child: ChildProcess | undefined;
  #log: string[] = [];
  readonly #verbose: boolean;
  readonly #tls: EtcdProcessOptions['tls'];
  readonly #binary: string;
  readonly #name: string;

  private constructor(dataDir: string, clientPort: number, peerPort: number, options: EtcdProcessOptions) {
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.#verbose = options.verbose ?? false;
    this.#tls = options.tls;
    this.#binary = options.binary ?? ETCD_BINARY;
    this.#name = options.name ?? 'mesh-test';
  }

  /** `http://127.0.0.1:<client port>` (`https://` with TLS) */
  get endpoint(): string {
    return `${this.#tls ? 'https' : 'http'}://${LOOPBACK}:${this.clientPort}`;
  }

  /** The pid of the running etcd (the one this helper spawned). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts etcd on fresh ports with a fresh data directory and waits until it reports healthy. */
  static async start(options: EtcdProcessOptions = {}): Promise<EtcdProcess> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const dataDir = mkdtempSync(join(options.dataRoot ?? tmpdir(), `${options.name ?? 'mesh-etcd'}-`));
      const etcd = new EtcdProcess(dataDir, await freePort(), await freePort(), options);
      try {
        await etcd.spawn();
        return etcd;
      } catch (e) {
        lastError = e;
        await etcd.stop();
      }
    }
    throw lastError;
  }

  private async spawn(): Promise<void> {
    const peer = `http://${LOOPBACK}:${this.peerPort}`;
    const args = [
      '--name',
      this.#name,
      '--data-dir',
      this.dataDir,
      '--listen-client-urls',
      this.endpoint,
      '--advertise-client-urls',
      this.endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `${this.#name}=${peer}`,
      '--initial-cluster-state',
      'new',
      '--log-level',
      'error',
      '--logger',
      'zap',
      ...(this.#tls
        ? [
            '--cert-file',
            this.#tls.certFile,
            '--key-file',
            this.#tls.keyFile,
            '--trusted-ca-file',
            this.#tls.caFile,
            '--client-cert-auth',
          ]
        : []),
    ];
    const child = spawn(this.#binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      if (this.#verbose) process.stderr.write(text);
      this.#log.push(text);
      if (this.#log.length > 200) this.#log.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`etcd exited early (${code ?? signal}): ${this.#log.join('').slice(-2000)}`)),
      );
    });
    exited.catch(() => {});
    await Promise.race([this.waitHealthy(20_000), exited]);
  }

  /** Polls `/health` until etcd answers healthy. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await this.#health()) === 'true') return;
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    throw new Error(`etcd not healthy within ${timeoutMs} ms: ${this.#log.join('').slice(-2000)}`);
  }

  async #health(): Promise<string | undefined> {
    const tls = this.#tls;
    if (!tls) {
      const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      return ((await res.json()) as { health?: string }).health;
    }
    return new Promise((resolve, reject) => {
      const req = httpsGet(
        `${this.endpoint}/health`,
        {
          ca: readFileSync(tls.caFile),
          cert: readFileSync(tls.clientCertFile),
          key: readFileSync(tls.clientKeyFile),
          timeout: 1_000,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => {
            try {
              resolve((JSON.parse(body) as { health?: string }).health);
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  }

  /** SIGSTOP: etcd keeps its sockets open but answers nothing (a hung server, not a refused one). */
  freeze(): void {
    this.signal('SIGSTOP');
  }

  /** SIGCONT after {@link freeze}. */
  thaw(): void {
    this.signal('SIGCONT');
  }

  /** SIGKILL and wait for the exit: no clean shutdown, the data directory stays as the crash left it. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await gone;
    this.#child = undefined;
  }

  /** Starts etcd again on the same data directory and ports (after {@link kill}). */
  async restart(): Promise<void> {
    if (this.#child) await this.kill();
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await this.spawn();
        return;
      } catch (e) {
        // The old listener's port may still be in TIME_WAIT-like limbo for a moment.
        if (Date.now() > deadline) throw e;
        await sleep(200);
      }
    }
  }

  /** Stops etcd (SIGTERM, then SIGKILL after 5 s) and removes its data directory. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      this.signal('SIGCONT');
      this.signal('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    this.#child = undefined;
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private signal(sig: NodeJS.Signals): void {
    const child = this.#child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill(sig);
  }
}
