import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

/** `airlock inspect` end to end through the built CLI: each bad input gives one sentence and its own exit code. */
describe('airlock inspect (CLI)', () => {
  let reg: RunningRegistry;
  let dir: string;

  beforeAll(async () => {
    reg = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), 'airlock-e2e-inspect-'));
  });
  afterAll(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function oneSentence(stderr: string): void {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^airlock: .+[.;].*$/);
  }

  it('an unparsable reference exits BAD_INPUT', async () => {
    const r = await runCli(['inspect', 'Not A/Reference']);
    expect(r.code).toBe(EXIT_CODES.BAD_INPUT);
    oneSentence(r.stderr);
    expect(r.stderr).toMatch(/not a valid reference/);
  });

  it('an unreachable registry exits UNREACHABLE', async () => {
    const r = await runCli(['inspect', '127.0.0.1:1/x/y:z']);
    expect(r.code).toBe(EXIT_CODES.UNREACHABLE);
    oneSentence(r.stderr);
  });

  it('a missing tag exits NOT_FOUND', async () => {
    const r = await runCli(['inspect', `${reg.host}/nothing/here:v1`]);
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    oneSentence(r.stderr);
  });

  it('a missing layout exits LAYOUT_INVALID', async () => {
    const r = await runCli(['inspect', `oci:${join(dir, 'absent')}:v1`]);
    expect(r.code).toBe(EXIT_CODES.LAYOUT_INVALID);
    oneSentence(r.stderr);
  });

  it('a corrupt layout exits LAYOUT_INVALID and is left as it was', async () => {
    const bad = join(dir, 'corrupt');
    await mkdir(bad);
    await writeFile(join(bad, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(bad, 'index.json'), '{not json');
    const r = await runCli(['inspect', `oci:${bad}:v1`]);
    expect(r.code).toBe(EXIT_CODES.LAYOUT_INVALID);
    oneSentence(r.stderr);
  });

  it('--json carries the error code', async () => {
    const r = await runCli(['inspect', 'Not A/Reference', '--json']);
    expect(r.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'BAD_INPUT' } });
  });
});
