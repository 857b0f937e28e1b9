/**
 * Durable, atomic file writes (internal): temp file in the same directory, fsync, rename (or link when the
 * target must not be replaced), fsync of the directory. POSIX `rename(2)`/`link(2)` are atomic within one
 * file system, so readers see the old or the new file, never a torn one.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Creates `path` exclusively with `mode` (fchmod'ed, whatever the umask), writes `data` and fsyncs it. */
export async function writeDurably(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'wx', mode);
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw e;
  }
}

/** fsync a directory so a rename in it survives a power loss; a no-op where unsupported (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Cannot fsync a directory here; the rename itself is still atomic.
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * Writes `data` to `path` atomically and durably with `mode`. With `overwrite: false` an existing file is
 * left alone and the call fails with `EEXIST`.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode: number; overwrite: boolean },
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(9).toString('base64url')}`);
  await writeDurably(tmp, data, options.mode);
  try {
    if (options.overwrite) await rename(tmp, path);
    else await link(tmp, path); // create-if-absent, atomically
  } finally {
    // After link the temp is a second name to drop; after a successful rename it is already gone.
    await unlink(tmp).catch(() => {});
  }
  await fsyncDir(dir);
}
