/**
 * Documentation that stands alone and names only what exists. Checked in every Markdown file of the
 * repository (READMEs, docs/, changesets; third-party vector READMEs under data/ excepted):
 * - every `@mesh/...` package name is a workspace package;
 * - every relative link, and every repository path in inline code (`packages/keys/src/policy.ts`), exists;
 * - every `pnpm <script>` and `pnpm --filter <package> <script>` command names a script that exists;
 * - every dependency named on a "Depends on" line is declared by some package.json or is a Node builtin;
 * and in every tracked file: no reference to a design document outside the repository.
 *
 * What "exists" means is read from the workspace on each run; names of work in progress on other branches
 * are accepted from planned.json while missing, so the check passes before and after they land.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listWorkspacePackages, repoRoot } from '../../../scripts/release/workspace.js';
import { markdownFiles } from './helpers/markdown.js';

const workspace = listWorkspacePackages();
const names = new Set(workspace.map((p) => p.name));
const planned = new Set(
  Object.keys(
    (JSON.parse(readFileSync(join(repoRoot, 'tests/release/planned.json'), 'utf8')) as { names: object })
      .names,
  ),
);
const rootScripts = new Set(
  Object.keys(
    (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: object }).scripts,
  ),
);
const declaredDeps = new Set<string>();
for (const manifestPath of [
  join(repoRoot, 'package.json'),
  ...workspace.map((p) => join(p.dir, 'package.json')),
]) {
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const d of Object.keys((m[field] as Record<string, string> | undefined) ?? {})) declaredDeps.add(d);
  }
}
/** pnpm's own commands (not scripts). */
const PNPM_COMMANDS = new Set([
  'add',
  'audit',
  'bin',
  'config',
  'create',
  'dedupe',
  'deploy',
  'dlx',
  'env',
  'exec',
  'fetch',
  'i',
  'import',
  'init',
  'install',
  'licenses',
  'link',
  'list',
  'ls',
  'outdated',
  'pack',
  'patch',
  'prune',
  'publish',
  'rebuild',
  'remove',
  'root',
  'run',
  'setup',
  'store',
  'unlink',
  'update',
  'up',
  'why',
]);

/** pnpm's own commands that win over a script of the same name (`pnpm docs` opens a homepage). */
const SHADOWED = new Set(['docs', 'home', 'help', 'version']);

const files = markdownFiles(repoRoot).filter((f) => !f.includes('/data/') && existsSync(join(repoRoot, f)));
const texts = files.map((file) => ({ file, text: readFileSync(join(repoRoot, file), 'utf8') }));

/** Code a reader would type: fenced block lines and inline code spans. */
function codeOf(text: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) out.push(line);
    else for (const m of line.matchAll(/`([^`]+)`/g)) out.push(m[1]!);
  }
  return out;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

describe('documentation names only what exists', () => {
  it(`reads ${files.length} Markdown files`, () => {
    expect(files).toContain('README.md');
    expect(files).toContain('docs/DESIGN.md');
    for (const name of planned) {
      const exists = names.has(name) || existsSync(join(repoRoot, name));
      if (exists) console.log(`planned.json: ${name} exists now; remove it from the list`);
    }
  });

  it('every @mesh package name is a workspace package', () => {
    const bad: string[] = [];
    for (const { file, text } of texts) {
      for (const m of text.matchAll(/@mesh\/[a-z0-9][a-z0-9-]*/g)) {
        if (!names.has(m[0]) && !planned.has(m[0])) bad.push(`${file}:${lineOf(text, m.index)} ${m[0]}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('every relative link and every repository path in code exists', () => {
    const bad: string[] = [];
    for (const { file, text } of texts) {
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const path = normalize(join(dirname(file), decodeURIComponent(target)));
        if (!existsSync(join(repoRoot, path)) && !planned.has(path.replace(/\/$/, ''))) {
          bad.push(`${file}:${lineOf(text, m.index)} link ${m[1]}`);
        }
      }
      for (const code of codeOf(text)) {
        for (const m of code.matchAll(
          /(?<![\w./-])((?:apps|packages|docs|scripts|tests|\.ci|\.changeset)\/[\w./-]*)/g,
        )) {
          const path = m[1]!.replace(/[.:]+$/, '').replace(/\/$/, '');
          if (path.includes('*')) continue;
          const top = path.split('/').slice(0, 2).join('/');
          if (!existsSync(join(repoRoot, path)) && !planned.has(path) && !planned.has(top)) {
            bad.push(`${file}: path ${path}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('every pnpm command names a script that exists', () => {
    const bad: string[] = [];
    let checked = 0;
    for (const { file, text } of texts) {
      for (const code of codeOf(text)) {
        for (const m of code.matchAll(/(?:^|[\s;&|(])pnpm((?:\s+[^\s;&|)#]+)+)/g)) {
          const words = m[1]!.trim().split(/\s+/);
          let target: string | undefined;
          while (words[0]?.startsWith('-')) {
            const flag = words.shift()!;
            if (flag === '--filter' || flag === '-F') target = words.shift();
            else if (flag.startsWith('--filter=')) target = flag.slice('--filter='.length);
          }
          let command = words[0];
          if (command === 'run') command = words[1];
          if (command === undefined || command.startsWith('<') || command.startsWith('@')) continue;
          checked++;
          if (target !== undefined) {
            const pkg = workspace.find((p) => p.name === target || p.relDir === target);
            if (!pkg) {
              if (!planned.has(target)) bad.push(`${file}: pnpm --filter ${target}: no such package`);
            } else if (!PNPM_COMMANDS.has(command) && !(command in (pkg.manifest.scripts ?? {}))) {
              bad.push(`${file}: pnpm --filter ${target} ${command}: no such script`);
            }
          } else if (SHADOWED.has(command) && words[0] !== 'run') {
            bad.push(
              `${file}: pnpm ${command} runs pnpm's own command, not the script: write pnpm run ${command}`,
            );
          } else if (!PNPM_COMMANDS.has(command) && !rootScripts.has(command)) {
            bad.push(`${file}: pnpm ${command}: no such root script`);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(bad).toEqual([]);
  });

  it('every dependency a "Depends on" line names is declared somewhere', () => {
    const bad: string[] = [];
    for (const { file, text } of texts) {
      // A "**Depends on:**" item runs until the next list item or blank line.
      for (const m of text.matchAll(/\*\*depends on:?\*\*[^\n]*(?:\n(?![-*] |\n)[^\n]*)*/gi)) {
        for (const dep of m[0].matchAll(/`([@a-z][\w./-]*)`/g)) {
          const name = dep[1]!;
          if (name.startsWith('@mesh/') || !/^(@[a-z0-9-]+\/)?[a-z0-9][a-z0-9._-]*$/.test(name)) continue;
          const bare = name.replace(/^node:/, '');
          if (!declaredDeps.has(name) && !builtinModules.includes(bare))
            bad.push(`${file}:${lineOf(text, m.index)} ${name}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('no reference to a design document outside the repository', () => {
  it('no file cites the design document except as docs/DESIGN.md, nor a path outside the repository', () => {
    // Assembled so that this file does not match itself.
    const patterns = [
      ['(^|[^/])', 'DESIGN', '(\\.md)?', ' ?(§|section)'].join(''),
      ['shared', '/DESIGN'].join(''),
      ['/work', '/'].join(''),
    ];
    const hits: string[] = [];
    for (const pattern of patterns) {
      const r = spawnSync('git', ['grep', '-nIiE', pattern, '--', '.', ':!pnpm-lock.yaml'], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(r.status === 0 || r.status === 1, r.stderr).toBe(true);
      hits.push(...r.stdout.split('\n').filter(Boolean));
    }
    expect(hits).toEqual([]);
  });
});
