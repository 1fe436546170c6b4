import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { checkBytes, parseDigest, sha256Digest, verifyingStream, type Digest } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { neutralize } from '../../src/log.js';

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.byteLength;
  return n;
}

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

describe('digests', () => {
  it('parses only canonical lowercase digests', () => {
    expect(parseDigest(`sha256:${'0'.repeat(64)}`)).toBe(`sha256:${'0'.repeat(64)}`);
    for (const bad of [`sha256:${'A'.repeat(64)}`, 'sha256:abc', `md5:${'0'.repeat(32)}`, `sha256:${'0'.repeat(64)}\n`]) {
      expect(() => parseDigest(bad)).toThrow(/not a sha256/);
    }
  });

  it('verifyingStream passes matching bytes and fails on a flipped byte, a short and a long stream', async () => {
    const data = randomBytes(100_000);
    const d = sha256Digest(data);
    expect(await drain(verifyingStream(chunks(data.subarray(0, 500), data.subarray(500)), d, data.length))).toBe(data.length);

    const flipped = Buffer.from(data);
    flipped[777] = (flipped[777] ?? 0) ^ 1;
    await expect(drain(verifyingStream(chunks(flipped), d, data.length))).rejects.toThrow(/hashes to/);
    await expect(drain(verifyingStream(chunks(data.subarray(0, 10)), d, data.length))).rejects.toThrow(/ended after 10 of/);
    await expect(drain(verifyingStream(chunks(data, Buffer.from('x')), d, data.length))).rejects.toThrow(/longer than/);
  });

  it('checkBytes throws INTEGRITY with both digests', () => {
    const d = `sha256:${createHash('sha256').update('a').digest('hex')}` as Digest;
    expect(() => checkBytes(Buffer.from('a'), d)).not.toThrow();
    try {
      checkBytes(Buffer.from('b'), d);
      expect.unreachable();
    } catch (e) {
      expect(isAirlockError(e, 'INTEGRITY')).toBe(true);
    }
  });
});

describe('parseManifest', () => {
  const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'1'.repeat(64)}`, size: 3 };
  it('parses an image manifest and an index', () => {
    const m = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: desc, layers: [desc] })));
    expect(m.kind).toBe('manifest');
    const i = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [desc] })), 'application/vnd.oci.image.index.v1+json');
    expect(i.kind).toBe('index');
  });
  it.each([
    ['not json', 'x{'],
    ['schemaVersion 1', JSON.stringify({ schemaVersion: 1 })],
    ['bad digest', JSON.stringify({ schemaVersion: 2, config: { ...desc, digest: 'sha256:zz' }, layers: [] })],
    ['negative size', JSON.stringify({ schemaVersion: 2, config: { ...desc, size: -1 }, layers: [] })],
    ['media type mismatch', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] })],
  ])('refuses %s', (_name, text) => {
    expect(() => parseManifest(Buffer.from(text), 'application/vnd.oci.image.manifest.v1+json')).toThrow(/malformed/);
  });
});

describe('neutralize', () => {
  it('makes ANSI/OSC escapes, newlines and U+2028 visible instead of interpreted', () => {
    expect(neutralize('v1\x1b[2J\x1b]8;;http://x\x07\nfake: line\u2028')).toBe('v1\\x1b[2J\\x1b]8;;http://x\\x07\\x0afake: line\\u2028');
    expect(neutralize('plain-tag_1.2')).toBe('plain-tag_1.2');
  });
});
