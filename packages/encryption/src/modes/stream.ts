/**
 * Stream mode: the facade's constructors of streaming (0x03) encryptors and decryptors, Node `Transform` and
 * WHATWG `TransformStream` (the engine and format are in `../stream/`).
 *
 * A stream's context is decided by the same rule as every other entry point (the core's `plan`: the
 * service's default context when none is given, `requireContext`, well-formed text), so a stream is bound to
 * exactly the context an envelope of the same call would be.
 *
 * @module
 */
import type { Transform } from 'node:stream';
import {
  createNodeDecryptStream,
  createNodeEncryptStream,
  createWebDecryptStream,
  createWebEncryptStream,
  type StreamDeps,
  type StreamOptions,
} from '../stream/index.js';
import type { FacadeCore } from './core.js';

/** The stream constructors of one facade. */
export class StreamMode {
  readonly #core: FacadeCore;
  readonly #deps: StreamDeps;

  constructor(core: FacadeCore) {
    this.#core = core;
    this.#deps = { keys: core.keys, metrics: core.metrics };
  }

  encryptNode(options: StreamOptions | undefined): Transform {
    return createNodeEncryptStream(this.#deps, this.#options(options));
  }

  decryptNode(options: StreamOptions | undefined): Transform {
    return createNodeDecryptStream(this.#deps, this.#options(options));
  }

  encryptWeb(options: StreamOptions | undefined): TransformStream<Uint8Array, Uint8Array> {
    return createWebEncryptStream(this.#deps, this.#options(options));
  }

  decryptWeb(options: StreamOptions | undefined): TransformStream<Uint8Array, Uint8Array> {
    return createWebDecryptStream(this.#deps, this.#options(options));
  }

  /** The caller's options with the context the plan decided. */
  #options(options: StreamOptions | undefined): StreamOptions {
    const plan = this.#core.plan(options);
    return { ...options, context: plan.context ?? '' };
  }
}
