import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { REPO_ROOT } from '../support/cli.js';
import { ledgerSandbox, sampleEvents, type LedgerSandbox } from '../support/ledger-fixtures.js';

/**
 * Real processes on a real file: two writers at once, and writers killed with SIGKILL in the middle of a write.
 * The children run the built code (dist/, `npm run build`), as the CLI does.
 */
const WRITER = join(REPO_ROOT, 'test', 'support', 'ledger-writer.mjs');

let sb: LedgerSandbox;
beforeEach(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'ledger', 'ledger.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  sb = ledgerSandbox('airlock-concurrency-');
});
afterEach(() => sb.cleanup());

interface Writer {
  child: ChildProcess;
  lines: { tag: string; seqs: number[] }[];
  done: Promise<number | null>;
  ready: Promise<void>;
  stderr: () => string;
}

function writer(tag: string, count: number, batch = 1, every = 50, gate?: string): Writer {
  const child = spawn(process.execPath, [WRITER, sb.ledgerPath, tag, String(count), String(batch), String(every)], {
    env: { ...process.env, ...sb.env, ...(gate ? { AIRLOCK_TEST_START_GATE: gate } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Writer['lines'] = [];
  let readied: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (readied = resolve));
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, i)) as Writer['lines'][number] | { ready: true };
      if ('ready' in line) readied();
      else lines.push(line);
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, done, ready, stderr: () => err };
}

function verifyFile(): ReturnType<typeof verifyLedger> {
  const l = Ledger.open(sb.ledgerPath, { readOnly: true });
  try {
    return verifyLedger(l);
  } finally {
    l.close();
  }
}

describe('ledger under concurrent and interrupted writers', { timeout: 180_000 }, () => {
  it('two processes appending 500 events each at once: no corruption, no gap, and it verifies', async () => {
    sb.open({ create: true }).close();
    // Both writers open the ledger, then start together (a start gate), so their appends overlap for real.
    const gate = join(sb.root, 'start-gate');
    const a = writer('alpha', 500, 1, 50, gate);
    const b = writer('beta', 500, 1, 50, gate);
    await Promise.race([Promise.all([a.ready, b.ready]), Promise.all([a.done, b.done])]);
    writeFileSync(gate, '');
    const codes = await Promise.all([a.done, b.done]);
    expect(codes, a.stderr() + b.stderr()).toEqual([0, 0]);
    const seqsA = a.lines.flatMap((x) => x.seqs);
    const seqsB = b.lines.flatMap((x) => x.seqs);
    expect(seqsA).toHaveLength(500);
    expect(seqsB).toHaveLength(500);
    // Each writer's own entries are in order; together they are exactly 0..999 (no gap, no duplicate).
    expect(seqsA).toEqual([...seqsA].sort((x, y) => x - y));
    expect([...seqsA, ...seqsB].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // They really interleaved, or this test proved nothing.
    expect(Math.min(...seqsB)).toBeLessThan(Math.max(...seqsA));
    const r = verifyFile();
    expect(r.problems).toEqual([]);
    expect(r.treeSize).toBe(1000);
    expect(r.uncovered).toBe(0);
    expect(r.checkpoints.count).toBeGreaterThanOrEqual(10);
    const l = Ledger.open(sb.ledgerPath, { readOnly: true });
    expect(l.list({ image: 'ghcr.io/fluxcd/alpha', limit: 1000 })).toHaveLength(500);
    l.close();
  });

  it('two processes creating the same ledger at once end with one origin and one key', async () => {
    const a = writer('alpha', 20);
    const b = writer('beta', 20);
    expect(await Promise.all([a.done, b.done])).toEqual([0, 0]);
    const r = verifyFile();
    expect(r.problems).toEqual([]);
    expect(r.treeSize).toBe(40);
    expect(readdirSync(join(sb.env.XDG_CONFIG_HOME, 'airlock', 'keys', 'airlock.ledger'))).toEqual([`${r.origin.split('/')[1]}.ed25519`]);
  });

  it('writers killed with SIGKILL mid-write leave a ledger that verifies and takes further appends', async () => {
    const seed = Number(process.env.LEDGER_KILL_SEED ?? Date.now() % 100000);
    console.log(`ledger kill test seed ${seed} (LEDGER_KILL_SEED=${seed} repeats it)`);
    let x = seed;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    sb.open({ create: true }).close();
    const rounds = process.env.SOAK === '1' ? 30 : 4;
    for (let round = 0; round < rounds; round++) {
      const w = writer(`w${round}`, 0, 1 + Math.floor(rand() * 50), 7);
      // Wait for some commits, then kill at a random moment inside the write loop.
      const minLines = 2 + Math.floor(rand() * 20);
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (w.lines.length >= minLines) {
            clearInterval(t);
            setTimeout(() => {
              w.child.kill('SIGKILL');
              resolve();
            }, Math.floor(rand() * 15));
          }
        }, 2);
        w.done.then((code) => reject(new Error(`writer exited early (${code}): ${w.stderr()}`)), reject);
      });
      await w.done;
      const committed = w.lines.flatMap((l) => l.seqs);
      const r = verifyFile();
      expect(r.problems, `round ${round}, seed ${seed}`).toEqual([]);
      // Everything the writer reported committed is there (and possibly one batch more it had no time to report).
      expect(r.treeSize).toBeGreaterThanOrEqual(Math.max(...committed) + 1);
    }
    // The ledger goes on: a new writer appends and signs a checkpoint that covers everything.
    const l = sb.open();
    l.append(sampleEvents(5));
    const cp = await l.checkpoint();
    l.close();
    const r = verifyFile();
    expect(r.problems).toEqual([]);
    expect(r.uncovered).toBe(0);
    expect(cp?.checkpoint.size).toBe(r.treeSize);
  });
});
