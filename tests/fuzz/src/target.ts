/**
 * What a fuzz target is: a named decoder or parser of one package, the hostile inputs to try on it, and how
 * to feed one input to it through the package's public exports.
 *
 * @module
 */
import type fc from 'fast-check';

/** A target once set up: its inputs, and one case run on one input. */
export interface OpenTarget {
  /** The inputs: valid ones, random ones and mutations of valid ones. */
  readonly inputs: fc.Arbitrary<unknown>;
  /**
   * Feeds one input to the code under test. Returns a label for the outcome (`'decrypted'`, `'parsed'`) or
   * nothing; throws what the code under test throws. A wrong result throws a `Violation('wrong-result')`.
   */
  run(input: unknown): Promise<string | undefined> | string | undefined;
  /**
   * For targets whose typed errors are not Mesh errors (commander's): the stable code of `error` if it is one
   * of them, else `undefined` (then the Mesh rules apply).
   */
  codeOf?(error: unknown): string | undefined;
  /** Codes besides the Mesh ones this target may throw (they must be just as stable). */
  readonly extraCodes?: ReadonlySet<string>;
  close?(): Promise<void> | void;
}

/** A registered target. */
export interface FuzzTarget {
  /** `package/target`, e.g. `encryption/envelope-gcm`: what `--target` takes. */
  readonly name: string;
  /** The package whose public exports are fuzzed. */
  readonly pkg: string;
  /** The bad inputs tried, in a sentence (printed by `--list`, and the source of the SECURITY.md table). */
  readonly description: string;
  /** Sets the target up: keys, valid inputs to mutate, processes (etcd), files. */
  open(): Promise<OpenTarget>;
}

/** A target's cases once set up, typed by its input (see {@link cases}). */
export interface Cases<I> {
  readonly inputs: fc.Arbitrary<I>;
  run(input: I): Promise<string | undefined> | string | undefined;
  codeOf?(error: unknown): string | undefined;
  readonly extraCodes?: ReadonlySet<string>;
  close?(): Promise<void> | void;
}

/** The inputs and the handlers of a target, with the handlers' input type inferred from the inputs. */
export function cases<I>(inputs: fc.Arbitrary<I>, handlers: Omit<Cases<I>, 'inputs'>): Cases<I> {
  return { ...handlers, inputs };
}

/** A target; `open` returns {@link cases}, so each target keeps its input type and the registry erases it. */
export function defineTarget<I>(spec: {
  name: string;
  pkg: string;
  description: string;
  open(): Promise<Cases<I>>;
}): FuzzTarget {
  return {
    name: spec.name,
    pkg: spec.pkg,
    description: spec.description,
    open: async () => {
      const t = await spec.open();
      return {
        inputs: t.inputs,
        run: (input: unknown) => t.run(input as I),
        ...(t.codeOf ? { codeOf: (e: unknown) => t.codeOf!(e) } : {}),
        ...(t.extraCodes ? { extraCodes: t.extraCodes } : {}),
        ...(t.close ? { close: () => t.close!() } : {}),
      };
    },
  };
}
