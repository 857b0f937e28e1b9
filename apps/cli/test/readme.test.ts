/**
 * The README cannot drift from the CLI: every `sh` block of README.md is run here as written (marked
 * `tested-by=test/readme.test.ts`, so the release tests do not run them a second time). The Install
 * block runs at the repository root; the Examples blocks run in order, in one bash session (`--norc -e`,
 * `pipefail`), in an empty directory with `meshcrypt` on PATH. The test also checks that every command has an
 * example and that the examples printed what they are about. The "Examples on etcd" block runs the same way
 * against an etcd this test starts (free loopback port, temporary data dir, stopped by its pid), given as `ETCD`.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, describe, expect, it } from 'vitest';
import { APP, BIN, REPO, runCommand, tempDir } from './helpers.js';

const README = readFileSync(join(APP, 'README.md'), 'utf8');

/**
 * The blocks of a section (from its `## ` heading to the next) that this file runs: ```` ```sh
 * tested-by=test/readme.test.ts ````. The release tests (tests/release, docs/RELEASING.md) leave blocks so
 * marked to this suite; every other block of a section is refused, so none goes unrun.
 */
function shBlocks(section: string): string[] {
  const start = README.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section ${section}`);
  const end = README.indexOf('\n## ', start + 1);
  const text = README.slice(start, end < 0 ? undefined : end);
  const blocks = [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```/gm)];
  const other = blocks.filter((m) => m[1] !== 'sh tested-by=test/readme.test.ts').map((m) => m[1]);
  if (other.length > 0)
    throw new Error(`README section ${section}: blocks not run here: ${other.join(', ')}`);
  return blocks.map((m) => m[2]!);
}

const COMMANDS = [
  'keyring init',
  'keyring rotate',
  'keyring list',
  'keyring status',
  'encrypt',
  'decrypt',
  'rewrap',
  'inspect',
  'fernet keygen',
  'fernet encrypt',
  'fernet decrypt',
  'derive',
  'rsa keygen',
  'rsa encrypt',
  'rsa decrypt',
];

describe('README.md', () => {
  const tmp = tempDir('meshcrypt-readme-');
  afterAll(tmp.cleanup);

  it('has an example for every command, and every command in the table', () => {
    const examples = shBlocks('Examples').join('\n');
    for (const command of COMMANDS) {
      expect(examples, command).toMatch(new RegExp(`meshcrypt ${command}(?=[\\s)]|$)`, 'm'));
      expect(README, command).toContain(`| \`${command} `);
    }
  });

  it('the Install block works at the repository root (pnpm exec meshcrypt)', async () => {
    const [install] = shBlocks('Install');
    expect(install).toContain('pnpm exec meshcrypt --version');
    const r = await runCommand('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', install!], {
      cwd: REPO,
    });
    expect(r.stderr.split('\n').filter((l) => l.startsWith('meshcrypt:'))).toEqual([]);
    expect(r.status).toBe(0);
    const version = JSON.parse(readFileSync(join(APP, 'package.json'), 'utf8')).version;
    expect(r.out.trim().split('\n').at(-1)).toBe(version);
  });

  /** A directory with `meshcrypt` on PATH and an empty working directory. */
  async function sandbox(name: string): Promise<{ bin: string; work: string }> {
    const bin = join(tmp.dir, name, 'bin');
    const work = join(tmp.dir, name, 'work');
    await runCommand('mkdir', ['-p', bin, work]);
    writeFileSync(join(bin, 'meshcrypt'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'meshcrypt'), 0o755);
    return { bin, work };
  }

  it('the etcd examples run as written against a test-started etcd', async () => {
    const [block, ...rest] = shBlocks('Examples on etcd');
    expect(rest).toEqual([]);
    for (const command of ['keyring init', 'keyring rotate', 'keyring list', 'keyring status']) {
      expect(block, command).toMatch(new RegExp(`meshcrypt ${command} --etcd "\\$ETCD"`));
    }
    const etcd = await EtcdProcess.start();
    try {
      const { bin, work } = await sandbox('etcd');
      const r = await runCommand('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', block!], {
        cwd: work,
        env: { PATH: `${bin}:${process.env.PATH}`, ETCD: etcd.endpoint },
      });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(r.out).toMatch(new RegExp(`^created\\s+${etcd.endpoint} demo/keyrings/default$`, 'm'));
      expect(r.out).toMatch(/^ID\s+ALGORITHM\s+STATE\s+AGE\s+USES$/m);
      expect(r.out).toMatch(/^aes-256-gcm primary\s+\d+ \(was \d+\)$/m); // rotate
      expect(r.out).toMatch(/^store\s+etcd /m);
      expect(r.out).toMatch(/^version\s+3$/m); // init 1, staged 2, promoted 3
      expect(r.out).toMatch(/^live nodes\s+0$/m); // the CLI left the fleet when rotate finished
    } finally {
      await etcd.stop();
    }
  });

  it('every example runs as written, in order', async () => {
    const { bin, work } = await sandbox('file');
    const script = shBlocks('Examples').join('\n');
    const r = await runCommand('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
      cwd: work,
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
    // What the examples are about actually happened:
    expect(r.out.split('order 42: 3 x A-1').length - 1).toBe(3); // file decrypt, pipe round trip, vault
    expect(r.out).toContain('db-password');
    expect(r.out).toContain('hello, python');
    expect(r.out).toContain('short secret');
    expect(r.out).toContain('exit status 1'); // the wrong context
    expect(r.stderr).toMatch(/^meshcrypt: ERR_DECRYPTION_FAILED: decryption failed[^\n]*\n$/); // its one line
    expect(r.out).toMatch(/^[0-9a-f]{64}$/m); // derive
    expect(r.out).toMatch(/"format": "envelope-v1"/); // inspect --json
  });
});
