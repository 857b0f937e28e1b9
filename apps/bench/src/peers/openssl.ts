/**
 * `openssl speed` as the native reference: the machine's OpenSSL CLI timing its own EVP loop with no
 * per-message setup at all (one context, no fresh nonce, no output allocation). No library call can beat
 * it; it shows how much of a per-message cost is the cipher itself.
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';

/** The CLI's version line, or undefined when there is no `openssl` on PATH. */
export function opensslVersion(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The EVP ciphers this harness asks `openssl speed` about. */
export type OpensslCipher = 'aes-256-gcm' | 'aes-128-cbc';

/**
 * Encryptions per second of `size`-byte blocks over `seconds` (an integer, as `openssl speed` takes it).
 * Parses the machine-readable `+F:` line (bytes per second).
 */
export function opensslSpeed(cipher: OpensslCipher, size: number, seconds: number): number {
  const out = execFileSync(
    'openssl',
    ['speed', '-mr', '-seconds', String(seconds), '-bytes', String(size), '-evp', cipher],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 },
  );
  const line = out.split('\n').find((l) => l.startsWith('+F:'));
  const bytesPerSecond = Number(line?.split(':').at(-1));
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
    throw new Error(`openssl speed ${cipher} gave no rate: ${out.slice(0, 200)}`);
  }
  return bytesPerSecond / size;
}
