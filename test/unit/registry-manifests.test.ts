import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors.js';
import { contentTypeOf, readBounded } from '../../src/store/registry/manifests.js';

function streamOf(total: number, onPull: () => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      onPull();
      if (sent >= total) return c.close();
      sent += 1024;
      c.enqueue(new Uint8Array(1024));
    },
  });
}

describe('readBounded', () => {
  it('reads a body within the limit', async () => {
    expect((await readBounded(new Response(new Uint8Array(10)), 10, 'x')).byteLength).toBe(10);
  });
  it('refuses by Content-Length before reading', async () => {
    let pulls = 0;
    const res = new Response(streamOf(1 << 20, () => pulls++), { headers: { 'Content-Length': String(1 << 20) } });
    const e = await readBounded(res, 4096, 'manifest').catch((x: unknown) => x);
    expect(isAirlockError(e, 'LIMIT_EXCEEDED')).toBe(true);
    expect(pulls).toBeLessThanOrEqual(1);
  });
  it('stops counting as soon as the limit is passed when the length is not declared', async () => {
    let pulls = 0;
    const e = await readBounded(new Response(streamOf(1 << 30, () => pulls++)), 8192, 'manifest').catch((x: unknown) => x);
    expect(isAirlockError(e, 'LIMIT_EXCEEDED')).toBe(true);
    expect(pulls).toBeLessThan(20);
  });
});

describe('contentTypeOf', () => {
  it('drops parameters and case', () => {
    expect(contentTypeOf(new Response('', { headers: { 'Content-Type': 'Application/JSON; charset=utf-8' } }))).toBe('application/json');
    expect(contentTypeOf(new Response(null))).toBeUndefined();
  });
});
