import { Flags } from '@oclif/core';
import { AirlockCommand } from '../src/cli/command.js';
import { runDemo, type DemoResult } from '../src/demo/demo.js';
import { renderDemo } from '../src/demo/render.js';
import { syncExitError } from '../src/pipeline/sync.js';
import { AirlockError } from '../src/errors.js';

export default class Demo extends AirlockCommand<DemoResult> {
  static override summary = 'The whole product offline, in seconds: a real sync of a stand-in Flux release, with one refusal by design.';
  static override description =
    'Creates DIR (a new, empty or previous demo directory) with a demo airlock.yaml (demo: true), the ledger and its key, a local Sigstore ' +
    '(its CA key stays in DIR) and the oci: mirror; starts on loopback a stand-in upstream (a fake GitHub releases API, a read-only registry, ' +
    'the local Sigstore) serving a generated Flux-shaped release whose images are signed as Flux signs, except one controller signed by ' +
    "another controller's pipeline; and runs the real sync against it. Exit 0 when the demo ran (its one refusal is by design); re-running " +
    'in the same DIR reuses everything and mirrors nothing new. Inside DIR, airlock ledger … works on the demo ledger.';
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --dir /tmp/airlock-demo', '<%= config.bin %> demo --target 127.0.0.1:5000/mirror/fluxcd'];
  static override flags = {
    dir: Flags.string({ description: 'the demo directory (default ./airlock-demo)', default: 'airlock-demo' }),
    target: Flags.string({ description: 'mirror into this registry prefix instead of oci:DIR/mirror' }),
  };

  async run(): Promise<DemoResult> {
    const { flags } = await this.parse(Demo);
    const result = await runDemo({ dir: flags.dir, ...(flags.target ? { target: flags.target } : {}), toolVersion: this.config.version, logger: this.logger() });
    if (!this.jsonEnabled()) this.say(renderDemo(result));
    // The deliberate refusal is the demo's point, not a failure: only failures or other refusals fail it.
    const failed = syncExitError({ ...result.sync, refusals: result.unexpectedRefusals });
    if (failed) throw new AirlockError(failed.code, failed.message, { details: { result } });
    return result;
  }
}
