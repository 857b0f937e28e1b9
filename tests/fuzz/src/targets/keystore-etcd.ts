/**
 * `@mesh/keystore-etcd`: keyring values and node registrations as stored in a real etcd (its own process on
 * a free loopback port, started and stopped by pid with `@mesh/local-etcd`), read by
 * a real EtcdKeyStore and a real KeyManager.
 *
 * The store's value decoder (UTF-8, JSON, then `parseStoredKeyring`) is internal to the package, so values
 * are written into etcd with the store's own client and read back through the public API: what a node does
 * when another writer (or an attacker with write access to etcd) puts a value there.
 *
 * @module
 */
import { KeyManager } from '@mesh/keys';
import { EtcdKeyStore, listFleetNodes } from '@mesh/keystore-etcd';
import { EtcdProcess } from '@mesh/local-etcd';
import fc from 'fast-check';
import { hostileBytes, mutatedJson } from '../mutate.js';
import { Violation } from '../oracle.js';
import { cases, defineTarget } from '../target.js';
import {
  DOCUMENT_KEYS,
  exerciseManager,
  KEYRING,
  keyringSeeds,
  MANAGER_OPTIONS,
  resealed,
} from './keyring-docs.js';

const PREFIX = 'fuzz/';

type EtcdCase =
  | { kind: 'keyring'; value: Uint8Array; how: 'load' | 'open' | 'refresh' }
  | { kind: 'node'; value: Uint8Array };

const encoder = new TextEncoder();
const json = (v: unknown) => {
  try {
    return encoder.encode(JSON.stringify(v) ?? 'null');
  } catch {
    return encoder.encode('null');
  }
};

export const etcdValueTarget = defineTarget({
  name: 'keystore-etcd/etcd-value',
  pkg: '@mesh/keystore-etcd',
  description:
    'values put at <prefix>keyrings/<name> in a real etcd and read by EtcdKeyStore.load, KeyManager.open and a ' +
    'running KeyManager.refresh: random bytes, invalid UTF-8, mutated JSON text, mutated documents (with and ' +
    'without a recomputed MAC); node registrations at <prefix>nodes/<id> read by listFleetNodes: random and ' +
    'mutated records',
  async open() {
    const etcd = await EtcdProcess.start();
    const store = new EtcdKeyStore({ endpoints: etcd.endpoint, prefix: PREFIX });
    try {
      const seeds = await keyringSeeds();
      const key = `${PREFIX}keyrings/${KEYRING}`;
      const nodeKey = `${PREFIX}nodes/fuzz-node`;
      const valid = json(seeds.rawDoc);
      const node = { nodeId: 'fuzz-node', acks: { [KEYRING]: seeds.rawDoc.version }, registeredAt: 1 };
      const docValues = fc
        .tuple(mutatedJson([seeds.rawDoc], DOCUMENT_KEYS), fc.boolean())
        .map(([doc, reseal]) => json(reseal ? resealed(doc, seeds.kek) : doc));
      const inputs: fc.Arbitrary<EtcdCase> = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('keyring' as const),
            value: fc.oneof(
              {
                weight: 2,
                arbitrary: hostileBytes([valid], { prefixes: [[0x7b], [0xef, 0xbb, 0xbf, 0x7b]] }),
              },
              { weight: 3, arbitrary: docValues },
            ),
            how: fc.constantFrom('load' as const, 'open' as const, 'refresh' as const),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('node' as const),
            value: fc.oneof(
              hostileBytes([json(node)]),
              mutatedJson([node], ['nodeId', 'acks', 'registeredAt']).map(json),
            ),
          }),
        },
      );
      const openManager = () =>
        KeyManager.open({
          store,
          kek: { key: seeds.kek },
          ...MANAGER_OPTIONS,
        });
      return cases(inputs, {
        async run(c) {
          if (c.kind === 'node') {
            await store.client.put(nodeKey).value(Buffer.from(c.value));
            const live = await listFleetNodes(store);
            if (live.nodes.length > 1)
              throw new Violation('wrong-result', `${live.nodes.length} nodes from one key`);
            return live.nodes.length === 1 ? 'node listed' : 'node ignored';
          }
          if (c.how === 'load') {
            await store.client.put(key).value(Buffer.from(c.value));
            await store.load(KEYRING);
            return 'loaded';
          }
          let manager: KeyManager | undefined;
          try {
            if (c.how === 'refresh') {
              await store.client.put(key).value(Buffer.from(valid));
              manager = await openManager();
              await store.client.put(key).value(Buffer.from(c.value));
              await manager.refresh();
            } else {
              await store.client.put(key).value(Buffer.from(c.value));
              manager = await openManager();
            }
            await exerciseManager(manager);
            return c.how === 'refresh' ? 'reloaded' : 'opened';
          } finally {
            await manager?.close();
          }
        },
        async close() {
          await store.close();
          await etcd.stop();
        },
      });
    } catch (error) {
      await store.close();
      await etcd.stop();
      throw error;
    }
  },
});
