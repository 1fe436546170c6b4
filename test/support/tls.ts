import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Test PKI made with `openssl` at test time (no key material is committed): a self-signed CA and certificates it
 * issues. P-256 keys, valid for two days.
 *
 *   const ca = await createTestCa();
 *   const server = await ca.issue({ cn: '127.0.0.1' });            // SAN IP:127.0.0.1, IP:::1, DNS:localhost
 *   startRegistry({ tls: server });  new RegistryClient(host, { caFiles: { [host]: ca.certFile } })
 *   await ca.dispose();
 */
export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate (what `--registry-ca host=FILE` gets). */
  certFile: string;
  certPem: string;
  keyFile: string;
  /** Issues a leaf certificate signed by this CA. */
  issue(opts?: IssueOptions): Promise<IssuedCert>;
  dispose(): Promise<void>;
}

export interface IssueOptions {
  cn?: string;
  /** subjectAltName entries, openssl syntax; default `IP:127.0.0.1, IP:::1, DNS:localhost`. */
  san?: string[];
  /** extendedKeyUsage; default serverAuth. */
  eku?: string;
}

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** The certificate as base64 DER (what a JWT `x5c` header carries). */
  derBase64: string;
  /** The CA that issued it. */
  ca: TestCa;
}

let serial = 0;

export async function createTestCa(name = 'airlock test CA'): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-tls-'));
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const certPem = await readFile(certFile, 'utf8');
  const ca: TestCa = {
    dir,
    certFile,
    certPem,
    keyFile,
    async issue(opts: IssueOptions = {}): Promise<IssuedCert> {
      const n = ++serial;
      const base = join(dir, `leaf${n}`);
      const san = opts.san ?? ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];
      const ext = [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${opts.eku ?? 'serverAuth'}`,
        ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
      ].join('\n');
      await writeFile(`${base}.ext`, `${ext}\n`);
      await run('openssl', [
        'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${opts.cn ?? '127.0.0.1'}`,
      ]);
      await run('openssl', [
        'x509', '-req', '-in', `${base}.csr`, '-CA', certFile, '-CAkey', keyFile, '-set_serial', String(1000 + n),
        '-out', `${base}.crt`, '-days', '2', '-extfile', `${base}.ext`,
      ]);
      const pem = await readFile(`${base}.crt`, 'utf8');
      const der = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
      return { certFile: `${base}.crt`, keyFile: `${base}.key`, certPem: pem, keyPem: await readFile(`${base}.key`, 'utf8'), derBase64: der, ca };
    },
    async dispose() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ca;
}
