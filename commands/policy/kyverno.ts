import { writeFile, rename } from 'node:fs/promises';
import { dirname, join, basename, resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { kyvernoPolicies, type KyvernoOutput, type PolicyKind } from '../../src/cluster/kyverno.js';
import { clusterFlags, clusterInputs, clusterTrust, trustedRootFlag } from '../../src/cli/cluster-flags.js';
import { AirlockCommand } from '../../src/cli/command.js';

export type PolicyKyvernoResult = Omit<KyvernoOutput, 'documents'> & { release: string; registry: string; out: string | null };

export default class PolicyKyverno extends AirlockCommand<PolicyKyvernoResult> {
  static override summary = 'Kyverno policies that make a cluster enforce what airlock enforced: one keyless attestor per Flux controller, trust material inline.';
  static override description =
    'Reads the mirrored release from the ledger (the verified install.yaml in the release artifact, each controller’s verified digest and the ' +
    'identity that verified it) and prints a ClusterPolicy (kyverno.io/v1) and/or one ImageValidatingPolicy (policies.kyverno.io/v1, Kyverno >= 1.17) ' +
    'per controller for the images under --registry: anchored subject, exact issuer, the controller’s repository and ref where the kind can express ' +
    'them, the Fulcio roots and the Rekor and CT log keys of the trusted root inline. The YAML’s comments say what the policy cannot enforce. ' +
    'Exit codes: 0 written, 2 bad flags, 3 release or controller not in the mirror, 14 ledger inconsistent.';
  static override examples = [
    '<%= config.bin %> policy kyverno --registry registry.internal/fluxcd > flux-policies.yaml',
    '<%= config.bin %> policy kyverno --release v2.9.4 --kind imagevalidatingpolicy --out ivp.yaml',
  ];
  static override flags = {
    ...clusterFlags,
    ...trustedRootFlag,
    kind: Flags.string({ options: ['clusterpolicy', 'imagevalidatingpolicy', 'both'], default: 'both', description: 'which policy kind(s) to write' }),
    out: Flags.string({ description: 'write the YAML to this file instead of stdout' }),
  };

  async run(): Promise<PolicyKyvernoResult> {
    const { flags } = await this.parse(PolicyKyverno);
    const { config, mirrored, registry } = await clusterInputs(flags, this.logger());
    const trust = clusterTrust(config, flags['trusted-root']);
    const out = kyvernoPolicies({
      mirrored,
      registry,
      trust,
      kind: flags.kind as PolicyKind,
      ...(flags.components ? { components: flags.components.flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c !== '') } : {}),
      ...(config.trust.rekorUrl ? { rekorUrl: config.trust.rekorUrl } : {}),
    });
    let written: string | null = null;
    if (flags.out !== undefined) {
      written = resolve(flags.out);
      const tmp = join(dirname(written), `.${basename(written)}.partial`);
      await writeFile(tmp, out.yaml, { mode: 0o644 });
      await rename(tmp, written);
      this.say(`Wrote ${written}: ${out.controllers.length} controllers of ${mirrored.release}.`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(out.yaml);
    }
    return { release: mirrored.release, registry, yaml: out.yaml, controllers: out.controllers, out: written };
  }
}
