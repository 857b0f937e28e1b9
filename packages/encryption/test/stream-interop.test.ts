/**
 * The stream format against an independent implementation: Python `cryptography` (HKDF + AESGCM), driven
 * through argv and stdin/stdout, plus the known-answer vectors of docs/FORMAT.md, which that peer produced.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deriveStreamKey, encodeStreamHeader } from '../src/stream/format.js';
import {
  chunk,
  decryptWith,
  encryptWith,
  type Flavour,
  makeKeyring,
  payload,
  pinnedKeyring,
  sealedLength,
} from './stream-fixtures.js';

/** A second implementation of docs/FORMAT.md "Streaming (0x03)", written from the spec text. */
const PEER = `
import sys, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes

def derive(key, header, context):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=header[7:23], info=header + context).derive(key)

def nonce(prefix, i, last):
    return prefix + struct.pack('>IB', i, 1 if last else 0)

def encrypt(key, key_id, salt, prefix, seg, context, data):
    header = bytes([1, 3, 0]) + struct.pack('>I', key_id) + salt + prefix + struct.pack('>I', seg)
    g = AESGCM(derive(key, header, context))
    n = max(1, -(-len(data) // seg))
    out = [header]
    for i in range(n):
        out.append(g.encrypt(nonce(prefix, i, i == n - 1), data[i * seg:(i + 1) * seg], None))
    return b''.join(out)

def decrypt(key, context, blob):
    header = blob[:34]
    if len(header) != 34 or header[:3] != bytes([1, 3, 0]):
        raise ValueError('bad header')
    prefix = header[23:30]
    sealed = struct.unpack('>I', header[30:34])[0] + 16
    g = AESGCM(derive(key, header, context))
    body, out, i, pos = blob[34:], [], 0, 0
    while True:
        last = len(body) - pos <= sealed
        out.append(g.decrypt(nonce(prefix, i, last), body[pos:pos + sealed], None))
        pos, i = pos + sealed, i + 1
        if last:
            return b''.join(out)

# argv[1]: JSON list of jobs; stdin: one u32-length-prefixed input per job; stdout: per job u8 ok | u32 len | bytes.
import json
jobs = json.loads(sys.argv[1])
data = sys.stdin.buffer.read()
pos = 0
for job in jobs:
    n = struct.unpack('>I', data[pos:pos + 4])[0]
    blob = data[pos + 4:pos + 4 + n]
    pos += 4 + n
    try:
        if job['op'] == 'encrypt':
            out = encrypt(bytes.fromhex(job['key']), job['keyId'], bytes.fromhex(job['salt']),
                          bytes.fromhex(job['prefix']), job['seg'], job['ctx'].encode(), blob)
        else:
            out = decrypt(bytes.fromhex(job['key']), job['ctx'].encode(), blob)
        sys.stdout.buffer.write(bytes([1]) + struct.pack('>I', len(out)) + out)
    except Exception:
        sys.stdout.buffer.write(bytes([0]) + struct.pack('>I', 0))
`;

const hasPython =
  spawnSync('python3', ['-c', 'import cryptography.hazmat.primitives.ciphers.aead'], {
    stdio: 'ignore',
  }).status === 0;
if (!hasPython) console.warn('stream-interop: python3 with cryptography not found, peer tests SKIPPED');

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

type PeerJob =
  | { op: 'decrypt'; key: string; ctx: string }
  | { op: 'encrypt'; key: string; keyId: number; salt: string; prefix: string; seg: number; ctx: string };

/** Runs every job in one Python process (start-up dominates on a loaded machine); `undefined` = it failed. */
function peer(jobs: { job: PeerJob; input: Uint8Array }[]): (Uint8Array | undefined)[] {
  const frames = jobs.flatMap(({ input }) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(input.length);
    return [len, input];
  });
  const r = spawnSync('python3', ['-c', PEER, JSON.stringify(jobs.map((j) => j.job))], {
    input: Buffer.concat(frames),
    maxBuffer: 256 * 1024 * 1024,
  });
  expect(r.status, String(r.stderr)).toBe(0);
  const out: (Uint8Array | undefined)[] = [];
  let pos = 0;
  for (let i = 0; i < jobs.length; i++) {
    const ok = r.stdout[pos] === 1;
    const n = r.stdout.readUInt32BE(pos + 1);
    out.push(ok ? new Uint8Array(r.stdout.subarray(pos + 5, pos + 5 + n)) : undefined);
    pos += 5 + n;
  }
  expect(pos).toBe(r.stdout.length);
  return out;
}

// docs/FORMAT.md is executable: the streaming section's JSON block holds the known-answer vectors.
const doc = readFileSync(fileURLToPath(new URL('../../../docs/FORMAT.md', import.meta.url)), 'utf8');
const section = doc.slice(doc.indexOf('## Streaming (0x03)'));
const block = /```json\n([\s\S]*?)```/.exec(section);
if (block === null) throw new Error('docs/FORMAT.md: no JSON vectors in "Streaming (0x03)"');
const raw = JSON.parse(block[1]!) as {
  key: string;
  keyId: number;
  salt: string;
  noncePrefix: string;
  segmentSize: number;
  context: string;
  header: string;
  streamKey: string;
  cases: { plaintext: string; stream: string }[];
};
const KAT = {
  ...raw,
  material: fromHex(raw.key),
  salt: fromHex(raw.salt),
  noncePrefix: fromHex(raw.noncePrefix),
};

describe('known-answer vectors (docs/FORMAT.md)', () => {
  it('the document holds the three documented cases', () => {
    expect(KAT.cases.map((c) => new TextEncoder().encode(c.plaintext).length)).toEqual([0, 32, 39]);
    for (const c of KAT.cases) expect(c.stream.startsWith(KAT.header)).toBe(true);
  });

  it('header and stream key match', () => {
    const header = encodeStreamHeader(KAT.keyId, KAT.salt, KAT.noncePrefix, KAT.segmentSize);
    expect(hex(header)).toBe(KAT.header);
    expect(hex(deriveStreamKey(KAT.material, header, KAT.context))).toBe(KAT.streamKey);
  });

  it.each<Flavour>(['node', 'web'])(
    '%s: every vector encrypts to the documented bytes and decrypts back',
    async (f) => {
      const ring = pinnedKeyring(KAT.material, KAT.keyId);
      for (const c of KAT.cases) {
        const plain = new TextEncoder().encode(c.plaintext);
        const options = { segmentSize: KAT.segmentSize, context: KAT.context };
        const hooks = { salt: KAT.salt, noncePrefix: KAT.noncePrefix };
        const sealed = await encryptWith(f, ring.deps, chunk(plain, [3]), options, hooks);
        expect(hex(sealed)).toBe(c.stream);
        const back = await decryptWith(f, ring.deps, [fromHex(c.stream)], {
          context: KAT.context,
        });
        expect(new TextDecoder().decode(back)).toBe(c.plaintext);
      }
    },
  );
});

describe.skipIf(!hasPython)('Python cryptography as an independent peer', () => {
  const shapes = [
    { length: 0, segmentSize: 16 },
    { length: 1, segmentSize: 16 },
    { length: 4096, segmentSize: 1024 },
    { length: 70_001, segmentSize: 65_536 },
    { length: 200_000, segmentSize: 777 },
  ];

  it('Python decrypts what both flavours encrypt, and rejects them cut by one byte', async () => {
    const ring = await makeKeyring();
    const key = hex((await ring.keys.acquireEncryptionKey('aes-256-gcm')).material);
    const ctx = 'tenant-7/exports';
    const jobs: { job: PeerJob; input: Uint8Array }[] = [];
    const expected: (Uint8Array | undefined)[] = [];
    for (const [i, s] of shapes.entries()) {
      const plain = payload(s.length, i);
      for (const f of ['node', 'web'] as const) {
        const sealed = await encryptWith(f, ring.deps, chunk(plain, [5000]), {
          segmentSize: s.segmentSize,
          context: ctx,
        });
        expect(sealed.length).toBe(sealedLength(s.length, s.segmentSize));
        jobs.push({ job: { op: 'decrypt', key, ctx }, input: sealed });
        expected.push(plain);
        // The peer is a real check: it must refuse the same stream one byte short.
        jobs.push({ job: { op: 'decrypt', key, ctx }, input: sealed.subarray(0, sealed.length - 1) });
        expected.push(undefined);
      }
    }
    const results = peer(jobs);
    results.forEach((got, i) => {
      const want = expected[i];
      if (want === undefined) expect(got).toBeUndefined();
      else expect(Buffer.compare(got!, want)).toBe(0);
    });
  });

  it('both flavours decrypt what Python encrypts, byte-identical to their own output', async () => {
    const ring = await makeKeyring();
    const material = (await ring.keys.acquireEncryptionKey('aes-256-gcm')).material;
    const ctx = 'backups';
    const cases = shapes.map((s, i) => ({
      ...s,
      plain: payload(s.length, 100 + i),
      salt: payload(16, 200 + i),
      noncePrefix: payload(7, 300 + i),
    }));
    const sealed = peer(
      cases.map((c) => ({
        job: {
          op: 'encrypt',
          key: hex(material),
          keyId: ring.primaryId,
          salt: hex(c.salt),
          prefix: hex(c.noncePrefix),
          seg: c.segmentSize,
          ctx,
        },
        input: c.plain,
      })),
    );
    for (const [i, c] of cases.entries()) {
      const theirs = sealed[i]!;
      for (const f of ['node', 'web'] as const) {
        expect(
          Buffer.compare(await decryptWith(f, ring.deps, chunk(theirs, [999]), { context: ctx }), c.plain),
        ).toBe(0);
        const options = { segmentSize: c.segmentSize, context: ctx };
        const ours = await encryptWith(f, ring.deps, [c.plain], options, {
          salt: c.salt,
          noncePrefix: c.noncePrefix,
        });
        expect(Buffer.compare(ours, theirs)).toBe(0);
      }
    }
  });
});
