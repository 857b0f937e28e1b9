/**
 * The oracle catches what it is there to catch: each deliberately broken target (src/targets/selftest.ts)
 * breaks one rule and the run fails with that rule's violation, shrunk to a small case and replayable from
 * the seed and path it reports. An oracle that never fails would make every fuzz run look clean.
 */

import { MeshCryptoError } from '@mesh/crypto-core';
import { describe, expect, it } from 'vitest';
import { runInChild } from '../src/launch.js';
import { typedCode } from '../src/oracle.js';
import { runTarget } from '../src/runner.js';
import { KnownBytes } from '../src/support.js';
import {
  allocateSelftest,
  blockSelftest,
  crashSelftest,
  hangSelftest,
  leakSelftest,
  reserveSelftest,
  slowSelftest,
  unknownCodeSelftest,
  untypedSelftest,
  wrappedBugSelftest,
} from '../src/targets/selftest.js';

const seed = 20_240_601;
const MiB = 1024 * 1024;

describe('the oracle fails each broken target with its violation', () => {
  it('an untyped error (TypeError), shrunk and replayable by seed and path', async () => {
    const report = await runTarget(untypedSelftest, { seed, runs: 200 });
    expect(report.failure?.kind).toBe('untyped-error');
    expect(report.failure?.message).toMatch(/TypeError: Cannot read properties of undefined/);
    // Shrunk to one odd byte, the smallest failing input.
    expect(report.failure?.counterexample).toMatch(/^Uint8Array\.from\(\[\d+\]\)$/);
    expect(report.failure?.replay).toBe(
      `pnpm fuzz --target selftest/untyped --seed ${seed} --path ${report.failure?.path}`,
    );
    // The replay runs the failing case first, and fails the same way.
    const replay = await runTarget(untypedSelftest, { seed, runs: 200, path: report.failure!.path! });
    expect(replay.failure?.kind).toBe('untyped-error');
    expect(replay.executed).toBeLessThan(report.executed);
    expect(replay.failure?.counterexample).toBe(report.failure?.counterexample);
  });

  it('a Mesh-shaped error with a code outside the stable list', async () => {
    const report = await runTarget(unknownCodeSelftest, { seed, runs: 50 });
    expect(report.failure?.kind).toBe('unknown-code');
    expect(report.failure?.message).toContain('ERR_NOT_A_CODE');
  });

  it('a typed error that wraps a TypeError (the facade catch-all, or any cause chain)', async () => {
    const report = await runTarget(wrappedBugSelftest, { seed, runs: 50 });
    expect(report.failure?.kind).toBe('wrapped-bug');
    const deep = new MeshCryptoError('ERR_DECRYPTION_FAILED', 'decryption failed', {
      cause: new MeshCryptoError('ERR_INVALID_INPUT', 'bad header', {
        cause: new RangeError('Invalid typed array length'),
      }),
    });
    expect(() => typedCode(deep)).toThrow(/wrapped-bug: ERR_DECRYPTION_FAILED wraps RangeError/);
    // A cause that is bad input, not a bug, is fine: JSON.parse's SyntaxError behind ERR_KEYSTORE_CORRUPT.
    const fine = new MeshCryptoError('ERR_KEYSTORE_CORRUPT', 'not JSON', {
      cause: new SyntaxError('Unexpected token'),
    });
    expect(typedCode(fine)).toBe('ERR_KEYSTORE_CORRUPT');
  });

  it('a case slower than the time bound', async () => {
    // 400 ms of work against a 100 ms bound: a loaded machine only makes the case slower.
    const report = await runTarget(slowSelftest, { seed, runs: 100, caseTimeBoundMs: 100 });
    expect(report.failure?.kind).toBe('slow-case');
  });

  it('a promise that never settles', async () => {
    const report = await runTarget(hangSelftest, { seed, runs: 200, hangBoundMs: 200 });
    expect(report.failure?.kind).toBe('hang');
    expect(report.failure?.counterexample).toBe('201');
  });

  it('a case that allocates and writes 256 MiB (peak resident memory)', async () => {
    const report = await runTarget(allocateSelftest, { seed, runs: 3, caseTimeBoundMs: 60_000 });
    expect(report.failure?.kind).toBe('memory');
    expect(report.maxCaseBytes).toBeGreaterThan(200 * MiB);
  });

  it('a case that allocates 256 MiB without writing it (array buffer memory)', async () => {
    const report = await runTarget(reserveSelftest, { seed, runs: 3, caseTimeBoundMs: 60_000 });
    expect(report.failure?.kind).toBe('memory');
  });

  it('memory retained across cases (an unbounded cache)', async () => {
    // 256 KiB kept per case: 25 MiB after 100 cases, against a 16 MiB bound sampled every 20 cases.
    const report = await runTarget(leakSelftest, {
      seed,
      runs: 100,
      batch: 20,
      heapGrowthBoundBytes: 16 * MiB,
    });
    expect(report.failure?.kind).toBe('heap-growth');
    expect(report.heapGrowthBytes).toBeGreaterThan(16 * MiB);
  });

  it('a successful decryption of altered input that gives data never sealed (a forgery)', () => {
    const known = new KnownBytes();
    known.add(new Uint8Array([1, 2, 3]));
    expect(() => known.expect(new Uint8Array([1, 2, 3]), 'an envelope')).not.toThrow();
    expect(() => known.expect(new Uint8Array([1, 2, 4]), 'an envelope')).toThrow(/wrong-result/);
  });
});

// Concurrent: both wait mostly on a child process (its start-up, the stall bound).
describe.concurrent('what only the parent process sees', () => {
  it('a crash: the child runs out of heap under --max-old-space-size and dies', async () => {
    const report = await runInChild(crashSelftest, { seed, runs: 100 }, { maxOldSpaceMiB: 256 });
    expect(report.failure?.kind).toBe('crash');
    expect(report.failure?.message).toMatch(/child exited \(SIGABRT|code \d+\)/);
    // The case it died in is known (written before each case): the first one, fast-check path 0.
    expect(report.failure?.path).toBe('0');
    expect(report.failure?.replay).toBe(`pnpm fuzz --target selftest/crash --seed ${seed} --path 0`);
  });

  it('a synchronous hang: the heartbeat stops, the child is killed by its pid', async () => {
    const report = await runInChild(blockSelftest, { seed, runs: 200 }, { stallMs: 2000 });
    expect(report.failure?.kind).toBe('hang');
    expect(report.failure?.message).toMatch(/no heartbeat for 2000 ms/);
    // The path it reports replays exactly the blocking case: the same hang, at once.
    const path = report.failure!.path!;
    expect(Number(path)).toBeGreaterThanOrEqual(0);
    const replay = await runInChild(blockSelftest, { seed, runs: 200, path }, { stallMs: 2000 });
    expect(replay.failure?.kind).toBe('hang');
    expect(replay.failure?.path).toBe(path);
  });
});
