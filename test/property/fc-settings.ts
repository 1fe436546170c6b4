/**
 * Settings shared by the property tests: one seed per run, from FC_SEED or random, printed so a failure can be
 * replayed (`FC_SEED=<n> npx vitest run test/property`); runs bounded for CI, many more with SOAK=1.
 */
import type { Parameters } from 'fast-check';
import { vi } from 'vitest';

export const SEED = process.env.FC_SEED !== undefined && process.env.FC_SEED !== '' ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
export const SOAK = process.env.SOAK === '1';
export const RUNS = SOAK ? 20_000 : 200;

// A soak run takes minutes per property; the bounded run keeps the suite's 60 s timeout.
if (SOAK) vi.setConfig({ testTimeout: 60 * 60_000 });

let printed = false;

/** fast-check parameters with the run's seed; `scale` for properties that are costlier per run. */
export function params<T>(scale = 1): Parameters<T> {
  if (!printed) {
    printed = true;
    process.stderr.write(`fast-check seed ${SEED} (replay with FC_SEED=${SEED}), ${RUNS} runs per property${SOAK ? ' (SOAK)' : ''}\n`);
  }
  return { seed: SEED, numRuns: Math.max(10, Math.round(RUNS * scale)) };
}
