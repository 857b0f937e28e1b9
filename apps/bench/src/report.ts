/**
 * The Markdown report of a run: targets, ratios (ours / each peer), absolute rates, and the extras. Every
 * figure is a median over rounds with its spread `[lowest-highest round]`.
 *
 * @module
 */
import { type BenchResults, ratios, sizeLabel, symmetricSummaries, targets } from './results.js';
import { ratioOf, type Summary, summarize } from './stats.js';
import { renderPadding } from './suites/padding.js';
import { IMPLEMENTATIONS, type ImplementationId } from './suites/symmetric.js';

const KiB = 1024;

function num(x: number, digits?: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const d = digits ?? (x >= 100 ? 0 : x >= 10 ? 1 : x >= 1 ? 2 : 3);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** `1.23x [1.10-1.31]` */
export function ratioText(s: Summary): string {
  return `${num(s.median, 2)}x [${num(s.min, 2)}-${num(s.max, 2)}]`;
}

function rateText(s: Summary | undefined, size: number): string {
  if (s === undefined) return 'absent';
  const mb = (s.median * size) / 1e6;
  const ops = s.median >= 1e4 ? `${num(s.median / 1e3, 0)}k` : num(s.median);
  return `${num(mb)} MB/s, ${ops}/s [${num((s.min * size) / 1e6)}-${num((s.max * size) / 1e6)}]`;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The whole report (Markdown). */
export function renderMarkdown(r: BenchResults): string {
  const sizes = r.plan.sizes;
  const parts: string[] = [];
  const v = r.versions;
  parts.push(
    `Run ${r.createdAt} (${r.mode}, ${num(r.durationSeconds / 60, 1)} min, \`${r.command}\`) on ${String(r.machine.cpuModel)} ` +
      `(${String(r.machine.cpus)} CPUs, load ${String(r.machine.loadavgStart)} at start). Node ${v.node} (OpenSSL ${v.nodeOpenssl}), ` +
      `${v.opensslCli ?? 'no openssl CLI'}, Python ${v.python ?? 'absent'} with cryptography ${v.cryptography ?? 'absent'} ` +
      `(${v.pythonOpenssl ?? '-'}). ${r.plan.rounds} interleaved rounds of ${r.plan.sliceMs} ms of CPU time per candidate; ` +
      'rates are per CPU second of the measuring process (Node, Python and openssl speed alike); every figure is the ' +
      'median round with [lowest-highest round]; ratios are medians of per-round ratios.',
  );

  parts.push('### Targets\n');
  parts.push(
    table(
      ['target', 'required', 'measured', 'met'],
      targets(r).map((t) => [
        t.name,
        t.required,
        t.measured ? ratioText(t.measured) : 'not measured',
        t.met === undefined ? '-' : t.met ? 'yes' : '**no**',
      ]),
    ),
  );

  parts.push('\n### Ratios, ours / peer (> 1: ours is faster)\n');
  const all = ratios(r);
  const keys = [...new Set(all.map((x) => `${x.label}|${x.op}`))];
  parts.push(
    table(
      ['comparison', 'op', ...sizes.map(sizeLabel)],
      keys.map((k) => {
        const [label, op] = k.split('|') as [string, string];
        return [
          label,
          op,
          ...sizes.map((size) => {
            const x = all.find((y) => y.label === label && y.op === op && y.size === size);
            return x ? ratioText(x.ratio) : '-';
          }),
        ];
      }),
    ),
  );

  parts.push('\n### Rates\n');
  const sums = symmetricSummaries(r);
  const ids = new Set<string>();
  for (const size of sizes) for (const id of Object.keys(sums[String(size)] ?? {})) ids.add(id);
  const ordered = Object.keys(IMPLEMENTATIONS).flatMap((impl) =>
    ['encrypt', 'decrypt'].map((op) => `${impl}:${op}`).filter((id) => ids.has(id)),
  );
  parts.push(
    table(
      ['implementation', 'op', ...sizes.map(sizeLabel)],
      ordered.map((id) => {
        const [impl, op] = id.split(':') as [ImplementationId, string];
        return [IMPLEMENTATIONS[impl], op, ...sizes.map((s) => rateText(sums[String(s)]?.[id], s))];
      }),
    ),
  );

  if (r.compression.length > 0) {
    parts.push('\n### Compression (deflate level 6, MB/s of uncompressed bytes)\n');
    parts.push(
      table(
        [
          'payload',
          'ratio',
          'node:zlib deflate',
          'pako deflate',
          'node:zlib inflate',
          'pako inflate',
          'node:zlib / pako (deflate, inflate)',
        ],
        r.compression.map((c) => {
          const s = (id: string) => summarize(c.rounds[id] ?? []);
          const mb = (id: string) =>
            `${num((s(id).median * c.bytes) / 1e6)} [${num((s(id).min * c.bytes) / 1e6)}-${num((s(id).max * c.bytes) / 1e6)}]`;
          const rr = (a: string, b: string) => num(ratioOf(c.rounds[a] ?? [], c.rounds[b] ?? []).median, 2);
          return [
            c.payload,
            `${num(c.ratio, 2)}x`,
            mb('node-zlib:deflate'),
            mb('pako:deflate'),
            mb('node-zlib:inflate'),
            mb('pako:inflate'),
            `${rr('node-zlib:deflate', 'pako:deflate')}x, ${rr('node-zlib:inflate', 'pako:inflate')}x`,
          ];
        }),
      ),
    );
  }

  if (Object.keys(r.metrics).length > 0) {
    parts.push('\n### Metrics overhead at 1 KiB (facade, ratio to the no-op collector)\n');
    const rows: string[][] = [];
    for (const op of ['encrypt', 'decrypt']) {
      const noop = r.metrics[`noop:${op}`] ?? [];
      for (const c of ['default', 'prometheus']) {
        const s = r.metrics[`${c}:${op}`] ?? [];
        rows.push([
          c === 'default' ? 'no collector given' : 'PrometheusCollector',
          op,
          rateText(summarize(s), KiB),
          ratioText(ratioOf(s, noop)),
        ]);
      }
    }
    parts.push(table(['collector', 'op', 'rate', 'ratio to NoopCollector'], rows));
  }

  if (r.streaming) {
    const s = r.streaming;
    parts.push('\n### Streaming\n');
    parts.push(
      table(
        ['measure', 'value'],
        [
          [
            `one stream of ${num(s.totalBytes / (1024 * 1024 * 1024), 2)} GiB, encrypt (wall-clock)`,
            `${num(s.oneStream.mbPerSecond)} MB/s (${num(s.oneStream.seconds, 2)} s)`,
          ],
          [
            'peak RSS growth during it (over the RSS after warm-up and a full GC)',
            `${num(s.peakRssGrowthBytes / (1024 * 1024), 1)} MiB (${num(s.rssBaselineBytes / (1024 * 1024), 0)} -> ${num(s.peakRssBytes / (1024 * 1024), 0)} MiB)`,
          ],
          [
            'stream encrypt, 32 MiB slices (CPU time)',
            `${num(summarize(s.slices.stream).median)} MB/s [${num(summarize(s.slices.stream).min)}-${num(summarize(s.slices.stream).max)}]`,
          ],
          [
            'in-memory encrypt of 1 MiB messages, same slices',
            `${num(summarize(s.slices.inMemory).median)} MB/s [${num(summarize(s.slices.inMemory).min)}-${num(summarize(s.slices.inMemory).max)}]`,
          ],
          ['stream / in-memory', ratioText(ratioOf(s.slices.stream, s.slices.inMemory))],
        ],
      ),
    );
  }

  if (r.kdf || r.rsa) {
    parts.push('\n### Key derivation and RSA\n');
    const rows: string[][] = [];
    if (r.kdf) {
      const p = summarize(r.kdf.pbkdf2Seconds);
      const h = summarize(r.kdf.cacheHitMicroseconds);
      rows.push([
        `PBKDF2-HMAC-SHA256, ${num(r.kdf.iterations, 0)} iterations (CPU time)`,
        `${num(p.median, 3)} s [${num(p.min, 3)}-${num(p.max, 3)}]`,
      ]);
      rows.push(['PasswordKeyCache hit', `${num(h.median, 2)} µs [${num(h.min, 2)}-${num(h.max, 2)}]`]);
    }
    if (r.rsa) {
      for (const [bits, secs] of Object.entries(r.rsa.keygenSeconds)) {
        const s = summarize(secs);
        rows.push([
          `RSA key generation ${bits} (CPU time)`,
          `${num(s.median, 3)} s [${num(s.min, 3)}-${num(s.max, 3)}]`,
        ]);
      }
      for (const [id, rounds] of Object.entries(r.rsa.oaep)) {
        const [bits, op] = id.split(':');
        const s = summarize(rounds);
        rows.push([
          `RSA-OAEP-SHA256 ${bits} ${op} (32 bytes)`,
          `${num(s.median, 0)}/s [${num(s.min, 0)}-${num(s.max, 0)}]`,
        ]);
      }
    }
    parts.push(table(['work', 'median [spread]'], rows));
  }

  if (r.etcd && r.etcd.runs.length > 0) {
    parts.push(
      `\n### etcd rotation propagation (staged keyring write -> every node acked, ms; etcd ${r.etcd.etcdVersion}, load ${r.etcd.loadavgStart} at start)\n`,
    );
    parts.push(
      table(
        ['nodes', 'etcd data dir', 'rotations', 'p50', 'p99', 'max', 'leader-measured p50', 'p99 < 200 ms'],
        r.etcd.runs.map((x) => [
          String(x.nodes),
          x.storage === 'tmpfs' ? 'tmpfs (/dev/shm)' : 'disk (OS temp dir)',
          String(x.samplesMs.length),
          num(x.p50, 1),
          num(x.p99, 1),
          num(x.max, 1),
          num(x.leaderP50, 1),
          x.p99 < 200 ? 'yes' : '**no**',
        ]),
      ),
    );
    parts.push(
      '\nEach node is its own Node process (createEncryption + RotationCoordinator) on one local etcd; times ' +
        "from etcd's watch stream in one process's clock, wall-clock (what a fleet waits), every rotation in latest.json.",
    );
  }

  if (r.padding) parts.push(renderPadding(r.padding));

  const absent = Object.entries(r.absent);
  if (absent.length > 0) {
    parts.push('\n### Not measured in this run\n');
    parts.push(absent.map(([k, why]) => `- ${k}: ${why}`).join('\n'));
  }
  return `${parts.join('\n')}\n`;
}
