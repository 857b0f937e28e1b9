import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';

let counter = 0;
/** A keyring name unique within this test run. */
export const newName = (): string => `kr-${process.pid}-${++counter}`;

/** A fresh 32-byte KEK (owns its whole ArrayBuffer). */
export const kek = (): Uint8Array => Uint8Array.from(randomBytes(32));

/** Polls `check` until it is true (no fixed sleeps; generous deadline for a loaded CI machine). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`, { cause: last });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every encoding of key bytes the scan looks for. */
export function encodingsOf(material: Uint8Array): Buffer[] {
  const b = Buffer.from(material);
  return [
    b,
    Buffer.from(b.toString('hex')),
    Buffer.from(b.toString('hex').toUpperCase()),
    Buffer.from(b.toString('base64')),
    Buffer.from(b.toString('base64url')),
  ];
}

/**
 * Reads every key and value in etcd and returns the keys whose key or value contains any of `materials` in
 * raw, hex, base64 or base64url form (empty: none found).
 */
export async function scanEtcdForMaterial(
  endpoint: string,
  materials: Uint8Array[],
): Promise<{
  hits: string[];
  values: number;
}> {
  const c = new Etcd3({ hosts: endpoint });
  try {
    const all = await c.getAll().prefix('').buffers();
    const needles = materials.flatMap(encodingsOf);
    const hits: string[] = [];
    for (const [k, v] of Object.entries(all)) {
      if (needles.some((n) => v.includes(n) || Buffer.from(k).includes(n))) hits.push(k);
    }
    return { hits, values: Object.keys(all).length };
  } finally {
    c.close();
  }
}
