/** Shared fixtures: facades on fresh in-memory keyrings, closed after each test file. */
import { generateRsaKeyPair, type RsaKeyPairPem } from '@mesh/crypto-core';
import { afterAll } from 'vitest';
import { createEncryption, type Encryption, type EncryptionConfig } from '../../src/index.js';

const open: Encryption[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

/** A facade on a fresh memory keyring; closed when the file's tests end. */
export async function makeEncryption(config: EncryptionConfig = {}): Promise<Encryption> {
  const enc = await createEncryption({ service: 'orders', ...config });
  open.push(enc);
  return enc;
}

let pair: Promise<RsaKeyPairPem> | undefined;
/** One 2048-bit RSA pair per test file (generation costs ~0.1 s). */
export function rsaPair(): Promise<RsaKeyPairPem> {
  pair ??= generateRsaKeyPair(2048);
  return pair;
}

/** Realistic JSON that compresses well (~5x). */
export function jsonPayload(bytes: number): string {
  const items: string[] = [];
  let size = 2;
  for (let i = 0; size < bytes; i++) {
    const item = JSON.stringify({
      id: i,
      sku: `SKU-${i % 97}`,
      qty: (i * 7) % 13,
      status: i % 3 ? 'shipped' : 'open',
    });
    items.push(item);
    size += item.length + 1;
  }
  return `[${items.join(',')}]`.slice(0, Math.max(bytes, 2));
}

/** The code of a rejected promise (fails the test when it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `no code: ${String(error)}`;
  }
  return 'resolved';
}

/** The code of a throwing call. */
export function syncCodeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? `no code: ${String(error)}`;
  }
  return 'returned';
}
