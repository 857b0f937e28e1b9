/**
 * Command-line options of the demo (commander). A bad flag or value is one line on stderr and exit code 2;
 * `--help` prints the usage and exits 0.
 */
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** Service names, in start order; `--services N` takes the first N. */
export const SERVICE_NAMES = [
  'orders',
  'payments',
  'inventory',
  'shipping',
  'billing',
  'catalog',
  'accounts',
  'search',
] as const;

/** Exit code for a usage error (bad flag or value), as most Unix tools use. */
export const EXIT_USAGE = 2;

/** The validated options of one run. */
export interface DemoOptions {
  durationMs: number;
  services: string[];
  /** Requests per second the driver sends, spread over all routes. */
  rate: number;
  /** Most requests in flight at once. */
  concurrency: number;
  rotateEveryMs: number;
  /** State folder: the sealed keyring and its KEK file. */
  dir: string;
  keep: boolean;
  /** Dashboard port; the services take the next ones. 0: free ports chosen by the system. */
  port: number;
  /** Service to kill part-way and restart, if any. */
  killOne: string | undefined;
  /** How long the killed service stays down. */
  downMs: number;
  /** Print the live summary line this often. */
  statusEveryMs: number;
  /** Key store: the sealed file (default) or etcd with two-phase rotation by a `RotationCoordinator`. */
  store: { kind: 'file' } | { kind: 'etcd'; endpoint: string | undefined; start: boolean };
  /** With `--start-etcd`: freeze etcd (SIGSTOP) this long part-way. */
  pauseEtcdMs: number | undefined;
}

/** A usage error: the message is one line for the user. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function numberIn(min: number, max: number, integer: boolean): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (
      value.trim() === '' ||
      !Number.isFinite(n) ||
      (integer && !Number.isInteger(n)) ||
      n < min ||
      n > max
    ) {
      throw new InvalidArgumentError(
        `expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

function buildProgram(): Command {
  return new Command('mesh-demo')
    .description(
      'Services on 127.0.0.1 calling each other with every body encrypted by @mesh/encryption, while keys ' +
        'rotate under the traffic.\nThe keyring is sealed in a file key store in the state folder (or on etcd); a live ' +
        "dashboard and every service's /metrics are served while it runs.\nExit 0 only if no request failed.",
    )
    .addOption(
      new Option('-d, --duration <seconds>', 'how long traffic runs')
        .argParser(numberIn(1, 3600, false))
        .default(20),
    )
    .addOption(
      new Option('-s, --services <n>', 'number of services')
        .argParser(numberIn(2, SERVICE_NAMES.length, true))
        .default(3),
    )
    .addOption(
      new Option('-r, --rate <requests/s>', 'requests per second the driver sends')
        .argParser(numberIn(1, 5000, false))
        .default(150),
    )
    .addOption(
      new Option('-c, --concurrency <n>', 'most requests in flight at once')
        .argParser(numberIn(1, 256, true))
        .default(16),
    )
    .addOption(
      new Option('--rotate-every <ms>', 'rotate the keys this often')
        .argParser(numberIn(100, 3_600_000, true))
        .default(3000),
    )
    .addOption(
      new Option('--dir <path>', 'state folder for the sealed keyring and its KEK').default('.mesh/demo'),
    )
    .addOption(
      new Option('--keep', 'keep the keyring of an earlier run in --dir instead of starting fresh').default(
        false,
      ),
    )
    .addOption(
      new Option('-p, --port <port>', 'dashboard port; the services take the next ports (0: any free ports)')
        .argParser(numberIn(0, 65535, true))
        .default(7700),
    )
    .addOption(
      new Option('--kill-one [service]', 'kill one service part-way (default: the last) and restart it'),
    )
    .addOption(
      new Option('--down <seconds>', 'how long --kill-one keeps the service down')
        .argParser(numberIn(0.1, 600, false))
        .default(4),
    )
    .addOption(
      new Option(
        '--etcd <url>',
        'run the fleet on etcd at <url> (loopback only) with two-phase rotation by a RotationCoordinator',
      ),
    )
    .addOption(
      new Option(
        '--start-etcd',
        'start a private etcd on free loopback ports for the run, stop it at the end',
      ),
    )
    .addOption(
      new Option('--pause-etcd [seconds]', 'with --start-etcd: freeze etcd part-way (default 3 s)').argParser(
        numberIn(0.5, 60, false),
      ),
    )
    .addOption(
      new Option('--status-every <ms>', 'live summary line interval')
        .argParser(numberIn(100, 60_000, true))
        .default(1000),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pnpm demo                                  20 s, 3 services, dashboard on http://127.0.0.1:7700/\n' +
        '  pnpm demo --duration 60 --rate 400 --rotate-every 1000\n' +
        '  pnpm demo --kill-one payments --down 5     crash payments part-way, restart it\n' +
        '  pnpm demo --port 0                         any free ports (printed at start)\n' +
        '  pnpm demo --start-etcd --pause-etcd        the fleet on a private etcd, frozen for 3 s part-way',
    )
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** Help text, as `--help` prints it. */
export function helpText(): string {
  return buildProgram().helpInformation();
}

/**
 * Parses `argv` (without node and script). Throws `UsageError` with a one-line message for a bad flag or
 * value, and `CommanderError` with code `commander.helpDisplayed` after printing help.
 */
export function parseOptions(argv: readonly string[]): DemoOptions {
  const program = buildProgram();
  // `pnpm demo -- --duration 20` passes the `--` through: drop it.
  const args = argv.filter((a) => a !== '--');
  try {
    program.parse(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code !== 'commander.helpDisplayed') {
      throw new UsageError(error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
    }
    throw error;
  }
  const o = program.opts<{
    duration: number;
    services: number;
    rate: number;
    concurrency: number;
    rotateEvery: number;
    dir: string;
    keep: boolean;
    port: number;
    killOne: string | true | undefined;
    down: number;
    statusEvery: number;
    etcd: string | undefined;
    startEtcd: boolean | undefined;
    pauseEtcd: number | true | undefined;
  }>();
  const services = SERVICE_NAMES.slice(0, o.services);
  let killOne: string | undefined;
  if (o.killOne !== undefined) {
    killOne = o.killOne === true ? services[services.length - 1]! : o.killOne;
    if (!services.includes(killOne as (typeof services)[number])) {
      throw new UsageError(
        `option '--kill-one [service]' names no running service: ${killOne} (running: ${services.join(', ')})`,
      );
    }
  }
  if (o.port > 0 && o.port + services.length > 65535) {
    throw new UsageError(
      `option '--port <port>' leaves no room for ${services.length} service ports above it`,
    );
  }
  const durationMs = o.duration * 1000;
  if (killOne !== undefined && o.down * 1000 > durationMs * 0.4) {
    throw new UsageError(`option '--down <seconds>' must be at most 40% of --duration for --kill-one`);
  }
  if (o.etcd !== undefined && o.startEtcd) {
    throw new UsageError(`options '--etcd <url>' and '--start-etcd' exclude each other`);
  }
  if (o.etcd !== undefined) {
    let url: URL;
    try {
      url = new URL(o.etcd);
    } catch {
      throw new UsageError(
        `option '--etcd <url>' argument '${o.etcd}' is not a URL (e.g. http://127.0.0.1:2379)`,
      );
    }
    if (url.protocol !== 'http:' || !['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) {
      throw new UsageError(
        `option '--etcd <url>' argument '${o.etcd}' must be http:// on 127.0.0.1, [::1] or localhost (the demo sends traffic nowhere else)`,
      );
    }
  }
  if (o.pauseEtcd !== undefined && !o.startEtcd) {
    throw new UsageError(
      `option '--pause-etcd' needs --start-etcd (the demo freezes only an etcd it started)`,
    );
  }
  const pauseEtcdMs = o.pauseEtcd === undefined ? undefined : (o.pauseEtcd === true ? 3 : o.pauseEtcd) * 1000;
  if (pauseEtcdMs !== undefined && pauseEtcdMs > durationMs * 0.4) {
    throw new UsageError(`option '--pause-etcd [seconds]' must be at most 40% of --duration`);
  }
  return {
    durationMs,
    store:
      o.etcd !== undefined || o.startEtcd
        ? { kind: 'etcd', endpoint: o.etcd, start: o.startEtcd === true }
        : { kind: 'file' },
    pauseEtcdMs,
    services,
    rate: o.rate,
    concurrency: o.concurrency,
    rotateEveryMs: o.rotateEvery,
    dir: resolve(o.dir),
    keep: o.keep,
    port: o.port,
    killOne,
    downMs: o.down * 1000,
    statusEveryMs: o.statusEvery,
  };
}
