/**
 * Fenced code blocks of the repository's Markdown, and the conventions that say which of them run.
 *
 * A block's info string is its language, then optional words (documented in docs/RELEASING.md, "README
 * examples"):
 * - ```` ```ts ````, ```` ```js ````: an example; it runs and must print (each `// prints: text` comment's
 *   text must appear in what it printed);
 * - ```` ```js commonjs ````: the same, run as a CommonJS file (`require`);
 * - ```` ```sh ````: commands that run (in a README of a public package: in the consumer project);
 * - ```` ```ts needs-etcd ```` (any language): runs with an etcd started for it, its client URL in
 *   `MESH_ETCD_ENDPOINTS`;
 * - ```` ```ts fragment ````: a signature listing or a piece of a larger program; never run;
 * - ```` ```sh no-run ````: commands for this repository's contributors (tests, benchmarks, the demo) or that
 *   need a registry's URL; never run, but every `pnpm` command in them must exist (docs test).
 * - ```` ```sh tested-by=test/readme.test.ts ```` (any language): run by the suite of the package the README
 *   belongs to, by that test file (relative to the README's folder), so not here; the README examples test
 *   checks that the file is a test of that package's `test` script and reads the README.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Languages whose blocks are examples (run or marked not to). */
export const EXAMPLE_LANGUAGES: ReadonlySet<string> = new Set([
  'ts',
  'typescript',
  'js',
  'javascript',
  'sh',
  'bash',
  'shell',
]);
/** The words a block may carry after its language. */
export const BLOCK_FLAGS: ReadonlySet<string> = new Set(['fragment', 'no-run', 'commonjs', 'needs-etcd']);

/** `tested-by=<test file>`: the block is run by its own package's suite (see {@link testedBy}). */
const TESTED_BY = /^tested-by=(.+)$/;

/** Whether `flag` is one of the words a block may carry (the fixed ones, or `tested-by=<file>`). */
export function isBlockFlag(flag: string): boolean {
  return BLOCK_FLAGS.has(flag) || TESTED_BY.test(flag);
}

/** The test file (relative to the README's folder) that runs this block in its package's suite, if any. */
export function testedBy(block: CodeBlock): string | undefined {
  for (const flag of block.flags) {
    const m = TESTED_BY.exec(flag);
    if (m) return m[1];
  }
  return undefined;
}

/** One fenced block. */
export interface CodeBlock {
  /** Repository-relative path of the Markdown file. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly flags: readonly string[];
  readonly code: string;
  /** The nearest heading above the block. */
  readonly heading: string;
}

/** Whether the block is run by the README tests (not marked fragment, no-run or tested-by=...). */
export function isRunnable(block: CodeBlock): boolean {
  return (
    EXAMPLE_LANGUAGES.has(block.lang) &&
    !block.flags.includes('fragment') &&
    !block.flags.includes('no-run') &&
    testedBy(block) === undefined
  );
}

/** `ts`, `js` or `sh`, whatever spelling the block used. */
export function kindOf(block: CodeBlock): 'ts' | 'js' | 'sh' | 'other' {
  if (block.lang === 'ts' || block.lang === 'typescript') return 'ts';
  if (block.lang === 'js' || block.lang === 'javascript') return 'js';
  if (block.lang === 'sh' || block.lang === 'bash' || block.lang === 'shell') return 'sh';
  return 'other';
}

/** Every fenced block of one Markdown text. */
export function extractBlocks(file: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) heading = h[1]!.trim();
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(line);
    if (!open) continue;
    const fence = open[2]!;
    const [lang = '', ...flags] = open[3]!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trim().startsWith(fence)) body.push(lines[j++]!);
    blocks.push({
      file,
      line: i + 1,
      lang: lang.toLowerCase(),
      flags,
      code: `${body.join('\n')}\n`,
      heading,
    });
    i = j;
  }
  return blocks;
}

/** The texts a block says it prints: each `// prints: text` (or `# prints: text` in sh). */
export function expectedOutputs(block: CodeBlock): string[] {
  const out: string[] = [];
  for (const m of block.code.matchAll(/(?:\/\/|#)\s*prints:\s*(.+?)\s*$/gm)) out.push(m[1]!);
  return out;
}

/** Repository-relative paths of every Markdown file git knows of or would add (tracked or untracked). */
export function markdownFiles(root: string): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.md'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '' && !f.split('/').includes('node_modules'))
    .filter((f, i, all) => all.indexOf(f) === i)
    .sort();
}

/** Every README.md of the repository. */
export function readmeFiles(root: string): string[] {
  return markdownFiles(root).filter((f) => /(^|\/)README\.md$/.test(f) && !f.includes('/data/'));
}

/** The blocks of one repository file. */
export function blocksOf(root: string, file: string): CodeBlock[] {
  return extractBlocks(file, readFileSync(join(root, file), 'utf8'));
}
