/**
 * Where sodium-native cannot load, the library says so once (a MESH_SODIUM_UNAVAILABLE process warning) and
 * uses the pure-JavaScript backend, with the same bytes. Run in a real child process whose `require` of
 * sodium-native fails the way a missing prebuilt binary does; a control run without the block uses sodium.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eachTest, xchacha20Poly1305Vectors } from '@mesh/test-vectors';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const vector = eachTest(xchacha20Poly1305Vectors()).find(
  ({ group, test }) =>
    group.ivSize === 192 && test.result === 'valid' && test.msg.length > 0 && test.aad.length > 0,
)!.test;

function runChild(blockSodium: boolean) {
  const args = [
    ...(blockSodium ? ['--require', fixture('block-sodium.cjs')] : []),
    '--import',
    'tsx',
    fixture('no-sodium-child.ts'),
    vector.key,
    vector.iv,
    vector.msg,
    vector.aad,
  ];
  const r = spawnSync(process.execPath, args, {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return { out: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

describe('sodium-native unavailable', () => {
  it('warns once, falls back to noble with identical bytes, and refuses an explicit sodium request', () => {
    const { out, stderr } = runChild(true);
    const warnings = stderr.split('\n').filter((l) => l.includes('MESH_SODIUM_UNAVAILABLE'));
    expect(warnings.length, stderr).toBe(1);
    expect(warnings[0]).toContain('sodium-native could not be loaded (No native build was found');
    expect(warnings[0]).toContain('@noble/ciphers');
    expect(out.backend).toBe('noble');
    expect(out.available).toBe(false);
    expect(out.sealed).toEqual([vector.ct + vector.tag, vector.ct + vector.tag]);
    expect(out.opened).toBe(vector.msg);
    expect(out.sodiumError).toMatch(/^ERR_UNSUPPORTED_ALGORITHM: the sodium backend is not available/);
    expect(out.secure).toBe(false);
    expect(out.released).toBe(true);
  });

  it('control: with sodium-native loadable, no warning and the sodium backend', () => {
    const { out, stderr } = runChild(false);
    expect(stderr).not.toContain('MESH_SODIUM_UNAVAILABLE');
    expect(out.backend).toBe('sodium');
    expect(out.available).toBe(true);
    expect(out.sealed).toEqual([vector.ct + vector.tag, vector.ct + vector.tag]);
    expect(out.sodiumError).toBe('none');
    expect(out.secure).toBe(true);
    expect(out.released).toBe(true);
  });
});
