/**
 * Rotation under load (docs/DESIGN.md §1: "without one failed request during a rotation"): many concurrent tasks
 * encrypt (envelope and Fernet) and decrypt continuously while keys rotate every few milliseconds, by hand
 * and by usage limit; afterwards every ciphertext made during the run decrypts. Zero failures, counted.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeEncryption } from './support/setup.js';

const TASKS = 24;
const DURATION_MS = 1500;
const ROTATE_EVERY_MS = 3;

describe('rotation under load', () => {
  it('no encryption or decryption fails while keys rotate every few ms; everything decrypts afterwards', async () => {
    // Small usage limit and lease: usage-triggered rotations happen too, not only manual ones.
    const enc = await makeEncryption({ rotation: { maxEncryptionsPerKey: 30, usageLeaseSize: 10 } });
    const triggers: Record<string, number> = {};
    enc.keys.on('rotated', (e) => {
      triggers[e.trigger] = (triggers[e.trigger] ?? 0) + 1;
    });
    const sealed: { ciphertext: Uint8Array | string; plaintext: Buffer; context: string | undefined }[] = [];
    const failures: unknown[] = [];
    let inflightDecrypts = 0;
    let stop = false;

    const worker = async (id: number) => {
      let i = 0;
      while (!stop) {
        i++;
        const plaintext = randomBytes((i * 37 + id) % 3000);
        const context = i % 3 === 0 ? undefined : `tenant-${id % 5}`;
        try {
          if (i % 7 === 0) {
            sealed.push({ ciphertext: await enc.fernet.encrypt(plaintext), plaintext, context: undefined });
          } else {
            sealed.push({ ciphertext: await enc.encrypt(plaintext, { context }), plaintext, context });
          }
          // Read back an older item while rotations go on (its key may have been demoted since).
          const old = sealed[(i * 7919 + id) % sealed.length]!;
          inflightDecrypts++;
          const back = await enc.decrypt(old.ciphertext, { context: old.context });
          if (!Buffer.from(back).equals(old.plaintext)) failures.push(new Error('plaintext mismatch'));
        } catch (error) {
          failures.push(error);
        }
        await new Promise((r) => setImmediate(r)); // let the rotator in between operations
      }
    };

    let manualRotations = 0;
    const rotator = async () => {
      while (!stop) {
        await enc.rotate();
        manualRotations++;
        await new Promise((r) => setTimeout(r, ROTATE_EVERY_MS));
      }
    };

    const workers = Array.from({ length: TASKS }, (_, id) => worker(id));
    const rotation = rotator();
    await new Promise((r) => setTimeout(r, DURATION_MS));
    stop = true;
    await Promise.all([...workers, rotation]);

    let finalFailures = 0;
    for (const item of sealed) {
      try {
        const back = await enc.decrypt(item.ciphertext, { context: item.context });
        if (!Buffer.from(back).equals(item.plaintext)) finalFailures++;
      } catch {
        finalFailures++;
      }
    }
    const keyIds = new Set(
      sealed.map((s) =>
        typeof s.ciphertext === 'string' && s.ciphertext.startsWith('g')
          ? -1
          : enc.inspect(s.ciphertext).keyId,
      ),
    );
    console.log(
      `rotation under load: ${TASKS} tasks, ${sealed.length} encryptions, ${inflightDecrypts} decryptions during the run, ` +
        `${manualRotations} manual rotate() calls (every ${ROTATE_EVERY_MS} ms after the previous one completed), rotation events ${JSON.stringify(triggers)}, ` +
        `${keyIds.size - 1} distinct GCM keys used, failures during run: ${failures.length}, failures afterwards: ${finalFailures}`,
    );
    expect(failures).toEqual([]);
    expect(finalFailures).toBe(0);
    expect(sealed.length).toBeGreaterThan(200);
    expect(manualRotations).toBeGreaterThan(4);
    expect(triggers.usage ?? 0).toBeGreaterThan(0);
    expect(keyIds.size - 1).toBeGreaterThan(4);
  });
});
