/**
 * `meshcrypt` (apps/cli): command lines parsed by the real program (`buildProgram`, commander 14 with
 * `exitOverride`), in process, so that 100,000 cases take seconds rather than hours of process spawns.
 *
 * Every command's action is replaced by a recorder before parsing: what is fuzzed is the parsing and the
 * argument validation (commander's own, the program's integer and choice parsers, the group commands' errors
 * for a missing or unknown subcommand), not the commands themselves (which read stdin and write files; they
 * are exercised on real files by apps/cli/test). Output is captured; `process.exit` must never be reached.
 *
 * @module
 */
import { CliError } from '@mesh/cli/dist/errors.js';
import { buildProgram } from '@mesh/cli/dist/program.js';
import fc from 'fast-check';
import { Violation } from '../oracle.js';
import { cases, defineTarget } from '../target.js';

type Command = ReturnType<typeof buildProgram>;

function allCommands(root: Command): Command[] {
  const out = [root];
  for (const c of root.commands as Command[]) out.push(...allCommands(c));
  return out;
}

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent as Command | null) names.unshift(c.name());
  return names.join(' ');
}

/** commander's own errors (usage, help and version exits), recognised by shape: they carry `commander.*` codes. */
function commanderCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const exitCode = (error as { exitCode?: unknown }).exitCode;
  if (typeof code === 'string' && code.startsWith('commander.') && typeof exitCode === 'number') return code;
  return undefined;
}

const WEIRD_VALUES = [
  '',
  ' ',
  '-',
  '--',
  '0',
  '-1',
  '1e3',
  '0x10',
  '007',
  '3072',
  '2048',
  '4096',
  '65536',
  '9007199254740993',
  '86400',
  '86401',
  'aes-256-gcm',
  'fernet',
  'x'.repeat(5000),
  '\u0000',
  '\uD800',
  'é',
  '--help',
  '-h',
  '--version',
] as const;

export const cliArgumentsTarget = defineTarget({
  name: 'cli/arguments',
  pkg: '@mesh/cli',
  description:
    'meshcrypt command lines parsed in process by the real commander program: sequences of real command names, ' +
    'option flags (long, short, --flag=value, bundled shorts), boundary and non-numeric values for --bits, ' +
    '--iterations, --length, --ttl, --timeout, unknown choices for --algorithm, missing required options, ' +
    'unknown commands and options, stray arguments, --help and --version anywhere',
  async open() {
    const probe = buildProgram();
    const commands = allCommands(probe);
    const names = [...new Set(commands.flatMap((c) => [c.name(), ...c.aliases()]))];
    const flags = [
      ...new Set(
        commands.flatMap((c) => c.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f))),
      ),
    ];
    const value = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...WEIRD_VALUES) },
      { weight: 2, arbitrary: fc.nat().map(String) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    );
    const token = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...names) },
      { weight: 4, arbitrary: fc.constantFrom(...flags) },
      { weight: 3, arbitrary: value },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...flags), value).map(([f, v]) => `${f}=${v}`) },
      { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => `-${s}`) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((s) => `--${s}`) },
    );
    // A command path first (so cases reach the subcommands' options), then anything.
    const leaves = commands.filter((c) => c.commands.length === 0).map((c) => pathOf(c).split(' ').slice(1));
    const argv = fc
      .tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...leaves) },
          { weight: 1, arbitrary: fc.constant([]) },
        ),
        fc.array(token, { maxLength: 10 }),
      )
      .map(([path, rest]) => [...path, ...rest]);

    const realExit = process.exit;
    process.exit = ((code?: number) => {
      throw new Violation('crash', `process.exit(${code}) called while parsing`);
    }) as typeof process.exit;
    return cases(argv, {
      async run(args) {
        const program = buildProgram();
        let output = 0;
        let reached: string | undefined;
        for (const command of allCommands(program)) {
          command.configureOutput({
            writeOut: (s) => {
              output += s.length;
            },
            writeErr: (s) => {
              output += s.length;
            },
            outputError: (s) => {
              output += s.length;
            },
          });
          if (command.commands.length === 0) {
            command.action(() => {
              reached = pathOf(command);
            });
          }
        }
        let failure: unknown;
        try {
          await program.parseAsync(args, { from: 'user' });
        } catch (error) {
          failure = error;
        }
        // Help and errors are a few lines: output that grows with the input is a bug whatever the outcome.
        if (output > 64 * 1024) throw new Violation('wrong-result', `${output} characters of output`);
        if (failure !== undefined) throw failure;
        if (reached === undefined) throw new Violation('wrong-result', 'parsed, but no command ran');
        return `parsed: ${reached}`;
      },
      codeOf(error) {
        // ERR_INTERNAL is the CLI's name for a bug: not a typed outcome (the Mesh rules then reject it).
        if (error instanceof CliError) return error.code === 'ERR_INTERNAL' ? undefined : error.code;
        return commanderCode(error);
      },
      close() {
        process.exit = realExit;
      },
    });
  },
});
