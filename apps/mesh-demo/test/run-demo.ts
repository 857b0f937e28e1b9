/** Runs the demo as a user does (a child process) and collects its output; shared by the demo's tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built demo entry point. */
export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** The repository root (where `pnpm demo` is defined). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args` and resolves when it exits (killed after `timeoutMs`). `onLine` sees each stdout line
 * as it arrives, so a test can act on the demo while it runs.
 */
export function runDemo(
  args: readonly string[],
  options: {
    command?: string;
    cwd?: string;
    timeoutMs?: number;
    onLine?: (line: string, child: ChildProcess) => void;
  } = {},
): Promise<DemoRun> {
  const command = options.command ?? process.execPath;
  const argv = options.command ? [...args] : [MAIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) options.onLine?.(line, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The per-service rows of the summary table, by service name. */
export function serviceRows(stdout: string): Map<string, Record<string, string>> {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('service ') && l.includes('calls made'));
  const rows = new Map<string, Record<string, string>>();
  if (at < 0) return rows;
  const header = lines[at]!.split(/\s{2,}/);
  for (const line of lines.slice(at + 2)) {
    if (!/^[a-z]/.test(line)) break;
    const cells = line.trim().split(/\s{2,}/);
    rows.set(cells[0]!, Object.fromEntries(header.map((h, i) => [h, cells[i]!])));
  }
  return rows;
}
