/**
 * Bounded reads of small files that hold keys or keyrings (internal).
 *
 * `stat().size` is not a bound: a FIFO reports 0 and blocks the reader (and a libuv thread) until a writer
 * appears, `/dev/zero` reports 0 and never ends, procfs files report 0 and hold kilobytes. So: open with
 * `O_NONBLOCK` (opening a FIFO never waits), refuse anything `fstat` on the opened descriptor does not call a
 * regular file (no race between the check and the read), and read at most `maxBytes + 1` bytes into one
 * buffer of our own, whatever the size claims.
 *
 * @module
 * @internal
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Why a read was refused; the caller maps it to its own typed error. */
export class BoundedReadError extends Error {
  constructor(
    readonly reason: 'not-regular' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the regular file `path` (symlinks followed) into a fresh array that owns its buffer.
 *
 * @throws {BoundedReadError} not a regular file, or larger than `maxBytes`; the fs error (e.g. `ENOENT`).
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new BoundedReadError('not-regular', `${path} is not a regular file`);
    let buf: Uint8Array = new Uint8Array(Math.min(maxBytes + 1, Math.max(st.size + 1, 4096)));
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) break;
        const bigger: Uint8Array = new Uint8Array(Math.min(maxBytes + 1, buf.length * 2));
        bigger.set(buf);
        buf.fill(0);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) {
      buf.fill(0);
      throw new BoundedReadError('too-large', `${path} is larger than ${maxBytes} bytes`);
    }
    if (length === buf.length) return buf;
    const out = buf.slice(0, length);
    buf.fill(0);
    return out;
  } finally {
    await fh.close();
  }
}
