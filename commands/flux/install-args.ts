import { Flags } from '@oclif/core';
import { fluxInstall, writeKustomization, type FluxInstallResult } from '../../src/cluster/flux-install.js';
import { clusterFlags, clusterInputs } from '../../src/cli/cluster-flags.js';
import { AirlockCommand } from '../../src/cli/command.js';
import { AirlockError } from '../../src/errors.js';
import { neutralize } from '../../src/log.js';

export default class FluxInstallArgs extends AirlockCommand<FluxInstallResult> {
  static override summary = 'What to give flux install / flux bootstrap for this mirror, and a kustomization pinning every controller by its verified digest.';
  static override description =
    'Reads the mirrored release from the ledger and prints the flux install arguments (--registry, --components, --components-extra, ' +
    '--image-pull-secret, --version). With --kustomize DIR it writes the release’s verified install.yaml and a kustomization.yaml whose images: ' +
    'entries pin each controller to <registry>/<controller>@<verified digest> (flux2#5843); controllers left out of --components are deleted by a patch. ' +
    'Exit codes: 0 done, 2 bad flags, 3 release or controller not in the mirror, 14 ledger inconsistent.';
  static override examples = [
    '<%= config.bin %> flux install-args --registry registry.internal/fluxcd --kustomize flux-system/',
    '<%= config.bin %> flux install-args --release v2.9.4 --image-pull-secret regcred',
  ];
  static override flags = {
    ...clusterFlags,
    'components-extra': Flags.string({ multiple: true, description: 'Flux’s optional controllers to include (comma-separated or repeated)' }),
    'image-pull-secret': Flags.string({ description: 'the Secret (in flux-system) holding the mirror’s pull credentials' }),
    kustomize: Flags.string({ description: 'write install.yaml and kustomization.yaml into this directory' }),
  };

  async run(): Promise<FluxInstallResult> {
    const { flags } = await this.parse(FluxInstallArgs);
    const secret = flags['image-pull-secret'];
    if (secret !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(secret)) {
      throw new AirlockError('BAD_INPUT', `--image-pull-secret ${JSON.stringify(secret.slice(0, 80))} is not a Kubernetes Secret name.`);
    }
    const { config, mirrored, registry } = await clusterInputs(flags, this.logger());
    const result = fluxInstall({
      mirrored,
      registry,
      canonicalPrefix: config.images.canonicalPrefix,
      ...(secret !== undefined ? { imagePullSecret: secret } : {}),
      ...(flags.components ? { components: flags.components } : {}),
      ...(flags['components-extra'] ? { componentsExtra: flags['components-extra'] } : {}),
    });
    if (flags.kustomize !== undefined) {
      if (mirrored.installYaml === undefined) throw new AirlockError('BAD_INPUT', `The ${config.profile.name} profile reads no install manifest, so there is nothing to kustomize.`);
      result.directory = await writeKustomization(flags.kustomize, result, mirrored.installYaml);
    }
    if (!this.jsonEnabled()) {
      this.say(`# Flux ${result.release} from ${neutralize(mirrored.target)}; the same arguments work for flux bootstrap.`);
      this.say(`flux install ${result.args.join(' ')}`);
      for (const i of result.images) this.say(`#   ${i.name} ${i.tag} verified at ${i.digest}`);
      for (const u of result.unmirrored) this.say(`# NOT mirrored (outside the canonical prefix): ${neutralize(u)}`);
      this.say('# flux install pins tags; for digests apply the kustomization:');
      if (result.directory) this.say(`kubectl apply -k ${result.directory}`);
      else this.say('#   airlock flux install-args --kustomize DIR && kubectl apply -k DIR');
    }
    return result;
  }
}
