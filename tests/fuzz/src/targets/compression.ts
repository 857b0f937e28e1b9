/**
 * `@mesh/compression`: compressed data on both engines, one-shot and streaming, under the bomb limit; and
 * compression policies (configuration objects).
 *
 * @module
 */
import {
  CompressionPolicyResolver,
  compress,
  createDecompressStream,
  DEFAULT_COMPRESSION_POLICY,
  decompress,
  nodeZlibEngine,
  pakoEngine,
  validatePolicy,
} from '@mesh/compression';
import fc from 'fast-check';
import { hostileBytes, jsonish, mutatedJson } from '../mutate.js';
import { Violation } from '../oracle.js';
import { chunk, chunkSizes, throughNode } from '../support.js';
import { cases, defineTarget } from '../target.js';

const PKG = '@mesh/compression';
const engines = { node: nodeZlibEngine, pako: pakoEngine } as const;
/** The bomb limit of the cases: small, so that a valid stream of a few hundred bytes can exceed it. */
const LIMIT = 64 * 1024;

/** Valid zlib streams of every shape: empty, short, repetitive (a bomb under LIMIT), incompressible, levels 0-9. */
function zlibSeeds(): Uint8Array[] {
  const text = new TextEncoder().encode(JSON.stringify({ orders: Array(40).fill({ sku: 'A-1', qty: 2 }) }));
  const random = new Uint8Array(600).map((_, i) => (i * 2_654_435_761) >>> 24);
  const inputs = [
    new Uint8Array(0),
    new TextEncoder().encode('hello'),
    text,
    random,
    new Uint8Array(1 << 20),
  ];
  const seeds: Uint8Array[] = [];
  for (const data of inputs) {
    for (const level of [0, 1, 9] as const) {
      seeds.push(compress(data, { level, engine: nodeZlibEngine }));
    }
    seeds.push(compress(data, { engine: pakoEngine }));
  }
  return seeds;
}

const limitArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant(LIMIT) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: LIMIT }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, Number.NaN, 2 ** 32 + 1, 2 ** 53) },
  { weight: 1, arbitrary: jsonish },
);

export const decompressTarget = defineTarget({
  name: 'compression/decompress',
  pkg: PKG,
  description:
    'zlib data for one-shot decompress on node:zlib and pako: random bytes, random bytes behind a zlib header, ' +
    'mutated valid streams (header, FDICT, block types, Adler-32 trailer, truncation, trailing bytes, splices), ' +
    'valid bombs that inflate past maxInflatedBytes, and invalid limits',
  async open() {
    const seeds = zlibSeeds();
    return cases(
      fc.record({
        data: hostileBytes(seeds, {
          prefixes: [
            [0x78, 0x9c],
            [0x78, 0x01],
            [0x78, 0xda],
            [0x78, 0xbb],
          ],
        }),
        engine: fc.constantFrom('node' as const, 'pako' as const),
        limit: limitArb,
      }),
      {
        run({ data, engine, limit }) {
          const out = decompress(data, { maxInflatedBytes: limit as number, engine: engines[engine] });
          if (out.length > (limit as number)) {
            throw new Violation('wrong-result', `inflated ${out.length} bytes past the limit ${limit}`);
          }
          return 'inflated';
        },
      },
    );
  },
});

export const decompressStreamTarget = defineTarget({
  name: 'compression/decompress-stream',
  pkg: PKG,
  description:
    'zlib data through createDecompressStream on node:zlib and pako, cut into arbitrary chunks (empty writes ' +
    'included): random, mutated valid streams, bombs past maxInflatedBytes, trailing bytes after the end',
  async open() {
    const seeds = zlibSeeds();
    return cases(
      fc.record({
        data: hostileBytes(seeds, {
          prefixes: [
            [0x78, 0x9c],
            [0x78, 0xda],
          ],
        }),
        engine: fc.constantFrom('node' as const, 'pako' as const),
        limit: limitArb,
        sizes: chunkSizes,
      }),
      {
        async run({ data, engine, limit, sizes }) {
          const stream = createDecompressStream({
            maxInflatedBytes: limit as number,
            engine: engines[engine],
          });
          const out = await throughNode(stream, chunk(data, sizes));
          if (out.length > (limit as number)) {
            throw new Violation('wrong-result', `streamed ${out.length} bytes past the limit ${limit}`);
          }
          return 'inflated';
        },
      },
    );
  },
});

const POLICY_KEYS = ['enabled', 'thresholdBytes', 'level', 'minSavingsRatio', 'maxInflatedBytes'];

export const policyTarget = defineTarget({
  name: 'compression/policy',
  pkg: PKG,
  description:
    'compression policies and resolver configs as JSON-ish values: mutated valid policies (every field set to ' +
    'boundary numbers, strings, NaN, bigint, symbols, null-prototype objects), unknown and __proto__ keys, ' +
    'service overrides; contexts of every type resolved',
  async open() {
    const policy = { ...DEFAULT_COMPRESSION_POLICY };
    const config = {
      default: policy,
      services: { payments: { enabled: false }, 'orders->audit': { level: 1 } },
    };
    return cases(
      fc.oneof(
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('policy' as const),
            value: mutatedJson([policy], POLICY_KEYS),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('resolver' as const),
            value: mutatedJson([config], [...POLICY_KEYS, 'default', 'services']),
            context: fc.oneof(
              fc.string(),
              fc.constantFrom('payments', 'x->payments', 'orders->audit'),
              jsonish,
            ),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('policy' as const), value: jsonish }) },
      ),
      {
        run(input) {
          if (input.kind === 'policy') {
            validatePolicy(input.value as never);
            return 'valid policy';
          }
          const resolver = new CompressionPolicyResolver(input.value as never);
          resolver.forContext(input.context as string);
          return 'valid resolver';
        },
      },
    );
  },
});
