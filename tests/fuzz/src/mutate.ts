/**
 * Structure-aware mutations of valid inputs, as fast-check arbitraries (so they shrink and replay by seed).
 *
 * Random bytes alone never get past a decoder's first check (a version byte, a PEM armour line, a JSON
 * parse), so every target mixes them with mutations of real inputs made at setup: bits flipped, bytes set to
 * boundary values, u32 fields (lengths, ids, sizes) set to boundary numbers, truncation, extension,
 * insertion, deletion, duplication of a range (a segment repeated, a block doubled) and splicing in a range
 * of another valid input (a header of one envelope on the body of another).
 *
 * @module
 */
import fc from 'fast-check';

/** Positions favour the start of an input, where headers and length fields live. */
const position = fc.oneof({ weight: 2, arbitrary: fc.nat(63) }, { weight: 1, arbitrary: fc.nat(1 << 20) });
const smallLength = fc.integer({ min: 1, max: 64 });

/** Byte values on the edges of common checks. */
const BOUNDARY_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x7f, 0x80, 0x81, 0xfe, 0xff] as const;
/** u32 values on the edges of length, id and size checks. */
const BOUNDARY_U32 = [
  0,
  1,
  2,
  15,
  16,
  17,
  255,
  256,
  65_535,
  65_536,
  16 * 1024 * 1024,
  16 * 1024 * 1024 + 1,
  0x7fff_ffff,
  0x8000_0000,
  0xffff_fffe,
  0xffff_ffff,
] as const;

type ByteOp =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; from: number; length: number; to: number }
  | { op: 'splice'; at: number; donor: number; from: number; length: number };

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat(7) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      at: position,
      value: fc.oneof(fc.constantFrom(...BOUNDARY_BYTES), fc.nat(255)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('u32' as const),
      at: position,
      value: fc.oneof(fc.constantFrom(...BOUNDARY_U32), fc.nat({ max: 0xffff_ffff })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: position,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, length: smallLength }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('duplicate' as const),
      from: position,
      length: fc.integer({ min: 1, max: 256 }),
      to: position,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('splice' as const),
      at: position,
      donor: fc.nat(),
      from: position,
      length: fc.integer({ min: 1, max: 512 }),
    }),
  },
);

function applyByteOp(input: Uint8Array, op: ByteOp, donors: readonly Uint8Array[]): Uint8Array {
  const n = input.length;
  const at = (p: number) => (n === 0 ? 0 : p % (n + 1));
  switch (op.op) {
    case 'flip': {
      if (n === 0) return input;
      const out = input.slice();
      out[op.at % n]! ^= 1 << op.bit;
      return out;
    }
    case 'set': {
      if (n === 0) return input;
      const out = input.slice();
      out[op.at % n] = op.value;
      return out;
    }
    case 'u32': {
      if (n < 4) return input;
      const out = input.slice();
      new DataView(out.buffer).setUint32(op.at % (n - 3), op.value, false);
      return out;
    }
    case 'truncate':
      return input.slice(0, n === 0 ? 0 : op.at % n);
    case 'append':
      return concat(input, op.bytes);
    case 'insert': {
      const i = at(op.at);
      return concat(input.subarray(0, i), op.bytes, input.subarray(i));
    }
    case 'delete': {
      const i = at(op.at);
      return concat(input.subarray(0, i), input.subarray(i + op.length));
    }
    case 'duplicate': {
      const from = at(op.from);
      const piece = input.subarray(from, from + op.length);
      const to = at(op.to);
      return concat(input.subarray(0, to), piece, input.subarray(to));
    }
    case 'splice': {
      const donor = donors[op.donor % Math.max(1, donors.length)] ?? input;
      const from = donor.length === 0 ? 0 : op.from % donor.length;
      const piece = donor.subarray(from, from + op.length);
      const i = at(op.at);
      return concat(input.subarray(0, i), piece, input.subarray(i + piece.length));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One to `maxOps` byte mutations of one of `seeds` (the others are donors for splicing). */
export function mutatedBytes(seeds: readonly Uint8Array[], maxOps = 4): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error('mutatedBytes needs at least one seed');
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(byteOp, { minLength: 1, maxLength: maxOps }))
    .map(([i, ops]) => ops.reduce((bytes, op) => applyByteOp(bytes, op, seeds), seeds[i]!));
}

/** Valid inputs themselves, random bytes (some starting with one of `prefixes`) and mutations of valid ones. */
export function hostileBytes(
  seeds: readonly Uint8Array[],
  options: { maxLength?: number; prefixes?: readonly number[][] } = {},
): fc.Arbitrary<Uint8Array> {
  const maxLength = options.maxLength ?? 2048;
  const random = fc.uint8Array({ maxLength });
  const prefixed = fc
    .tuple(fc.constantFrom(...(options.prefixes ?? [[]])), fc.uint8Array({ maxLength }))
    .map(([p, rest]) => concat(Uint8Array.from(p), rest));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 2, arbitrary: random },
    { weight: 2, arbitrary: prefixed },
    { weight: 10, arbitrary: mutatedBytes(seeds) },
  );
}

// ---- text --------------------------------------------------------------------------------------------

/** Characters that matter to the text formats: base64 and base64url alphabets, padding, line ends, PEM dashes. */
const TEXT_CHARS = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'AZaz09+/-_=gA'.split('')) },
  { weight: 3, arbitrary: fc.constantFrom('\n', '\r', '\r\n', ' ', '\t', '-----', ':', '.', '\0') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom('\uD800', '\uDFFF', '\uFFFD', '\u00e9', '\u{1F600}', '\u2028') },
);

type TextOp =
  | { op: 'replace'; at: number; text: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; text: string }
  | { op: 'line'; kind: 'duplicate' | 'delete' | 'swap' | 'blank'; at: number; other: number }
  | { op: 'case'; at: number; length: number };

const textPiece = fc.array(TEXT_CHARS, { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), at: position, text: textPiece }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: position, text: textPiece }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('delete' as const), at: position, length: smallLength }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), text: textPiece }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('line' as const),
      kind: fc.constantFrom('duplicate' as const, 'delete' as const, 'swap' as const, 'blank' as const),
      at: fc.nat(),
      other: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('case' as const), at: position, length: smallLength }),
  },
);

function applyTextOp(input: string, op: TextOp): string {
  const n = input.length;
  const at = (p: number) => (n === 0 ? 0 : p % (n + 1));
  switch (op.op) {
    case 'replace': {
      const i = n === 0 ? 0 : op.at % n;
      return input.slice(0, i) + op.text + input.slice(i + op.text.length);
    }
    case 'insert': {
      const i = at(op.at);
      return input.slice(0, i) + op.text + input.slice(i);
    }
    case 'delete': {
      const i = at(op.at);
      return input.slice(0, i) + input.slice(i + op.length);
    }
    case 'truncate':
      return input.slice(0, n === 0 ? 0 : op.at % n);
    case 'append':
      return input + op.text;
    case 'line': {
      const lines = input.split('\n');
      const i = op.at % lines.length;
      const j = op.other % lines.length;
      if (op.kind === 'duplicate') lines.splice(i, 0, lines[i]!);
      else if (op.kind === 'delete') lines.splice(i, 1);
      else if (op.kind === 'blank') lines.splice(i, 0, '');
      else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 'case': {
      const i = at(op.at);
      const piece = input.slice(i, i + op.length);
      const flipped = [...piece].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()));
      return input.slice(0, i) + flipped.join('') + input.slice(i + op.length);
    }
  }
}

/** One to `maxOps` text mutations of one of `seeds`. */
export function mutatedText(seeds: readonly string[], maxOps = 4): fc.Arbitrary<string> {
  if (seeds.length === 0) throw new Error('mutatedText needs at least one seed');
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(textOp, { minLength: 1, maxLength: maxOps }))
    .map(([i, ops]) => ops.reduce(applyTextOp, seeds[i]!));
}

/** Valid texts, random text (any UTF-16, lone surrogates included) and mutations of valid texts. */
export function hostileText(seeds: readonly string[], maxLength = 2048): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.array(TEXT_CHARS, { maxLength: 200 }).map((a) => a.join('')) },
    { weight: 8, arbitrary: mutatedText(seeds) },
  );
}

// ---- JSON-ish values ---------------------------------------------------------------------------------

/** Values that are not JSON but reach parsers of objects built in code (configuration, parsed documents). */
const ODD_VALUES: readonly unknown[] = [
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  10n,
  Symbol('fuzz'),
  () => 1,
  new Uint8Array(3),
  new Date(0),
  Object.create(null),
  [undefined],
];

/** Numbers on the edges of integer, u32, safe-integer and duration checks. */
const BOUNDARY_NUMBERS = [
  -1,
  0,
  0.5,
  1,
  2,
  15,
  16,
  999,
  1000,
  1024,
  100_000,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 64,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
] as const;

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_VALUES) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '0', '1h', '-1', '7d', 'aes-256-gcm', 'fernet', 'x'.repeat(300)),
  },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.double() },
);

/** Any JSON value, plus the odd non-JSON values code can meet (undefined, NaN, symbols, bigints, bytes ...). */
export const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 }),
    },
  ),
})).value;

type JsonOp =
  | { op: 'replace'; path: number; value: unknown }
  | { op: 'delete'; path: number }
  | { op: 'add'; path: number; key: string; value: unknown }
  | { op: 'number'; path: number; value: number }
  | { op: 'string'; path: number; text: string }
  | { op: 'copy'; path: number; from: number };

/** Every path in a JSON tree: arrays of keys and indices, the root being `[]`. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) pathsOf(v, [...prefix, i], out);
  } else if (isPlainObject(value)) {
    for (const k of Object.keys(value)) pathsOf((value as Record<string, unknown>)[k], [...prefix, k], out);
  }
  return out;
}

/** Arrays and plain objects are walked into; anything else (bytes, dates, null-prototype objects) is a leaf. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function getAt(root: unknown, path: (string | number)[]): unknown {
  let v = root;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v;
}

/** Deep copy of a JSON tree (plain data only, so structuredClone would do, but this keeps odd values). */
function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: clone(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Sets `path` of `root` (a clone) to `value`; `undefined` deletes. Returns the new root. */
function setAt(root: unknown, path: (string | number)[], value: unknown, remove = false): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  } else {
    (parent as Record<string | number, unknown>)[key] = value;
  }
  return root;
}

function applyJsonOp(input: unknown, op: JsonOp, keys: readonly string[]): unknown {
  const root = clone(input);
  const paths = pathsOf(root);
  const path = paths[op.path % paths.length]!;
  const here = getAt(root, path);
  switch (op.op) {
    case 'replace':
      return setAt(root, path, op.value);
    case 'delete':
      return path.length === 0 ? root : setAt(root, path, undefined, true);
    case 'add':
      if (Array.isArray(here)) here.push(op.value);
      else if (isPlainObject(here)) {
        const key = op.key === '' ? (keys[op.path % Math.max(1, keys.length)] ?? 'x') : op.key;
        // An own `__proto__` member, as JSON.parse makes one (plain assignment would set the prototype).
        Object.defineProperty(here, key, {
          value: op.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return root;
    case 'number':
      return typeof here === 'number' ? setAt(root, path, op.value) : setAt(root, path, here);
    case 'string':
      return typeof here === 'string' ? setAt(root, path, mutateString(here, op.text)) : root;
    case 'copy': {
      const from = paths[op.from % paths.length]!;
      return setAt(root, path, clone(getAt(root, from)));
    }
  }
}

function mutateString(s: string, text: string): string {
  if (text.length === 0) return '';
  const i = text.charCodeAt(0) % (s.length + 1);
  return s.slice(0, i) + text + s.slice(i + 1);
}

/**
 * One to `maxOps` structural mutations of one of the JSON `seeds`: a value replaced (by any JSON-ish value,
 * a boundary number, a mutated string), a member deleted or added (`keys` are names worth adding), a subtree
 * copied over another.
 */
export function mutatedJson(
  seeds: readonly unknown[],
  keys: readonly string[] = [],
  maxOps = 3,
): fc.Arbitrary<unknown> {
  const op: fc.Arbitrary<JsonOp> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('replace' as const), path: fc.nat(), value: jsonish }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('add' as const),
        path: fc.nat(),
        key: fc.oneof(fc.constant(''), fc.constantFrom(...keys, '__proto__', 'constructor'), fc.string()),
        value: jsonish,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('number' as const),
        path: fc.nat(),
        value: fc.oneof(fc.constantFrom(...BOUNDARY_NUMBERS), fc.integer(), fc.double()),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('string' as const),
        path: fc.nat(),
        text: fc.oneof(textPiece, fc.string({ maxLength: 4 })),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), path: fc.nat(), from: fc.nat() }) },
  );
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(op, { minLength: 1, maxLength: maxOps }))
    .map(([i, ops]) => ops.reduce((v, o) => applyJsonOp(v, o, keys), seeds[i]));
}

/** JSON text of a value, or of `null` when it has none (a symbol, a function, undefined). */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) ?? 'null';
  } catch {
    return 'null';
  }
}

/** Short printable form of a case for reports (fast-check prints counterexamples with its own stringify). */
export function preview(value: unknown, max = 300): string {
  const s = fc.stringify(value);
  return s.length > max ? `${s.slice(0, max)}... (${s.length} chars)` : s;
}
