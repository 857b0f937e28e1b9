/**
 * Runs one README block as a user would: TypeScript through tsx, JavaScript through node (as an ES module,
 * or as CommonJS when marked `commonjs`), shell through bash with `set -e`. The file is written where its
 * imports must resolve from (the consumer project, or the README's own package folder).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../../scripts/release/workspace.js';
import { type CodeBlock, kindOf } from './markdown.js';

/** What a block did. */
export interface BlockRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, collecting its output (no shell). */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<BlockRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `block` in `cwd` with `env`; the temporary file it needs is removed afterwards. */
export async function runBlock(
  block: CodeBlock,
  cwd: string,
  env: NodeJS.ProcessEnv,
  index: number,
): Promise<BlockRun> {
  const kind = kindOf(block);
  const base = `.readme-example-${index}`;
  let file: string;
  let command: string;
  let args: string[];
  if (kind === 'ts') {
    file = join(cwd, `${base}.mts`);
    command = join(repoRoot, 'node_modules', '.bin', 'tsx');
    args = [file];
  } else if (kind === 'js') {
    file = join(cwd, `${base}.${block.flags.includes('commonjs') ? 'cjs' : 'mjs'}`);
    command = process.execPath;
    args = [file];
  } else if (kind === 'sh') {
    file = join(cwd, `${base}.sh`);
    command = 'bash';
    args = ['-e', file];
  } else {
    throw new Error(`${block.file}:${block.line}: cannot run a ${block.lang} block`);
  }
  writeFileSync(file, block.code);
  try {
    return await runCommand(command, args, { cwd, env });
  } finally {
    rmSync(file, { force: true });
  }
}

/** A readable account of a failed run, for assertion messages. */
export function describeRun(block: CodeBlock, run: BlockRun): string {
  return `${block.file}:${block.line} (${block.lang}${block.flags.length ? ` ${block.flags.join(' ')}` : ''}) exited ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}
