import type { Logger } from '../log.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Everything a store backend may be configured with. All optional; the defaults are the safe ones. */
export interface StoreOptions {
  logger?: Logger;
  /**
   * Hosts (`host` or `host:port`) that may be reached over plain HTTP besides loopback (127.0.0.0/8, ::1,
   * localhost), which always may — Docker's convention.
   */
  insecureRegistries?: string[];
  /** Extra CA bundles (PEM file paths) per registry host[:port], trusted in addition to the system store. */
  caFiles?: Record<string, string>;
  /** A docker config.json to read credentials from; else $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json. */
  authFile?: string;
  /** Credentials given directly (flags, tests), per registry host[:port]; they win over the auth file. */
  credentials?: Record<string, Credentials>;
  /** Extra attempts for a retryable request (429, 5xx, dropped connection); default 4 (so up to 5 tries). */
  retries?: number;
  /** Base delay of the exponential backoff in ms; default 200. Retry-After wins when the server sends it. */
  retryBaseMs?: number;
  /** Upper bound of a single wait (Retry-After included), ms; default 30 000. */
  retryMaxWaitMs?: number;
  /**
   * Given: blobs up to this size go in one PUT, larger ones in PATCH chunks of this size. Unset: blobs up to 1 MiB
   * in one PUT, larger ones in one streamed PATCH (its first 8 MiB kept for a resend).
   */
  chunkSize?: number;
  /** Concurrent requests to one registry; default 6. */
  maxConcurrentRequests?: number;
}
