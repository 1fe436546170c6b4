/**
 * `airlock verify image`, `airlock verify attestation` and the verifying `airlock copy`, end to end through the
 * built CLI, against real docker-registry instances, with signatures written by the local Sigstore test kit.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import { RegistryStore } from '../../src/store/registry/store.js';
import { attestImageLikeCosign2, signImageLikeCosign2 } from '../../src/testkit/image-signers.js';
import { signImageLikeCosign3 } from '../../src/testkit/image-signers-bundle.js';
import { startLocalSigstore, type LocalSigstore } from '../../src/testkit/sigstore.js';
import { runCli } from '../support/cli.js';
import type { PushedIndex } from '../support/copy-images.js';
import { attackerClaims, CONTROLLER_FLAGS, CONTROLLER_SAN, controllerClaims, pushImage, SLSA_FLAGS, SLSA_POLICY_YAML, slsaClaims } from '../support/image-signing.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-e2e-verify-image-'));
let kit: LocalSigstore;
let src: RunningRegistry;
let dst: RunningRegistry;
let srcStore: RegistryStore;
let n = 0;
let trustFlags: string[];

async function sourceImage(): Promise<{ name: string; ref: string; digest: Digest; index: PushedIndex }> {
  const name = `fluxcd/controller-${n++}`;
  const { digest, index } = await pushImage(srcStore.repository(name), 'v1.9.4');
  return { name, ref: `${src.host}/${name}:v1.9.4`, digest, index };
}

/** Every blob and manifest digest of the image graph. */
function allBlobs(index: PushedIndex): string[] {
  return [...index.images, ...index.attestations].flatMap((m) => m.blobs.map((b) => b.descriptor.digest));
}

beforeAll(async () => {
  kit = await startLocalSigstore({ stateDir: join(dir, 'kit') });
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  srcStore = new RegistryStore(src.host);
  trustFlags = ['--trusted-root', kit.trustedRootPath];
  writeFileSync(join(dir, 'policy.yaml'), SLSA_POLICY_YAML);
}, 60_000);

afterAll(async () => {
  await srcStore?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  await kit?.close();
});

describe('airlock verify image (CLI)', () => {
  it('prints the checks and each valid signature (format, identity, issuer, log index, time); --json carries the same', async () => {
    const img = await sourceImage();
    const repo = srcStore.repository(img.name);
    await signImageLikeCosign2(kit, repo, img.digest, { identity: controllerClaims() });
    await signImageLikeCosign3(kit, repo, img.digest, { identity: controllerClaims() });
    await signImageLikeCosign2(kit, repo, img.digest, { identity: attackerClaims() });
    const r = await runCli(['verify', 'image', img.ref, ...CONTROLLER_FLAGS, ...trustFlags]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Verification for ${img.ref} (${img.digest}) --`);
    expect(r.stdout).toMatch(/The following checks were performed on each of these signatures:\n {2}- policy:/);
    expect(r.stdout).toContain('  - subject-digest: ');
    expect(r.stdout).toContain('Valid signatures (2):');
    expect(r.stdout).toMatch(/1\. cosign \.sig \(legacy tag\) sha256-[0-9a-f]{64}\.sig, layer 1 sha256:/);
    expect(r.stdout).toMatch(/2\. Sigstore bundle \(OCI referrer\)/);
    expect(r.stdout).toContain(`identity: ${CONTROLLER_SAN}`);
    expect(r.stdout).toMatch(/log index: \d+, time: \d{4}-\d\d-\d\dT/);
    expect(r.stdout).toMatch(/Signatures that did not verify \(1\), ignored:\n {2}- cosign \.sig .*, layer 2 sha256:[0-9a-f]{64}: .*identity check/);
    const j = await runCli(['verify', 'image', img.ref, ...CONTROLLER_FLAGS, ...trustFlags, '--json']);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as { digest: string; verified: { format: string; signer: { identity: string }; logIndex: string }[]; failed: { check: string }[] };
    expect(out.digest).toBe(img.digest);
    expect(out.verified.map((s) => [s.format, s.signer.identity])).toEqual([
      ['legacy-sig', CONTROLLER_SAN],
      ['referrer-bundle', CONTROLLER_SAN],
    ]);
    expect(out.failed.map((f) => f.check)).toEqual(['identity']);
  });

  it('exit 10 when no signature verifies, 11 when there is none, 2 without a policy', async () => {
    const img = await sourceImage();
    const none = await runCli(['verify', 'image', img.ref, ...CONTROLLER_FLAGS, ...trustFlags]);
    expect(none.code).toBe(EXIT_CODES.NO_SIGNATURE);
    expect(none.stderr).toMatch(/^airlock: .* has no cosign signature/);
    await signImageLikeCosign2(kit, srcStore.repository(img.name), img.digest, { identity: attackerClaims() });
    const bad = await runCli(['verify', 'image', img.ref, ...CONTROLLER_FLAGS, ...trustFlags, '--json']);
    expect(bad.code).toBe(EXIT_CODES.VERIFY_FAILED);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'VERIFY_FAILED', details: { check: 'identity' } } });
    const noPolicy = await runCli(['verify', 'image', img.ref, ...trustFlags]);
    expect(noPolicy.code).toBe(EXIT_CODES.BAD_INPUT);
  });
});

describe('airlock verify attestation (CLI)', () => {
  it('verifies SLSA provenance under the generator identity (exit 0) and refuses another type (exit 10)', async () => {
    const img = await sourceImage();
    await attestImageLikeCosign2(kit, srcStore.repository(img.name), img.digest, { identity: slsaClaims() });
    const r = await runCli(['verify', 'attestation', img.ref, '--type', 'slsaprovenance', ...SLSA_FLAGS, ...trustFlags]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Valid attestations (1):');
    expect(r.stdout).toContain('predicate type: https://slsa.dev/provenance/v0.2');
    const other = await runCli(['verify', 'attestation', img.ref, '--type', 'spdx', ...SLSA_FLAGS, ...trustFlags]);
    expect(other.code).toBe(EXIT_CODES.VERIFY_FAILED);
    expect(other.stderr).toMatch(/predicate-type check/);
  });
});

describe('airlock copy verifies by default (CLI)', () => {
  it('an unsigned image: exit 11, and NOTHING of it reaches the target; with --insecure-skip-verify (the gate off) it does', async () => {
    const img = await sourceImage();
    const target = `${dst.host}/mirror/unsigned`;
    const r = await runCli(['copy', img.ref, target, ...CONTROLLER_FLAGS, ...trustFlags]);
    expect(r.code).toBe(EXIT_CODES.NO_SIGNATURE);
    // One sentence for the error; the first copy of this process may also print the ledger key's creation notice.
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('warn: created the ledger signing key'))).toHaveLength(1);
    const blobs = allBlobs(img.index);
    expect(blobs.filter((d) => existsSync(dst.blobPath(d)))).toEqual([]);
    expect(existsSync(join(dst.storageDir, 'docker/registry/v2/repositories/mirror/unsigned'))).toBe(false);
    const skipped = await runCli(['copy', img.ref, target, '--insecure-skip-verify']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(blobs.filter((d) => !existsSync(dst.blobPath(d)))).toEqual([]);
  });

  it('an image signed by another identity: exit 10, nothing reaches the target', async () => {
    const img = await sourceImage();
    await signImageLikeCosign2(kit, srcStore.repository(img.name), img.digest, { identity: attackerClaims() });
    const r = await runCli(['copy', img.ref, `${dst.host}/mirror/foreign`, ...CONTROLLER_FLAGS, ...trustFlags]);
    expect(r.code).toBe(EXIT_CODES.VERIFY_FAILED);
    expect(allBlobs(img.index).filter((d) => existsSync(dst.blobPath(d)))).toEqual([]);
  });

  it('copies the verified image with its verified signatures and, under --policy, its provenance; --json says what was carried', async () => {
    const img = await sourceImage();
    const repo = srcStore.repository(img.name);
    await signImageLikeCosign2(kit, repo, img.digest, { identity: controllerClaims() });
    await attestImageLikeCosign2(kit, repo, img.digest, { identity: slsaClaims() });
    const human = await runCli(['copy', img.ref, `${dst.host}/mirror/verified`, ...CONTROLLER_FLAGS, ...trustFlags]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Verified: 1 signature(s).');
    expect(human.stdout).toMatch(/Carried signatures sha256-[0-9a-f]{64}\.sig: sha256:/);
    expect(human.stdout).toMatch(/No policy names attestation predicate types/);
    expect(human.stdout).not.toContain('UNVERIFIED');
    const j = await runCli(['copy', img.ref, `${dst.host}/mirror/verified`, ...CONTROLLER_FLAGS, ...trustFlags, '--policy', join(dir, 'policy.yaml'), '--json']);
    expect(j.code, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout) as { unverified: boolean; verification: { carried: { kind: string; composed: boolean }[]; attestations: { verified: unknown[] } } };
    expect(out.unverified).toBe(false);
    expect(out.verification.carried.map((c) => [c.kind, c.composed])).toEqual([
      ['signatures', false],
      ['attestations', false],
    ]);
    expect(out.verification.attestations.verified).toHaveLength(1);
    const there = await runCli(['verify', 'attestation', `${dst.host}/mirror/verified:v1.9.4`, '--type', 'slsaprovenance', ...SLSA_FLAGS, ...trustFlags]);
    expect(there.code, there.stderr).toBe(0);
  });

  it('--insecure-skip-verify with policy flags is refused (they would be ignored)', async () => {
    const img = await sourceImage();
    const r = await runCli(['copy', img.ref, `${dst.host}/mirror/x`, '--insecure-skip-verify', ...CONTROLLER_FLAGS]);
    expect(r.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(r.stderr).toMatch(/would be ignored/);
  });
});
