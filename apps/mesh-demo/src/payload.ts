/**
 * Realistic request bodies for the demo: order documents of varying size, so some cross the compression
 * threshold and some do not.
 */
const SKUS = ['sku-espresso', 'sku-grinder', 'sku-filter', 'sku-mug', 'sku-kettle', 'sku-scale', 'sku-beans'];

/** An order with `lines` line items, as UTF-8 JSON. */
export function orderPayload(id: number, lines: number): string {
  const items = [];
  for (let i = 0; i < lines; i++) {
    items.push({
      sku: SKUS[(id + i) % SKUS.length],
      quantity: 1 + ((id * 7 + i) % 5),
      unitPriceCents: 499 + ((id * 13 + i * 31) % 9000),
      note: i % 3 === 0 ? 'gift wrap, deliver to the side door' : '',
    });
  }
  return JSON.stringify({
    orderId: `ord-${id}`,
    customer: {
      id: `cus-${id % 997}`,
      email: `customer${id % 997}@example.com`,
      tier: id % 4 ? 'standard' : 'gold',
    },
    currency: 'EUR',
    items,
    createdAt: new Date(1_700_000_000_000 + id * 1000).toISOString(),
  });
}
