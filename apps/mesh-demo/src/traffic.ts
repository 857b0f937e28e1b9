/**
 * The traffic driver: sends requests at a steady rate (open loop, capped in flight), each asking one live
 * service to call another. A request that meets a service we killed (its process is gone) is sent again on
 * another route, as a mesh's retry on connect-failure to another host does; any other error is a failure.
 */
import type { Fleet } from './fleet.js';
import { PEER_UNAVAILABLE } from './protocol.js';

/** Counts of the driver, per origin service and in total. */
export interface TrafficCounts {
  /** Requests the driver sent (a retried request counts once). */
  requests: number;
  succeeded: number;
  failed: number;
  /** Attempts that met a killed service and were sent again on another route. */
  retried: number;
  /** Request bodies (orders) the services sealed, in bytes before compression. */
  orderBytes: number;
}

const ATTEMPTS = 4;
const TICK_MS = 10;

function isConnectionError(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code ?? '';
  return /ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED/.test(code);
}

/** Drives traffic through the fleet and measures every request end to end. */
export class TrafficDriver {
  readonly total: TrafficCounts = { requests: 0, succeeded: 0, failed: 0, retried: 0, orderBytes: 0 };
  /** Succeeded requests by the service that made the call. */
  readonly byOrigin = new Map<string, { succeeded: number; failed: number }>();
  /** Failure reasons and how often each occurred. */
  readonly failures = new Map<string, number>();
  /** Latency of every succeeded request in ms (driver -> caller -> callee -> caller -> driver). */
  readonly latencies: number[] = [];
  /** Latencies since the last `takeWindow()`. */
  private window: number[] = [];
  private inFlight = 0;
  private next = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly rate: number,
    private readonly concurrency: number,
  ) {
    for (const n of fleet.nodes) this.byOrigin.set(n.name, { succeeded: 0, failed: 0 });
  }

  /** Latencies (ms) of the requests that succeeded since the previous call. */
  takeWindow(): number[] {
    const w = this.window;
    this.window = [];
    return w;
  }

  /** Sends traffic until `deadline()` (ms since epoch; it may move earlier), then waits for those in flight. */
  async run(deadline: () => number): Promise<void> {
    let tokens = 0;
    let last = performance.now();
    const pending = new Set<Promise<void>>();
    while (Date.now() < deadline()) {
      const now = performance.now();
      tokens = Math.min(tokens + ((now - last) / 1000) * this.rate, this.concurrency);
      last = now;
      while (tokens >= 1 && this.inFlight < this.concurrency) {
        tokens--;
        const p = this.request().finally(() => pending.delete(p));
        pending.add(p);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await Promise.all(pending);
  }

  private route(): { from: string; to: string } | undefined {
    const live = this.fleet.live();
    if (live.length < 2) return undefined;
    const i = this.next++;
    const from = live[i % live.length]!;
    const others = live.filter((n) => n !== from);
    return { from, to: others[Math.floor(i / live.length) % others.length]! };
  }

  private async request(): Promise<void> {
    this.inFlight++;
    this.total.requests++;
    const started = performance.now();
    let lastError = 'no two services up';
    let origin: string | undefined;
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const route = this.route();
        if (!route) break;
        origin = route.from;
        const fromNode = this.fleet.node(route.from);
        try {
          const response = await fetch(`http://127.0.0.1:${fromNode.port}/call?to=${route.to}`, {
            method: 'POST',
          });
          const text = await response.text();
          if (response.ok) {
            const ms = performance.now() - started;
            this.latencies.push(ms);
            this.window.push(ms);
            this.total.succeeded++;
            this.total.orderBytes += (JSON.parse(text) as { bytes: number }).bytes;
            this.byOrigin.get(route.from)!.succeeded++;
            return;
          }
          lastError = `${route.from}->${route.to}: HTTP ${response.status} ${text}`;
          // The callee is down (we killed it): route again. Any other answer is a failure.
          if (!(text.startsWith(PEER_UNAVAILABLE) && this.fleet.node(route.to).status !== 'up')) break;
        } catch (error) {
          lastError = `${route.from}: ${(error as Error).message}`;
          // The caller itself is down (we killed it): route again.
          if (!(isConnectionError(error) && fromNode.status !== 'up')) break;
        }
        this.total.retried++;
      }
      this.total.failed++;
      if (origin) this.byOrigin.get(origin)!.failed++;
      this.failures.set(lastError, (this.failures.get(lastError) ?? 0) + 1);
    } finally {
      this.inFlight--;
    }
  }
}
