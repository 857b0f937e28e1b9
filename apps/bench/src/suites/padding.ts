/**
 * The cost of length hiding: the facade's AES-256-GCM encrypt and decrypt with a padding policy against the
 * same facade without one, at each payload size, in one group of interleaved rounds per size (so each ratio
 * compares rates measured seconds apart). Compression is off on every facade, so the figures isolate the
 * padding: the extra bytes sealed and opened, one copy of the payload each way, the scan for the marker.
 *
 * Policies: `{ multipleOf: 256 }` (at most 256 bytes added), and `{ powerOfTwo: true }` with its defaults
 * (256 B .. 1 MiB). The sizes are exact powers of two, which is the power-of-two policy's worst case: the
 * 0x80 marker needs one byte more, so a 1 KiB or 64 KiB payload goes to the next bucket (2x the bytes), and
 * 1 MiB + 1 byte above the 1 MiB cap goes to 2 MiB.
 *
 * @module
 */
import { createEncryption, type Encryption, type PaddingConfig } from '@mesh/encryption';
import { NoopCollector } from '@mesh/metrics';
import { type Candidate, type RoundSamples, runRounds } from '../rounds.js';
import { ratioOf, summarize } from '../stats.js';
import { payloadText } from './symmetric.js';

/** The padded facades measured against the unpadded one (`none`). */
export const PADDING_POLICIES = {
  'multiple-of-256': { multipleOf: 256 },
  'power-of-two': { powerOfTwo: true },
} as const satisfies Record<string, Exclude<PaddingConfig, false>>;
type PolicyId = keyof typeof PADDING_POLICIES;

/** Header, nonce and tag of an AES-256-GCM envelope: what is not payload. */
const GCM_OVERHEAD = 7 + 12 + 16;

/** Per size (bytes, as a string key): rounds of `none|<policy>:encrypt|decrypt`, ops/s of CPU time. */
export interface PaddingResult {
  readonly rounds: Record<string, RoundSamples>;
  /** Envelope length per size and facade, so the report can show what the padding adds on the wire. */
  readonly envelopeBytes: Record<string, Record<string, number>>;
}

/** Candidate ids of one size, in the order the report lists them. */
export const PADDING_CANDIDATE_IDS: readonly string[] = ['none', ...Object.keys(PADDING_POLICIES)].flatMap(
  (f) => [`${f}:encrypt`, `${f}:decrypt`],
);

/** Runs the padding group at every size. */
export async function runPadding(options: {
  readonly sizes: readonly number[];
  readonly rounds: number;
  readonly sliceMs: number;
  readonly log: (line: string) => void;
}): Promise<PaddingResult> {
  const facades: Record<string, Encryption> = {
    none: await createEncryption({ compression: false, metrics: new NoopCollector() }),
  };
  for (const [id, padding] of Object.entries(PADDING_POLICIES)) {
    facades[id] = await createEncryption({ compression: false, metrics: new NoopCollector(), padding });
  }
  const rounds: Record<string, RoundSamples> = {};
  const envelopeBytes: Record<string, Record<string, number>> = {};
  try {
    for (const size of options.sizes) {
      const data = new Uint8Array(Buffer.from(payloadText(size), 'latin1'));
      const candidates: Candidate[] = [];
      envelopeBytes[String(size)] = {};
      for (const [id, enc] of Object.entries(facades)) {
        const sealed = await enc.encrypt(data);
        envelopeBytes[String(size)]![id] = sealed.length;
        candidates.push(
          { id: `${id}:encrypt`, op: () => enc.encrypt(data) },
          { id: `${id}:decrypt`, op: () => enc.decrypt(sealed) },
        );
      }
      rounds[String(size)] = await runRounds(candidates, options);
      options.log(`  padding ${size} B done`);
    }
  } finally {
    await Promise.all(Object.values(facades).map((f) => f.close()));
  }
  return { rounds, envelopeBytes };
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function x(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

/** The report section: rate ratio padded / unpadded per size, policy and operation, and the bytes added. */
export function renderPadding(result: PaddingResult): string {
  const rows: string[] = [];
  for (const [size, samples] of Object.entries(result.rounds)) {
    for (const policy of Object.keys(PADDING_POLICIES) as PolicyId[]) {
      const cells = (['encrypt', 'decrypt'] as const).map((op) => {
        const s = ratioOf(samples[`${policy}:${op}`] ?? [], samples[`none:${op}`] ?? []);
        return `${x(s.median)} [${x(s.min)}-${x(s.max)}]`;
      });
      const bytes = result.envelopeBytes[size] ?? {};
      const rate = summarize(samples[`${policy}:encrypt`] ?? []).median;
      const padded = (bytes[policy] ?? 0) - GCM_OVERHEAD;
      rows.push(
        `| ${sizeText(Number(size))} | ${policy} | ${cells.join(' | ')} | ${bytes[policy]} B (${x((bytes[policy] ?? 0) / (bytes.none ?? 1))}, payload ${sizeText(padded)}) | ${Math.round(rate).toLocaleString('en-US')}/s |`,
      );
    }
  }
  return [
    '\n### Padding (length hiding): cost against the same facade without padding\n',
    '| size | policy | encrypt rate ratio | decrypt rate ratio | envelope (vs unpadded) | padded encrypt rate |',
    '|---|---|---|---|---|---|',
    ...rows,
    '\nAES-256-GCM, compression off, NoopCollector; ratio = padded / unpadded ops/s of CPU time, median of',
    'per-round ratios [lowest-highest round]. Sizes that are exact powers of two are the power-of-two policy’s',
    'worst case (the 0x80 marker moves them to the next bucket: twice the bytes).',
  ].join('\n');
}
