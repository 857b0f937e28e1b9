import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '@mesh/crypto-core';
import type { KeyStore, StoredKeyring } from '../src/index.js';
import { MemoryKeyStore } from '../src/index.js';

/** A clock tests move by hand. */
export class FakeClock {
  constructor(public now = Date.UTC(2030, 0, 1)) {}
  readonly fn = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A store that counts writes and can be told to fail them. */
export class CountingStore implements KeyStore {
  readonly inner: KeyStore;
  writes = 0;
  failWrites = false;
  loads = 0;
  constructor(inner: KeyStore = new MemoryKeyStore()) {
    this.inner = inner;
  }
  load(name: string): Promise<StoredKeyring | undefined> {
    this.loads++;
    return this.inner.load(name);
  }
  async compareAndSwap(name: string, expected: number | undefined, next: StoredKeyring): Promise<boolean> {
    if (this.failWrites) throw new Error('disk full (injected)');
    const ok = await this.inner.compareAndSwap(name, expected, next);
    if (ok) this.writes++;
    return ok;
  }
  watch(name: string, onChange: () => void): () => void {
    return this.inner.watch!(name, onChange);
  }
}

export const rawKek = (): { key: Uint8Array } => ({ key: randomBytes(32) });

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-keys-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** True when `python3` with `cryptography` is installed; prints why a test is skipped otherwise. */
export function havePythonCryptography(): boolean {
  const r = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  console.warn('SKIPPED: python3 with the cryptography package is not installed');
  return false;
}

export function haveOpenssl(): boolean {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  console.warn('SKIPPED: the openssl CLI is not installed');
  return false;
}

/** Every textual form a leaked key could take in a file. */
export function encodings(bytes: Uint8Array): string[] {
  // A view, not a copy: copying a key into Node's Buffer pool would plant it where tests look for leaks.
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
    b.toString('base64'),
    b.toString('base64url'),
    b.toString('base64').replace(/=+$/, ''),
    // base64 of the key inside a larger blob: any 3-byte-aligned window is still visible.
    b.subarray(0, 30).toString('base64'),
    b.subarray(1, 31).toString('base64'),
    b.subarray(2, 32).toString('base64'),
    b.subarray(0, 30).toString('base64url'),
    b.subarray(1, 31).toString('base64url'),
    b.subarray(2, 32).toString('base64url'),
  ];
}

/** Asserts `haystack` holds `bytes` in no raw or encoded form. */
export function containsKey(haystack: Uint8Array, bytes: Uint8Array): boolean {
  const h = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  if (h.indexOf(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) !== -1) return true;
  const text = h.toString('latin1');
  return encodings(bytes).some((e) => text.includes(e));
}
