/**
 * Inter-process lock for read-modify-write of one file (internal).
 *
 * A lock is the file `<path>.lock`, created atomically with its full content by `link(2)`ing a
 * temporary owner file into place (link fails with EEXIST when the lock exists, and a lock never exists
 * without its owner record). The owner record names pid, host + PID namespace, a random token and a time.
 *
 * Why not `proper-lockfile`: it detects a crashed holder only by lock age (at least 2 s), so every
 * SIGKILLed writer would stall the next one for seconds. Here a holder on this host whose pid no longer
 * exists (or now belongs to another process: the record carries the process start time) is recognised at
 * once.
 *
 * Breaking a lock must never let two writers commit. A check of the lock just before `rename` cannot close
 * that window (the holder can stall between check and rename for any time), so the rule is instead: a lock
 * is broken only when its holder cannot commit any more. On this host that is exactly "the holder process is
 * gone": a live holder is never broken by age, however long it stalls (GC, swap, SIGSTOP); writers wait and
 * time out with ERR_KEYSTORE_UNAVAILABLE instead. A holder on another host (a shared volume) cannot be
 * checked; it renews its lock's mtime every `staleMs / 3` while it holds it, and is considered gone only
 * when it has not renewed for `staleMs`. A holder on another host stalled for longer than `staleMs` is the
 * one case left; it is documented (README, "Inter-process lock") and {@link FileLock.stillHeld} still stops
 * it unless it stalls exactly between that check and its rename.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyStoreError } from './errors.js';

/** A held lock. @internal */
export interface FileLock {
  /** True if the lock file still carries this holder's token. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
  at: number;
  /** Start time of the holder process (Linux `/proc/<pid>/stat` field 22), to tell a reused pid apart. */
  start?: string;
  /** The holder renews the lock file's mtime while it holds it: age counts from the last renewal. */
  renews?: boolean;
}

/** Host identity: hostname plus PID namespace, so pids are only compared within one namespace. */
const HOST_ID = (() => {
  let ns = '';
  try {
    ns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // Not Linux: hostname alone.
  }
  return `${hostname()}|${ns}`;
})();

/** Start time of process `pid` in clock ticks since boot, or undefined where /proc is unavailable. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces and parentheses): state is field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const OWN_START = processStart(process.pid);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const inProcess = new Map<string, Promise<void>>();

/**
 * Acquires the lock `lockPath`, waiting up to `timeoutMs`.
 * @throws {KeyStoreError} `ERR_KEYSTORE_UNAVAILABLE` on timeout or an I/O error.
 * @internal
 */
export async function acquireFileLock(
  lockPath: string,
  options: { timeoutMs: number; staleMs: number },
): Promise<FileLock> {
  // Serialise holders inside this process first: no point spinning on the file against ourselves.
  const previous = inProcess.get(lockPath) ?? Promise.resolve();
  let releaseLocal!: () => void;
  const mine = new Promise<void>((r) => {
    releaseLocal = r;
  });
  const chained = previous.then(() => mine);
  inProcess.set(lockPath, chained);
  const cleanupLocal = () => {
    releaseLocal();
    if (inProcess.get(lockPath) === chained) inProcess.delete(lockPath);
  };
  const deadline = Date.now() + options.timeoutMs;
  const localWait = await Promise.race([
    previous.then(() => true),
    sleep(options.timeoutMs, false, { ref: false }),
  ]);
  if (!localWait) {
    cleanupLocal();
    throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `timed out waiting for lock ${lockPath}`);
  }
  try {
    const lock = await acquireFileLockOnce(lockPath, options, deadline);
    return {
      stillHeld: lock.stillHeld,
      release: async () => {
        try {
          await lock.release();
        } finally {
          cleanupLocal();
        }
      },
    };
  } catch (e) {
    cleanupLocal();
    throw e;
  }
}

async function acquireFileLockOnce(
  lockPath: string,
  options: { staleMs: number },
  deadline: number,
): Promise<FileLock> {
  const token = randomBytes(16).toString('hex');
  const owner: Owner = {
    pid: process.pid,
    host: HOST_ID,
    token,
    at: Date.now(),
    renews: true,
    ...(OWN_START !== undefined && { start: OWN_START }),
  };
  const tmp = `${lockPath}.${token}.tmp`;
  const unavailable = (cause: unknown) =>
    new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot take lock ${lockPath}`, { cause });
  try {
    await writeFile(tmp, JSON.stringify(owner), { mode: 0o600 });
  } catch (cause) {
    throw unavailable(cause);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, lockPath);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw unavailable(e);
      }
      const verdict = await inspect(lockPath, options.staleMs);
      if (verdict.kind === 'gone') continue;
      if (verdict.kind === 'stale') {
        await breakStaleLock(lockPath, verdict.ino, token);
        continue;
      }
      if (Date.now() > deadline) {
        throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `timed out waiting for lock ${lockPath}`);
      }
      // Back off with jitter: critical sections are a few ms (one small write, two fsyncs).
      await sleep(Math.min(25, 1 + attempt) + Math.random() * 5);
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  const stillHeld = async (): Promise<boolean> => {
    try {
      return (JSON.parse(await readFile(lockPath, 'utf8')) as Owner).token === token;
    } catch {
      return false;
    }
  };
  // Renew the lock while held, so holders on other hosts can tell a live holder from a vanished one.
  const renew = setInterval(
    () => {
      void stillHeld().then((held) => {
        if (held) {
          const now = new Date();
          return utimes(lockPath, now, now).catch(() => {});
        }
      });
    },
    Math.max(10, Math.floor(options.staleMs / 3)),
  );
  renew.unref();
  return {
    stillHeld,
    release: async () => {
      clearInterval(renew);
      if (await stillHeld()) await unlink(lockPath).catch(() => {});
    },
  };
}

async function inspect(
  lockPath: string,
  staleMs: number,
): Promise<{ kind: 'gone' } | { kind: 'held' } | { kind: 'stale'; ino: number }> {
  let ino: number;
  let mtimeMs: number;
  let text: string;
  try {
    const st = await stat(lockPath);
    ino = st.ino;
    mtimeMs = st.mtimeMs;
    text = await readFile(lockPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot inspect lock ${lockPath}`, { cause: e });
  }
  let owner: Partial<Owner> | undefined;
  try {
    owner = JSON.parse(text) as Partial<Owner>;
  } catch {
    owner = undefined;
  }
  if (owner && owner.host === HOST_ID && typeof owner.pid === 'number') {
    // On this host we can know: a live holder is never broken, however old its lock (see module doc).
    if (!pidAlive(owner.pid)) return { kind: 'stale', ino };
    if (typeof owner.start === 'string') {
      const start = processStart(owner.pid);
      if (start !== undefined && start !== owner.start) return { kind: 'stale', ino }; // pid reused
    }
    return { kind: 'held' };
  }
  const since = owner?.renews === true ? mtimeMs : typeof owner?.at === 'number' ? owner.at : mtimeMs;
  const age = Date.now() - since;
  if (age > staleMs) return { kind: 'stale', ino };
  // An unreadable owner record (only after a power loss) is given a short grace period.
  if (!owner && age > 2_000) return { kind: 'stale', ino };
  return { kind: 'held' };
}

/**
 * Moves the stale lock aside with one atomic rename (only one breaker can win it), then checks it moved the
 * lock it judged stale (same inode). If a live holder re-took the lock in between, put that lock back with
 * `link` (create-if-absent); should that fail too, the holder's `stillHeld()` check stops its commit.
 */
async function breakStaleLock(lockPath: string, ino: number, token: string): Promise<void> {
  const grave = `${lockPath}.stale-${token}`;
  try {
    await rename(lockPath, grave);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `cannot break stale lock ${lockPath}`, { cause: e });
  }
  try {
    const st = await stat(grave);
    if (st.ino !== ino) await link(grave, lockPath).catch(() => {});
  } finally {
    await unlink(grave).catch(() => {});
  }
}
