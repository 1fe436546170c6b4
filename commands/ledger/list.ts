import { Flags } from '@oclif/core';
import { AirlockCommand } from '../../src/cli/command.js';
import { ledgerFlags, ledgerSettingsFromFlags } from '../../src/cli/ledger-flags.js';
import { renderList } from '../../src/cli/ledger-render.js';
import { listLedger, type LedgerListResult } from '../../src/ledger/actions.js';
import { EVENT_KINDS, EVENT_STATUSES } from '../../src/ledger/events.js';
import { parseTimeBound } from '../../src/ledger/query.js';

export default class LedgerList extends AirlockCommand<LedgerListResult> {
  static override summary = 'List ledger entries, newest first, filtered by image, digest, release, kind, status or time.';
  static override examples = [
    '<%= config.bin %> ledger list --kind refused --since 7d',
    '<%= config.bin %> ledger list --digest sha256:… --json',
  ];
  static override flags = {
    ...ledgerFlags,
    image: Flags.string({ description: 'repository, e.g. ghcr.io/fluxcd/source-controller' }),
    digest: Flags.string({ description: 'a digest: entries about it, or naming it as their subject' }),
    release: Flags.string({ description: 'upstream release, e.g. v2.4.0' }),
    kind: Flags.string({ description: 'event kind', options: [...EVENT_KINDS] }),
    status: Flags.string({ description: 'trust status (or run outcome)', options: [...EVENT_STATUSES] }),
    since: Flags.string({ description: 'from this time: ISO 8601, or a duration back from now (24h, 7d)' }),
    until: Flags.string({ description: 'up to this time: ISO 8601, or a duration back from now' }),
    limit: Flags.integer({ description: 'at most this many entries', default: 100, min: 1, max: 100_000 }),
    oldest: Flags.boolean({ description: 'oldest first' }),
  };

  async run(): Promise<LedgerListResult> {
    const { flags } = await this.parse(LedgerList);
    const now = new Date();
    const result = listLedger(ledgerSettingsFromFlags(flags), {
      image: flags.image,
      digest: flags.digest,
      release: flags.release,
      kind: flags.kind,
      status: flags.status,
      since: flags.since === undefined ? undefined : parseTimeBound(flags.since, now, '--since'),
      until: flags.until === undefined ? undefined : parseTimeBound(flags.until, now, '--until'),
      limit: flags.limit,
      order: flags.oldest ? 'asc' : 'desc',
    });
    if (!this.jsonEnabled()) this.say(renderList(result));
    return result;
  }
}
