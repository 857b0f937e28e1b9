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

/** The first Python with PyNaCl: Debian's `python3-nacl` lands in /usr/bin/python3, maybe not first on PATH. */
let naclPython: string | null | undefined;

/**
 * Like {@link runPython} with a Python that has PyNaCl (libsodium's binding, the XChaCha20-Poly1305 peer).
 * Throws, naming the package to install, when none has it: `.ci/run` installs `python3-nacl`.
 */
export function runPythonWithNacl<T>(code: string, input: unknown): T {
  if (naclPython === undefined) {
    naclPython =
      ['python3', '/usr/bin/python3'].find(
        (p) => spawnSync(p, ['-c', 'import nacl.bindings'], { encoding: 'utf8' }).status === 0,
      ) ?? null;
  }
  if (naclPython === null) {
    throw new Error(
      'no python3 with PyNaCl found: install it with `apt-get install python3-nacl` (.ci/run does)',
    );
  }
  const r = spawnSync(naclPython, ['-c', code], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
