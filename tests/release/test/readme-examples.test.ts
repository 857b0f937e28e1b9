/**
 * Every README example runs as written. The blocks of public packages' READMEs run in a consumer project
 * (install-alone.test.ts); the rest (the root, apps, private packages) run here, in their README's own
 * folder, so they import what that folder's package.json provides. Blocks marked `fragment` or `no-run`
 * are left out, and listed; blocks marked `tested-by=<file>` are run by their own package's suite (an app
 * whose README test needs its built binary on PATH, e.g. apps/cli), and that suite must exist and read the
 * README.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, describe, expect, it } from 'vitest';
import { listPublicPackages, listWorkspacePackages, repoRoot } from '../../../scripts/release/workspace.js';
import { consumerEnv } from './helpers/consumer.js';
import {
  blocksOf,
  type CodeBlock,
  EXAMPLE_LANGUAGES,
  expectedOutputs,
  isBlockFlag,
  isRunnable,
  kindOf,
  readmeFiles,
  testedBy,
} from './helpers/markdown.js';
import { describeRun, runBlock } from './helpers/run-block.js';

const readmes = readmeFiles(repoRoot);
const publicReadmes = new Set(listPublicPackages().map((p) => `${p.relDir}/README.md`));
const all: CodeBlock[] = readmes.flatMap((f) => blocksOf(repoRoot, f));
const etcds: EtcdProcess[] = [];
afterAll(async () => {
  for (const e of etcds) await e.stop();
});

describe('README code blocks', () => {
  it('finds the READMEs of the root and of every workspace package', () => {
    expect(readmes).toContain('README.md');
    for (const readme of publicReadmes) expect(readmes).toContain(readme);
  });

  it('every block has a language, and only the documented words after it', () => {
    const bad = all.filter((b) => b.lang === '' || b.flags.some((f) => !isBlockFlag(f)));
    expect(bad.map((b) => `${b.file}:${b.line} \`\`\`${b.lang} ${b.flags.join(' ')}`)).toEqual([]);
  });

  it('lists the blocks that do not run here (each marked fragment, no-run or tested-by=...)', () => {
    const skipped = all.filter((b) => EXAMPLE_LANGUAGES.has(b.lang) && !isRunnable(b));
    console.log(
      `${all.filter(isRunnable).length} README blocks run; ${skipped.length} marked not to run here:\n` +
        skipped.map((b) => `  ${b.file}:${b.line} ${b.lang} ${b.flags.join(' ')} (${b.heading})`).join('\n'),
    );
    for (const b of skipped) {
      expect(
        b.flags.some((f) => f === 'fragment' || f === 'no-run') || testedBy(b) !== undefined,
        `${b.file}:${b.line}`,
      ).toBe(true);
    }
  });

  const delegated = all.filter((b) => EXAMPLE_LANGUAGES.has(b.lang) && testedBy(b) !== undefined);
  it.each(delegated.map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s is run by its own package suite: the tested-by file is a test of that package and reads the README',
    (_, block) => {
      const folder = dirname(block.file);
      const file = testedBy(block)!;
      const pkg = listWorkspacePackages().find((p) => p.relDir === folder);
      expect(pkg, `${block.file}: tested-by needs the README of a workspace package`).toBeDefined();
      expect(pkg!.manifest.scripts?.test, `${pkg!.name} has a test script`).toBeDefined();
      const path = normalize(join(folder, file));
      expect(path.startsWith(`${folder}/`), `${file} lies inside ${folder}`).toBe(true);
      expect(existsSync(join(repoRoot, path)), `${path} exists`).toBe(true);
      expect(normalize(file), 'a vitest test file (test/**/*.test.ts)').toMatch(
        /^test\/(.+\/)?[^/]+\.test\.ts$/,
      );
      const source = readFileSync(join(repoRoot, path), 'utf8');
      expect(source, `${path} reads the README`).toContain('README.md');
      expect(source, `${path} runs the blocks marked tested-by=${file}`).toContain('tested-by=');
    },
  );

  const inRepo = all.filter((b) => isRunnable(b) && !publicReadmes.has(b.file));
  it.each(inRepo.map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s runs and prints what it shows',
    async (_, block) => {
      const env: Record<string, string> = {};
      if (block.flags.includes('needs-etcd')) {
        const etcd = await EtcdProcess.start({ name: 'mesh-readme' });
        etcds.push(etcd);
        env.MESH_ETCD_ENDPOINTS = etcd.endpoint;
      }
      const cwd = join(repoRoot, dirname(block.file));
      const run = await runBlock(block, cwd, consumerEnv(env), block.line);
      expect(run.code, describeRun(block, run)).toBe(0);
      if (kindOf(block) !== 'sh')
        expect(run.stdout.trim(), `${block.file}:${block.line} prints nothing`).not.toBe('');
      for (const text of expectedOutputs(block)) expect(run.stdout).toContain(text);
    },
  );
});
