import { AirlockError, type ErrorCode } from '../../errors.js';
import { neutralize } from '../../log.js';
import { classifyVendorRefusal, type WriteContext } from './vendor-errors.js';

/**
 * Turning a registry's unexpected answer into one typed sentence. The registry's own error code and message
 * (OCI distribution `{"errors":[{code,message,detail}]}`) are included because they often say exactly what is
 * wrong ("MANIFEST_BLOB_UNKNOWN"), but they come from the network: they are truncated and neutralised so a
 * hostile registry cannot forge terminal output, and `detail` is dropped (it can be large and nested). Only the
 * URL's host is shown — never its query, which for presigned storage URLs holds signatures.
 */

/** Reads at most `limit` bytes of a body; undefined when it is longer (the rest is cancelled, not read). */
export async function readBodyLimited(res: Response, limit: number): Promise<Uint8Array | undefined> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks);
}

/** Discards a body we will not read, so its connection goes back to the pool. */
export async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

const ERROR_BODY_LIMIT = 16 * 1024;

interface RegistryErrorInfo {
  codes: string[];
  text: string;
}

async function registryErrors(res: Response): Promise<RegistryErrorInfo> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readBodyLimited(res, ERROR_BODY_LIMIT);
  } catch {
    bytes = undefined;
  }
  if (!bytes || bytes.byteLength === 0) return { codes: [], text: '' };
  try {
    const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as { errors?: unknown };
    if (Array.isArray(j.errors)) {
      const errs = j.errors.filter((e): e is { code?: unknown; message?: unknown } => typeof e === 'object' && e !== null);
      const codes = errs.map((e) => (typeof e.code === 'string' ? e.code : '')).filter((c) => c !== '');
      const first = errs[0];
      const parts = [typeof first?.code === 'string' ? first.code : '', typeof first?.message === 'string' ? first.message : ''].filter((p) => p);
      const more = errs.length > 1 ? ` (+${errs.length - 1} more)` : '';
      return { codes, text: `${parts.join(': ')}${more}` };
    }
  } catch {
    // not JSON: fall through to a plain-text excerpt
  }
  return { codes: [], text: Buffer.from(bytes).toString('utf8') };
}

/** Registry-provided text, made safe for one line of a message. */
export function sanitizeRemoteText(s: string, max = 200): string {
  const oneLine = neutralize(s.trim()).replace(/\s+/g, ' ');
  const cut = oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
  return cut.replace(/[.;]+$/, '');
}

function hostOfResponse(res: Response): string {
  try {
    return new URL(res.url).host;
  } catch {
    return 'the registry';
  }
}

/**
 * Throws the AirlockError for an unexpected response: 401/403 AUTH_FAILED, 404 NOT_FOUND, 429/5xx
 * REGISTRY_ERROR (the client has already retried those), DIGEST_INVALID/SIZE_INVALID INTEGRITY, 413
 * LIMIT_EXCEEDED, anything else REGISTRY_ERROR. `what` names the object, e.g. "manifest foo/bar:v1". `write`, given
 * for a push, lets a vendor's refusal (vendor-errors.ts) be named with what to do about it.
 */
export async function failFromResponse(res: Response, what: string, write?: WriteContext): Promise<never> {
  const host = hostOfResponse(res);
  const info = await registryErrors(res);
  const said = info.text ? ` ${sanitizeRemoteText(info.text)}` : '';
  // A write refused for a vendor's reason (a repository to create first, an immutable tag, a quota): say what to do.
  const vendor = write ? classifyVendorRefusal({ status: res.status, codes: info.codes, said: said.trim(), host }, write) : undefined;
  if (vendor) throw vendor;
  const status = `${res.status}${said}`;
  const w = neutralize(what);
  const details = { status: res.status, host, ...(info.codes.length ? { registryErrors: info.codes.slice(0, 10).map((c) => neutralize(c).slice(0, 64)) } : {}) };
  const fail = (code: ErrorCode, message: string): never => {
    throw new AirlockError(code, message, { details });
  };
  if (res.status === 401) fail('AUTH_FAILED', `Registry ${host} refused access to ${w} (${status}); check the credentials for ${host}.`);
  if (res.status === 403) fail('AUTH_FAILED', `Registry ${host} denied access to ${w} (${status}); check that the account may pull or push it.`);
  if (res.status === 404) fail('NOT_FOUND', `${capitalize(w)} was not found on ${host} (${status}); check the repository, tag or digest.`);
  if (res.status === 429) fail('REGISTRY_ERROR', `Registry ${host} kept rate-limiting requests for ${w} (${status}) after retries; wait and try again, or log in for a higher limit.`);
  if (res.status >= 500) fail('REGISTRY_ERROR', `Registry ${host} failed on ${w} with a server error (${status}) after retries; try again later.`);
  if (info.codes.some((c) => c === 'DIGEST_INVALID' || c === 'SIZE_INVALID')) {
    fail('INTEGRITY', `Registry ${host} rejected ${w} because its content does not match its digest or size (${status}); the data changed in transit or at the source.`);
  }
  if (res.status === 413) fail('LIMIT_EXCEEDED', `Registry ${host} refused ${w} as too large (${status}); check the registry's size limits.`);
  return fail('REGISTRY_ERROR', `Registry ${host} answered ${status} to ${w}, which airlock cannot use; check that it implements OCI distribution for this operation.`);
}

function capitalize(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}
