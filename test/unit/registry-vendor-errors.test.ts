import { describe, expect, it } from 'vitest';
import { classifyVendorRefusal } from '../../src/store/registry/vendor-errors.js';

const refusal = (status: number, code: string, said: string, host = 'registry.example:5000') => ({ status, codes: code ? [code] : [], said: code ? `${code}: ${said}` : said, host });
const SIG = `sha256-${'a'.repeat(64)}.sig`;

describe('classifyVendorRefusal', () => {
  it('ECR: NAME_UNKNOWN on a push → create the repository first, REGISTRY_ERROR', () => {
    const e = classifyVendorRefusal(
      refusal(404, 'NAME_UNKNOWN', "The repository with name 'fluxcd/x' does not exist in the registry with id '123456789012'", '123456789012.dkr.ecr.eu-west-1.amazonaws.com'),
      { repository: 'fluxcd/x' },
    );
    expect(e?.code).toBe('REGISTRY_ERROR');
    expect(e?.message).toMatch(/^Create the repository fluxcd\/x first \(ECR does not create repositories on push\)/);
    expect(e?.details?.vendorRefusal).toBe('repository-missing');
  });

  it('another registry that does not create repositories on push: the same advice without naming ECR', () => {
    const e = classifyVendorRefusal(refusal(404, 'NAME_UNKNOWN', 'repository name not known to registry'), { repository: 'fluxcd/x' });
    expect(e?.message).toMatch(/^Create the repository fluxcd\/x first: /);
    expect(e?.message).not.toContain('ECR');
  });

  it('Harbor: project not found → create the project', () => {
    const e = classifyVendorRefusal(refusal(404, 'NOT_FOUND', 'project mirror not found'), { repository: 'mirror/fluxcd/x' });
    expect(e?.code).toBe('REGISTRY_ERROR');
    expect(e?.message).toMatch(/^Harbor project mirror does not exist on registry\.example:5000 .*: create it/);
  });

  it.each([
    ['ECR 400 TAG_INVALID', refusal(400, 'TAG_INVALID', "The image tag 'v1' already exists in the 'x' repository and cannot be overwritten because the tag is immutable.")],
    ['Harbor 412 PRECONDITION', refusal(412, 'PRECONDITION', "Failed to process request due to 'x:v1' configured as immutable.")],
    ['older Harbor 403 DENIED', refusal(403, 'DENIED', 'The tag:x:v1 is immutable, cannot be overwrite.')],
    ['409 TAG_IMMUTABLE', refusal(409, 'TAG_IMMUTABLE', 'tag exists')],
  ])('%s on a tag push → TAG_CONFLICT "the target tag … is immutable"', (_name, r) => {
    const e = classifyVendorRefusal(r, { repository: 'x', tag: 'v1' });
    expect(e?.code).toBe('TAG_CONFLICT');
    expect(e?.message).toMatch(/^The target tag v1 is immutable: /);
  });

  it('an immutable signature tag gets the advice to exclude signature tags from the rule', () => {
    const e = classifyVendorRefusal(refusal(412, 'PRECONDITION', 'configured as immutable'), { repository: 'x', tag: SIG });
    expect(e?.message).toContain('exclude the signature tags (sha256-*) from the immutability rule');
  });

  it.each([
    ['Harbor 403 DENIED', refusal(403, 'DENIED', 'adding 1.3 MiB of storage resource, which when updated to current usage of 235.9 MiB will exceed the configured upper limit of 100.0 MiB.')],
    ['GAR 429', refusal(429, 'TOOMANYREQUESTS', 'Quota exceeded for quota metric storage')],
    ['GHCR 403 plain text', refusal(403, '', 'storage quota exceeded for this account')],
  ])('%s → LIMIT_EXCEEDED "the storage quota is exceeded"', (_name, r) => {
    const e = classifyVendorRefusal(r, { repository: 'x' });
    expect(e?.code).toBe('LIMIT_EXCEEDED');
    expect(e?.message).toMatch(/^The storage quota is exceeded on /);
  });

  it('leaves everything else to the generic mapping (a plain 403, a 404 BLOB_UNKNOWN, an immutable word without a tag push)', () => {
    expect(classifyVendorRefusal(refusal(403, 'DENIED', 'requested access to the resource is denied'), { repository: 'x' })).toBeUndefined();
    expect(classifyVendorRefusal(refusal(404, 'BLOB_UNKNOWN', 'blob unknown to registry'), { repository: 'x' })).toBeUndefined();
    expect(classifyVendorRefusal(refusal(412, 'PRECONDITION', 'configured as immutable'), { repository: 'x' })).toBeUndefined();
  });

  it('neutralises what the registry said', () => {
    const e = classifyVendorRefusal(refusal(404, 'NAME_UNKNOWN', "The repository with name 'x\u001b[31m' does not exist"), { repository: 'x' });
    expect(e?.message).not.toContain('\u001b');
  });
});
