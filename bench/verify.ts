/**
 * Bundle verifications per second on one core (verifyBundle is synchronous: one thread does all the work).
 *
 *   npm run build && bin/with-node taskset -c 0 node bench/verify.ts [seconds-per-case]
 *
 * Runs the built code (dist/) so the figures are what the CLI gets; Node strips this file's types. Cases:
 *  - conformance happy-path-v0.3 (public-good bundle, embedded trust root), file mode and sha256: digest mode
 *  - a @sigstore/mock legacy v0.1 bundle (what a converted cosign `.sig` looks like: SET only)
 *  - a @sigstore/mock v0.3 DSSE in-toto bundle (a cosign v3 image signature's shape)
 * Trust material is built once, as in a sync run; the bundle JSON is parsed per iteration as the caller would.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as VerifyApi from '../src/verify/index.js';
import type * as TrustApi from '../src/trust/index.js';
import type * as Fixtures from '../test/support/sigstore-fixtures.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = resolve(REPO, '..', 'shared');
const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(REPO, rel)).href)) as T;

const verify = await load<typeof VerifyApi>('dist/src/verify/index.js');
const trustApi = await load<typeof TrustApi>('dist/src/trust/index.js');
const fixtures = await load<typeof Fixtures>('test/support/sigstore-fixtures.ts');

const SECONDS = Number(process.argv[2] ?? 3);

interface Case {
  name: string;
  bundleText: string;
  artifact: VerifyApi.ArtifactInput;
  trust: TrustApi.TrustAnchor;
  policy: VerifyApi.Policy;
}

/**
 * Two rates: per wall-clock second, and per CPU-second of this process (process.cpuUsage). On a shared machine
 * the second is the honest "one core" figure: time other processes take from the core does not count against us.
 */
function measure(c: Case): { wall: number; cpu: number; msPerOp: number; n: number } {
  const once = () => verify.verifyBundle({ bundle: JSON.parse(c.bundleText) as unknown, artifact: c.artifact }, c.trust, c.policy);
  for (let i = 0; i < 50; i++) once(); // warm-up: JIT, lazy parsing
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let n = 0;
  while (performance.now() < end) {
    once();
    n++;
  }
  const used = process.cpuUsage(cpu0);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const elapsed = (performance.now() - start) / 1000;
  return { wall: n / elapsed, cpu: n / cpuSeconds, msPerOp: (cpuSeconds * 1000) / n, n };
}

const vectors = join(SHARED, 'conformance', 'bundle-verify');
const aTxt = readFileSync(join(vectors, 'a.txt'));
const happy = readFileSync(join(vectors, 'happy-path-v0.3', 'bundle.sigstore.json'), 'utf8');
const beacon = verify.toPolicy({
  certificateIdentity:
    'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  certificateOidcIssuer: 'https://token.actions.githubusercontent.com',
});
const embedded = trustApi.loadEmbeddedTrustAnchor();

const mock = await fixtures.createMockSigstore();
const mockTrust = trustApi.toTrustAnchor(mock.trustedRootBytes, { source: 'file', origin: 'mock' });
const flux = verify.toPolicy({ certificateIdentity: fixtures.FLUX_SAN, certificateOidcIssuer: fixtures.GITHUB_ISSUER });
const payload = Buffer.from('{"critical":{"identity":{"docker-reference":"ghcr.io/fluxcd/source-controller"},"image":{"docker-manifest-digest":"sha256:…"},"type":"cosign container image signature"},"optional":null}');
const imageDigest = createHash('sha256').update('an image index').digest('hex');

const cases: Case[] = [
  { name: 'conformance happy-path-v0.3, file', bundleText: happy, artifact: { bytes: aTxt }, trust: embedded, policy: beacon },
  {
    name: 'conformance happy-path-v0.3, sha256:',
    bundleText: happy,
    artifact: { digest: { algorithm: 'sha256', hex: createHash('sha256').update(aTxt).digest('hex') } },
    trust: embedded,
    policy: beacon,
  },
  { name: 'mock legacy v0.1 (cosign .sig shape)', bundleText: JSON.stringify(await mock.signBlob(payload, { bundleVersion: 'v0.1' })), artifact: { bytes: payload }, trust: mockTrust, policy: flux },
  { name: 'mock v0.3 DSSE in-toto, sha256:', bundleText: JSON.stringify(await mock.signInToto(imageDigest)), artifact: { digest: { algorithm: 'sha256', hex: imageDigest } }, trust: mockTrust, policy: flux },
];

process.stdout.write(`verifyBundle on one core, ${SECONDS}s per case, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}\n`);
for (const c of cases) {
  const r = measure(c);
  process.stdout.write(
    `${c.name.padEnd(40)} ${r.cpu.toFixed(0).padStart(5)}/CPU-s ${r.wall.toFixed(0).padStart(5)}/wall-s  ${r.msPerOp.toFixed(2)} ms CPU each  (n=${r.n})\n`,
  );
}
