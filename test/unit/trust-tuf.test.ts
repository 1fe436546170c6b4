/**
 * TUF refresh against a real (tiny) TUF repository served on loopback: root/timestamp/snapshot/targets metadata
 * signed with an Ed25519 key, and a trusted_root.json target. @sigstore/tuf (tuf-js) does the whole client
 * workflow against it, so this exercises the online path without the public-good mirror (unreachable here).
 * The repository is a fake only in that we built it; the client and its checks are the real ones.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { loadOfflineTrustAnchor, loadTrustAnchor, readEmbeddedRoot, updateTrust } from '../../src/trust/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'airlock-tuf-'));
const EXPIRES = '2099-01-01T00:00:00Z';

// TUF signs the OLPC canonical JSON of `signed`; for our ASCII-only, integer-only metadata that is sorted-key JSON.
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

class TufRepo {
  files = new Map<string, Buffer>();
  private readonly key: KeyObject;
  private readonly keyId: string;
  readonly rootJson: Buffer;

  constructor(target: Uint8Array) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.key = privateKey;
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    const keyObj = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw } };
    this.keyId = createHash('sha256').update(canonical(keyObj)).digest('hex');
    const role = { keyids: [this.keyId], threshold: 1 };
    this.rootJson = this.signed({
      _type: 'root',
      spec_version: '1.0.31',
      version: 1,
      expires: EXPIRES,
      keys: { [this.keyId]: keyObj },
      roles: { root: role, timestamp: role, snapshot: role, targets: role },
      consistent_snapshot: false,
    });
    this.files.set('/1.root.json', this.rootJson);
    this.publish(target);
  }

  /** Publishes `target` as trusted_root.json (targets → snapshot → timestamp, each version bumped). */
  publish(target: Uint8Array, served: Uint8Array = target, version = 1): void {
    const t = Buffer.from(target);
    this.files.set('/targets.json', this.signed({ _type: 'targets', spec_version: '1.0.31', version, expires: EXPIRES, targets: { 'trusted_root.json': { length: t.length, hashes: { sha256: createHash('sha256').update(t).digest('hex') } } } }));
    this.files.set('/snapshot.json', this.signed({ _type: 'snapshot', spec_version: '1.0.31', version, expires: EXPIRES, meta: { 'targets.json': { version } } }));
    this.files.set('/timestamp.json', this.signed({ _type: 'timestamp', spec_version: '1.0.31', version, expires: EXPIRES, meta: { 'snapshot.json': { version } } }));
    this.files.set('/targets/trusted_root.json', Buffer.from(served));
  }

  private signed(signed: object): Buffer {
    const sig = sign(null, Buffer.from(canonical(signed)), this.key).toString('hex');
    return Buffer.from(JSON.stringify({ signed, signatures: [{ keyid: this.keyId, sig }] }));
  }
}

const embedded = Buffer.from(readEmbeddedRoot().bytes);
const published = Buffer.concat([embedded, Buffer.from('\n')]); // same root, different bytes: a visible change
let repo: TufRepo;
let server: Server;
let mirror: string;
let rootPath: string;

beforeAll(async () => {
  repo = new TufRepo(published);
  server = createServer((req, res) => {
    const body = repo.files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rootPath = join(tmp(), 'root.json');
  writeFileSync(rootPath, repo.rootJson);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('TUF refresh (loopback repository)', () => {
  it('update fetches the verified target, saves it, and later offline runs use it', async () => {
    const dir = tmp();
    const r = await updateTrust({ trustDir: dir, mirrorURL: mirror, tufRootPath: rootPath });
    expect(r.previous.source).toBe('embedded');
    expect(r.changed).toBe(true);
    expect(r.current).toMatchObject({ source: 'tuf', origin: mirror, digest: `sha256:${createHash('sha256').update(published).digest('hex')}` });
    const offline = loadOfflineTrustAnchor(dir);
    expect(offline).toMatchObject({ source: 'tuf', digest: r.current.digest });
    expect((await updateTrust({ trustDir: dir, mirrorURL: mirror, tufRootPath: rootPath })).changed).toBe(false);
  });

  it('a target that does not match the signed targets metadata is VERIFY_FAILED, and the saved root is kept', async () => {
    const dir = tmp();
    await updateTrust({ trustDir: dir, mirrorURL: mirror, tufRootPath: rootPath });
    const before = loadOfflineTrustAnchor(dir).digest;
    const evil = Buffer.from(JSON.stringify({ ...JSON.parse(embedded.toString()), tlogs: [] }));
    repo.publish(embedded, evil, 2); // metadata says "embedded", the mirror serves something else
    try {
      await expect(loadTrustAnchor({ trustDir: dir, refresh: 'always', mirrorURL: mirror, tufRootPath: rootPath })).rejects.toMatchObject({
        code: 'VERIFY_FAILED',
        message: expect.stringMatching(/did not verify \((LengthOrHash|DownloadLength)\w*Error/),
        details: { check: 'tuf' },
      });
      expect(loadOfflineTrustAnchor(dir).digest).toBe(before);
    } finally {
      repo.publish(published);
    }
  });

  it('an unreachable mirror: UNREACHABLE when refresh is required, a warning and the offline root when optional', async () => {
    const dead = 'http://127.0.0.1:9'; // discard port: nothing listens
    const dir = tmp();
    await expect(loadTrustAnchor({ trustDir: dir, refresh: 'always', mirrorURL: dead, tufRootPath: rootPath, timeoutMs: 500 })).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const warnings: string[] = [];
    const logger: Logger = { log: (level, msg) => void (level === 'warn' && warnings.push(msg)) };
    const a = await loadTrustAnchor({ trustDir: dir, refresh: 'if-online', mirrorURL: dead, tufRootPath: rootPath, timeoutMs: 500, logger });
    expect(a.source).toBe('embedded');
    expect(warnings).toHaveLength(1);
  });

  it('a mirror other than the public-good one needs its TUF root', async () => {
    await expect(loadTrustAnchor({ trustDir: tmp(), refresh: 'always', mirrorURL: mirror })).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
