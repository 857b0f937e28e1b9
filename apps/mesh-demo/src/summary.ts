/** The live terminal line and the final summary: every number says what it counts. */
import type { NodeView, ServiceTotals } from './monitor.js';

/** Bytes as B, KiB or MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Milliseconds with a precision that suits their size. */
export function formatMs(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** Bytes saved by compression, over every node. */
export function bytesSaved(nodes: readonly NodeView[]): number {
  return nodes.reduce((s, n) => s + n.totals.compressionIn - n.totals.compressionOut, 0);
}

/** A plain text table with a header row, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The per-service table of the final summary. */
export function serviceTable(nodes: readonly NodeView[]): string {
  const header = [
    'service',
    'calls made',
    'calls failed',
    'peer down, re-routed',
    'requests answered',
    'encrypts',
    'decrypts',
    'crypto failures',
    'key version',
    'restarts',
  ];
  const rows = nodes.map((n) => {
    const t: ServiceTotals = n.totals;
    return [
      n.name,
      String(t.callsOk),
      String(t.callsFailed),
      String(t.peerUnavailable),
      String(t.served),
      String(t.encrypts),
      String(t.decrypts),
      String(t.cryptoFailures),
      n.keyVersion === null ? '-' : `v${n.keyVersion}`,
      String(n.restarts),
    ];
  });
  return table(header, rows);
}
