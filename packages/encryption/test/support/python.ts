/**
 * Python's `cryptography` as an independent interop peer: run a snippet with JSON in on stdin and JSON out on
 * stdout (argv arrays, never a shell string). `pythonAvailable()` tells whether the peer exists at all;
 * suites skip only when it does not, and say so.
 */
import { spawnSync } from 'node:child_process';

let cached: boolean | undefined;

/** True when `python3 -c "import cryptography"` works. */
export function pythonAvailable(): boolean {
  if (cached === undefined) {
    const r = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
    cached = r.status === 0;
    if (!cached) console.log('SKIPPED: python3 with cryptography is not installed; interop checks not run');
  }
  return cached;
}

/** Run `code` (which reads `json.load(sys.stdin)` and prints JSON) and parse its output. */
export function runPython<T>(code: string, input: unknown): T {
  const r = spawnSync('python3', ['-c', code], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
