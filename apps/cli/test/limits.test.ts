/**
 * The CLI's in-memory input bounds at their boundary (in process: the functions every command reads through):
 * exactly the bound is read, one byte more is `ERR_INPUT_TOO_LARGE`, whatever the chunking.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_IN_MEMORY_INPUT, readAll, readFileArgument } from '../src/io.js';
import { expectFailure, expectSuccess, meshcrypt } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'meshcrypt-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* chunksOf(total: number, size: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += size) yield new Uint8Array(Math.min(size, total - sent));
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? `no code: ${String(e)}`;
  }
}

describe('in-memory input (MAX_IN_MEMORY_INPUT)', () => {
  it(`reads exactly ${MAX_IN_MEMORY_INPUT} bytes and refuses one more, in any chunking`, async () => {
    for (const size of [65_536, 1_000_003]) {
      expect((await readAll(chunksOf(MAX_IN_MEMORY_INPUT, size))).length).toBe(MAX_IN_MEMORY_INPUT);
      expect(await codeOf(readAll(chunksOf(MAX_IN_MEMORY_INPUT + 1, size)))).toBe('ERR_INPUT_TOO_LARGE');
    }
  });

  it('key files: exactly 1 MiB is read, one byte more is refused', async () => {
    const file = join(dir, 'key.pem');
    writeFileSync(file, new Uint8Array(1024 * 1024));
    expect((await readFileArgument(file, 'public key file')).length).toBe(1024 * 1024);
    writeFileSync(file, new Uint8Array(1024 * 1024 + 1));
    expect(await codeOf(readFileArgument(file, 'public key file'))).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('a password on stdin: exactly 64 KiB is read, one byte more is ERR_INPUT_TOO_LARGE (the real CLI)', async () => {
    const salt = '000102030405060708090a0b0c0d0e0f';
    const args = ['derive', '--password-stdin', '--salt', salt, '--iterations', '1'];
    expectSuccess(await meshcrypt(args, { input: 'p'.repeat(64 * 1024) }));
    expectFailure(await meshcrypt(args, { input: 'p'.repeat(64 * 1024 + 1) }), 1, 'ERR_INPUT_TOO_LARGE');
  });
});
