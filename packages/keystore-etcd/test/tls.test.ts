import { readFileSync } from 'node:fs';
import { KeyManager, KeyStoreError } from '@mesh/keys';
import { EtcdProcess } from '@mesh/local-etcd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdKeyStore } from '../src/index.js';
import { makeCerts, type TestCerts } from './helpers/certs.js';
import { kek, newName } from './helpers/util.js';

let certs: TestCerts;
let etcd: EtcdProcess;

beforeAll(async () => {
  certs = makeCerts();
  etcd = await EtcdProcess.start({ tls: certs });
});
afterAll(async () => {
  await etcd?.stop();
  certs?.remove();
});

describe('TLS with client certificates passes through', () => {
  it('works with the CA and a client certificate; fails typed without the certificate or with another CA', async () => {
    expect(etcd.endpoint.startsWith('https://127.0.0.1:')).toBe(true);
    const name = newName();
    const store = new EtcdKeyStore({
      endpoints: etcd.endpoint,
      callTimeoutMs: 2_000,
      tls: {
        rootCertificate: readFileSync(certs.caFile),
        privateKey: readFileSync(certs.clientKeyFile),
        certChain: readFileSync(certs.clientCertFile),
      },
    });
    const keys = await KeyManager.open({ store, kek: { key: kek() }, name });
    await keys.rotate();
    expect((await store.load(name))?.version).toBe(keys.version);
    const bad = [
      { rootCertificate: readFileSync(certs.caFile) }, // no client certificate: etcd refuses the handshake
      {
        rootCertificate: readFileSync(certs.otherCaFile), // we do not trust etcd's certificate
        privateKey: readFileSync(certs.clientKeyFile),
        certChain: readFileSync(certs.clientCertFile),
      },
    ];
    for (const tls of bad) {
      const other = new EtcdKeyStore({ endpoints: etcd.endpoint, callTimeoutMs: 1_000, tls });
      const err = await other.load(name).catch((e) => e);
      expect(err).toBeInstanceOf(KeyStoreError);
      expect(err.code).toBe('ERR_KEYSTORE_UNAVAILABLE');
      await other.close();
    }
    await keys.close();
    await store.close();
  });
});
