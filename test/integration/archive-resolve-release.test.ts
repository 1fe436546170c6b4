/**
 * `archive save --release latest` finds the newest release in the mirror. A mirror that holds none says so (exit 3);
 * a registry that refuses the password, or cannot be reached, says THAT — before the fix every error listing the
 * tags read as "holds no release", which sent an operator with a wrong password off to run sync again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRelease } from '../../src/archive/save.js';
import { AirlockError } from '../../src/errors.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

let reg: RunningRegistry;
beforeAll(async () => {
  reg = await startRegistry({ htpasswd: { writer: 'right-password' } });
}, 60_000);
afterAll(async () => {
  await reg?.stop();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    return (e as AirlockError).code;
  }
}

describe('resolveRelease(latest)', () => {
  it('an empty mirror holds no release (NOT_FOUND); the registry with the right password, and an empty oci: directory', async () => {
    expect(await codeOf(resolveRelease(`${reg.host}/fluxcd`, 'flux', 'latest', { credentials: { [reg.host]: { username: 'writer', password: 'right-password' } } }))).toBe('NOT_FOUND');
    expect(await codeOf(resolveRelease(`oci:${join(mkdtempSync(join(tmpdir(), 'airlock-resolve-')), 'none')}`, 'flux', 'latest', {}))).toBe('NOT_FOUND');
  });

  it('a refused password is AUTH_FAILED, not "holds no release"', async () => {
    const e = resolveRelease(`${reg.host}/fluxcd`, 'flux', 'latest', { credentials: { [reg.host]: { username: 'writer', password: 'wrong-password' } } });
    await expect(e).rejects.toThrow(/refused the credentials/);
    expect(await codeOf(resolveRelease(`${reg.host}/fluxcd`, 'flux', 'latest', {}))).toBe('AUTH_FAILED');
  });

  it('an unreachable registry is UNREACHABLE', async () => {
    expect(await codeOf(resolveRelease('127.0.0.1:9/fluxcd', 'flux', 'latest', { retries: 0 }))).toBe('UNREACHABLE');
  }, 30_000);
});
