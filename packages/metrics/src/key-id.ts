/**
 * Key ids as label values.
 *
 * docs/DESIGN.md §3: a key id is a random u32 (for hybrid: the first 4 bytes of SHA-256 of the SPKI). It is not
 * secret, but a label must never carry caller text, so only something that parses as a u32 is accepted:
 * a JavaScript integer, a decimal string or a `0x`-prefixed hex string. The label is always the canonical
 * decimal form (`String(id)`, as `KeyInfo.id` prints), so `7`, `'7'`, `'007'` and `'0x7'` are one series.
 *
 * @module
 */

const DECIMAL = /^[0-9]{1,10}$/;
const HEX = /^0[xX][0-9a-fA-F]{1,8}$/;
const U32_MAX = 0xffff_ffff;

/**
 * Parses a key id into its u32 value, or returns `undefined` for anything that is not one.
 *
 * @example
 * ```ts
 * import { parseKeyId } from '@mesh/metrics';
 * parseKeyId(0x0a1b2c3d); // 169552957
 * parseKeyId('0x0a1b2c3d'); // 169552957
 * parseKeyId('169552957'); // 169552957
 * parseKeyId('orders->payments'); // undefined
 * ```
 */
export function parseKeyId(keyId: unknown): number | undefined {
  if (typeof keyId === 'number') {
    return Number.isInteger(keyId) && keyId >= 0 && keyId <= U32_MAX ? keyId : undefined;
  }
  if (typeof keyId !== 'string') return undefined;
  let value: number;
  if (DECIMAL.test(keyId)) value = Number.parseInt(keyId, 10);
  else if (HEX.test(keyId)) value = Number.parseInt(keyId.slice(2), 16);
  else return undefined;
  return value <= U32_MAX ? value : undefined;
}
