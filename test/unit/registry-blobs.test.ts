import { describe, expect, it } from 'vitest';
import { contentRangeStart } from '../../src/store/registry/blobs.js';
import { uploadRangeEnd, withDigestParam } from '../../src/store/registry/uploads.js';

describe('contentRangeStart', () => {
  it('reads the first byte of a 206 body', () => {
    expect(contentRangeStart('bytes 100-199/200')).toBe(100);
    expect(contentRangeStart('bytes 0-0/*')).toBe(0);
  });
  it('rejects what it cannot place', () => {
    expect(contentRangeStart(null)).toBeUndefined();
    expect(contentRangeStart('bytes 200-100/300')).toBeUndefined();
    expect(contentRangeStart('100-199/200')).toBeUndefined();
    expect(contentRangeStart('bytes */200')).toBeUndefined();
  });
});

describe('upload helpers', () => {
  it('appends digest= without touching the registry query', () => {
    expect(withDigestParam('http://r/v2/a/blobs/uploads/u?_state=a%2Bb%3D', 'sha256:ab')).toBe('http://r/v2/a/blobs/uploads/u?_state=a%2Bb%3D&digest=sha256%3Aab');
    expect(withDigestParam('http://r/v2/a/blobs/uploads/u', 'sha256:ab')).toBe('http://r/v2/a/blobs/uploads/u?digest=sha256%3Aab');
    expect(withDigestParam('http://r/u?x=1#frag', 'sha256:ab')).toBe('http://r/u?x=1&digest=sha256%3Aab');
  });
  it('reads the end of an upload Range header', () => {
    expect(uploadRangeEnd('0-4194303')).toBe(4194303);
    expect(uploadRangeEnd('bytes=0-9')).toBe(9);
    expect(uploadRangeEnd(null)).toBeUndefined();
    expect(uploadRangeEnd('5-9')).toBeUndefined();
  });
});
