/** The keyring's state transitions as pure functions: no store, no manager. */
import { describe, expect, it } from 'vitest';
import {
  addKey,
  applyRetentionPolicy,
  demoteKey,
  primariesToReplace,
  promoteKey,
  pruneRetiredKeys,
  retireKey,
  type StoredKey,
  stageKey,
} from '../src/index.js';

const ctx = (version: number, now = 1_000 * version) => ({ now, version });
const sealed = 'x'.repeat(80);
const deepFreeze = (keys: StoredKey[]): readonly StoredKey[] =>
  Object.freeze(keys.map((k) => Object.freeze(k)));

/** A keyring with a primary (1) and a decrypt-only key (2) of aes-256-gcm. */
function base(): readonly StoredKey[] {
  let keys = stageKey([], { id: 2, algorithm: 'aes-256-gcm', sealed }, ctx(1));
  keys = promoteKey(keys, 2, ctx(1)).keys;
  keys = stageKey(keys, { id: 1, algorithm: 'aes-256-gcm', sealed }, ctx(2));
  keys = promoteKey(keys, 1, ctx(2)).keys;
  return deepFreeze(keys);
}

describe('transitions', () => {
  it('stageKey adds a staged key with its version and no uses; ids stay unique', () => {
    const keys = stageKey([], { id: 7, algorithm: 'fernet', sealed }, ctx(3));
    expect(keys).toEqual([
      {
        id: 7,
        algorithm: 'fernet',
        state: 'staged',
        createdAt: 3000,
        createdInVersion: 3,
        reserved: 0,
        sealed,
      },
    ]);
    expect(() => stageKey(keys, { id: 7, algorithm: 'aes-256-gcm', sealed }, ctx(4))).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_STATE' }),
    );
    const imported = addKey(
      keys,
      { id: 8, algorithm: 'fernet', sealed, imported: true },
      ctx(4),
      'decrypt-only',
    );
    expect(imported[1]).toMatchObject({ state: 'decrypt-only', demotedAt: 4000, imported: true });
  });

  it('promoteKey makes the staged key primary and the old primary decrypt-only, without touching its input', () => {
    const before = base();
    const staged = deepFreeze(stageKey(before, { id: 3, algorithm: 'aes-256-gcm', sealed }, ctx(5)));
    const r = promoteKey(staged, 3, ctx(6));
    expect(r.changed).toBe(true);
    expect(r.previousKeyId).toBe(1);
    expect(r.keys.map((k) => [k.id, k.state])).toEqual([
      [2, 'decrypt-only'],
      [1, 'decrypt-only'],
      [3, 'primary'],
    ]);
    expect(r.keys.find((k) => k.id === 1)!.demotedAt).toBe(6000);
    expect(r.keys.find((k) => k.id === 3)!.promotedAt).toBe(6000);
    expect(staged.find((k) => k.id === 3)!.state).toBe('staged'); // input unchanged (frozen, too)
    // Idempotent: promoting the primary again changes nothing.
    const again = promoteKey(r.keys, 3, ctx(7));
    expect(again.changed).toBe(false);
    expect(again.keys).toEqual(r.keys);
    expect(() => promoteKey(r.keys, 99, ctx(7))).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_NOT_FOUND' }),
    );
  });

  it('demoteKey and retireKey follow the life cycle; a retired key keeps no material and never comes back', () => {
    const keys = base();
    const retired = retireKey(keys, 2, ctx(9));
    expect(retired.find((k) => k.id === 2)).toMatchObject({ state: 'retired', retiredAt: 9000 });
    expect(retired.find((k) => k.id === 2)!.sealed).toBeUndefined();
    expect(() => retireKey(keys, 1, ctx(9))).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
    expect(() => promoteKey(retired, 2, ctx(10))).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
    expect(() => demoteKey(retired, 2, ctx(10))).toThrow(expect.objectContaining({ code: 'ERR_KEY_STATE' }));
    expect(demoteKey(keys, 1, ctx(10)).find((k) => k.id === 1)).toMatchObject({
      state: 'decrypt-only',
      demotedAt: 10000,
    });
    expect(retireKey(retired, 2, ctx(11))).toEqual(retired);
  });

  it('pruneRetiredKeys keeps the newest 64 retired records per algorithm', () => {
    let keys: StoredKey[] = [];
    for (let i = 0; i < 70; i++) {
      keys = stageKey(keys, { id: 100 + i, algorithm: 'aes-256-gcm', sealed }, ctx(i + 1));
      keys = retireKey(keys, 100 + i, ctx(i + 1));
    }
    const { keys: kept, destroyed } = pruneRetiredKeys(keys);
    expect(kept).toHaveLength(64);
    expect(destroyed.sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104, 105]);
  });

  it('applyRetentionPolicy retires exactly what retention says; minDecryptionVersion asks for a new primary first', () => {
    const keys = base(); // key 2 demoted at t=2000 (version 2)
    expect(applyRetentionPolicy(keys, { retention: 5_000 }, ctx(6, 6_999)).retired).toEqual([]);
    const r = applyRetentionPolicy(keys, { retention: 5_000 }, ctx(7, 7_000));
    expect(r.retired.map((x) => [x.key.id, x.reason])).toEqual([[2, 'retention']]);
    expect(r.keys.find((k) => k.id === 1)!.state).toBe('primary');
    const m = applyRetentionPolicy(keys, { maxRetainedKeys: 0 }, ctx(3));
    expect(m.retired.map((x) => [x.key.id, x.reason])).toEqual([[2, 'maxRetainedKeys']]);
    expect(primariesToReplace(keys, { minDecryptionVersion: 3 }, ctx(3))).toEqual(['aes-256-gcm']);
    expect(primariesToReplace(keys, { minDecryptionVersion: 2 }, ctx(3))).toEqual([]);
  });
});
