#!/usr/bin/env node
/**
 * The mesh demo: services (default orders, payments, inventory), each its own process, call each other over
 * HTTP on 127.0.0.1 with every body encrypted by `@mesh/encryption` and bound to its route. They share one
 * sealed keyring in a `FileKeyStore` (the embedded default). While a steady stream of requests flows, keys
 * are rotated again and again through different services; a dashboard and each service's `/metrics` are
 * served while it runs. Exit 0 only if not a single request or crypto operation failed.
 *
 *   pnpm demo [--duration 20] [--kill-one] [--help]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdProcess, etcdAvailable } from '@mesh/local-etcd';
import { CommanderError } from 'commander';
import { type DashboardServer, serveDashboard } from './dashboard.js';
import { Fleet } from './fleet.js';
import { Monitor } from './monitor.js';
import { type DemoOptions, EXIT_USAGE, parseOptions, UsageError } from './options.js';
import { percentile } from './stats.js';
import { bytesSaved, formatBytes, formatMs, serviceTable } from './summary.js';
import { TrafficDriver } from './traffic.js';

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The key store of a run: the environment the services get, and how the summary names it. */
interface PreparedStore {
  env: NodeJS.ProcessEnv;
  label: string;
  where: string;
}

/**
 * A fresh state folder for the run (unless `--keep`): the KEK is a random 32-byte key in a 0600 file, and on
 * the file store the sealed keyring lies beside it. On etcd the keyring lives under a prefix of its own per
 * run (`mesh-demo/<random>/`, or `mesh-demo/keep/` with `--keep`); the KEK never goes to etcd.
 */
async function prepareStore(o: DemoOptions, endpoint: string | undefined): Promise<PreparedStore> {
  if (!o.keep) await rm(o.dir, { recursive: true, force: true });
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const kekFile = resolve(o.dir, 'kek');
  if (!o.keep) await writeFile(kekFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  else
    await writeFile(kekFile, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' }).catch(() => {});
  const env = {
    ...process.env,
    MESH_DEMO_KEYRING: resolve(o.dir, 'keyring.json'),
    MESH_DEMO_KEK_FILE: kekFile,
  };
  if (endpoint === undefined) {
    return { env, label: 'file (sealed keyring in a FileKeyStore)', where: `in ${o.dir}` };
  }
  const prefix = `mesh-demo/${o.keep ? 'keep' : randomBytes(6).toString('hex')}/`;
  return {
    env: { ...env, MESH_DEMO_ETCD: endpoint, MESH_DEMO_ETCD_PREFIX: prefix },
    label: 'etcd (EtcdKeyStore, two-phase rotation by a RotationCoordinator)',
    where: `at ${endpoint} under ${prefix}, KEK in ${kekFile}`,
  };
}

/** What --kill-one did, for the summary. */
interface KillRecord {
  name: string;
  killedAt: number;
  versionAtKill: number | null;
  oldPid: number | undefined;
  restartedAt?: number;
  newPid?: number;
  versionAtRestart?: number;
  fleetVersionAtRestart?: number;
  retriedBefore: number;
  callsBeforeKill: number;
  servedBeforeKill: number;
  failedBeforeKill: number;
}

/** Starts a private etcd for `--start-etcd`, runs the demo, and stops that etcd whatever happens. */
async function run(o: DemoOptions): Promise<number> {
  let etcd: EtcdProcess | undefined;
  try {
    if (o.store.kind === 'etcd' && o.store.start) {
      if (!(await etcdAvailable())) {
        throw new Error(
          '--start-etcd needs the etcd binary on PATH (Debian/Ubuntu: apt-get install etcd-server), or use --etcd <url>',
        );
      }
      etcd = await EtcdProcess.start({ name: 'mesh-demo' });
      log(`mesh-demo: started a private etcd (pid ${etcd.pid}) on ${etcd.endpoint}, data in ${etcd.dataDir}`);
    }
    const endpoint = o.store.kind === 'etcd' ? (etcd?.endpoint ?? o.store.endpoint) : undefined;
    return await runFleet(o, await prepareStore(o, endpoint), etcd);
  } finally {
    if (etcd) {
      const pid = etcd.pid; // read before stop(), which forgets the child
      await etcd.stop();
      log(`mesh-demo: stopped the private etcd (pid ${pid}) and removed its data`);
    }
  }
}

async function runFleet(
  o: DemoOptions,
  store: PreparedStore,
  etcd: EtcdProcess | undefined,
): Promise<number> {
  const { env, label: STORE_LABEL } = store;
  const ports = o.services.map((_, i) => (o.port === 0 ? 0 : o.port + 1 + i));
  const fleet = new Fleet(o.services, env, ports);
  let dashboard: DashboardServer | undefined;
  let driver: TrafficDriver | undefined;
  // The clock starts when traffic does: startup time is not part of --duration.
  let startedAt = Date.now();
  const monitor = new Monitor(
    fleet,
    () => startedAt,
    () => driver?.total.failed ?? 0,
  );
  const durationS = o.durationMs / 1000;
  let done = false;

  try {
    await fleet.start();
    driver = new TrafficDriver(fleet, o.rate, o.concurrency);
    dashboard = await serveDashboard(o.port, () => monitor.snapshot(durationS, STORE_LABEL, done));
  } catch (error) {
    await fleet.stop();
    await dashboard?.close();
    // The fleet started (the driver exists), so the port taken is the dashboard's.
    if ((error as { code?: string }).code === 'EADDRINUSE' && driver !== undefined) {
      throw new Error(
        `port ${o.port} for the dashboard is in use; pass --port <another> or --port 0 for free ports`,
      );
    }
    throw error;
  }
  const traffic = driver;
  startedAt = Date.now();
  const deadline = { at: startedAt + o.durationMs };
  log(`mesh-demo: ${o.services.length} services on 127.0.0.1, key store: ${STORE_LABEL} ${store.where}`);
  for (const n of fleet.nodes)
    log(`  ${n.name.padEnd(10)} http://127.0.0.1:${n.port}/metrics  (pid ${n.pid})`);
  log(`  dashboard  ${dashboard.url}`);
  log(
    `mesh-demo: ${o.rate} requests/s (at most ${o.concurrency} in flight) for ${durationS} s, ` +
      `a rotation every ${o.rotateEveryMs} ms${o.killOne ? `, ${o.killOne} killed part-way and restarted` : ''}`,
  );
  monitor.initialKey(fleet.nodes[0]!.startKeyId);
  monitor.note(`started ${o.services.join(', ')} on key v1`);
  const rotationErrors: string[] = [];
  // Ctrl-C / SIGTERM: stop the traffic now, then summarise and stop the fleet as at the normal end.
  const stopping = new AbortController();
  const stopEarly = () => {
    deadline.at = Math.min(deadline.at, Date.now());
    stopping.abort();
  };
  /** Sleeps `ms`, or less when the run is stopped early. */
  const pause = (ms: number) =>
    sleep(Math.max(0, ms), undefined, { signal: stopping.signal }).catch(() => {});
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);

  // The rotation in flight, if any: --kill-one does not crash a service in the middle of its own rotation
  // (it would leave the keyring file's lock to go stale, and the demo is about serving through a crash).
  let rotating: Promise<unknown> = Promise.resolve();
  let aboutToKill: string | undefined;
  /** While etcd is frozen (--pause-etcd) no rotation is asked for: it could not be stored. */
  let etcdFrozen = false;
  let skippedWhileFrozen = 0;
  async function rotator(): Promise<void> {
    let due = startedAt;
    for (let i = 0; ; i++) {
      // Every --rotate-every from the start, so a slow rotation does not push the rest back; a rotation that
      // ran very late does not make the next one follow at once.
      due = Math.max(due + o.rotateEveryMs, Date.now() + o.rotateEveryMs / 2);
      await pause(due - Date.now());
      if (Date.now() >= deadline.at - 250) return;
      if (etcdFrozen) {
        skippedWhileFrozen++;
        continue;
      }
      const live = fleet.live().filter((n) => n !== aboutToKill);
      const by = live[i % live.length];
      if (!by) continue;
      try {
        const call = (async () => {
          const response = await fetch(`http://127.0.0.1:${fleet.node(by).port}/admin/rotate`, {
            method: 'POST',
          });
          return { ok: response.ok, status: response.status, text: await response.text() };
        })();
        rotating = call.catch(() => {});
        const r = await call;
        const text = r.text;
        if (!r.ok) throw new Error(`HTTP ${r.status} ${text}`);
        monitor.rotated((JSON.parse(text) as { keyId: number }).keyId, by);
      } catch (error) {
        // A rotation sent to a service at the moment it is killed is not a failed rotation of the mesh.
        if (fleet.node(by).status === 'up')
          rotationErrors.push(`rotation by ${by}: ${(error as Error).message}`);
      }
    }
  }

  let kill: KillRecord | undefined;
  async function killer(name: string): Promise<void> {
    // Part-way, leaving time after the restart for the node to serve and see more rotations.
    await pause(o.durationMs * 0.25);
    if (stopping.signal.aborted) return;
    // A last scrape so the summary keeps what the process counted until now.
    aboutToKill = name;
    await rotating;
    await monitor.tick(false);
    const before = monitor.nodes().find((n) => n.name === name)!;
    kill = {
      name,
      killedAt: monitor.elapsed(),
      versionAtKill: before.keyVersion,
      oldPid: fleet.node(name).pid,
      retriedBefore: traffic.total.retried,
      callsBeforeKill: before.totals.callsOk,
      servedBeforeKill: before.totals.served,
      failedBeforeKill: before.totals.callsFailed + before.totals.cryptoFailures,
    };
    await fleet.kill(name);
    monitor.note(`${name} killed (SIGKILL, pid ${kill.oldPid}) on key v${kill.versionAtKill}`);
    await pause(o.downMs);
    const fleetAtRestart = monitor.currentKeyVersion();
    monitor.note(`starting ${name} again (fleet on key v${fleetAtRestart})`);
    const node = await fleet.restart(name);
    kill.restartedAt = monitor.elapsed();
    kill.newPid = node.pid;
    kill.versionAtRestart = monitor.keyVersionOf(node.startKeyId) ?? -1;
    kill.fleetVersionAtRestart = fleetAtRestart;
    monitor.note(
      `${name} restarted (pid ${node.pid}) after ${(kill.restartedAt - kill.killedAt).toFixed(1)} s, ` +
        `opened the keyring on key v${kill.versionAtRestart} (fleet v${fleetAtRestart})`,
    );
  }

  /** What --pause-etcd did, for the summary. */
  let freeze:
    | {
        at: number;
        seconds: number;
        failedBefore: number;
        requestsBefore: number;
        requestsDuring?: number;
        failedDuring?: number;
      }
    | undefined;
  async function freezer(server: EtcdProcess, ms: number): Promise<void> {
    await pause(o.durationMs * 0.4);
    if (stopping.signal.aborted) return;
    // Between two rotations, once every service encrypts under the newest key: a service reserves its uses
    // of a new primary in the store with its first encrypt, and without etcd it could not (its encrypts
    // would fail with ERR_KEYSTORE_UNAVAILABLE until etcd returns). So: no new rotation, the one in flight
    // finished, every service on the newest key, then a second of traffic so each has encrypted under it.
    etcdFrozen = true;
    await rotating;
    for (let i = 0; i < 50; i++) {
      await monitor.tick(false);
      const newest = monitor.currentKeyVersion();
      if (monitor.nodes().every((n) => n.status !== 'up' || n.keyVersion === newest)) break;
      await pause(100);
    }
    await pause(1000);
    if (stopping.signal.aborted) return;
    freeze = {
      at: monitor.elapsed(),
      seconds: ms / 1000,
      failedBefore: traffic.total.failed,
      requestsBefore: traffic.total.requests,
    };
    server.freeze();
    monitor.note(`etcd frozen (SIGSTOP, pid ${server.pid}) for ${ms / 1000} s`);
    await sleep(ms);
    server.thaw();
    freeze.requestsDuring = traffic.total.requests - freeze.requestsBefore;
    freeze.failedDuring = traffic.total.failed - freeze.failedBefore;
    etcdFrozen = false;
    monitor.note(`etcd thawed (SIGCONT) after ${ms / 1000} s`);
  }

  const tty = process.stdout.isTTY === true;
  let lastStatus = performance.now();
  const ticker = setInterval(() => {
    void monitor.tick().then(() => {
      dashboard?.publish(monitor.snapshot(durationS, STORE_LABEL, false));
      const now = performance.now();
      if (now - lastStatus < o.statusEveryMs - 50) return;
      const seconds = (now - lastStatus) / 1000;
      lastStatus = now;
      const w = traffic.takeWindow();
      const nodes = monitor.nodes();
      const keys = nodes
        .map((n) => `${n.name} ${n.status === 'up' ? `v${n.keyVersion ?? '?'}` : n.status}`)
        .join(' ');
      const failures = traffic.total.failed + nodes.reduce((s, n) => s + n.totals.cryptoFailures, 0);
      const line =
        `  ${monitor.elapsed().toFixed(0).padStart(3)} s  ${(w.length / seconds).toFixed(0).padStart(4)} req/s  ` +
        `p50 ${formatMs(percentile(w, 0.5))}  p99 ${formatMs(percentile(w, 0.99))}  failures ${failures}  ` +
        `rotations ${monitor.rotations.length}  key version: ${keys}  compression saved ${formatBytes(bytesSaved(nodes))}`;
      // In a terminal the line is rewritten in place, so it must not wrap: cut it to the terminal's width.
      if (tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns || 200) - 1)}`);
      else log(line);
    });
  }, 1000);

  await Promise.all([
    traffic.run(() => deadline.at),
    rotator(),
    o.killOne ? killer(o.killOne) : undefined,
    etcd && o.pauseEtcdMs !== undefined ? freezer(etcd, o.pauseEtcdMs) : undefined,
  ]);
  clearInterval(ticker);
  const trafficS = (Date.now() - startedAt) / 1000;
  if (tty) process.stdout.write('\n');

  // Let every node apply the last rotation (they follow the store), then take the final scrape.
  const fleetVersion = monitor.currentKeyVersion();
  let nodes = monitor.nodes();
  for (let i = 0; i < 30; i++) {
    await monitor.tick();
    nodes = monitor.nodes();
    if (nodes.every((n) => n.status !== 'up' || n.keyVersion === fleetVersion)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  done = true;
  dashboard.publish(monitor.snapshot(durationS, STORE_LABEL, true));
  await fleet.stop();
  await dashboard.close();
  process.off('SIGINT', stopEarly);
  process.off('SIGTERM', stopEarly);

  const t = traffic.total;
  const elapsedS = (Date.now() - startedAt) / 1000;
  const cryptoFailures = nodes.reduce((s, n) => s + n.totals.cryptoFailures, 0);
  const callsFailed = nodes.reduce((s, n) => s + n.totals.callsFailed, 0);
  const rotations = monitor.rotations.length;
  const lagging = nodes.filter((n) => n.keyVersion !== fleetVersion);
  const encrypts = nodes.reduce((s, n) => s + n.totals.encrypts, 0);
  const compressed = nodes.reduce((s, n) => s + n.totals.compressed, 0);
  const compIn = nodes.reduce((s, n) => s + n.totals.compressionIn, 0);
  const compOut = nodes.reduce((s, n) => s + n.totals.compressionOut, 0);

  log('');
  log(`mesh-demo: summary after ${elapsedS.toFixed(1)} s on the ${STORE_LABEL}`);
  if (stopping.signal.aborted) log(`  stopped early by a signal after ${trafficS.toFixed(1)} s of traffic`);
  log(
    `  requests     ${t.requests} sent by the driver (${(t.requests / trafficS).toFixed(0)}/s over ${trafficS.toFixed(1)} s), ` +
      `${t.succeeded} succeeded, ${t.failed} failed` +
      (t.retried ? `; ${t.retried} attempts met the killed service and were re-sent on another route` : ''),
  );
  log(
    `  latency      p50 ${formatMs(percentile(traffic.latencies, 0.5))}, p99 ${formatMs(percentile(traffic.latencies, 0.99))}, ` +
      `max ${formatMs(percentile(traffic.latencies, 1))} per request (driver -> caller -> callee -> caller -> driver)`,
  );
  log(
    `  rotations    ${rotations} (key v1 -> v${fleetVersion}; each rotation makes a new AES-256-GCM and a new ` +
      `Fernet primary, the old ones stay to decrypt)` +
      (lagging.length
        ? `; NOT applied by ${lagging.map((n) => `${n.name} (v${n.keyVersion ?? '?'})`).join(', ')}`
        : `; every service ended on v${fleetVersion}`),
  );
  log(
    `  compression  ${compressed} of ${encrypts} sealed bodies compressed by policy (orders over 512 B): ` +
      `${formatBytes(compIn)} -> ${formatBytes(compOut)}, ${formatBytes(compIn - compOut)} saved`,
  );
  let killOk = true;
  if (o.killOne) {
    const k = kill;
    const after = nodes.find((n) => n.name === o.killOne)!;
    if (!k || k.restartedAt === undefined) {
      killOk = false;
      log(`  kill-one     ${o.killOne} was not killed and restarted before the end`);
    } else {
      const callsAfter = after.totals.callsOk - k.callsBeforeKill;
      const servedAfter = after.totals.served - k.servedBeforeKill;
      const failedAfter = after.totals.callsFailed + after.totals.cryptoFailures - k.failedBeforeKill;
      // It opened the keyring on at least the key the fleet had when it was started again (a rotation may
      // land while it starts), and it followed every rotation after that.
      const caughtUp =
        k.versionAtRestart !== undefined &&
        k.versionAtRestart >= k.fleetVersionAtRestart! &&
        after.keyVersion === fleetVersion;
      killOk = caughtUp && callsAfter > 0 && servedAfter > 0 && failedAfter === 0;
      log(
        `  kill-one     ${k.name} killed at ${k.killedAt.toFixed(1)} s (SIGKILL, pid ${k.oldPid}, key v${k.versionAtKill}); ` +
          `down ${(k.restartedAt - k.killedAt).toFixed(1)} s; restarted at ${k.restartedAt.toFixed(1)} s (pid ${k.newPid}) ` +
          `on key v${k.versionAtRestart} (fleet on v${k.fleetVersionAtRestart} when it was started again)`,
      );
      log(
        `               after the restart ${k.name} made ${callsAfter} calls and answered ${servedAfter} requests, ` +
          `${failedAfter} failed; it ended on key v${after.keyVersion} (fleet v${fleetVersion}): ` +
          (caughtUp ? 'caught up' : 'DID NOT catch up') +
          `; the others kept serving: ${nodes
            .filter((n) => n.name !== k.name)
            .map((n) => `${n.name} ${n.totals.callsFailed + n.totals.cryptoFailures} failures`)
            .join(', ')}`,
      );
    }
  }
  let twoPhaseOk = true;
  if (o.store.kind === 'etcd') {
    const promotions = nodes.reduce((s, n) => s + n.totals.leaderPromotions, 0);
    const ackSum = nodes.reduce((s, n) => s + n.totals.stageAckSecondsSum, 0);
    const leaders = nodes.filter((n) => n.totals.leaderPromotions > 0).map((n) => n.name);
    // Every service that ran the whole time took up every new AES key only after holding it staged.
    const short = nodes.filter(
      (n) =>
        n.totals.promotionsNotStaged > 0 ||
        (n.restarts === 0 && n.totals.promotionsStagedFirst !== rotations),
    );
    twoPhaseOk = short.length === 0 && promotions >= 2 * rotations;
    log(
      `  two-phase    ${promotions} promotions by the leader (${leaders.join(', ') || 'none'}; AES-256-GCM and Fernet per ` +
        `rotation), each only after every live service acked the staged key: stage -> all acked ` +
        `${promotions ? `${((ackSum / promotions) * 1000).toFixed(0)} ms` : '-'} on average`,
    );
    log(
      `               new AES keys each service held staged before encrypting under them: ${nodes
        .map((n) => `${n.name} ${n.totals.promotionsStagedFirst}/${rotations}`)
        .join(', ')}` +
        (nodes.some((n) => n.totals.promotionsNotStaged > 0)
          ? `; taken up WITHOUT the staged phase: ${nodes
              .filter((n) => n.totals.promotionsNotStaged > 0)
              .map((n) => `${n.name} ${n.totals.promotionsNotStaged}`)
              .join(', ')}`
          : ''),
    );
  }
  let freezeOk = true;
  if (o.pauseEtcdMs !== undefined) {
    freezeOk = freeze?.requestsDuring !== undefined && freeze.failedDuring === 0 && freeze.requestsDuring > 0;
    log(
      freeze?.requestsDuring !== undefined
        ? `  etcd pause   etcd frozen (SIGSTOP) at ${freeze.at.toFixed(1)} s for ${freeze.seconds} s: ${freeze.requestsDuring} ` +
            `requests sent meanwhile, ${freeze.failedDuring} failed; ${skippedWhileFrozen} rotation(s) not asked for while frozen`
        : '  etcd pause   etcd was not frozen before the end',
    );
  }
  log('');
  log(serviceTable(nodes));
  log(
    '  Each request is one call: the caller seals an order (1 encrypt), the callee opens it (1 decrypt) and seals a\n' +
      '  receipt (1 encrypt), the caller opens that (1 decrypt). So per service encrypts = decrypts = calls made +\n' +
      '  requests answered, and over the fleet encrypts = 2 x requests succeeded (a call to a peer that was down\n' +
      '  is sealed but never opened; a killed process takes its last uncounted operations with it).',
  );
  for (const [reason, count] of traffic.failures) log(`  failed x${count}: ${reason}`);
  for (const e of rotationErrors) log(`  ${e}`);

  const ok =
    t.failed === 0 &&
    callsFailed === 0 &&
    cryptoFailures === 0 &&
    t.succeeded > 0 &&
    rotations > 0 &&
    rotationErrors.length === 0 &&
    lagging.length === 0 &&
    killOk &&
    twoPhaseOk &&
    freezeOk;
  log(
    ok
      ? `mesh-demo: OK, ${t.succeeded} requests, 0 failed, across ${rotations} rotations`
      : `mesh-demo: FAILED (${t.failed} failed requests, ${cryptoFailures} crypto failures, ${rotations} rotations)`,
  );
  return ok ? 0 : 1;
}

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // --help, already printed
    if (error instanceof UsageError) {
      process.stderr.write(`mesh-demo: ${error.message} (see --help)\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  return run(options);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mesh-demo: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  },
);
