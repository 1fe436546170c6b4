import { expect } from 'vitest';
import { isAirlockError, type AirlockError } from '../../src/errors.js';
import { refusalReasonOf } from '../../src/upstream/refusal.js';

/** The upstream refusal reason `f` throws (it must throw an AirlockError), or 'accepted' when it does not throw. */
export function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(isAirlockError(e)).toBe(true);
    return refusalReasonOf(e);
  }
  return 'accepted';
}

/** The AirlockError `fn` throws; anything else it throws is rethrown, and not throwing fails the test. */
export function caught(fn: () => unknown): AirlockError {
  try {
    fn();
  } catch (e) {
    if (isAirlockError(e)) return e;
    throw e;
  }
  throw new Error('expected an AirlockError');
}
