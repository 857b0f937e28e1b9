/**
 * PBKDF2 must leave the event loop free (docs/DESIGN.md §4: password keys are derived asynchronously). A 10 ms
 * interval timer runs during the derivation; its worst lag must stay far below the derivation's own duration.
 * Ratios in one run, no absolute times. A blocking control (pbkdf2Sync) proves the probe detects blocking.
 */
import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PBKDF2_ITERATIONS,
  forgeBackend,
  nodeBackend,
  pbkdf2Sha256,
  type SymmetricBackend,
} from '../src/index.js';

/** Run `work` while a 10 ms interval measures how late each tick fires; returns the worst lag and the duration. */
async function measure(work: () => Promise<unknown> | unknown): Promise<{ lag: number; duration: number }> {
  let lag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 10);
    last = now;
  }, 10);
  // Let the timer settle before starting.
  await new Promise((r) => setTimeout(r, 30));
  lag = 0;
  last = performance.now();
  const start = performance.now();
  await work();
  const duration = performance.now() - start;
  // One more tick observes a block that ended just now.
  await new Promise((r) => setTimeout(r, 15));
  clearInterval(timer);
  return { lag: Math.max(lag, 0), duration };
}

/**
 * The machine is shared: one attempt may see a scheduler hiccup. A blocking implementation fails every
 * attempt (its lag is about its whole duration), so passing any of three still proves the point.
 */
async function lagRatio(backend: SymmetricBackend, iterations: number): Promise<number> {
  const salt = new Uint8Array(16).fill(1);
  const ratios: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const { lag, duration } = await measure(() =>
      pbkdf2Sha256('password', salt, iterations, 32, { backend }),
    );
    ratios.push(lag / duration);
    console.log(
      `${backend.name} PBKDF2 ${iterations}: derivation ${duration.toFixed(0)} ms, worst timer lag ${lag.toFixed(1)} ms`,
    );
    if (lag / duration < 0.25) break;
  }
  return Math.min(...ratios);
}

describe('PBKDF2 leaves the event loop free', () => {
  it('the probe sees a blocking derivation (control: pbkdf2Sync)', async () => {
    const { lag, duration } = await measure(() =>
      pbkdf2Sync('password', new Uint8Array(16), DEFAULT_PBKDF2_ITERATIONS, 32, 'sha256'),
    );
    console.log(`control pbkdf2Sync: ${duration.toFixed(0)} ms, worst timer lag ${lag.toFixed(1)} ms`);
    expect(lag / duration).toBeGreaterThan(0.5);
  });

  it('node backend, 600,000 iterations: timer lag < 1/4 of the derivation time', async () => {
    expect(await lagRatio(nodeBackend, DEFAULT_PBKDF2_ITERATIONS)).toBeLessThan(0.25);
  });

  it('forge backend (pure JS, yields every few ms), 60,000 iterations: timer lag < 1/4 of the derivation time', async () => {
    expect(await lagRatio(forgeBackend, 60_000)).toBeLessThan(0.25);
  });
});
