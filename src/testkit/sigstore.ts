/**
 * A local Sigstore for tests and `airlock demo`: a Fulcio-like CA with a CT log and a Rekor-like transparency log,
 * served over HTTP on a loopback address (random port), speaking the APIs cosign 2.x uses, with its key material
 * persisted in a caller-given state directory and a `trusted_root.json` to verify against.
 *
 * Why this lives in src/ and not test/: `airlock demo` runs it in-process from the built CLI, so it must be
 * compiled into dist/. It is a test double with no security of its own (it certifies any identity a token claims):
 * nothing in airlock may import it except tests and the demo command, and it only ever runs when explicitly asked.
 * It listens on loopback only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { debug } from '../log.js';
import { loadOrCreateKitState, KIT_REKOR_ORIGIN, KIT_REKOR_BASE_URL, type KitState } from './state.js';
import { TransparencyLog, type RekorLogEntry } from './rekor-log.js';
import { createEntry, routeRekor, type ApiResponse } from './rekor-api.js';
import { FulcioRequestError, handleSigningCertV1, handleSigningCertV2, issueForClaims, type Fulcio, type IssuedCertificate } from './fulcio-api.js';
import { mintIdentityToken, type GitHubActionsClaims } from './identity.js';
import { decoyProposal, type DecoyOptions } from './decoys.js';
import { toPem } from './x509.js';

export { KIT_REKOR_BASE_URL };

const MAX_BODY = 8 * 1024 * 1024;
/** The kit's tree poses as the second shard of its log (see TransparencyLogOptions.firstLogIndex). */
const KIT_FIRST_LOG_INDEX = 1000;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface LocalSigstoreOptions {
  /** Where keys, the root certificate, log entries and trusted_root.json are kept across runs. */
  stateDir: string;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  clock?: () => Date;
  logger?: Logger;
}

export interface LoggedEntry {
  uuid: string;
  entry: RekorLogEntry;
}

export interface LocalSigstore {
  /** `http://host:port`: Fulcio and Rekor share one server. */
  readonly url: string;
  readonly fulcioUrl: string;
  readonly rekorUrl: string;
  readonly stateDir: string;
  readonly trustedRootPath: string;
  trustedRoot(): Record<string, unknown>;
  /** SIGSTORE_ROOT_FILE, SIGSTORE_CT_LOG_PUBLIC_KEY_FILE, SIGSTORE_REKOR_PUBLIC_KEY, TUF_ROOT: cosign then skips TUF. */
  cosignEnv(): Record<string, string>;
  /** An OIDC token for cosign's `--identity-token` carrying these claims. */
  mintIdentityToken(claims: Partial<GitHubActionsClaims>): string;
  /** Certifies a key in-process, as the HTTP Fulcio would. */
  issueCertificate(publicKey: KeyObject, claims: Partial<GitHubActionsClaims>): IssuedCertificate;
  /** Logs a proposed entry in-process, as `POST /api/v1/log/entries` would; throws if Rekor would refuse it. */
  logEntry(proposed: unknown): LoggedEntry;
  /** Logs someone else's signature over the same SHA-256 (anyone can): a decoy for the entry being looked for. */
  addDecoyEntry(sha256Hex: string, options?: DecoyOptions): LoggedEntry;
  /** Number of entries in the log. */
  logSize(): number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new FulcioRequestError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, r: ApiResponse): void {
  const text = r.text ? String(r.body) : JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': r.text?.contentType ?? 'application/json', ...r.headers });
  res.end(text);
}

function fulcioRoute(f: Fulcio, req: IncomingMessage, path: string, body: unknown): ApiResponse | undefined {
  if (req.method === 'POST' && path === '/api/v1/signingCert') {
    const chain = handleSigningCertV1(f, req.headers.authorization, body);
    return { status: 201, body: chain, text: { contentType: 'application/pem-certificate-chain' } };
  }
  if (req.method === 'POST' && path === '/api/v2/signingCert') return { status: 201, body: handleSigningCertV2(f, body) };
  if (req.method === 'GET' && path === '/api/v1/rootCert') {
    return { status: 200, body: toPem(f.ca.certificateDer), text: { contentType: 'application/pem-certificate-chain' } };
  }
  return undefined;
}

/** Starts the kit; call `close()` when done. */
export async function startLocalSigstore(o: LocalSigstoreOptions): Promise<LocalSigstore> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`the Sigstore test kit listens on loopback only, not ${host}`);
  const clock = o.clock ?? (() => new Date());
  const state: KitState = loadOrCreateKitState(o.stateDir, clock());
  const fulcio: Fulcio = { ca: state.fulcio, ct: state.ctLog, clock };
  const log = new TransparencyLog({
    privateKey: state.rekor.privateKey,
    publicKeySpki: state.rekor.publicKeySpki,
    origin: KIT_REKOR_ORIGIN,
    treeId: state.rekor.treeId,
    entriesFile: state.files.rekorEntries,
    clock,
    firstLogIndex: KIT_FIRST_LOG_INDEX,
  });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://kit.local');
      const path = url.pathname.replace(/\/+$/, '');
      try {
        const raw = await readBody(req);
        let body: unknown;
        if (raw.length > 0) {
          try {
            body = JSON.parse(raw.toString('utf8'));
          } catch {
            send(res, { status: 400, body: { code: 400, message: 'request body is not JSON' } });
            return;
          }
        }
        const r = fulcioRoute(fulcio, req, path, body) ?? routeRekor(log, req.method ?? 'GET', url, body);
        debug(o.logger, 'sigstore kit request', { method: req.method, path, status: r?.status ?? 404 });
        send(res, r ?? { status: 404, body: { code: 404, message: `no route ${req.method} ${path}` } });
      } catch (e) {
        const status = e instanceof FulcioRequestError ? e.status : 500;
        send(res, { status, body: { code: status, message: e instanceof Error ? e.message : String(e) } });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const logEntry = (proposed: unknown): LoggedEntry => {
    const r = createEntry(log, proposed);
    if (r.status !== 201) throw new Error(`test kit Rekor refused the entry: ${JSON.stringify(r.body)}`);
    const [uuid, entry] = Object.entries(r.body as Record<string, RekorLogEntry>)[0]!;
    return { uuid, entry };
  };
  const certify = (publicKey: KeyObject, claims: Partial<GitHubActionsClaims>): IssuedCertificate => issueForClaims(fulcio, claims, publicKey);

  return {
    url,
    fulcioUrl: url,
    rekorUrl: url,
    stateDir: o.stateDir,
    trustedRootPath: state.files.trustedRoot,
    trustedRoot: () => JSON.parse(readFileSync(state.files.trustedRoot, 'utf8')) as Record<string, unknown>,
    cosignEnv: () => ({
      SIGSTORE_ROOT_FILE: state.files.fulcioRootPem,
      SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: state.files.ctLogPublicKey,
      SIGSTORE_REKOR_PUBLIC_KEY: state.files.rekorPublicKey,
      TUF_ROOT: state.files.tufRoot,
    }),
    mintIdentityToken: (claims) => mintIdentityToken(claims, state.oidcKey, clock()),
    issueCertificate: certify,
    logEntry,
    addDecoyEntry: (sha256Hex, options) => logEntry(decoyProposal(sha256Hex, (k, c) => certify(k, c).leafDer, options)),
    logSize: () => log.size,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
