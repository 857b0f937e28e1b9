/**
 * `meshcrypt keyring init|rotate|list|status --etcd URL [--prefix P]`: the keyring `default` on etcd
 * (`@mesh/keystore-etcd`), shared by a fleet of nodes.
 *
 * `rotate` never rotates behind the fleet's back. It joins the fleet for the duration of the command as a
 * `RotationCoordinator` of its own (node id `meshcrypt-<pid>-<random>`, a short lease) and asks the leader
 * with `requestRotation()` (per algorithm, naming the primary it saw, so a stale request is dropped): when a
 * coordinator fleet is running, its leader stages the new key, waits until
 * every live node has acked the staged version, and promotes it in a fenced txn; when none is running, the
 * CLI's own coordinator wins the election and does exactly the same (nodes that only register and ack are
 * waited for too). Promoting before every live node holds the key would let a node meet ciphertext under a
 * key it does not have; a `KeyManager.rotate()` straight on the store would do that, so the CLI never calls
 * it on etcd.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { KeyAlgorithm } from '@mesh/keys';
import { LeaderElection, listFleetNodes, RotationCoordinator } from '@mesh/keystore-etcd';
import { CliError, EXIT } from '../errors.js';
import { naming, type OpenEtcdKeyring, openEtcdKeyring } from '../etcd-source.js';
import { ALGORITHMS, countByState, keyView, primaries, printKeyTable } from '../key-view.js';
import { KEYRING_NAME, type KekOptions, kekFrom } from '../keyring-source.js';
import { formatAge, isoTime, printFields, printJson, printTable } from '../print.js';

/** Options of the keyring commands on etcd. */
export interface EtcdKeyringOptions extends KekOptions {
  etcd?: string;
  prefix?: string;
  json?: boolean;
}

/** Default of `keyring rotate --timeout` on etcd, seconds. */
export const DEFAULT_ROTATE_TIMEOUT_S = 60;

/** Lease TTL of the CLI's own registration while it rotates: if it dies, the fleet stops waiting soon. */
const CLI_TTL_SECONDS = 5;

async function withEtcdKeyring<T>(
  options: EtcdKeyringOptions,
  open: { create?: boolean; watch?: boolean },
  run: (k: OpenEtcdKeyring) => Promise<T>,
): Promise<T> {
  const keyring = await openEtcdKeyring(options.etcd!, options.prefix, await kekFrom(options), open);
  try {
    return await naming(keyring.url, () => run(keyring));
  } finally {
    await keyring.close();
  }
}

function location(k: OpenEtcdKeyring) {
  return { etcd: k.url, prefix: k.prefix, keyring: KEYRING_NAME };
}

/** `keyring init --etcd`: creates the keyring on etcd with one primary key per algorithm. */
export async function keyringInit(options: EtcdKeyringOptions): Promise<void> {
  await withEtcdKeyring(options, { create: true }, async (keyring) => {
    const result = {
      ...location(keyring),
      version: keyring.keys.version,
      primaries: primaries(keyring.keys),
    };
    if (options.json) return printJson(result);
    printFields([
      ['created', keyring.where],
      ['version', String(result.version)],
      ...result.primaries.map((p) => [`${p.algorithm} primary`, String(p.id)] as const),
    ]);
  });
}

/** `keyring list --etcd`: every key with id, algorithm, state, age and uses. */
export async function keyringList(options: EtcdKeyringOptions): Promise<void> {
  await withEtcdKeyring(options, {}, async (keyring) => {
    const now = Date.now();
    const keys = keyring.keys.keys().map((k) => keyView(k, now));
    if (options.json) return printJson({ ...location(keyring), version: keyring.keys.version, keys });
    printKeyTable(keys);
  });
}

/** `keyring status --etcd`: version, primaries, keys per state, the leader and every live node's ack. */
export async function keyringStatus(options: EtcdKeyringOptions): Promise<void> {
  await withEtcdKeyring(options, {}, async (keyring) => {
    const now = Date.now();
    const keys = keyring.keys.keys();
    const version = keyring.keys.version;
    const states = countByState(keys);
    const election = new LeaderElection({ store: keyring.store, keyring: KEYRING_NAME, nodeId: 'meshcrypt' });
    let leader: string | undefined;
    try {
      leader = await election.leader();
    } finally {
      await election.close();
    }
    const live = await listFleetNodes(keyring.store);
    const nodes = live.nodes
      .map((n) => {
        const acked = n.acks[KEYRING_NAME];
        return {
          nodeId: n.nodeId,
          ackedVersion: acked ?? null,
          current: acked !== undefined && acked >= version,
          leader: n.nodeId === leader,
          registeredAt: isoTime(n.registeredAt),
        };
      })
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const kek = keyring.stored?.kek;
    const result = {
      store: 'etcd',
      ...location(keyring),
      version,
      updatedAt: isoTime(keyring.stored?.updatedAt),
      kek: kek?.type === 'passphrase' ? { type: 'passphrase', iterations: kek.iterations } : { type: 'raw' },
      primaries: primaries(keyring.keys).map((p) => {
        const key = keys.find((k) => k.id === p.id)!;
        return {
          algorithm: p.algorithm,
          id: p.id,
          ageSeconds: Math.floor((now - (key.promotedAt ?? key.createdAt)) / 1000),
          uses: key.reservedEncryptions,
        };
      }),
      staged: keys
        .filter((k) => k.state === 'staged')
        .map((k) => ({ algorithm: k.algorithm, id: k.id, version: k.createdInVersion })),
      states,
      leader: leader ?? null,
      nodes,
    };
    if (options.json) return printJson(result);
    printFields([
      ['store', `etcd ${keyring.where}`],
      ['keyring', KEYRING_NAME],
      ['version', String(version)],
      ['updated', result.updatedAt ?? '-'],
      [
        'kek',
        kek?.type === 'passphrase' ? `passphrase (PBKDF2, ${kek.iterations} iterations)` : 'raw 32-byte key',
      ],
      ...result.primaries.map(
        (p) =>
          [
            `${p.algorithm} primary`,
            `${p.id}, ${formatAge(p.ageSeconds * 1000)} old, ${p.uses} uses`,
          ] as const,
      ),
      ...result.staged.map(
        (s) => [`${s.algorithm} staged`, `${s.id} (version ${s.version}, waiting for acks)`] as const,
      ),
      [
        'keys',
        Object.entries(states)
          .map(([state, n]) => `${n} ${state}`)
          .join(', '),
      ],
      ['leader', leader ?? 'none'],
      ['live nodes', String(nodes.length)],
    ]);
    if (nodes.length > 0) {
      process.stdout.write('\n');
      printTable(
        ['NODE', 'ACKED', 'CURRENT', 'LEADER'],
        nodes.map((n) => [
          n.nodeId,
          n.ackedVersion === null ? '-' : String(n.ackedVersion),
          n.current ? 'yes' : 'no',
          n.leader ? 'yes' : '',
        ]),
      );
    }
  });
}

/**
 * `keyring rotate --etcd [--algorithm A] [--timeout S]`: a new primary through the fleet's two-phase path
 * (see the module comment). Waits until the new primary is in etcd; past the timeout it fails with
 * `ERR_ROTATION_TIMEOUT` naming the nodes that have not acked the staged key (the stage stays: the leader
 * promotes it once they ack, and the next `rotate` finishes it first).
 */
export async function keyringRotate(
  options: EtcdKeyringOptions & { algorithm?: string; timeout?: number },
): Promise<void> {
  const algorithm = options.algorithm as KeyAlgorithm | undefined;
  const timeoutMs = (options.timeout ?? DEFAULT_ROTATE_TIMEOUT_S) * 1000;
  await withEtcdKeyring(options, { watch: true }, async (keyring) => {
    const before = new Map(primaries(keyring.keys).map((p) => [p.algorithm, p.id]));
    const wanted = ALGORITHMS.filter((a) => before.has(a) && (algorithm === undefined || a === algorithm));
    const nodeId = `meshcrypt-${process.pid}-${randomBytes(4).toString('hex')}`;
    const coordinator = await RotationCoordinator.start({
      keys: keyring.keys,
      store: keyring.store,
      nodeId,
      ttlSeconds: CLI_TTL_SECONDS,
    });
    let lastFailure: unknown;
    coordinator.on('rotation-failed', (e) => {
      lastFailure = e.error;
    });
    try {
      // One algorithm at a time, each request naming the primary we saw: a request the leader takes only
      // after a rotation in progress already replaced that primary is dropped, not rotated again.
      const deadline = Date.now() + timeoutMs;
      for (const a of wanted) {
        await coordinator.requestRotation(a, { primaryKeyId: before.get(a)! });
        const replaced = () => primaries(keyring.keys).find((p) => p.algorithm === a)?.id !== before.get(a);
        while (!replaced()) {
          if (Date.now() >= deadline) throw await timedOut(keyring, nodeId, timeoutMs, lastFailure);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      // A request still queued (the leader was finishing an earlier rotation that already gave us a new
      // primary, or we gave up) must not start another rotation after we are gone.
      await coordinator.withdrawRotationRequest().catch(() => {});
      await coordinator.close();
    }
    const after = primaries(keyring.keys);
    const rotated = after
      .filter((p) => before.get(p.algorithm) !== p.id)
      .map((p) => ({ algorithm: p.algorithm, id: p.id, previousId: before.get(p.algorithm) }));
    const result = { ...location(keyring), version: keyring.keys.version, rotated };
    if (options.json) return printJson(result);
    printFields([
      ['rotated', keyring.where],
      ['version', String(result.version)],
      ...rotated.map((r) => [`${r.algorithm} primary`, `${r.id} (was ${r.previousId ?? 'none'})`] as const),
    ]);
  });
}

/** The one-line timeout error: which staged keys wait for which nodes, or that no leader took the request. */
async function timedOut(
  keyring: OpenEtcdKeyring,
  self: string,
  timeoutMs: number,
  lastFailure: unknown,
): Promise<CliError> {
  const staged = keyring.keys.keys().filter((k) => k.state === 'staged');
  let detail: string;
  if (staged.length > 0) {
    const live = await listFleetNodes(keyring.store).catch(() => undefined);
    const need = Math.max(...staged.map((k) => k.createdInVersion));
    const lagging = (live?.nodes ?? [])
      .filter((n) => n.nodeId !== self && (n.acks[KEYRING_NAME] ?? 0) < need)
      .map((n) => n.nodeId)
      .sort();
    detail =
      `key ${staged.map((k) => k.id).join(', ')} staged at version ${need}, not yet acked by ` +
      `${lagging.length > 0 ? lagging.join(', ') : '(unknown)'}; it stays staged and is promoted once every live node has acked`;
  } else {
    const failure = lastFailure instanceof Error ? ` (last failure: ${lastFailure.message})` : '';
    detail = `the fleet's leader has not staged a key${failure}`;
  }
  return new CliError(
    'ERR_ROTATION_TIMEOUT',
    `no new primary within ${timeoutMs / 1000} s: ${detail}`,
    EXIT.DATA,
  );
}
