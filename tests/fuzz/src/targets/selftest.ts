/**
 * Deliberately broken targets: each breaks one rule of the oracle, so the tests can show that the runner
 * catches it (an oracle that never fails proves nothing). Never part of `pnpm fuzz`'s default run; selected
 * with `--selftest` (the tests do).
 *
 * @module
 */
import { MeshCryptoError, type MeshErrorCode } from '@mesh/crypto-core';
import fc from 'fast-check';
import type { FuzzTarget } from '../target.js';
import { cases, defineTarget } from '../target.js';

const PKG = '(selftest)';
const bytes = fc.uint8Array({ minLength: 1, maxLength: 64 });

/** Throws a TypeError (a property read on undefined) for inputs whose first byte is odd. */
export const untypedSelftest = defineTarget({
  name: 'selftest/untyped',
  pkg: PKG,
  description: 'a decoder with a TypeError on some inputs',
  async open() {
    return cases(bytes, {
      run(input) {
        if (input[0]! % 2 === 1) {
          const missing = (input as unknown as { header?: { keyId: number } }).header;
          return String(missing!.keyId);
        }
        throw new MeshCryptoError('ERR_TOKEN_MALFORMED', 'even');
      },
    });
  },
});

/** Throws a Mesh-shaped error with a code that is not one of the stable codes. */
export const unknownCodeSelftest = defineTarget({
  name: 'selftest/unknown-code',
  pkg: PKG,
  description: 'a decoder that invents an error code',
  async open() {
    return cases(bytes, {
      run() {
        throw new MeshCryptoError('ERR_NOT_A_CODE' as MeshErrorCode, 'made up');
      },
    });
  },
});

/** A typed error whose cause is a TypeError: the contract holds on the surface, a bug underneath. */
export const wrappedBugSelftest = defineTarget({
  name: 'selftest/wrapped-bug',
  pkg: PKG,
  description: 'a decoder that wraps a TypeError in a typed error',
  async open() {
    return cases(bytes, {
      run() {
        throw new MeshCryptoError('ERR_INVALID_INPUT', 'operation failed', {
          cause: new TypeError("Cannot read properties of undefined (reading 'length')"),
        });
      },
    });
  },
});

/** Spins for `input` ms (synchronously, as a loop over a claimed length would). */
export const slowSelftest = defineTarget({
  name: 'selftest/slow',
  pkg: PKG,
  description: 'a decoder whose work grows with a field of the input',
  async open() {
    return cases(fc.integer({ min: 0, max: 400 }), {
      run(ms) {
        const until = performance.now() + ms;
        while (performance.now() < until) {
          // busy
        }
        return 'done';
      },
    });
  },
});

/** Never settles for inputs above 200. */
export const hangSelftest = defineTarget({
  name: 'selftest/hang',
  pkg: PKG,
  description: 'a stream that never ends on some inputs',
  async open() {
    return cases(fc.nat(255), {
      run(n) {
        return n > 200 ? new Promise<string>(() => {}) : 'done';
      },
    });
  },
});

/** Allocates what the input claims, 256 MiB, and writes it (resident memory). */
export const allocateSelftest = defineTarget({
  name: 'selftest/allocate',
  pkg: PKG,
  description: 'a decoder that allocates and fills a claimed length',
  async open() {
    return cases(fc.constant(256 * 1024 * 1024), {
      run(claimed) {
        return String(new Uint8Array(claimed).fill(1).length);
      },
    });
  },
});

/** Allocates 256 MiB and never writes it: zero pages, not resident, seen only as array buffer memory. */
export const reserveSelftest = defineTarget({
  name: 'selftest/reserve',
  pkg: PKG,
  description: 'a decoder that allocates a claimed length without writing it',
  async open() {
    return cases(fc.constant(256 * 1024 * 1024), {
      run(claimed) {
        const buffer = new Uint8Array(claimed);
        return String(buffer.length + buffer[claimed - 1]!);
      },
    });
  },
});

/** Blocks the event loop for good on inputs above 200 (a synchronous infinite loop). */
export const blockSelftest = defineTarget({
  name: 'selftest/block',
  pkg: PKG,
  description: 'a decoder with an infinite loop on some inputs',
  async open() {
    return cases(fc.nat(255), {
      run(n) {
        while (n > 200) {
          // forever: only the parent's watchdog ends this
        }
        return 'done';
      },
    });
  },
});

const retained: Uint8Array[] = [];

/** Keeps 256 KiB per case, as an unbounded cache would. */
export const leakSelftest = defineTarget({
  name: 'selftest/leak',
  pkg: PKG,
  description: 'a decoder with an unbounded cache',
  async open() {
    return cases(bytes, {
      run() {
        retained.push(new Uint8Array(256 * 1024).fill(7));
        return 'cached';
      },
      close() {
        retained.length = 0;
      },
    });
  },
});

const heap: unknown[] = [];

/** Grows the JavaScript heap without bound: under a small --max-old-space-size the process dies. */
export const crashSelftest = defineTarget({
  name: 'selftest/crash',
  pkg: PKG,
  description: 'a decoder that grows the heap until the process runs out of memory',
  async open() {
    return cases(bytes, {
      run() {
        // 16 MB of JavaScript array per step: the heap cap is reached in a few steps, not after a long GC crawl.
        for (let i = 0; i < 1000; i++) heap.push(new Array(2_000_000).fill(i));
        return 'grew';
      },
    });
  },
});

export const SELFTEST_TARGETS: readonly FuzzTarget[] = [
  untypedSelftest,
  unknownCodeSelftest,
  wrappedBugSelftest,
  slowSelftest,
  hangSelftest,
  allocateSelftest,
  reserveSelftest,
  blockSelftest,
  leakSelftest,
  crashSelftest,
];
