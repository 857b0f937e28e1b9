/**
 * Stream mode: the facade's constructors of streaming (0x03) encryptors and decryptors, Node `Transform` and
 * WHATWG `TransformStream` (the engine and format are in `../stream/`).
 *
 * A stream's context is decided by the same rule as every other entry point (the core's `plan`: the
 * service's default context when none is given, `requireContext`, well-formed text), so a stream is bound to
 * exactly the context an envelope of the same call would be. An encryptor also gets the service's padding
 * policy: the stream's last segment is padded to its bucket (docs/FORMAT.md "Streaming (0x03)").
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
import type { CallPlan, FacadeCore } from './core.js';

/** The stream constructors of one facade. */
export class StreamMode {
  readonly #core: FacadeCore;
  readonly #deps: StreamDeps;

  constructor(core: FacadeCore) {
    this.#core = core;
    this.#deps = { keys: core.keys, metrics: core.metrics };
  }

  encryptNode(options: StreamOptions | undefined): Transform {
    const plan = this.#core.plan(options);
    return createNodeEncryptStream(this.#sealDeps(plan), { ...options, context: plan.context ?? '' });
  }

  decryptNode(options: StreamOptions | undefined): Transform {
    return createNodeDecryptStream(this.#deps, this.#options(options));
  }

  encryptWeb(options: StreamOptions | undefined): TransformStream<Uint8Array, Uint8Array> {
    const plan = this.#core.plan(options);
    return createWebEncryptStream(this.#sealDeps(plan), { ...options, context: plan.context ?? '' });
  }

  decryptWeb(options: StreamOptions | undefined): TransformStream<Uint8Array, Uint8Array> {
    return createWebDecryptStream(this.#deps, this.#options(options));
  }

  /** An encryptor's deps: the service's padding policy (the last segment is padded, header flag bit1). */
  #sealDeps(plan: CallPlan): StreamDeps {
    const padding = plan.service.padding;
    return padding === undefined ? this.#deps : { ...this.#deps, padding };
  }

  /** The caller's options with the context the plan decided. */
  #options(options: StreamOptions | undefined): StreamOptions {
    const plan = this.#core.plan(options);
    return { ...options, context: plan.context ?? '' };
  }
}
