// One fleet node, as a service would run it: createEncryption over an EtcdKeyStore plus a RotationCoordinator,
// and an HTTP server on loopback that decrypts what the other nodes send it. Driven by its parent (test or
// benchmark) over the IPC channel; counts everything in process and reports on request.
//
// Environment: MESH_FLEET_CONFIG = JSON { nodeId, endpoint, prefix, keyring, kekHex, ttlSeconds, interval?,
// ackTimeoutMs?, callTimeoutMs?, rotation? (the keyring's RotationPolicy) }.
import { createServer, request } from 'node:http';
import { createEncryption } from '@mesh/encryption';
import { EtcdKeyStore, RotationCoordinator } from '@mesh/keystore-etcd';

const config = JSON.parse(process.env.MESH_FLEET_CONFIG ?? '{}');
const send = (msg) => process.send?.(msg);

const store = new EtcdKeyStore({
  endpoints: config.endpoint,
  prefix: config.prefix,
  callTimeoutMs: config.callTimeoutMs ?? 3_000,
});
const enc = await createEncryption({
  service: config.nodeId,
  keyStore: store,
  kek: { key: Uint8Array.from(Buffer.from(config.kekHex, 'hex')) },
  keyring: config.keyring,
  compression: false,
  ...(config.rotation && { rotation: config.rotation }),
});
const coordinator = await RotationCoordinator.start({
  keys: enc.keys,
  store,
  nodeId: config.nodeId,
  ttlSeconds: config.ttlSeconds ?? 3,
  ...(config.interval !== undefined && { interval: config.interval }),
  ...(config.ackTimeoutMs !== undefined && { ackTimeoutMs: config.ackTimeoutMs }),
});

const stats = {
  encrypted: 0,
  decrypted: 0,
  // Failures with the state of this node at that moment (the proxy test attributes them).
  failures: [],
  undelivered: 0,
  sentOk: 0,
};
const degraded = () => coordinator.health().state === 'degraded';
function fail(kind, error, degradedAtStart = false) {
  if (stats.failures.length < 1_000) {
    stats.failures.push({
      kind,
      at: Date.now(),
      degraded: degradedAtStart || degraded(),
      code: error?.code ?? String(error?.message ?? error).slice(0, 120),
      detail: String(error?.message ?? error).slice(0, 200),
    });
  }
}

for (const ev of [
  'leader',
  'follower',
  'staged',
  'promoted',
  'stage-stuck',
  'degraded',
  'healthy',
  'rotation-failed',
]) {
  coordinator.on(ev, (e) => {
    const payload =
      ev === 'rotation-failed' ? { error: String(e.error?.code ?? e.error?.message ?? e.error) } : e;
    send({ type: 'event', event: ev, nodeId: config.nodeId, at: Date.now(), ...payload });
  });
}

// Receiver: a batch of { from, texts: [plaintext], ciphertexts: [base64url] }; answers { ok, failed }.
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    let ok = 0;
    let failed = 0;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      await Promise.all(
        body.ciphertexts.map(async (ct, i) => {
          const d0 = degraded();
          try {
            const text = await enc.decryptToString(ct, { context: `${body.from}->${config.nodeId}` });
            if (text !== body.texts[i]) throw new Error('plaintext mismatch');
            ok++;
            stats.decrypted++;
          } catch (error) {
            failed++;
            fail('decrypt', error, d0);
          }
        }),
      );
    } catch (error) {
      fail('decrypt', error);
      failed++;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok, failed }));
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

let peers = [];
let running = false;
let seq = 0;

function post(port, body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/decrypt',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        timeout: 10_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

async function makeBatch(to, n) {
  const texts = [];
  const ciphertexts = [];
  for (let i = 0; i < n; i++) {
    const text = `${config.nodeId}:${++seq}`;
    const d0 = degraded();
    try {
      ciphertexts.push(await enc.encryptToString(text, { context: `${config.nodeId}->${to}` }));
      texts.push(text);
      stats.encrypted++;
    } catch (error) {
      fail('encrypt', error, d0);
    }
  }
  return { from: config.nodeId, texts, ciphertexts };
}

async function sender(worker, batchSize) {
  let i = worker;
  while (running) {
    const targets = peers.filter((p) => p.nodeId !== config.nodeId);
    if (targets.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const peer = targets[i++ % targets.length];
    const batch = await makeBatch(peer.nodeId, batchSize);
    try {
      const r = await post(peer.port, batch);
      stats.sentOk += r.ok;
    } catch {
      // The peer is gone or frozen (a fault test did that): not a decryption failure, counted apart.
      stats.undelivered += batch.ciphertexts.length;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const workers = [];
process.on('message', async (msg) => {
  try {
    if (msg.type === 'peers') peers = msg.peers;
    else if (msg.type === 'traffic') {
      if (msg.on && !running) {
        running = true;
        for (let w = 0; w < (msg.concurrency ?? 2); w++) workers.push(sender(w, msg.batchSize ?? 50));
      } else if (!msg.on && running) {
        running = false;
        await Promise.all(workers.splice(0));
      }
      send({ type: 'reply', id: msg.id });
    } else if (msg.type === 'stats') {
      send({
        type: 'reply',
        id: msg.id,
        stats: {
          ...stats,
          version: enc.keys.version,
          health: coordinator.health(),
          leader: coordinator.isLeader,
        },
      });
    } else if (msg.type === 'request-rotation') {
      await coordinator.requestRotation('aes-256-gcm');
      send({ type: 'reply', id: msg.id });
    } else if (msg.type === 'encrypt') {
      // Messages for a node that does not exist yet (the late-joiner test).
      const out = [];
      for (let i = 0; i < msg.n; i++) {
        const text = `${config.nodeId}:old:${i}`;
        out.push({
          text,
          ciphertext: await enc.encryptToString(text, { context: `${config.nodeId}->${msg.to}` }),
        });
      }
      send({ type: 'reply', id: msg.id, messages: out });
    } else if (msg.type === 'decrypt') {
      let ok = 0;
      const errors = [];
      for (const m of msg.messages) {
        try {
          if (
            (await enc.decryptToString(m.ciphertext, { context: `${msg.from}->${config.nodeId}` })) === m.text
          )
            ok++;
          else errors.push('mismatch');
        } catch (e) {
          errors.push(e.code ?? String(e));
        }
      }
      send({ type: 'reply', id: msg.id, ok, errors });
    } else if (msg.type === 'stop') {
      running = false;
      await Promise.all(workers.splice(0));
      await coordinator.close();
      await enc.close();
      await store.close();
      server.close();
      send({ type: 'reply', id: msg.id });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50).unref();
    }
  } catch (error) {
    send({ type: 'reply', id: msg.id, error: String(error?.message ?? error) });
  }
});

send({ type: 'ready', nodeId: config.nodeId, port, version: enc.keys.version });
