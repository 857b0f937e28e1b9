/**
 * Realistic JSON payloads (users and orders, as services in a mesh exchange them): a deterministic generator
 * for thresholds and benchmarks, and a fast-check arbitrary for property tests.
 */
import fc from 'fast-check';

/** mulberry32: a tiny seeded PRNG so every run (and every benchmark) sees the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger', 'Radia'];
const LAST = [
  'Lovelace',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Allen',
  'Perlman',
];
const CITIES = ['Berlin', 'Lisbon', 'Osaka', 'Toronto', 'Nairobi', 'Lima', 'Oslo', 'Pune', 'Austin', 'Perth'];
const SKUS = ['SKU-1001', 'SKU-2044', 'SKU-3310', 'SKU-4902', 'SKU-5120', 'SKU-7781', 'SKU-8800', 'SKU-9999'];
const STATUS = ['pending', 'paid', 'shipped', 'delivered', 'refunded'];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

function record(rand: () => number, i: number): unknown {
  const first = pick(rand, FIRST);
  const last = pick(rand, LAST);
  if (i % 3 === 0) {
    return {
      type: 'user',
      id: `usr_${hex(rand, 12)}`,
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}${Math.floor(rand() * 1000)}@example.com`,
      address: { city: pick(rand, CITIES), zip: String(10000 + Math.floor(rand() * 89999)) },
      createdAt: new Date(1_700_000_000_000 + Math.floor(rand() * 3e10)).toISOString(),
      active: rand() > 0.2,
    };
  }
  const lines = 1 + Math.floor(rand() * 4);
  return {
    type: 'order',
    id: `ord_${hex(rand, 16)}`,
    customer: `usr_${hex(rand, 12)}`,
    status: pick(rand, STATUS),
    currency: 'EUR',
    items: Array.from({ length: lines }, () => ({
      sku: pick(rand, SKUS),
      qty: 1 + Math.floor(rand() * 5),
      unitPrice: Math.round(rand() * 20000) / 100,
    })),
    total: Math.round(rand() * 100000) / 100,
    placedAt: new Date(1_700_000_000_000 + Math.floor(rand() * 3e10)).toISOString(),
  };
}

/**
 * A JSON array of user/order records of exactly `bytes` bytes (a last `{"note":"..."}` record of random
 * words fills the gap; minimum 16 bytes), the same bytes for the same seed.
 */
export function realisticJson(bytes: number, seed = 1): Uint8Array {
  if (bytes < 16) throw new Error('realisticJson needs at least 16 bytes');
  const rand = prng(seed);
  const parts: string[] = [];
  // '[' + records joined by ',' + ',' + '{"note":""}' + ']' must fit.
  const noteOverhead = '{"note":""}'.length + 2;
  let length = 1;
  for (let i = 0; ; i++) {
    const text = JSON.stringify(record(rand, i));
    if (length + text.length + 1 + noteOverhead > bytes) break;
    parts.push(text);
    length += text.length + 1;
  }
  let note = '';
  // Whether or not records precede it, the note record plus ']' take 12 bytes besides the words.
  const room = bytes - length - 12;
  while (note.length < room) note += `${pick(rand, [...FIRST, ...CITIES, ...STATUS]).toLowerCase()} `;
  parts.push(`{"note":"${note.slice(0, room)}"}`);
  const text = `[${parts.join(',')}]`;
  if (text.length !== bytes) throw new Error(`realisticJson: ${text.length} != ${bytes}`);
  return new TextEncoder().encode(text);
}

/** fast-check: realistic JSON documents of users and orders, up to a few tens of KiB. */
export const realisticJsonArb: fc.Arbitrary<Uint8Array> = (() => {
  const user = fc.record({
    type: fc.constant('user'),
    id: fc.uuid(),
    name: fc.string({ maxLength: 30 }),
    email: fc.emailAddress(),
    tags: fc.array(fc.constantFrom('vip', 'beta', 'eu', 'us', 'churn-risk'), { maxLength: 4 }),
    active: fc.boolean(),
  });
  const order = fc.record({
    type: fc.constant('order'),
    id: fc.uuid(),
    status: fc.constantFrom(...STATUS),
    items: fc.array(
      fc.record({
        sku: fc.constantFrom(...SKUS),
        qty: fc.integer({ min: 1, max: 99 }),
        price: fc.double({ noNaN: true }),
      }),
      { maxLength: 8 },
    ),
    note: fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
  });
  return fc
    .array(fc.oneof(user, order), { maxLength: 120 })
    .map((records) => new TextEncoder().encode(JSON.stringify(records)));
})();
