/**
 * Runs in a fresh process (see bomb.test.ts) so its peak RSS measures one decompression and nothing else.
 * argv: <bomb file> <engine: pako | node-zlib> <maxInflatedBytes>. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { decompress, nodeZlibEngine, pakoEngine } from '../../src/index.js';

const [file, engineName, limitText] = process.argv.slice(2);
const bomb = new Uint8Array(readFileSync(file!));
const engine = engineName === 'pako' ? pakoEngine : nodeZlibEngine;
const limit = Number(limitText);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
const before = process.memoryUsage();
const maxRssBefore = process.resourceUsage().maxRSS * 1024;
let code = 'none';
try {
  decompress(bomb, { maxInflatedBytes: limit, engine });
} catch (error) {
  code = String((error as { code?: unknown }).code);
}
// Read before any GC: garbage chunks still count, so this is what inflation allocated at most.
const after = process.memoryUsage();
const maxRssAfter = process.resourceUsage().maxRSS * 1024;
process.stdout.write(
  `${JSON.stringify({
    code,
    rssBefore: before.rss,
    maxRssBefore,
    maxRssAfter,
    arrayBuffersBefore: before.arrayBuffers,
    arrayBuffersAfter: after.arrayBuffers,
  })}\n`,
);
