/**
 * Which engine runs when the caller names none.
 *
 * Chosen by measurement (README "Benchmark", one tinybench run on the project machine): node:zlib deflates
 * 2-3x and inflates 2-4x faster than pako on the same payloads, and both write identical bytes, so on Node the
 * native engine is the default. Pass `engine: pakoEngine` where node:zlib is unavailable or a pure-JS path is
 * wanted.
 *
 * @module
 */
import type { CompressionEngine } from './engine.js';
import { nodeZlibEngine } from './node-zlib-engine.js';

/**
 * The engine used when options name none: {@link nodeZlibEngine}.
 *
 * @example
 * ```ts
 * import { defaultEngine } from '@mesh/compression';
 * defaultEngine.name; // 'node-zlib'
 * ```
 */
export const defaultEngine: CompressionEngine = nodeZlibEngine;
