import { AirlockError, messageOf } from '../../errors.js';

/**
 * Classifies what a request throws: undici's own errors (UND_ERR_*) or Node system errors, directly or (fetch
 * style, `TypeError('fetch failed')`) as a `cause` one or two levels deep; the code decides both whether a
 * retry can help and the sentence the user reads.
 */
function codesOf(e: unknown): { codes: string[]; messages: string[] } {
  const codes: string[] = [];
  const messages: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    if (typeof cur === 'object') {
      const o = cur as { code?: unknown; message?: unknown; cause?: unknown };
      if (typeof o.code === 'string') codes.push(o.code);
      if (typeof o.message === 'string') messages.push(o.message);
      cur = o.cause;
    } else break;
  }
  return { codes, messages };
}

export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ((e as { name?: unknown }).name === 'AbortError' || (e as { name?: unknown }).name === 'TimeoutError');
}

const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

/**
 * A connection that was dropped mid-request or mid-body: worth retrying a replayable request, or resuming a
 * download. Connection refused and DNS failures are not: retrying them only delays the answer.
 */
export function isDroppedConnection(e: unknown): boolean {
  if (isAbortError(e)) return false;
  const { codes, messages } = codesOf(e);
  if (codes.some((c) => DROPPED.has(c))) return true;
  return messages.some((m) => m === 'terminated' || /socket hang up|other side closed/i.test(m));
}

function isTlsTrustCode(code: string): boolean {
  return /^(CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/.test(code);
}

/** Why a connection failed, as a clause ("connection refused"), plus the advice the sentence ends with. */
function describe(e: unknown, host: string): { why: string; advice: string } {
  const { codes, messages } = codesOf(e);
  const has = (...c: string[]) => codes.some((x) => c.includes(x));
  const tls = codes.find(isTlsTrustCode);
  if (tls) {
    return {
      why: `its TLS certificate is not trusted (${tls})`,
      advice: `pass --registry-ca ${host}=FILE with the CA certificate (PEM) that signed it`,
    };
  }
  if (has('ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO') || codes.some((c) => c.startsWith('ERR_SSL_'))) {
    return { why: 'the TLS handshake failed', advice: 'check that it serves HTTPS on that port (or, for plain HTTP, pass --insecure-registry)' };
  }
  if (has('ECONNREFUSED')) return { why: 'connection refused', advice: 'check the address and that the registry is running' };
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME')) return { why: 'the host name does not resolve', advice: 'check the address and your DNS settings' };
  if (has('ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT')) {
    return { why: 'the connection timed out', advice: 'check the address, firewall and proxy settings' };
  }
  if (has('EHOSTUNREACH', 'ENETUNREACH')) return { why: 'no route to host', advice: 'check the address and your network' };
  if (isDroppedConnection(e)) return { why: 'the connection was dropped', advice: 'try again later, or check proxies between you and the registry' };
  if (messages.some((m) => /bad port/i.test(m))) return { why: 'fetch refuses to connect to that port', advice: 'run the registry on another port' };
  if (messages.some((m) => /Proxy response \(\d+\)/.test(m))) return { why: 'the proxy refused to open a tunnel', advice: 'check HTTPS_PROXY and NO_PROXY' };
  return { why: 'the connection failed', advice: 'check the address, network and proxy settings' };
}

/**
 * The UNREACHABLE error for a network failure talking to `host` (optionally through a proxy, shown without its
 * credentials). The original error is kept as `cause`; it carries no request headers.
 */
export function unreachable(e: unknown, host: string, what: string, via?: string): AirlockError {
  const { why, advice } = describe(e, host);
  const through = via ? ` through proxy ${via}` : '';
  return new AirlockError('UNREACHABLE', `Cannot reach ${what} ${host}${through}: ${why}; ${advice}.`, {
    cause: e,
    details: { host, reason: codesOf(e).codes[0] ?? messageOf(e).slice(0, 100) },
  });
}
