/**
 * A strict parser for the Prometheus text exposition format 0.0.4, enough to assert on what a real scraper
 * would read: HELP/TYPE lines per family and samples with their labels. Throws on any line it does not
 * understand, so a malformed exposition fails the test instead of being skipped.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
  lines: string[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

export function parseExposition(text: string): Exposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (const line of lines) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [, name, doc] = /^# HELP (\S+) (.*)$/.exec(line) ?? [];
      if (!name || doc === undefined) throw new Error(`bad HELP line: ${line}`);
      if (help.has(name)) throw new Error(`duplicate HELP for ${name}`);
      help.set(name, doc);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name, kind] = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line) ?? [];
      if (!name || !kind) throw new Error(`bad TYPE line: ${line}`);
      if (type.has(name)) throw new Error(`duplicate TYPE for ${name}`);
      type.set(name, kind);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`bad labels: ${body}`);
      if (l[1]! in labels) throw new Error(`duplicate label ${l[1]} in ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === 'Nan' ? Number.NaN : Number(raw);
    if (raw !== 'Nan' && Number.isNaN(value)) throw new Error(`bad value in ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { help, type, samples, lines };
}

/** The samples of one series name whose labels include `match`. */
export function find(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of exactly one sample; throws when there is none or several. */
export function value(e: Exposition, name: string, match: Record<string, string> = {}): number {
  const found = find(e, name, match);
  if (found.length !== 1) throw new Error(`${found.length} samples for ${name} ${JSON.stringify(match)}`);
  return found[0]!.value;
}
