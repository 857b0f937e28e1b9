/**
 * How this package talks to etcd: one `etcd3` client per process, configured so that no call can hang and
 * the client survives etcd restarts quickly. Everything an operator may need (endpoints, TLS client
 * certificates, user/password auth) passes straight through to `etcd3`.
 *
 * @module
 */
import { KeyError, KeyStoreError } from '@mesh/keys';
import { ExponentialBackoff, noop } from 'cockatiel';
import { Etcd3, GRPCUnavailableError, type IOptions } from 'etcd3';

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** TLS material for `https://` endpoints (PEM buffers, as `etcd3`/gRPC take them). */
export interface EtcdTlsOptions {
  /** CA certificate(s) that signed the etcd server certificate. */
  rootCertificate: Buffer;
  /** Client private key, for etcd's `--client-cert-auth`. */
  privateKey?: Buffer;
  /** Client certificate chain matching `privateKey`. */
  certChain?: Buffer;
}

/** Connection settings shared by the key store and the fleet building blocks. */
export interface EtcdConnectionOptions {
  /**
   * etcd client URLs, e.g. `'http://127.0.0.1:2379'` or several `https://` URLs of one cluster (all of one
   * scheme). Default `'http://127.0.0.1:2379'`.
   */
  endpoints?: string | string[];
  /** TLS (server verification and optional client certificate). Use with `https://` endpoints. */
  tls?: EtcdTlsOptions;
  /** etcd user/password authentication (etcd `auth enable`). */
  auth?: { username: string; password: string };
  /**
   * Upper bound of every unary call (read, write, txn, lease grant), ms; default 5,000. A call that takes
   * longer fails with `ERR_KEYSTORE_UNAVAILABLE` instead of hanging.
   */
  callTimeoutMs?: number;
  /**
   * gRPC keepalive ping interval, ms; default 10,000, at least 10,000 (etcd answers pings more often than
   * every 5 s with `too_many_pings` and drops the connection). Detects a silently cut connection.
   */
  keepaliveMs?: number;
  /** How long a keepalive ping may go unanswered before the connection is dropped, ms; default 5,000. */
  keepaliveTimeoutMs?: number;
  /** Extra `etcd3` options merged last (advanced; the settings above are derived from the fields above). */
  clientOptions?: Partial<IOptions>;
}

/** Defaults of {@link EtcdConnectionOptions}. */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** etcd's server-side minimum ping interval is 5 s; stay at twice that. */
export const MIN_KEEPALIVE_MS = 10_000;

/** Validated connection settings. */
export interface ResolvedConnection {
  readonly callTimeoutMs: number;
  readonly options: IOptions;
}

function positiveInt(value: number | undefined, fallback: number, what: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new KeyStoreError('ERR_CONFIG_INVALID', `${what} must be an integer >= ${min}`);
  }
  return v;
}

/** Builds the `etcd3` options: deadlines on unary calls, keepalive, no client-side retry or breaker. */
export function resolveConnection(options: EtcdConnectionOptions = {}): ResolvedConnection {
  const callTimeoutMs = positiveInt(options.callTimeoutMs, DEFAULT_CALL_TIMEOUT_MS, 'callTimeoutMs');
  const keepaliveMs = positiveInt(options.keepaliveMs, DEFAULT_KEEPALIVE_MS, 'keepaliveMs', MIN_KEEPALIVE_MS);
  const keepaliveTimeoutMs = positiveInt(options.keepaliveTimeoutMs, 5_000, 'keepaliveTimeoutMs');
  const endpoints = options.endpoints ?? 'http://127.0.0.1:2379';
  const list = typeof endpoints === 'string' ? [endpoints] : endpoints;
  if (list.length === 0 || list.some((e) => typeof e !== 'string' || !/^https?:\/\/[^/]+\/?$/.test(e))) {
    throw new KeyStoreError('ERR_CONFIG_INVALID', 'endpoints must be http:// or https:// URLs (host:port)');
  }
  const ioptions: IOptions = {
    hosts: list.map((e) => e.replace(/\/$/, '')),
    dialTimeout: callTimeoutMs,
    grpcOptions: {
      'grpc.keepalive_time_ms': keepaliveMs,
      'grpc.keepalive_timeout_ms': keepaliveTimeoutMs,
      // No pings on an idle connection: etcd counts those as strikes (PermitWithoutStream is false).
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
    },
    // Every unary call carries a gRPC deadline, so a frozen or black-holed etcd cannot hold a call open.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    // The callers decide about retries; etcd3's default circuit breaker would refuse calls for 5 s after etcd
    // came back, and its 30 s watch backoff would delay the resync after an outage.
    faultHandling: {
      host: () => noop,
      global: noop,
      // etcd3 types this as a backoff but calls `.next()` on it first, i.e. it wants the factory.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) as unknown as WatchBackoff,
    },
    ...(options.tls && { credentials: { ...options.tls } }),
    ...(options.auth && { auth: { username: options.auth.username, password: options.auth.password } }),
    ...options.clientOptions,
  };
  return { callTimeoutMs, options: ioptions };
}

/** A new `etcd3` client for `options`. */
export function createEtcdClient(options: EtcdConnectionOptions = {}): {
  client: Etcd3;
  callTimeoutMs: number;
} {
  const resolved = resolveConnection(options);
  return { client: new Etcd3(resolved.options), callTimeoutMs: resolved.callTimeoutMs };
}

/**
 * Runs `call` with an upper bound: rejects with `ERR_KEYSTORE_UNAVAILABLE` after `ms` (the gRPC deadline
 * normally fires first; this bound also covers waiting for a connection or an auth token). While the
 * channel is (re)connecting gRPC fails calls fast with UNAVAILABLE ("No connection established"): those are
 * retried with a short backoff inside the same bound, so a call right after etcd came back does not fail
 * for nothing. (A compare-and-swap retried after an ambiguous failure is still safe: it compares the same
 * mod revision, so it cannot apply twice.) Errors that are not ours become `ERR_KEYSTORE_UNAVAILABLE` with
 * the original as `cause`.
 */
export async function bounded<T>(ms: number, what: string, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `etcd did not answer ${what} within ${ms} ms`));
    }, ms);
  });
  const attempt = async (): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await call();
      } catch (e) {
        if (expired || !(e instanceof GRPCUnavailableError)) throw e;
        await new Promise((r) => setTimeout(r, Math.min(200, 25 * 2 ** i)));
        if (expired) throw e;
      }
    }
  };
  try {
    return await Promise.race([attempt(), timeout]);
  } catch (e) {
    if (e instanceof KeyStoreError || e instanceof KeyError) throw e;
    throw new KeyStoreError('ERR_KEYSTORE_UNAVAILABLE', `etcd ${what} failed: ${errorText(e)}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

/** A short description of a client error for messages (no values, only the error's own text). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 200) : String(e).slice(0, 200);
}
