import { createHash, type Hash } from 'node:crypto';
import { AirlockError } from '../errors.js';

/** A content digest, `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase. Only values that passed parseDigest. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

export function parseDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s)) {
    throw new AirlockError('BAD_INPUT', `The ${what} "${s.slice(0, 140)}" is not a sha256:<64 hex> or sha512:<128 hex> digest.`);
  }
  return s;
}

export function algorithmOf(d: Digest): 'sha256' | 'sha512' {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

/** Throws INTEGRITY unless `bytes` hash to `expected` (and have `size` bytes, when given). */
export function checkBytes(bytes: Uint8Array, expected: Digest, size?: number, what = 'content'): void {
  if (size !== undefined && bytes.byteLength !== size) {
    throw new AirlockError(
      'INTEGRITY',
      `The ${what} ${expected} has ${bytes.byteLength} bytes where its descriptor says ${size}; the source is corrupt or was tampered with.`,
    );
  }
  const actual = digestOf(bytes, algorithmOf(expected));
  if (actual !== expected) {
    throw new AirlockError('INTEGRITY', `The ${what} expected as ${expected} hashes to ${actual}; the source is corrupt or was tampered with.`, {
      details: { expected, actual },
    });
  }
}

/**
 * Hashes a stream as it passes and checks digest and size at its end. Used by both store backends on every
 * read and every write, so a byte that does not match its descriptor never counts as written.
 * More bytes than `size` fail as soon as they arrive, so a hostile source cannot stream without bound.
 */
export class DigestVerifier {
  private readonly hash: Hash;
  private seen = 0;

  constructor(
    readonly expected: Digest,
    readonly size: number,
    private readonly what = 'blob',
  ) {
    this.hash = createHash(algorithmOf(expected));
  }

  get bytesSeen(): number {
    return this.seen;
  }

  update(chunk: Uint8Array): void {
    this.seen += chunk.byteLength;
    if (this.seen > this.size) {
      throw new AirlockError(
        'INTEGRITY',
        `The ${this.what} ${this.expected} is longer than the ${this.size} bytes its descriptor says; the source is corrupt or was tampered with.`,
      );
    }
    this.hash.update(chunk);
  }

  /** Call after the last chunk. */
  finish(): void {
    if (this.seen !== this.size) {
      throw new AirlockError(
        'INTEGRITY',
        `The ${this.what} ${this.expected} ended after ${this.seen} of ${this.size} bytes; the source is corrupt or the transfer was cut.`,
      );
    }
    const actual = `${algorithmOf(this.expected)}:${this.hash.digest('hex')}`;
    if (actual !== this.expected) {
      throw new AirlockError(
        'INTEGRITY',
        `The ${this.what} expected as ${this.expected} hashes to ${actual}; the source is corrupt or was tampered with.`,
        { details: { expected: this.expected, actual } },
      );
    }
  }
}

/** Wraps an async iterable so it throws INTEGRITY at the end (or early, when too long) unless it matches. */
export async function* verifyingStream(
  source: AsyncIterable<Uint8Array>,
  expected: Digest,
  size: number,
  what = 'blob',
): AsyncGenerator<Uint8Array> {
  const v = new DigestVerifier(expected, size, what);
  for await (const chunk of source) {
    v.update(chunk);
    yield chunk;
  }
  v.finish();
}
