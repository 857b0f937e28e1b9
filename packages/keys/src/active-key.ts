/**
 * The {@link ActiveKey} objects a `KeyManager` hands out (internal): frozen, with the key bytes in a
 * non-enumerable property that owns its whole buffer, and a `util.inspect` that shows id and algorithm.
 *
 * @module
 * @internal
 */
import { owned } from './_secret-bytes.js';
import type { ActiveKey, KeyAlgorithm } from './types.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** Key bytes live in a non-enumerable property: JSON, `console.log` and spreads show id and algorithm only. */
const ACTIVE_KEY_PROTO = Object.freeze({
  [inspectSymbol](this: ActiveKey): string {
    return `ActiveKey { id: ${this.id}, algorithm: '${this.algorithm}' }`;
  },
});

/** A frozen ActiveKey over `material` (copied first unless it already owns its buffer). */
export function activeKey(id: number, algorithm: KeyAlgorithm, material: Uint8Array): ActiveKey {
  return Object.freeze(
    Object.create(ACTIVE_KEY_PROTO, {
      id: { value: id, enumerable: true },
      algorithm: { value: algorithm, enumerable: true },
      material: { value: owned(material, true), enumerable: false },
    }) as ActiveKey,
  );
}
