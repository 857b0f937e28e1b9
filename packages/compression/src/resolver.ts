/**
 * Per-service policies: one default plus overrides keyed by service or context name.
 *
 * Matching (simple on purpose, so a reader can predict it):
 * 1. no context (or `''`) gets the default;
 * 2. an override whose key equals the whole context wins (`'orders->payments'` matches only that route);
 * 3. otherwise, for a route `'source->target'`, an override keyed by the target after the last `'->'`
 *    (`'payments'`) applies: traffic *into* a service follows that service's policy;
 * 4. otherwise the default.
 * Keys match exactly (case-sensitive, no wildcards, no trimming).
 *
 * @module
 */
import { assertOptions, describe } from './_validate.js';
import { CompressionError, configError } from './errors.js';
import { type CompressionPolicy, DEFAULT_COMPRESSION_POLICY, validatePolicy } from './policy.js';

/** Configuration of {@link CompressionPolicyResolver}. */
export interface CompressionPolicyConfig {
  /** Completes {@link DEFAULT_COMPRESSION_POLICY}; the base of every override. */
  default?: Partial<CompressionPolicy>;
  /** Overrides by service name or full context, each completed from `default`. */
  services?: Readonly<Record<string, Partial<CompressionPolicy>>>;
}

/** Separator between source and target in a route context (`'orders->payments'`). */
export const CONTEXT_ROUTE_SEPARATOR = '->';

/**
 * Resolves the policy for a context. Every policy is validated once, in the constructor, and frozen.
 *
 * @throws `ERR_CONFIG_INVALID` from the constructor, naming the field (`services.payments.level`).
 * @example
 * ```ts
 * import { CompressionPolicyResolver } from '@mesh/compression';
 * const policies = new CompressionPolicyResolver({
 *   default: { thresholdBytes: 2048 },
 *   services: { payments: { enabled: false }, 'orders->audit': { level: 9 } },
 * });
 * policies.forContext('orders->payments').enabled; // false (target 'payments')
 * policies.forContext('orders->audit').level; // 9 (whole context)
 * policies.forContext('orders').thresholdBytes; // 2048 (default)
 * ```
 */
export class CompressionPolicyResolver {
  /** The completed default policy. */
  readonly default: Readonly<CompressionPolicy>;
  readonly #services = new Map<string, Readonly<CompressionPolicy>>();

  constructor(config: CompressionPolicyConfig = {}) {
    assertOptions(config, 'config', ['default', 'services']);
    this.default = validatePolicy(config.default ?? {}, 'default', DEFAULT_COMPRESSION_POLICY);
    const services = config.services ?? {};
    if (typeof services !== 'object' || services === null || Array.isArray(services)) {
      throw configError('services', `must be an object (got ${describe(services)})`);
    }
    for (const [name, override] of Object.entries(services)) {
      if (name.length === 0) throw configError('services', 'keys must be non-empty service or context names');
      this.#services.set(name, validatePolicy(override, `services.${name}`, this.default));
    }
  }

  /** The names that have an override, in configuration order. */
  get overrides(): readonly string[] {
    return [...this.#services.keys()];
  }

  /**
   * The policy for `context` (a service name or a `'source->target'` route), by the module's matching rules.
   *
   * @example
   * ```ts
   * new CompressionPolicyResolver({ services: { payments: { enabled: false } } })
   *   .forContext('checkout->payments').enabled; // false
   * ```
   */
  forContext(context?: string): Readonly<CompressionPolicy> {
    if (context === undefined || context === '') return this.default;
    if (typeof context !== 'string') {
      throw new CompressionError('ERR_INVALID_INPUT', `context must be a string (got ${describe(context)})`);
    }
    const exact = this.#services.get(context);
    if (exact) return exact;
    const at = context.lastIndexOf(CONTEXT_ROUTE_SEPARATOR);
    if (at >= 0) {
      const target = this.#services.get(context.slice(at + CONTEXT_ROUTE_SEPARATOR.length));
      if (target) return target;
    }
    return this.default;
  }
}
