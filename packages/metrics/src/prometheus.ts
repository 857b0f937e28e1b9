/**
 * `PrometheusCollector`: the {@link MetricsCollector} over prom-client (docs/DESIGN.md §6).
 *
 * Hot path: the facade calls `recordOperation` and `recordKeyUse` once per encryption, next to ~10-15 µs
 * of AES-GCM, and may spend at most 5% of that here. prom-client's `counter.inc(labels)` and even a child
 * from `counter.labels(...)` validate and hash the label object on every call, so nothing here touches
 * prom-client while recording: each event is two `Map` lookups from a closed label set to an index and a
 * few `Float64Array` additions. The totals are published into prom-client metrics by `collect()` callbacks
 * when the registry is scraped (prom-client runs `collect` inside `registry.metrics()`/`getMetricsAsJSON()`).
 *
 * Cardinality (docs/DESIGN.md §6, "label values never carry ... unbounded input"): operation, algorithm, result,
 * reason, trigger and direction come from closed sets; anything else maps to a fixed fallback and is counted
 * in `mesh_metrics_rejected_inputs_total{kind}`. Key ids must parse as a u32 and at most `maxLiveKeys` keys
 * are live at once; `removeKey` frees a key's series. The number of series is therefore bounded by the
 * options alone, whatever callers pass.
 *
 * @module
 */

import type { OpenMetricsContentType, PrometheusContentType } from 'prom-client';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { HistogramState, ScrapedHistogram, type SeriesLabels } from './_histogram.js';
import { PublishedCounter, PublishedGauge } from './_published.js';
import { COLLECTOR_METHODS, type CollectorMethod, type MetricsCollector } from './collector.js';
import { MetricsError, needs } from './errors.js';
import { parseKeyId } from './key-id.js';
import {
  CRYPTO_ALGORITHMS,
  CRYPTO_OPERATIONS,
  type CryptoAlgorithm,
  type CryptoOperation,
  FAILURE_REASONS,
  FALLBACK_FAILURE_REASON,
  type FailureReason,
  OPERATION_RESULTS,
  type OperationResult,
  ROTATION_TRIGGERS,
  type RotationTrigger,
  UNKNOWN_LABEL,
} from './labels.js';

/**
 * A prom-client registry in either exposition format.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import type { MetricsRegistry } from '@mesh/metrics';
 * const registry: MetricsRegistry = new Registry();
 * ```
 */
export type MetricsRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

type RegistryMetric = Parameters<MetricsRegistry['registerMetric']>[0];

/**
 * Default `mesh_crypto_operation_duration_seconds` buckets: 10 µs (a 1 KiB AES-GCM) to 10 s (a large
 * stream), roughly 1-2.5-5 per decade.
 *
 * @example
 * ```ts
 * import { DEFAULT_DURATION_BUCKETS, PrometheusCollector } from '@mesh/metrics';
 * new PrometheusCollector({ buckets: [...DEFAULT_DURATION_BUCKETS, 30, 60] }); // for very long streams
 * ```
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5, 10,
]);

/**
 * Default `mesh_compression_ratio` buckets (original / compressed): below 1 the payload grew, JSON sits
 * around 2-6 (PERF.md), repetitive data goes far higher.
 *
 * @example
 * ```ts
 * import { DEFAULT_COMPRESSION_BUCKETS, PrometheusCollector } from '@mesh/metrics';
 * new PrometheusCollector({ compressionBuckets: DEFAULT_COMPRESSION_BUCKETS.filter((b) => b >= 1) });
 * ```
 */
export const DEFAULT_COMPRESSION_BUCKETS: readonly number[] = Object.freeze([
  0.9, 1, 1.1, 1.25, 1.5, 2, 3, 4, 6, 8, 12, 20, 50, 100,
]);

/**
 * Default cap on live key ids (keys with series at once).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_LIVE_KEYS, PrometheusCollector } from '@mesh/metrics';
 * new PrometheusCollector({ maxLiveKeys: 2 * DEFAULT_MAX_LIVE_KEYS }); // many retained keys
 * ```
 */
export const DEFAULT_MAX_LIVE_KEYS = 64;

/** Why an input was not used as given (`mesh_metrics_rejected_inputs_total{kind}`). */
export type RejectedInputKind = 'label' | 'value' | 'key_id' | 'key_limit';

/**
 * Every {@link RejectedInputKind}: `label` = a value outside its closed set (replaced by the fallback),
 * `value` = a number that is not finite and >= 0 (ignored), `key_id` = not a u32 key id (ignored),
 * `key_limit` = a new key while `maxLiveKeys` keys are live (ignored).
 *
 * @example
 * ```ts
 * import { REJECTED_INPUT_KINDS } from '@mesh/metrics';
 * REJECTED_INPUT_KINDS; // ['label', 'value', 'key_id', 'key_limit']
 * ```
 */
export const REJECTED_INPUT_KINDS: readonly RejectedInputKind[] = Object.freeze([
  'label',
  'value',
  'key_id',
  'key_limit',
] as const);

/**
 * Options of {@link PrometheusCollector}.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { PrometheusCollector, type PrometheusCollectorOptions } from '@mesh/metrics';
 * const options: PrometheusCollectorOptions = { registry: new Registry(), prefix: 'orders_mesh_', maxLiveKeys: 16 };
 * new PrometheusCollector(options);
 * ```
 */
export interface PrometheusCollectorOptions {
  /** Registry to register into; a new one is created when absent (never prom-client's global one). */
  registry?: MetricsRegistry;
  /** Metric name prefix, default `'mesh_'`; must keep names valid (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
  prefix?: string;
  /** Also register prom-client's default process metrics (`process_*`, `nodejs_*`) in the registry. */
  defaultMetrics?: boolean;
  /** Duration histogram upper bounds in seconds, strictly increasing; default {@link DEFAULT_DURATION_BUCKETS}. */
  buckets?: readonly number[];
  /** Compression ratio upper bounds, strictly increasing; default {@link DEFAULT_COMPRESSION_BUCKETS}. */
  compressionBuckets?: readonly number[];
  /** At most this many key ids have series at once (1-4096, default 64). */
  maxLiveKeys?: number;
  /** Wall clock in ms since the epoch, for `mesh_key_age_seconds` (default `Date.now`). */
  clock?: () => number;
}

const OPERATION_INDEX = indexOf(CRYPTO_OPERATIONS);
const ALGORITHM_INDEX = indexOf(CRYPTO_ALGORITHMS);
const REASON_INDEX = indexOf(FAILURE_REASONS);
const TRIGGER_INDEX = indexOf(ROTATION_TRIGGERS);
const METHOD_INDEX = indexOf(COLLECTOR_METHODS);
const REJECT_INDEX = indexOf(REJECTED_INPUT_KINDS);

// Label index spaces: each closed set plus one slot for its fallback value.
const OPERATION_VALUES: readonly string[] = [...CRYPTO_OPERATIONS, UNKNOWN_LABEL];
const ALGORITHM_VALUES: readonly string[] = [...CRYPTO_ALGORITHMS, UNKNOWN_LABEL];
const TRIGGER_VALUES: readonly string[] = [...ROTATION_TRIGGERS, UNKNOWN_LABEL];
const UNKNOWN_OPERATION = CRYPTO_OPERATIONS.length;
const UNKNOWN_ALGORITHM = CRYPTO_ALGORITHMS.length;
const UNKNOWN_TRIGGER = ROTATION_TRIGGERS.length;
const FALLBACK_REASON = REASON_INDEX.get(FALLBACK_FAILURE_REASON)!;
const N_ALGORITHMS = ALGORITHM_VALUES.length;
const N_PAIRS = OPERATION_VALUES.length * N_ALGORITHMS;

const REJECT_LABEL = REJECT_INDEX.get('label')!;
const REJECT_VALUE = REJECT_INDEX.get('value')!;
const REJECT_KEY_ID = REJECT_INDEX.get('key_id')!;
const REJECT_KEY_LIMIT = REJECT_INDEX.get('key_limit')!;

const MAX_LIVE_KEYS_LIMIT = 4096;
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const HELP = {
  operations: 'Crypto operations finished, by operation, algorithm and result.',
  duration: 'Duration of crypto operations in seconds, by operation and algorithm.',
  bytes: 'Bytes into (plaintext or ciphertext read) and out of crypto operations, by direction.',
  failures: 'Failed crypto operations by reason (a closed set).',
  compressionRatio: 'Compression ratio (original bytes / compressed bytes) of compressed payloads.',
  compressionBytes: 'Bytes before (original) and after (compressed) compression of compressed payloads.',
  rotations: 'Key rotations by trigger.',
  keyEncryptions: 'Encryptions under each live key (series removed when the key is retired).',
  keyAge: 'Age in seconds of each live key, computed at scrape time.',
  errors: 'Errors thrown by a metrics collector and swallowed so the crypto operation could proceed.',
  rejected: 'Metric inputs not used as given: label outside its closed set, invalid number, key id.',
} as const;

/**
 * Crypto metrics in a prom-client registry, with names, labels and HELP as in docs/DESIGN.md §6.
 *
 * Exports `mesh_crypto_operations_total{operation,algorithm,result}`,
 * `mesh_crypto_operation_duration_seconds{operation,algorithm}` (histogram), `mesh_crypto_bytes_total{direction}`,
 * `mesh_crypto_failures_total{reason}`, `mesh_compression_ratio` (histogram),
 * `mesh_compression_bytes_total{stage}`, `mesh_key_rotations_total{trigger}`,
 * `mesh_key_encryptions_total{key_id}`, `mesh_key_age_seconds{key_id}`, and about itself
 * `mesh_metrics_errors_total{method}` and `mesh_metrics_rejected_inputs_total{kind}`.
 * Recording never throws and never allocates per call; only the constructor throws (`ERR_CONFIG_INVALID`).
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { PrometheusCollector } from '@mesh/metrics';
 * const registry = new Registry();
 * const metrics = new PrometheusCollector({ registry });
 * metrics.recordOperation('encrypt', 'aes-256-gcm', 'success', 0.000012, 1024, 1053);
 * metrics.recordKeyUse(0x0a1b2c3d);
 * console.log(await registry.metrics()); // mesh_crypto_operations_total{operation="encrypt",...} 1
 * ```
 */
export class PrometheusCollector implements MetricsCollector {
  /** The registry the metrics live in (the one passed in, or a new one). */
  readonly registry: MetricsRegistry;
  /** The metric name prefix in use. */
  readonly prefix: string;

  // Totals, indexed by closed-set positions (see the *_VALUES lists).
  private readonly operations = new Float64Array(N_PAIRS * 2); // pair * 2 + result
  private readonly duration: HistogramState;
  private readonly bytes = new Float64Array(2); // in, out
  private readonly failures = new Float64Array(FAILURE_REASONS.length);
  private readonly compression: HistogramState;
  private readonly compressionBytes = new Float64Array(2); // original, compressed
  private readonly rotations = new Float64Array(TRIGGER_VALUES.length);
  private readonly collectorErrors = new Float64Array(COLLECTOR_METHODS.length);
  private readonly rejected = new Float64Array(REJECTED_INPUT_KINDS.length);

  // Live keys: a fixed pool of slots. `keySlots` maps both the numeric id and its canonical decimal string
  // (the two forms callers pass) to a slot, so the hot path is one Map lookup without parsing.
  private readonly maxLiveKeys: number;
  private readonly keySlots = new Map<number | string, number>();
  private readonly keyIds: Float64Array; // NaN = free slot
  private readonly keyUses: Float64Array;
  private readonly keyCreatedAt: Float64Array; // NaN = age not set
  private readonly freeSlots: number[];
  private readonly clock: () => number;
  private readonly names: readonly string[];
  // The hot path records the same (operation, algorithm) and the same key again and again: the last one
  // found is remembered, so a repeat costs two identity compares instead of `Map` lookups.
  private lastOperation: unknown = undefined;
  private lastAlgorithm: unknown = undefined;
  private lastPair = 0;
  private lastKeyId: unknown = undefined;
  private lastKeySlot = -1;

  /**
   * @throws MetricsError `ERR_CONFIG_INVALID` for invalid options or when the registry already holds a
   * metric with one of these names (use another `prefix` or registry).
   */
  constructor(options: PrometheusCollectorOptions = {}) {
    const prefix = options.prefix ?? 'mesh_';
    needs(
      typeof prefix === 'string' && (prefix === '' || METRIC_PREFIX.test(prefix)),
      'invalid metric prefix',
    );
    const maxLiveKeys = options.maxLiveKeys ?? DEFAULT_MAX_LIVE_KEYS;
    needs(
      Number.isInteger(maxLiveKeys) && maxLiveKeys >= 1 && maxLiveKeys <= MAX_LIVE_KEYS_LIMIT,
      `maxLiveKeys must be an integer from 1 to ${MAX_LIVE_KEYS_LIMIT}`,
    );
    const clock = options.clock ?? Date.now;
    needs(typeof clock === 'function', 'clock must be a function');
    this.prefix = prefix;
    this.clock = clock;
    this.registry = options.registry ?? new Registry();
    this.duration = new HistogramState(
      checkBuckets(options.buckets ?? DEFAULT_DURATION_BUCKETS, 'buckets'),
      N_PAIRS,
    );
    this.compression = new HistogramState(
      checkBuckets(options.compressionBuckets ?? DEFAULT_COMPRESSION_BUCKETS, 'compressionBuckets'),
      1,
    );
    this.maxLiveKeys = maxLiveKeys;
    this.keyIds = new Float64Array(maxLiveKeys).fill(Number.NaN);
    this.keyUses = new Float64Array(maxLiveKeys);
    this.keyCreatedAt = new Float64Array(maxLiveKeys).fill(Number.NaN);
    // Pop from the end: slot 0 is handed out first, so series appear in admission order.
    this.freeSlots = Array.from({ length: maxLiveKeys }, (_, i) => maxLiveKeys - 1 - i);

    const metrics = this.createMetrics(prefix);
    this.names = metrics.map(([name]) => name);
    const registered: string[] = [];
    try {
      for (const [name, metric] of metrics) {
        // Our histograms implement the Registry's metric contract without being prom-client classes.
        this.registry.registerMetric(metric as RegistryMetric);
        registered.push(name);
      }
      if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    } catch (cause) {
      for (const name of registered) this.registry.removeSingleMetric(name);
      throw new MetricsError('ERR_CONFIG_INVALID', 'registry already holds metrics with these names', {
        cause,
      });
    }
  }

  /**
   * Records one finished operation. Unknown operation/algorithm labels become `'unknown'`, a result other
   * than `'success'` counts as `'failure'`; a duration or byte count that is not a finite number >= 0 is
   * left out. Each case is counted in `mesh_metrics_rejected_inputs_total`.
   */
  recordOperation(
    operation: CryptoOperation,
    algorithm: CryptoAlgorithm,
    result: OperationResult,
    durationSeconds: number,
    bytesIn: number,
    bytesOut: number,
  ): void {
    let pair: number;
    if (operation === this.lastOperation && algorithm === this.lastAlgorithm) {
      pair = this.lastPair;
    } else {
      let op = OPERATION_INDEX.get(operation);
      if (op === undefined) {
        op = UNKNOWN_OPERATION;
        this.rejected[REJECT_LABEL]! += 1;
      }
      let alg = ALGORITHM_INDEX.get(algorithm);
      if (alg === undefined) {
        alg = UNKNOWN_ALGORITHM;
        this.rejected[REJECT_LABEL]! += 1;
      }
      pair = op * N_ALGORITHMS + alg;
      // Only labels from the closed sets are remembered: an unknown one is counted as rejected every time.
      if (op !== UNKNOWN_OPERATION && alg !== UNKNOWN_ALGORITHM) {
        this.lastOperation = operation;
        this.lastAlgorithm = algorithm;
        this.lastPair = pair;
      }
    }
    let res = 1;
    if (result === 'success') res = 0;
    else if (result !== 'failure') this.rejected[REJECT_LABEL]! += 1;
    this.operations[pair * 2 + res]! += 1;
    if (isCount(durationSeconds)) this.duration.observe(pair, durationSeconds);
    else this.rejected[REJECT_VALUE]! += 1;
    if (isCount(bytesIn)) this.bytes[0]! += bytesIn;
    else this.rejected[REJECT_VALUE]! += 1;
    if (isCount(bytesOut)) this.bytes[1]! += bytesOut;
    else this.rejected[REJECT_VALUE]! += 1;
  }

  /** Counts one failure; a reason outside {@link FAILURE_REASONS} counts as `'internal'`. */
  recordFailure(reason: FailureReason): void {
    let index = REASON_INDEX.get(reason);
    if (index === undefined) {
      index = FALLBACK_REASON;
      this.rejected[REJECT_LABEL]! += 1;
    }
    this.failures[index]! += 1;
  }

  /** Observes `originalBytes / compressedBytes`; both must be finite, `compressedBytes` > 0. */
  recordCompression(originalBytes: number, compressedBytes: number): void {
    if (!isCount(originalBytes) || !isCount(compressedBytes) || compressedBytes === 0) {
      this.rejected[REJECT_VALUE]! += 1;
      return;
    }
    this.compression.observe(0, originalBytes / compressedBytes);
    this.compressionBytes[0]! += originalBytes;
    this.compressionBytes[1]! += compressedBytes;
  }

  /** Counts one rotation; a trigger outside {@link ROTATION_TRIGGERS} counts as `'unknown'`. */
  recordRotation(trigger: RotationTrigger): void {
    let index = TRIGGER_INDEX.get(trigger);
    if (index === undefined) {
      index = UNKNOWN_TRIGGER;
      this.rejected[REJECT_LABEL]! += 1;
    }
    this.rotations[index]! += 1;
  }

  /**
   * Adds `count` (default 1) encryptions to a key's counter. A key id seen for the first time becomes live
   * if fewer than `maxLiveKeys` keys are; otherwise (or if it is not a u32 id) the use is not recorded.
   */
  recordKeyUse(keyId: number | string, count = 1): void {
    if (!isCount(count)) {
      this.rejected[REJECT_VALUE]! += 1;
      return;
    }
    let slot: number;
    if (keyId === this.lastKeyId) {
      slot = this.lastKeySlot;
    } else {
      slot = this.keySlots.get(keyId) ?? this.admitKey(keyId);
      if (slot >= 0) {
        this.lastKeyId = keyId;
        this.lastKeySlot = slot;
      }
    }
    if (slot >= 0) this.keyUses[slot]! += count;
  }

  /** Sets when a key was created (ms since the epoch); its age is exported as `now - createdAtMs`. */
  setKeyAge(keyId: number | string, createdAtMs: number): void {
    if (!isCount(createdAtMs)) {
      this.rejected[REJECT_VALUE]! += 1;
      return;
    }
    const slot = this.keySlots.get(keyId) ?? this.admitKey(keyId);
    if (slot >= 0) this.keyCreatedAt[slot] = createdAtMs;
  }

  /** Forgets a key: its `key_id` series are gone from the next scrape and its slot is free again. */
  removeKey(keyId: number | string): void {
    const id = parseKeyId(keyId);
    if (id === undefined) {
      this.rejected[REJECT_KEY_ID]! += 1;
      return;
    }
    const slot = this.keySlots.get(id);
    if (slot === undefined) return;
    if (this.lastKeySlot === slot) {
      this.lastKeyId = undefined; // the slot is free now: the next use looks the id up (and is refused)
      this.lastKeySlot = -1;
    }
    this.keySlots.delete(id);
    this.keySlots.delete(String(id));
    this.keyIds[slot] = Number.NaN;
    this.keyUses[slot] = 0;
    this.keyCreatedAt[slot] = Number.NaN;
    this.freeSlots.push(slot);
  }

  /**
   * Counts one error swallowed by {@link safeCollector} (`mesh_metrics_errors_total{method}`).
   *
   * @example
   * ```ts
   * import { PrometheusCollector } from '@mesh/metrics';
   * new PrometheusCollector().recordCollectorError('recordOperation');
   * ```
   */
  recordCollectorError(method: CollectorMethod): void {
    const index = METHOD_INDEX.get(method);
    if (index === undefined) this.rejected[REJECT_LABEL]! += 1;
    else this.collectorErrors[index]! += 1;
  }

  /** Number of keys that currently have series. */
  get liveKeys(): number {
    return this.maxLiveKeys - this.freeSlots.length;
  }

  /**
   * Zeroes every total (counters, histograms, key uses). Live keys and their creation times stay.
   * `registry.resetMetrics()` does the same.
   */
  reset(): void {
    this.operations.fill(0);
    this.duration.reset();
    this.bytes.fill(0);
    this.failures.fill(0);
    this.compression.reset();
    this.compressionBytes.fill(0);
    this.rotations.fill(0);
    this.collectorErrors.fill(0);
    this.rejected.fill(0);
    this.keyUses.fill(0);
  }

  /** Removes this collector's metrics from its registry (e.g. before creating a replacement). */
  unregister(): void {
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  private admitKey(keyId: unknown): number {
    const id = parseKeyId(keyId);
    if (id === undefined) {
      this.rejected[REJECT_KEY_ID]! += 1;
      return -1;
    }
    // Another spelling of a live key ('0x..', leading zeros): use its slot without remembering the alias,
    // so the Map stays at two entries per live key.
    const live = this.keySlots.get(id);
    if (live !== undefined) return live;
    const slot = this.freeSlots.pop();
    if (slot === undefined) {
      this.rejected[REJECT_KEY_LIMIT]! += 1;
      return -1;
    }
    this.keyIds[slot] = id;
    this.keyUses[slot] = 0;
    this.keyCreatedAt[slot] = Number.NaN;
    this.keySlots.set(id, slot);
    this.keySlots.set(String(id), slot);
    return slot;
  }

  private createMetrics(p: string): Array<[name: string, metric: unknown]> {
    const reset = (): void => this.reset();
    const counter = <T extends string>(
      name: string,
      help: string,
      labelNames: readonly T[],
      publish: (c: PublishedCounter<T>) => void,
    ): PublishedCounter<T> => {
      const c: PublishedCounter<T> = new PublishedCounter<T>({
        name,
        help,
        labelNames,
        registers: [],
        collect: () => {
          c.clearSeries();
          publish(c);
        },
      });
      c.resetHook = reset;
      return c;
    };
    const fromList = <T extends string>(
      c: PublishedCounter<T>,
      label: T,
      values: readonly string[],
      totals: Float64Array,
    ) => {
      for (let i = 0; i < values.length; i++) c.inc({ [label]: values[i]! } as Record<T, string>, totals[i]!);
    };
    const keyLabels = (): Array<[number, string]> => {
      const live: Array<[number, string]> = [];
      for (let slot = 0; slot < this.maxLiveKeys; slot++) {
        const id = this.keyIds[slot]!;
        if (!Number.isNaN(id)) live.push([slot, String(id)]);
      }
      return live;
    };

    const operations = counter(
      `${p}crypto_operations_total`,
      HELP.operations,
      ['operation', 'algorithm', 'result'],
      (c) => {
        // Only combinations that happened: 10 x 6 x 2 zero series would bury the useful ones.
        for (let i = 0; i < this.operations.length; i++) {
          const value = this.operations[i]!;
          if (value === 0) continue;
          const pair = i >> 1;
          c.inc(
            {
              operation: OPERATION_VALUES[Math.floor(pair / N_ALGORITHMS)]!,
              algorithm: ALGORITHM_VALUES[pair % N_ALGORITHMS]!,
              result: OPERATION_RESULTS[i & 1]!,
            },
            value,
          );
        }
      },
    );
    const duration = new ScrapedHistogram(
      `${p}crypto_operation_duration_seconds`,
      HELP.duration,
      ['operation', 'algorithm'],
      this.duration,
      () => {
        const series: Array<[number, SeriesLabels]> = [];
        for (let pair = 0; pair < N_PAIRS; pair++) {
          if (this.duration.counts[pair] === 0) continue;
          series.push([
            pair,
            {
              operation: OPERATION_VALUES[Math.floor(pair / N_ALGORITHMS)]!,
              algorithm: ALGORITHM_VALUES[pair % N_ALGORITHMS]!,
            },
          ]);
        }
        return series;
      },
      reset,
    );
    const bytes = counter(`${p}crypto_bytes_total`, HELP.bytes, ['direction'], (c) =>
      fromList(c, 'direction', ['in', 'out'], this.bytes),
    );
    const failures = counter(`${p}crypto_failures_total`, HELP.failures, ['reason'], (c) =>
      fromList(c, 'reason', FAILURE_REASONS, this.failures),
    );
    const compression = new ScrapedHistogram(
      `${p}compression_ratio`,
      HELP.compressionRatio,
      [],
      this.compression,
      () => [[0, {}]],
      reset,
    );
    const compressionBytes = counter(`${p}compression_bytes_total`, HELP.compressionBytes, ['stage'], (c) =>
      fromList(c, 'stage', ['original', 'compressed'], this.compressionBytes),
    );
    const rotations = counter(`${p}key_rotations_total`, HELP.rotations, ['trigger'], (c) => {
      fromList(c, 'trigger', ROTATION_TRIGGERS, this.rotations);
      // The fallback series only once something needed it.
      const unknown = this.rotations[UNKNOWN_TRIGGER]!;
      if (unknown > 0) c.inc({ trigger: UNKNOWN_LABEL }, unknown);
    });
    const keyEncryptions = counter(`${p}key_encryptions_total`, HELP.keyEncryptions, ['key_id'], (c) => {
      for (const [slot, keyId] of keyLabels()) c.inc({ key_id: keyId }, this.keyUses[slot]!);
    });
    const keyAge: PublishedGauge<'key_id'> = new PublishedGauge<'key_id'>({
      name: `${p}key_age_seconds`,
      help: HELP.keyAge,
      labelNames: ['key_id'],
      registers: [],
      collect: () => {
        keyAge.clearSeries();
        let now: number | undefined;
        for (const [slot, keyId] of keyLabels()) {
          const createdAt = this.keyCreatedAt[slot]!;
          if (Number.isNaN(createdAt)) continue;
          now ??= this.clock();
          // A creation time ahead of this node's clock (skew between nodes) reads as age 0, not negative.
          keyAge.set({ key_id: keyId }, Math.max(0, (now - createdAt) / 1000));
        }
      },
    });
    const errors = counter(`${p}metrics_errors_total`, HELP.errors, ['method'], (c) =>
      fromList(c, 'method', COLLECTOR_METHODS, this.collectorErrors),
    );
    const rejected = counter(`${p}metrics_rejected_inputs_total`, HELP.rejected, ['kind'], (c) =>
      fromList(c, 'kind', REJECTED_INPUT_KINDS, this.rejected),
    );
    return [
      [`${p}crypto_operations_total`, operations],
      [`${p}crypto_operation_duration_seconds`, duration],
      [`${p}crypto_bytes_total`, bytes],
      [`${p}crypto_failures_total`, failures],
      [`${p}compression_ratio`, compression],
      [`${p}compression_bytes_total`, compressionBytes],
      [`${p}key_rotations_total`, rotations],
      [`${p}key_encryptions_total`, keyEncryptions],
      [`${p}key_age_seconds`, keyAge],
      [`${p}metrics_errors_total`, errors],
      [`${p}metrics_rejected_inputs_total`, rejected],
    ];
  }
}

/** A finite number >= 0 (rejects NaN, ±Infinity, negatives and non-numbers without coercion). */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value !== Number.POSITIVE_INFINITY;
}

function indexOf<T>(values: readonly T[]): ReadonlyMap<T, number> {
  return new Map(values.map((value, index) => [value, index]));
}

function checkBuckets(buckets: readonly number[], option: string): readonly number[] {
  needs(Array.isArray(buckets) && buckets.length >= 1 && buckets.length <= 64, `${option}: 1 to 64 bounds`);
  for (let i = 0; i < buckets.length; i++) {
    const bound = buckets[i];
    needs(
      typeof bound === 'number' &&
        Number.isFinite(bound) &&
        bound > 0 &&
        (i === 0 || bound > buckets[i - 1]!),
      `${option}: bounds must be finite, > 0 and strictly increasing`,
    );
  }
  return buckets;
}
