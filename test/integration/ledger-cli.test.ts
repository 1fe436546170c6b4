import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { REPO_ROOT, runCli, type CliResult } from '../support/cli.js';
import { digestOf, fingerprint, ledgerSandbox, sampleEvents, tamper, type LedgerSandbox } from '../support/ledger-fixtures.js';

/** `airlock init` and `airlock ledger …` through the built CLI, as a user and an auditor would run them. */
let sb: LedgerSandbox;
let site: string;
let env: NodeJS.ProcessEnv;

const cli = (args: string[], input?: string): Promise<CliResult> => runCli(args, { env, cwd: site, input });
const json = <T>(r: CliResult): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};
function oneSentence(r: CliResult, code: number): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^airlock: .+\.$/);
}

/** The code blocks of docs/ledger.md, by the file name their first line names. */
function recipe(name: string): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'ledger.md'), 'utf8');
  const block = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith(`# ${name}`));
  if (!block) throw new Error(`docs/ledger.md has no ${name} recipe`);
  return block;
}

beforeAll(async () => {
  sb = ledgerSandbox('airlock-cli-ledger-');
  env = { ...sb.env, AIRLOCK_CONFIG: '' };
  site = join(sb.root, 'site');
  const init = await runCli(['init', '--dir', site, '--json'], { env, cwd: sb.root });
  const r = json<{ config: string; ledger: string; key: string }>(init);
  expect(init.stderr).toMatch(/created the ledger signing key/);
  expect(r.config).toBe(join(site, 'airlock.yaml'));
  // Record two runs through the API, as sync will.
  const l = Ledger.open(r.ledger, { key: r.key });
  const run = l.startRun({ command: 'sync', toolVersion: '0.1.0' });
  run.append(sampleEvents(16));
  await run.finish({ outcome: 'refusals', counts: { verified: 4, refused: 2 } });
  l.close();
});
afterAll(() => sb.cleanup());

describe('airlock ledger (CLI)', { timeout: 180_000 }, () => {
  it('init refuses to overwrite, with one sentence', async () => {
    oneSentence(await runCli(['init', '--dir', site], { env, cwd: sb.root }), EXIT_CODES.BAD_INPUT);
  });

  it('list, show and checkpoint find the config in the current directory', async () => {
    const list = json<{ count: number; entries: { seq: number; kind: string }[] }>(await cli(['ledger', 'list', '--json']));
    expect(list.count).toBe(18);
    expect(list.entries[0]!.kind).toBe('run-finished');
    const refused = json<{ entries: { kind: string }[] }>(await cli(['ledger', 'list', '--kind', 'refused', '--json']));
    expect(refused.entries.map((e) => e.kind)).toEqual(['refused', 'refused']);
    const human = await cli(['ledger', 'list', '--limit', '3']);
    expect(human.code).toBe(0);
    expect(human.stdout.trim().split('\n')).toHaveLength(4);
    const story = json<{ story: { events: { kind: string }[] } }>(await cli(['ledger', 'show', digestOf('image-1'), '--json']));
    expect(story.story.events.map((e) => e.kind)).toEqual(['verified']);
    const entry = json<{ entry: { seq: number; leafHash: string } }>(await cli(['ledger', 'show', '3', '--json']));
    expect(entry.entry.seq).toBe(3);
    oneSentence(await cli(['ledger', 'show', '999']), EXIT_CODES.NOT_FOUND);
    oneSentence(await cli(['ledger', 'show', digestOf('never')]), EXIT_CODES.NOT_FOUND);
    oneSentence(await cli(['ledger', 'list', '--since', 'last tuesday']), EXIT_CODES.BAD_INPUT);

    const cp = await cli(['ledger', 'checkpoint']);
    expect(cp.code).toBe(0);
    const lines = cp.stdout.split('\n');
    expect(lines[0]).toMatch(/^airlock\.ledger\/[0-9a-f]{20}$/);
    expect(lines[1]).toBe('18');
    expect(lines[2]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const cpj = json<{ verifierKey: string; verifierKeySource: string; size: number }>(await cli(['ledger', 'checkpoint', '--json']));
    expect(cpj.verifierKeySource).toBe('key-file');
    expect(cpj.verifierKey.startsWith(`${lines[0]}+`)).toBe(true);
  });

  it('prove prints a proof the documented Python recipe checks without airlock, against a kept checkpoint', async () => {
    const kept = join(sb.root, 'kept.checkpoint');
    writeFileSync(kept, (await cli(['ledger', 'checkpoint'])).stdout);
    const proof = await cli(['ledger', 'prove', '5', '--json']);
    expect(proof.code).toBe(0);
    const script = join(sb.root, 'verify_inclusion.py');
    writeFileSync(script, recipe('verify_inclusion.py'));
    expect(recipe('verify_inclusion.py').split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(22);
    const ok = spawnSync('python3', [script, kept], { input: proof.stdout, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^entry 5 is leaf 5 of the tree of 18/);
    // A proof for another entry's leaf does not pass.
    const p = JSON.parse(proof.stdout) as { leaf: string; leafHash: string };
    const forged = { ...p, leaf: p.leaf.replace('"seq":5', '"seq":6') };
    const bad = spawnSync('python3', [script, kept], { input: JSON.stringify(forged), encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    // The checkpoint's signature checks with the pinned verifier key (Python `cryptography`).
    const vkey = join(sb.root, 'ledger.vkey');
    writeFileSync(vkey, `${json<{ verifierKey: string }>(await cli(['ledger', 'checkpoint', '--json'])).verifierKey}\n`);
    const sigScript = join(sb.root, 'verify_checkpoint.py');
    writeFileSync(sigScript, recipe('verify_checkpoint.py'));
    const sig = spawnSync('python3', [sigScript, kept, vkey], { encoding: 'utf8' });
    expect(sig.status, sig.stderr).toBe(0);
    expect(sig.stdout).toMatch(/checkpoint signature OK/);
  });

  it('verify passes with a kept checkpoint and a pinned key, and exits 14 naming the entry after tampering', async () => {
    const kept = join(sb.root, 'kept2.checkpoint');
    writeFileSync(kept, (await cli(['ledger', 'checkpoint'])).stdout);
    const vkey = join(sb.root, 'ledger2.vkey');
    writeFileSync(vkey, json<{ verifierKey: string }>(await cli(['ledger', 'checkpoint', '--json'])).verifierKey);
    const plain = await cli(['ledger', 'verify']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/Proved internal consistency only/);
    expect(plain.stdout).toMatch(/No checkpoint sink leaves this host/);
    const good = json<{ ok: boolean; assurance: string }>(await cli(['ledger', 'verify', '--checkpoint', kept, '--public-key', vkey, '--json']));
    expect(good).toMatchObject({ ok: true, assurance: 'extends-kept-checkpoint-pinned-key' });

    mkdirSync(join(sb.root, 'evidence'));
    const copy = join(sb.root, 'evidence', 'tampered.db');
    copyFileSync(join(site, 'airlock.db'), copy);
    tamper(copy, "UPDATE events SET reason = 'FINE' WHERE seq = 6");
    const before = fingerprint(copy);
    const bad = await cli(['ledger', 'verify', '--ledger', copy, '--checkpoint', kept, '--public-key', vkey]);
    expect(bad.code).toBe(EXIT_CODES.LEDGER_INVALID);
    expect(bad.stderr).toMatch(/^airlock: The ledger does not verify: Entry 6 does not match the leaf hash recorded when it was appended/m);
    const badJson = await cli(['ledger', 'verify', '--ledger', copy, '--checkpoint', kept, '--json']);
    expect(badJson.code).toBe(EXIT_CODES.LEDGER_INVALID);
    const err = (JSON.parse(badJson.stdout) as { error: { code: string; details: { ok: boolean; problems: { seq?: number }[] } } }).error;
    expect(err.code).toBe('LEDGER_INVALID');
    expect(err.details.ok).toBe(false);
    expect(err.details.problems[0]!.seq).toBe(6);
    expect(fingerprint(copy)).toEqual(before);
  });

  it('export writes JSON and neutralised CSV', async () => {
    const csv = await cli(['ledger', 'export', '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\r\n')[0]).toBe('seq,time,kind,run,image,digest,subject,release,status,reason,body,leaf_hash');
    const out = join(sb.root, 'export.json');
    const r = json<{ count: number; output: string }>(await cli(['ledger', 'export', '--format', 'json', '--output', out, '--json']));
    expect(r.count).toBe(18);
    expect((JSON.parse(readFileSync(out, 'utf8')) as unknown[]).length).toBe(18);
    const noOutput = await cli(['ledger', 'export', '--json']);
    expect(noOutput.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(JSON.parse(noOutput.stdout)).toMatchObject({ error: { code: 'BAD_INPUT', message: 'With --json, name the export file with --output FILE.' } });
  });

  it('bad input: each a sentence and its own exit code, and no file changed', async () => {
    const dir = join(sb.root, 'bad');
    mkdirSync(dir);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a ledger\n'.repeat(50));
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO accounts (name) VALUES (\'x\');');
    f.close();
    const corrupt = join(dir, 'corrupt.db');
    copyFileSync(join(site, 'airlock.db'), corrupt);
    const bytes = readFileSync(corrupt);
    bytes.fill(0xa5, 8192);
    writeFileSync(corrupt, bytes);
    for (const [file, cmd] of [
      [text, 'verify'],
      [foreign, 'list'],
      [corrupt, 'verify'],
      [corrupt, 'checkpoint'],
    ] as const) {
      const before = fingerprint(file);
      oneSentence(await cli(['ledger', cmd, '--ledger', file]), EXIT_CODES.LEDGER_INVALID);
      expect(fingerprint(file), file).toEqual(before);
    }
    const bad = join(sb.root, 'malformed.checkpoint');
    writeFileSync(bad, 'airlock.ledger/x\n12\nnot-base64\n\n— x AAAA\n');
    oneSentence(await cli(['ledger', 'verify', '--checkpoint', bad]), EXIT_CODES.CHECKPOINT_INVALID);
    const other = join(sb.root, 'other.checkpoint');
    writeFileSync(other, (await cli(['ledger', 'checkpoint'])).stdout.replace(/^airlock\.ledger\/[0-9a-f]+/, 'airlock.ledger/0000'));
    oneSentence(await cli(['ledger', 'verify', '--checkpoint', other]), EXIT_CODES.CHECKPOINT_INVALID);
    oneSentence(await cli(['ledger', 'verify', '--public-key', join(sb.root, 'absent.vkey')]), EXIT_CODES.NOT_FOUND);
    oneSentence(await cli(['ledger', 'list', '--ledger', join(sb.root, 'absent.db')]), EXIT_CODES.NOT_FOUND);
    const errJson = await cli(['ledger', 'list', '--ledger', text, '--json']);
    expect(JSON.parse(errJson.stdout)).toMatchObject({ error: { code: 'LEDGER_INVALID' } });
    expect(EXIT_CODES.LEDGER_KEY).toBe(17);
    expect(new Set([EXIT_CODES.LEDGER_INVALID, EXIT_CODES.LEDGER_KEY, EXIT_CODES.CHECKPOINT_INVALID]).size).toBe(3);
  });
});
