/**
 * The Python peer (`python/peer.py`): one long-lived `python3` process running `cryptography`'s AESGCM and
 * Fernet, driven over a line protocol so its rounds alternate with the Node rounds (A B A B) and it stays
 * warm. Absent python3 or `cryptography` is reported as absent, never as an error.
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Names of the Python candidates (rates keyed by these). */
export const PYTHON_CANDIDATES = [
  'aesgcm_encrypt',
  'aesgcm_decrypt',
  'fernet_encrypt',
  'fernet_decrypt',
] as const;
export type PythonCandidate = (typeof PYTHON_CANDIDATES)[number];

/** What the peer said about itself. */
export interface PythonInfo {
  readonly python: string;
  readonly cryptography: string;
  readonly openssl: string;
}

const SCRIPT = fileURLToPath(new URL('../../python/peer.py', import.meta.url));

/** A running Python peer. */
export class PythonPeer {
  readonly info: PythonInfo;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #rl: Interface;

  private constructor(child: ChildProcessWithoutNullStreams, rl: Interface, info: PythonInfo) {
    this.#child = child;
    this.#rl = rl;
    this.#lines = rl[Symbol.asyncIterator]();
    this.info = info;
  }

  /** Starts the peer; resolves to `{ absent: reason }` when python3 or `cryptography` is missing. */
  static async start(): Promise<PythonPeer | { absent: string }> {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn('python3', [SCRIPT], { stdio: 'pipe' });
    } catch (error) {
      return { absent: `python3 could not be started: ${String(error)}` };
    }
    const spawned = await new Promise<string | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (e) => resolve(`python3 could not be started: ${e.message}`));
    });
    if (spawned !== undefined) return { absent: spawned };
    const rl = createInterface({ input: child.stdout });
    const lines = rl[Symbol.asyncIterator]();
    child.stdin.write(`${JSON.stringify({ cmd: 'hello' })}\n`);
    const first = await lines.next();
    const hello = first.done
      ? undefined
      : (JSON.parse(first.value) as { ok: boolean; error?: string } & PythonInfo);
    if (hello === undefined || !hello.ok) {
      child.kill();
      return { absent: `python3 cryptography unavailable: ${hello?.error ?? 'no answer'}` };
    }
    const peer = new PythonPeer(child, rl, {
      python: hello.python,
      cryptography: hello.cryptography,
      openssl: hello.openssl,
    });
    return peer;
  }

  /** One Python round at `size` bytes: ops/s of each candidate, per CPU second and per wall-clock second. */
  async round(
    size: number,
    sliceMs: number,
    round: number,
  ): Promise<{ cpu: Record<PythonCandidate, number>; wall: Record<PythonCandidate, number> }> {
    this.#child.stdin.write(`${JSON.stringify({ cmd: 'round', size, slice_ms: sliceMs, round })}\n`);
    const next = await this.#lines.next();
    if (next.done) throw new Error('python peer exited');
    const reply = JSON.parse(next.value) as {
      ok: boolean;
      rates?: Record<PythonCandidate, number>;
      rates_wall?: Record<PythonCandidate, number>;
      error?: string;
    };
    if (!reply.ok || reply.rates === undefined || reply.rates_wall === undefined) {
      throw new Error(`python peer: ${reply.error ?? 'bad reply'}`);
    }
    return { cpu: reply.rates, wall: reply.rates_wall };
  }

  /** Ends the process it started (by its own handle, never by name). */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.write(`${JSON.stringify({ cmd: 'quit' })}\n`);
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill(), 5000);
    await exited;
    clearTimeout(timer);
    this.#rl.close();
  }
}
