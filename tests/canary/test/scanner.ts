/**
 * The canary scanner: registers secrets (keys, KEKs, passphrases, plaintexts), gathers everything an
 * operation leaves that a person or a log pipeline could read (an error's message, stack, every own property
 * and `cause` down the chain, `util.inspect` at any depth with hidden properties, `JSON.stringify`, log lines,
 * warnings, metric expositions, a child's stderr), and finds any secret in it in any encoding.
 *
 * Detection decodes rather than enumerates encodings: every run of text that could be hex (with or without
 * separators, as `<Buffer c4 4a ...>` prints), a decimal byte list (`Uint8Array(32) [ 196, 74, ... ]`,
 * `[196,74,...]`), base64 or base64url (at all four alignments, so a secret inside a longer encoded buffer is
 * found too), `\xNN` / `\uNNNN` escapes, or the raw text itself (latin1 and UTF-8) is turned back into bytes,
 * and those bytes are searched for every 8-byte window of every secret. A leak of any 8 consecutive bytes of
 * a secret, in any of these forms, anywhere, is found; secrets are random, so 8 bytes never match by chance.
 * Shorter quotes of a secret as it is usually written (its first 10 characters in hex, base64, base64url or
 * as text, as a parser's error message quotes a file) are searched for as text.
 */
import { createHash } from 'node:crypto';
import { format, inspect } from 'node:util';
import { expect } from 'vitest';

/** One secret found somewhere it must not be. */
export interface Finding {
  readonly secret: string;
  readonly where: string;
  readonly view: string;
  readonly excerpt: string;
}

const WINDOW = 8;

/** Shortest fragment of a secret's text form searched for (a JSON.parse message quotes 10 characters). */
const PREFIX = 10;
/** Text windows elsewhere in a text form: 16 characters (64 bits of a hex form, 96 of a base64 one). */
const TEXT_WINDOW = 16;

/**
 * The secrets of one test file, and the search over anything they might have leaked into. Every window is a
 * key of a map, so a search costs one lookup per position of the haystack, whatever the number of secrets.
 */
export class Canaries {
  /** 8-byte windows (as latin1 strings) of every secret's bytes -> its label. */
  readonly #windows = new Map<string, string>();
  /** Fragments of every secret's text forms (hex, HEX, base64, base64url, or the text itself) -> label. */
  readonly #prefixes = new Map<string, string>();
  readonly #texts = new Map<string, string>();
  readonly #labels: string[] = [];

  /** Deterministic random-looking bytes for `label`, registered as a secret. */
  bytes(label: string, length = 32): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0, block = 0; i < length; block++) {
      const digest = createHash('sha256').update(`mesh canary ${label} ${block}`).digest();
      for (let j = 0; j < digest.length && i < length; j++, i++) out[i] = digest[j]!;
    }
    this.add(label, out);
    return out;
  }

  /** Distinctive text for `label` (a passphrase, a token), registered as a secret. */
  text(label: string, length = 28): string {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
    const digest = createHash('sha512').update(`mesh canary text ${label}`).digest();
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[digest[i % digest.length]! % alphabet.length];
    this.add(label, s);
    return s;
  }

  /** Registers `value` (bytes, or text by its UTF-8 bytes) as a secret: at least 8 bytes. */
  add(label: string, value: Uint8Array | string): void {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    if (bytes.length < WINDOW) throw new Error(`canary ${label} is shorter than ${WINDOW} bytes`);
    this.#labels.push(label);
    const latin1 = bytes.toString('latin1');
    for (let i = 0; i + WINDOW <= latin1.length; i++) this.#windows.set(latin1.slice(i, i + WINDOW), label);
    const forms =
      typeof value === 'string'
        ? [value]
        : [
            bytes.toString('hex'),
            bytes.toString('hex').toUpperCase(),
            bytes.toString('base64').replace(/=+$/, ''),
            bytes.toString('base64url'),
          ];
    for (const form of forms) {
      // The start of each form (what a parser's error quotes), then every window over the rest: a short quote
      // of the text as written, which the byte search cannot see when it is under 8 bytes.
      this.#prefixes.set(form.slice(0, PREFIX), label);
      for (let i = 0; i + TEXT_WINDOW <= form.length; i++)
        this.#texts.set(form.slice(i, i + TEXT_WINDOW), label);
    }
  }

  get labels(): string[] {
    return [...this.#labels];
  }

  /** Every secret found in `haystack` (text, or bytes as they would be written out). */
  find(haystack: string | Uint8Array, where: string): Finding[] {
    const found = new Map<string, Finding>();
    const text = typeof haystack === 'string' ? haystack : Buffer.from(haystack).toString('latin1');
    const note = (secret: string, view: string, at: number, source: string) => {
      if (!found.has(secret)) {
        found.set(secret, { secret, where, view, excerpt: source.slice(Math.max(0, at - 100), at + 200) });
      }
    };
    for (const [index, size] of [
      [this.#prefixes, PREFIX],
      [this.#texts, TEXT_WINDOW],
    ] as const) {
      for (let i = 0; i + size <= text.length; i++) {
        const secret = index.get(text.slice(i, i + size));
        if (secret !== undefined) note(secret, 'text', i, text);
      }
    }
    for (const [view, bytes] of views(haystack)) {
      const latin1 = bytes.toString('latin1');
      for (let i = 0; i + WINDOW <= latin1.length; i++) {
        const secret = this.#windows.get(latin1.slice(i, i + WINDOW));
        if (secret !== undefined) note(secret, view, 0, text);
      }
    }
    return [...found.values()];
  }
}

/** The byte views of a haystack: raw, and every run of encoded text decoded. */
function* views(haystack: string | Uint8Array): Generator<[string, Buffer]> {
  if (typeof haystack !== 'string') {
    yield ['bytes', Buffer.from(haystack)];
    haystack = Buffer.from(haystack).toString('latin1');
  }
  yield ['latin1', Buffer.from(haystack, 'latin1')];
  yield ['utf8', Buffer.from(haystack, 'utf8')];
  const unescaped = haystack
    .replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  if (unescaped !== haystack) yield ['escapes', Buffer.from(unescaped, 'latin1')];
  // Hex: pairs, optionally separated (`c4 4a`, `c4:4a`), in either nibble alignment.
  for (const m of haystack.matchAll(/[0-9a-fA-F]{2}(?:[ :,-]?[0-9a-fA-F]{2}){7,}/g)) {
    const digits = m[0].replace(/[ :,-]/g, '');
    yield ['hex', Buffer.from(digits.slice(0, digits.length - (digits.length % 2)), 'hex')];
    yield ['hex', Buffer.from(digits.slice(1, 1 + ((digits.length - 1) & ~1)), 'hex')];
  }
  // Decimal byte lists (util.inspect of a Uint8Array, JSON of a Buffer or an array of numbers).
  for (const m of haystack.matchAll(/\d{1,3}(?:\s*,\s*\d{1,3}){7,}/g)) {
    const values = m[0].split(',').map((v) => Number(v.trim()));
    yield ['decimal', Buffer.from(values.map((v) => (v > 255 ? 0 : v)))];
  }
  // base64 and base64url (Node's decoder reads both alphabets), at each of the four alignments.
  for (const m of haystack.matchAll(/[A-Za-z0-9+/_-]{11,}/g)) {
    for (let shift = 0; shift < 4; shift++) yield ['base64', Buffer.from(m[0].slice(shift), 'base64')];
  }
}

/**
 * Everything a thrown value exposes, as text (and bytes for byte-valued properties): message, stack,
 * `String()`, `util.inspect` at full depth with hidden properties, `JSON.stringify`, and, recursively, every
 * own property (enumerable or not, symbols too) and the `cause` chain and `errors` of an AggregateError.
 */
export function exposedBy(value: unknown, where: string): Array<[string, string | Uint8Array]> {
  const out: Array<[string, string | Uint8Array]> = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || v === undefined || depth > 12) return;
    if (typeof v === 'string') {
      out.push([path, v]);
      return;
    }
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
      out.push([path, String(v)]);
      return;
    }
    if (v instanceof Uint8Array) {
      out.push([path, v]);
      out.push([`${path} (inspect)`, inspect(v, { maxArrayLength: Number.POSITIVE_INFINITY })]);
      return;
    }
    if (typeof v !== 'object' && typeof v !== 'function') return;
    if (seen.has(v)) return;
    seen.add(v);
    if (v instanceof Error) {
      out.push([`${path}.message`, v.message]);
      out.push([`${path}.stack`, v.stack ?? '']);
      out.push([`${path} (String)`, safely(() => String(v))]);
    }
    out.push([
      `${path} (inspect)`,
      inspect(v, {
        depth: Number.POSITIVE_INFINITY,
        showHidden: true,
        maxArrayLength: Number.POSITIVE_INFINITY,
        maxStringLength: Number.POSITIVE_INFINITY,
      }),
    ]);
    out.push([`${path} (JSON)`, safely(() => JSON.stringify(v) ?? '')]);
    if (typeof v === 'function') return;
    for (const key of Reflect.ownKeys(v)) {
      const name = typeof key === 'symbol' ? key.toString() : key;
      const descriptor = Object.getOwnPropertyDescriptor(v, key);
      const child = descriptor && 'value' in descriptor ? descriptor.value : safely(() => (v as never)[key]);
      walk(child, `${path}.${name}`, depth + 1);
    }
    const cause = safely(() => (v as { cause?: unknown }).cause);
    if (cause !== undefined) walk(cause, `${path}.cause`, depth + 1);
  };
  walk(value, where, 0);
  return out;
}

function safely<T>(fn: () => T): T | string {
  try {
    return fn();
  } catch (error) {
    return `<threw ${error instanceof Error ? error.name : typeof error}>`;
  }
}

/** Fails the test, naming secret, place and view, when anything exposed by `values` holds a canary. */
export function expectClean(canaries: Canaries, where: string, ...values: unknown[]): void {
  const findings = findIn(canaries, where, ...values);
  expect(findings, describeFindings(findings)).toEqual([]);
}

/** The findings over everything `values` expose (see {@link exposedBy}). */
export function findIn(canaries: Canaries, where: string, ...values: unknown[]): Finding[] {
  const findings: Finding[] = [];
  values.forEach((value, i) => {
    for (const [path, text] of exposedBy(value, values.length > 1 ? `${where}[${i}]` : where)) {
      findings.push(...canaries.find(text, path));
    }
  });
  return findings;
}

function describeFindings(findings: Finding[]): string {
  return findings
    .slice(0, 5)
    .map((f) => `canary '${f.secret}' in ${f.where} (${f.view}): ${JSON.stringify(f.excerpt)}`)
    .join('\n');
}

/** The outcome of an operation: what it returned, or what it threw. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Runs `fn` (sync or async) and records what came out, never throwing. */
export async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Everything written to the console or raised as a process warning while active: `console.*` (formatted as
 * Node formats them, objects at full depth), `process.emitWarning` (message, type, code, detail) and the
 * `'warning'` events. The originals are restored by {@link Capture.stop}.
 */
export class Capture {
  readonly lines: string[] = [];
  readonly #restore: Array<() => void> = [];

  start(): this {
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        this.lines.push(
          args
            .map((a) =>
              typeof a === 'string' ? a : inspect(a, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
            )
            .join(' '),
        );
      };
      this.#restore.push(() => {
        console[method] = original;
      });
    }
    const emitWarning = process.emitWarning;
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      this.lines.push(typeof warning === 'string' ? warning : `${warning.message}\n${warning.stack ?? ''}`);
      for (const r of rest)
        this.lines.push(inspect(r, { depth: Number.POSITIVE_INFINITY, showHidden: true }));
    }) as typeof process.emitWarning;
    this.#restore.push(() => {
      process.emitWarning = emitWarning;
    });
    const onWarning = (w: Error) => this.lines.push(`${w.name}: ${w.message}\n${w.stack ?? ''}`);
    process.on('warning', onWarning);
    this.#restore.push(() => process.off('warning', onWarning));
    return this;
  }

  stop(): string[] {
    for (const restore of this.#restore.splice(0).reverse()) restore();
    return this.lines;
  }
}

/**
 * Fails when printing any of `objects` shows a canary: `util.inspect` (default, full depth, hidden
 * properties), `console.log`'s `%o`/`%O`/`%j`/`%s`, `JSON.stringify` and `String()`. For objects that hold
 * secrets by design (a key manager, a Fernet instance, a derived key): what they hold must not print.
 */
export function expectPrintsClean(canaries: Canaries, where: string, ...objects: unknown[]): void {
  const findings: Finding[] = [];
  objects.forEach((o, i) => {
    const forms: Array<[string, string]> = [
      ['inspect', inspect(o)],
      [
        'inspect(depth Infinity, showHidden)',
        inspect(o, {
          depth: Number.POSITIVE_INFINITY,
          showHidden: true,
          maxArrayLength: Number.POSITIVE_INFINITY,
        }),
      ],
      ['%o', format('%o', o)],
      ['%O', format('%O', o)],
      ['%j', format('%j', o)],
      ['%s', format('%s', o)],
      ['JSON', String(safely(() => JSON.stringify(o)))],
      ['String', String(safely(() => String(o)))],
    ];
    for (const [how, text] of forms) findings.push(...canaries.find(text, `${where}[${i}] ${how}`));
  });
  expect(findings, describeFindings(findings)).toEqual([]);
}

/** True for a typed error of any Mesh package (the `Symbol.for('mesh.error')` marker and a string code). */
export function isTyped(error: unknown): error is Error & { code: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[Symbol.for('mesh.error')] === true &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/**
 * Runs operations and checks what they leave: a failure must be a typed error (of `code` when given) that,
 * with everything it exposes, holds no canary; neither may anything logged or warned meanwhile.
 */
export class Probe {
  readonly ran: string[] = [];
  constructor(readonly canaries: Canaries) {}

  /** `fn` must throw or reject; returns the error after checking it. */
  async fails(name: string, fn: () => unknown, code?: string): Promise<Error & { code: string }> {
    const result = await this.#run(name, fn);
    expect(result.ok, `${name}: expected a failure`).toBe(false);
    const error = (result as { error: unknown }).error;
    expect(isTyped(error), `${name}: untyped error ${String(error)}`).toBe(true);
    if (code !== undefined) expect((error as { code: string }).code, name).toBe(code);
    expectClean(this.canaries, `${name}: thrown`, error);
    return error as Error & { code: string };
  }

  /** `fn` must succeed; returns its value (not scanned: a decryption returns the plaintext by design). */
  async succeeds<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const result = await this.#run(name, fn);
    if (!result.ok) {
      expectClean(this.canaries, `${name}: thrown`, result.error);
      throw new Error(`${name}: expected success, got ${String(result.error)}`);
    }
    return result.value as T;
  }

  async #run(name: string, fn: () => unknown): Promise<Outcome> {
    this.ran.push(name);
    const capture = new Capture().start();
    let result: Outcome;
    try {
      result = await outcome(fn);
    } finally {
      const lines = capture.stop();
      expectClean(this.canaries, `${name}: console and warnings`, ...lines);
    }
    return result;
  }
}
