/** Shared test helpers: the backends every suite runs on, hex, and typed-error assertions. */
import { expect } from 'vitest';
import { forgeBackend, isMeshError, type MeshErrorCode, nodeBackend } from '../src/index.js';

/** Every backend the suites run against. */
export const BACKENDS = [nodeBackend, forgeBackend] as const;

export { bytesToHex as hex, hexToBytes as unhex } from '@mesh/test-vectors';

/** Run `fn`, expect it to throw a Mesh error with exactly `code`, and return the error. */
export function expectCode(fn: () => unknown, code: MeshErrorCode): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  expect(isMeshError(caught), `not a Mesh error: ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  return caught as Error;
}

/** Await `promise`, expect it to reject with a Mesh error with exactly `code`. */
export async function expectRejectCode(promise: Promise<unknown>, code: MeshErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  expect(isMeshError(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

/** The code of the Mesh error `fn` throws, or 'ok' when it returns. Non-Mesh errors are rethrown. */
export function outcome(fn: () => unknown): MeshErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (isMeshError(e)) return e.code as MeshErrorCode;
    throw e;
  }
}

/** Log and assert how many vectors of `file` ran on `backend`. */
export function reportVectors(
  file: string,
  backend: string,
  ran: number,
  applicable: number,
  note = '',
): void {
  console.log(`${ran} vectors ran for ${file} on ${backend}${note ? ` (${note})` : ''}`);
  expect(ran).toBe(applicable);
}
