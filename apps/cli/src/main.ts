/**
 * `meshcrypt`: runs one command and turns every outcome into an exit status and, on failure, exactly one
 * line on stderr, `meshcrypt: <CODE>: <message>`. No stack trace is ever printed: not for usage errors, not
 * for library errors, not for bugs (those are `ERR_INTERNAL`). Uncommitted output files are removed on
 * failure and on SIGINT/SIGTERM.
 *
 * @module
 */
import { CommanderError } from 'commander';
import { describeFailure, EXIT } from './errors.js';
import { closeOpenInputs, removePendingOutputs } from './io.js';
import { buildProgram } from './program.js';

function report(code: string, message: string): void {
  process.stderr.write(`meshcrypt: ${code}: ${message}\n`);
}

function fatal(error: unknown): never {
  closeOpenInputs();
  removePendingOutputs();
  const failure = describeFailure(error);
  report(failure.code, failure.message);
  process.exit(failure.exitCode);
}

/** Runs the command line `argv` (as `process.argv`) and returns the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; everything else commander rejects is usage.
      if (error.exitCode === 0) return EXIT.OK;
      report('ERR_USAGE', error.message.replace(/^error: /, ''));
      return EXIT.USAGE;
    }
    closeOpenInputs();
    removePendingOutputs();
    const failure = describeFailure(error);
    report(failure.code, failure.message);
    return failure.exitCode;
  } finally {
    closeOpenInputs();
  }
}

process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
for (const [signal, status] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    removePendingOutputs();
    report('ERR_INTERRUPTED', `interrupted by ${signal}`);
    process.exit(status);
  });
}
// A closed stdout (`meshcrypt ... | head`) surfaces as EPIPE on the next write: end quietly-but-failed.
process.stdout.on('error', fatal);

process.exitCode = await run(process.argv);
// Nothing should keep the process alive after a command; if something does, do not hang a script on it.
setTimeout(() => process.exit(), 2000).unref();
