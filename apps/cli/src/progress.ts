/**
 * The progress bar of file encryption and decryption: cli-progress on stderr, shown only when stderr is a
 * terminal and the input's size is known (`--in FILE`), so pipes, logs and scripts never see it.
 *
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';
import cliProgress from 'cli-progress';

/** A pass-through stream that counts bytes into a bar, and the bar's `stop`. */
export interface Progress {
  readonly counter: Transform;
  stop(): void;
}

/**
 * A progress counter for `total` input bytes, or `undefined` when no bar should be drawn (stderr is not a
 * TTY, size unknown or zero, or `--no-progress`).
 */
export function createProgress(total: number | undefined, enabled: boolean): Progress | undefined {
  if (!enabled || !process.stderr.isTTY || total === undefined || total === 0) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'meshcrypt [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let done = 0;
  let stopped = false;
  const counter = new Transform({
    transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback) {
      done += chunk.length;
      bar.update(done);
      callback(null, chunk);
    },
  });
  return {
    counter,
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
