/**
 * Config validation: arbitrary YAML-ish documents (known sections with arbitrary values, unknown keys, wrong
 * types) give a SyncConfig or one BAD_INPUT sentence naming the file — never another exception, never a partly
 * read config. Limits are accepted exactly within 1..their upper bound.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_SYNC_LIMITS, LIMITS_RANGE, readSyncConfig, type SyncConfig, type SyncLimits } from '../../src/config/config.js';
import { AirlockError } from '../../src/errors.js';
import { params } from './fc-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-config-property-'));
let n = 0;

function read(text: string): SyncConfig | AirlockError {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, text);
  try {
    return readSyncConfig(file, {});
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    const err = e as AirlockError;
    expect(err.code).toBe('BAD_INPUT');
    // One sentence: no line break, names the file, ends with a full stop.
    expect(err.message).not.toMatch(/\n/);
    expect(err.message.startsWith(file)).toBe(true);
    expect(err.message).toMatch(/\.\)?$/);
    return err;
  }
}

const scalar = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 12 }), tie('v'), { maxKeys: 3 })),
})).v;
const SECTIONS: Record<string, string[]> = {
  upstream: ['github_api', 'repository', 'token_env', 'releases', 'profile'],
  images: ['canonical_prefix', 'source', 'require_provenance'],
  trust: ['trusted_root', 'tuf_refresh', 'rekor_url'],
  assets: ['cli_archives', 'directory'],
  registries: ['insecure', 'ca', 'authfile'],
  limits: Object.values(LIMITS_RANGE).map((r) => r.key),
};
const section = (name: string) =>
  fc.dictionary(fc.oneof(fc.constantFrom(...SECTIONS[name]!), fc.string({ maxLength: 10 })), value, { maxKeys: 4 });
const doc = fc.record(
  {
    version: fc.oneof(fc.constant(1), value),
    upstream: section('upstream'),
    images: section('images'),
    trust: section('trust'),
    target: fc.oneof(fc.constantFrom('oci:./m', 'registry.internal/fluxcd', 'oci:'), value),
    assets: section('assets'),
    concurrency: fc.oneof(fc.integer({ min: -2, max: 40 }), value),
    registries: section('registries'),
    limits: section('limits'),
    other: value,
  },
  { requiredKeys: [] },
);

describe('config validation (property)', () => {
  it('any document: a config, or one BAD_INPUT sentence naming the file', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const r = read(stringify(d));
        if (!(r instanceof AirlockError)) {
          expect(r.concurrency).toBeGreaterThanOrEqual(1);
          expect(r.concurrency).toBeLessThanOrEqual(32);
          for (const [k, { max }] of Object.entries(LIMITS_RANGE)) {
            const v = r.limits[k as keyof SyncLimits];
            expect(Number.isSafeInteger(v) && v >= 1 && v <= max).toBe(true);
          }
        }
      }),
      params(0.5),
    );
  });

  it('any text (not YAML, YAML with duplicate keys, anchors, tabs): a config or one BAD_INPUT sentence', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('a: 1\na: 2\n', 'limits: &x {}\nimages: *x\n', '\tlimits: 1\n', 'limits:\n  index_depth: !!str 3\n', '[1, 2]\n', '"x"\n', 'limits: [1]\n'),
    );
    fc.assert(
      fc.property(text, (t) => {
        read(t);
      }),
      params(0.5),
    );
  });

  it('each limit is accepted exactly when it is a whole number from 1 to its upper bound, and is then what is used', () => {
    const names = Object.keys(LIMITS_RANGE) as (keyof SyncLimits)[];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.oneof(fc.integer({ min: -5, max: 2 ** 40 }), fc.double(), fc.constantFrom(0, 1, 16, 1024, 100_000, 100_001, 2 ** 53)), (name, v) => {
        const { key, max } = LIMITS_RANGE[name];
        const r = read(`limits:\n  ${key}: ${JSON.stringify(v)}\n`);
        const ok = Number.isSafeInteger(v) && v >= 1 && v <= max;
        if (ok) expect((r as SyncConfig).limits).toEqual({ ...DEFAULT_SYNC_LIMITS, [name]: v });
        else expect((r as AirlockError).message).toMatch(new RegExp(`limits\\.${key} must be a whole number from 1 to ${max}`));
      }),
      params(),
    );
  });
});
