/**
 * The ledger excerpt an air-gap archive carries: built from a real ledger, checked by the receiver. Each attack
 * on it — an edited entry, an edited proof, a forged checkpoint, another ledger's key, another release — is
 * refused with its own code; a genuine excerpt is unauthenticated without the sender's key and authenticated with it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildExcerpt, checkExcerpt, type LedgerExcerpt } from '../../src/archive/excerpt.js';
import { AirlockError } from '../../src/errors.js';
import { formatVerifierKey } from '../../src/ledger/keys.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { ledgerSandbox, sampleEvents, type LedgerSandbox } from '../support/ledger-fixtures.js';

let box: LedgerSandbox;
let other: LedgerSandbox;
let ledger: Ledger;
let excerpt: LedgerExcerpt;
const RELEASE = 'v2.1.0';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AirlockError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'accepted';
}

function copy(): LedgerExcerpt {
  return JSON.parse(JSON.stringify(excerpt)) as LedgerExcerpt;
}

beforeEach(async () => {
  box = ledgerSandbox('airlock-excerpt-');
  other = ledgerSandbox('airlock-excerpt-other-');
  ledger = box.open({ create: true });
  ledger.append(sampleEvents(40));
  await ledger.checkpoint();
  ledger.append(sampleEvents(3, 'late'));
  excerpt = buildExcerpt(ledger, RELEASE, []);
});
afterEach(() => {
  ledger.close();
  box.cleanup();
  other.cleanup();
});

describe('the ledger excerpt', () => {
  it('carries the release\'s entries proven against the latest checkpoint, and counts the newer ones it cannot prove', () => {
    expect(excerpt.treeSize).toBe(40);
    expect(excerpt.entries.length).toBe(8);
    expect(excerpt.entries.every((e) => (JSON.parse(e.leaf) as { release: string }).release === RELEASE)).toBe(true);
    expect(excerpt.unproven).toBe(0);
    // v2.0.0 has 3 entries appended after the checkpoint: not carried (unprovable yet), but counted.
    const older = buildExcerpt(ledger, 'v2.0.0', []);
    expect(older.unproven).toBe(3);
    expect(older.entries.every((e) => e.index < 40)).toBe(true);
  });

  it('is accepted unauthenticated without a key, authenticated with the sender\'s', () => {
    const plain = checkExcerpt(copy(), RELEASE, undefined);
    expect(plain).toMatchObject({ authenticated: false, treeSize: 40, entries: 8 });
    const keyed = checkExcerpt(copy(), RELEASE, formatVerifierKey(ledger.storedKey));
    expect(keyed.authenticated).toBe(true);
    expect(keyed.note).toContain(ledger.origin);
  });

  it('refuses an edited entry (LEDGER_INVALID)', () => {
    const x = copy();
    x.entries[2]!.leaf = x.entries[2]!.leaf.replace('verified', 'refused');
    expect(code(() => checkExcerpt(x, RELEASE, undefined))).toMatch(/^LEDGER_INVALID: .*not in the tree of its checkpoint/);
  });

  it('refuses an edited audit path (LEDGER_INVALID)', () => {
    const x = copy();
    const path = x.entries[0]!.auditPath;
    path[0] = path[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(code(() => checkExcerpt(x, RELEASE, undefined))).toMatch(/^LEDGER_INVALID: /);
  });

  it('refuses a checkpoint with another root, even one that is well formed (LEDGER_INVALID), and one not signed by the given key (CHECKPOINT_INVALID)', () => {
    const x = copy();
    const lines = x.checkpoint.split('\n');
    lines[2] = Buffer.alloc(32, 7).toString('base64');
    x.checkpoint = lines.join('\n');
    expect(code(() => checkExcerpt(x, RELEASE, undefined))).toMatch(/^LEDGER_INVALID: /);
    const otherLedger = other.open({ create: true });
    try {
      expect(code(() => checkExcerpt(copy(), RELEASE, formatVerifierKey(otherLedger.storedKey)))).toMatch(/^CHECKPOINT_INVALID: .*not signed by the key given with --ledger-public-key/);
    } finally {
      otherLedger.close();
    }
  });

  it('refuses an excerpt about another release, or not an excerpt at all', () => {
    expect(code(() => checkExcerpt(copy(), 'v2.2.0', undefined))).toMatch(/^LEDGER_INVALID: .*not v2\.2\.0/);
    expect(code(() => checkExcerpt({ format: 'x' }, RELEASE, undefined))).toMatch(/^LEDGER_INVALID: /);
    expect(code(() => checkExcerpt(null, RELEASE, undefined))).toMatch(/^LEDGER_INVALID: /);
  });
});
