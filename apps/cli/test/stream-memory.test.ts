/**
 * A 200 MB file streams through `encrypt` and `decrypt` in bounded memory. The child's peak RSS is measured
 * from outside: python3 runs the binary and reports `getrusage(RUSAGE_CHILDREN).ru_maxrss` (the kernel's
 * high-water mark of the waited child), so nothing in the CLI has to cooperate. The same measurement on a
 * 1 MB file is the baseline: a CLI that buffered the file would peak 200 MB above it.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, randomKek, runCommand, tempDir } from './helpers.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB;
/** Allowed growth of peak RSS from 1 MB to 200 MB: a fraction of the file, far from holding it. */
const MAX_GROWTH = 80 * MB;

const tmp = tempDir('meshcrypt-memory-');
afterAll(tmp.cleanup);
const env = { MESH_KEK: randomKek() };
const keyring = join(tmp.dir, 'keyring.json');
const K = ['--keyring', keyring, '--kek-env', 'MESH_KEK'];

const RUSAGE = [
  'import resource, subprocess, sys',
  'r = subprocess.run(sys.argv[1:])',
  'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, file=sys.stderr)',
  'sys.exit(r.returncode)',
].join('\n');

/** Runs meshcrypt under python3's rusage wrapper; returns the exit status and the child's peak RSS (bytes). */
async function measured(args: string[]): Promise<{ status: number | null; peak: number; stderr: string }> {
  const r = await runCommand('python3', ['-c', RUSAGE, process.execPath, BIN, ...args], {
    env,
    cwd: tmp.dir,
  });
  const lines = r.stderr.trim().split('\n');
  return { status: r.status, peak: Number(lines.at(-1)), stderr: lines.slice(0, -1).join('\n') };
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/** Writes `size` bytes: one random MiB repeated (fast to make; the cipher does not care). */
function writeFile(path: string, size: number): void {
  const block = crypto.getRandomValues(new Uint8Array(65_536));
  const mib = new Uint8Array(MB);
  for (let i = 0; i < 16; i++)
    mib.set(
      block.map((b) => b ^ i),
      i * 65_536,
    );
  const fd = openSync(path, 'w');
  for (let written = 0; written < size; written += MB) writeSync(fd, mib, 0, Math.min(MB, size - written));
  closeSync(fd);
}

describe('streaming a 200 MB file', () => {
  beforeAll(async () => {
    const r = await runCommand(process.execPath, [BIN, 'keyring', 'init', ...K], { env });
    expect(r.status).toBe(0);
    writeFile(join(tmp.dir, 'small.bin'), MB);
    writeFile(join(tmp.dir, 'big.bin'), SIZE);
  });

  it('encrypts and decrypts with peak RSS bounded, independent of the file size', async () => {
    const f = (name: string) => join(tmp.dir, name);
    const small = await measured(['encrypt', ...K, '--in', f('small.bin'), '--out', f('small.enc')]);
    expect(small).toMatchObject({ status: 0, stderr: '' });

    const encrypt = await measured(['encrypt', ...K, '--in', f('big.bin'), '--out', f('big.enc')]);
    expect(encrypt).toMatchObject({ status: 0, stderr: '' });
    // 64 KiB segments, 16 bytes of tag each, 34 bytes of header.
    expect(statSync(f('big.enc')).size).toBe(34 + SIZE + 16 * (SIZE / 65_536));

    const decrypt = await measured(['decrypt', ...K, '--in', f('big.enc'), '--out', f('big.dec')]);
    expect(decrypt).toMatchObject({ status: 0, stderr: '' });
    expect(await sha256(f('big.dec'))).toBe(await sha256(f('big.bin')));

    const report = {
      baselineMiB: +(small.peak / MB).toFixed(1),
      encryptMiB: +(encrypt.peak / MB).toFixed(1),
      decryptMiB: +(decrypt.peak / MB).toFixed(1),
    };
    console.log(`meshcrypt peak RSS (200 MB file): ${JSON.stringify(report)}`);
    expect(small.peak).toBeGreaterThan(10 * MB); // the measurement is real: node itself needs that much
    expect(encrypt.peak - small.peak).toBeLessThan(MAX_GROWTH);
    expect(decrypt.peak - small.peak).toBeLessThan(MAX_GROWTH);
  });
});
