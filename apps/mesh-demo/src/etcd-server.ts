/**
 * `--start-etcd`: a private single-member etcd for one demo run, on free loopback ports with a temporary
 * data directory, stopped (and its directory removed) at the end. Frozen by `--pause-etcd` with SIGSTOP and
 * thawed with SIGCONT. Only the pid this module started is ever signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOOPBACK = '127.0.0.1';

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A running etcd this process started. */
export interface EtcdServer {
  /** `http://127.0.0.1:<client port>` */
  readonly endpoint: string;
  readonly pid: number;
  readonly dataDir: string;
  /** SIGSTOP: etcd stops answering (connections stay open), as a frozen VM or a long GC pause. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops etcd (SIGTERM, SIGKILL after 5 s) and removes its data directory. */
  stop(): Promise<void>;
}

/** Whether an `etcd` binary is on PATH (or at `binary`). */
export async function etcdAvailable(binary = 'etcd'): Promise<boolean> {
  const child = spawn(binary, ['--version'], { stdio: 'ignore' });
  try {
    const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(() => [-1])])) as [
      number,
    ];
    return code === 0;
  } catch {
    return false;
  }
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return r.ok && ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** Starts etcd on fresh loopback ports and waits until it reports healthy (up to `timeoutMs`). */
export async function startEtcd(binary = 'etcd', timeoutMs = 20_000): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mesh-demo-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://${LOOPBACK}:${clientPort}`;
  const peer = `http://${LOOPBACK}:${peerPort}`;
  const log: string[] = [];
  const child: ChildProcess = spawn(
    binary,
    [
      '--name',
      'mesh-demo',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `mesh-demo=${peer}`,
      '--initial-cluster-state',
      'new',
      '--log-level',
      'error',
      '--logger',
      'zap',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 100) log.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const stop = async () => {
    if (!exited && child.pid !== undefined) {
      const gone = once(child, 'exit');
      child.kill('SIGCONT'); // a paused etcd cannot act on SIGTERM
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  try {
    await Promise.race([
      once(child, 'spawn'),
      once(child, 'error').then(([error]) => {
        throw error;
      }),
    ]);
    while (!(await healthy(endpoint))) {
      if (exited) throw new Error(`etcd exited while starting: ${log.join('').slice(-1000)}`);
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint,
    pid: child.pid!,
    dataDir,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop,
  };
}
