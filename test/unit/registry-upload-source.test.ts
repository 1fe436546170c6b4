import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { DigestVerifier, sha256Digest } from '../../src/oci/digest.js';
import { UploadSource } from '../../src/store/registry/uploads.js';

/** A source that counts what was pulled from it and whether it was closed. */
function source(pieces: Uint8Array[]): { iterable: AsyncIterable<Uint8Array>; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (const p of pieces) {
        pulled++;
        yield p;
      }
    } finally {
      closed = true;
    }
  }
  return { iterable: gen(), pulled: () => pulled, closed: () => closed };
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.byteLength; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

async function drain(it: AsyncIterable<Uint8Array>, limit = Infinity): Promise<Buffer> {
  const got: Uint8Array[] = [];
  for await (const p of it) {
    got.push(p);
    if (got.length >= limit) break;
  }
  return Buffer.concat(got);
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('UploadSource (the body of a streamed upload)', () => {
  const bytes = randomBytes(10 * 1000);
  const verifier = () => new DigestVerifier(sha256Digest(bytes), bytes.byteLength, 'blob');

  it('passes every byte through once, in order, and is complete only after the digest matched', async () => {
    const s = source(split(bytes, 1000));
    const src = new UploadSource(s.iterable, verifier(), 0);
    expect(Buffer.from(await drain(src.open()!)).equals(bytes)).toBe(true);
    expect(src.complete).toBe(true);
    expect(src.bytesRead).toBe(bytes.byteLength);
  });

  it('holds back the last piece until the source ended and matched: a wrong blob never completes a body', async () => {
    const wrong = Buffer.from(bytes);
    wrong[9999]! ^= 1;
    const src = new UploadSource(source(split(wrong, 1000)).iterable, verifier(), 0);
    const seen: Uint8Array[] = [];
    const e = await failure(
      (async () => {
        for await (const p of src.open()!) seen.push(p);
      })(),
    );
    expect(isAirlockError(e, 'INTEGRITY')).toBe(true);
    expect(Buffer.concat(seen).byteLength).toBe(9000); // the last 1000 bytes were never handed out
    expect(src.failure).toBe(e);
    expect(src.complete).toBe(false);
    expect(src.rewindable).toBe(false);
    expect(src.open()).toBeUndefined();
  });

  it('refuses a source longer than the descriptor as soon as the extra bytes arrive', async () => {
    const src = new UploadSource(source([bytes, randomBytes(10)]).iterable, verifier(), 0);
    expect(isAirlockError(await failure(drain(src.open()!)), 'INTEGRITY')).toBe(true);
  });

  it('rewinds to byte 0 while everything read is still kept, without reading the source again', async () => {
    const s = source(split(bytes, 1000));
    const src = new UploadSource(s.iterable, verifier(), 4000);
    expect((await drain(src.open()!, 3)).byteLength).toBe(3000); // 3 handed out, a 4th read and held back
    expect(s.pulled()).toBe(4);
    expect(src.rewindable).toBe(true);
    const again = src.open()!;
    expect(Buffer.from(await drain(again)).equals(bytes)).toBe(true);
    expect(s.pulled()).toBe(10); // the first four were replayed from memory
    expect(src.complete).toBe(true);
  });

  it('cannot rewind once it has read past its window, and stops a superseded attempt', async () => {
    const s = source(split(bytes, 1000));
    const src = new UploadSource(s.iterable, verifier(), 2500);
    const first = src.open()![Symbol.asyncIterator]();
    await first.next();
    await first.next(); // 3 pieces read: 3000 > 2500
    expect(src.rewindable).toBe(false);
    expect(src.open()).toBeUndefined();

    const s2 = source(split(bytes, 1000));
    const src2 = new UploadSource(s2.iterable, verifier(), 5000);
    const old = src2.open()![Symbol.asyncIterator]();
    await old.next();
    const fresh = src2.open()!;
    expect((await old.next()).done).toBe(true); // superseded: pulls nothing more
    expect(Buffer.from(await drain(fresh)).equals(bytes)).toBe(true);
  });

  it('rethrows the source own failure to every attempt, and close() releases the source', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, 1000);
      throw new Error('disk on fire');
    }
    const src = new UploadSource(broken(), verifier(), 5000);
    const e = await failure(drain(src.open()!));
    expect((e as Error).message).toBe('disk on fire');
    expect(src.failure).toBe(e);
    expect(src.open()).toBeUndefined();

    const s = source(split(bytes, 1000));
    const src2 = new UploadSource(s.iterable, verifier(), 0);
    await drain(src2.open()!, 2);
    await src2.close();
    expect(s.closed()).toBe(true);
  });
});
