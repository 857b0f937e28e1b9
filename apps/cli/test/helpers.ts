/**
 * Test helpers: spawn the built `meshcrypt` (bin/meshcrypt.js, which runs dist/main.js) as a child process,
 * with real files in a temporary directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(APP, 'bin', 'meshcrypt.js');
export const REPO = join(APP, '..', '..');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8. */
  out: string;
}

export interface RunOptions {
  input?: string | Uint8Array;
  env?: Record<string, string | undefined>;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/** Runs `meshcrypt ...args` to completion. */
export function meshcrypt(args: readonly string[], options: RunOptions = {}): Promise<Result> {
  return runCommand(process.execPath, [BIN, ...args], options);
}

/** Runs any command to completion, feeding `input` on stdin. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // the child may exit before reading all of it
    child.on('close', (status, signal) => {
      const stdout = Buffer.concat(out);
      resolve({
        status,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        out: stdout.toString('utf8'),
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh temporary directory and its removal. */
export function tempDir(prefix = 'meshcrypt-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts a failure: the exit status, and stderr exactly one `meshcrypt: CODE: message` line, no stack. */
export function expectFailure(result: Result, exitCode: 1 | 2, code: string): void {
  expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: exitCode });
  expect(result.stderr).toMatch(new RegExp(`^meshcrypt: ${code}: [^\\n]+\\n$`));
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

/** Asserts success (exit 0, nothing on stderr). */
export function expectSuccess(result: Result): void {
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
}

/** A random 32-byte KEK as hex. */
export function randomKek(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');
}

/** True when `command args` runs and exits 0 (peer availability). */
export function available(command: string, args: readonly string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.status === 0;
}
