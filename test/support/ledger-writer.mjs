/* global process, setTimeout */
// A separate process that appends to a ledger, for the concurrency and crash tests. Runs the built code (dist/),
// as the CLI does. Usage: node ledger-writer.mjs LEDGER TAG COUNT [BATCH] [CHECKPOINT_EVERY]
//   COUNT 0 = forever (until killed). Prints one JSON line per committed batch: {"tag":…, "seqs":[…]}.
import { Ledger } from '../../dist/src/ledger/ledger.js';
import { defaultKeyPath } from '../../dist/src/config/paths.js';
import { refusedEvent, verifiedEvent } from '../../dist/src/ledger/events.js';
import { createHash } from 'node:crypto';

const [path, tag, countArg, batchArg = '1', everyArg = '50'] = process.argv.slice(2);
const count = Number(countArg);
const batch = Number(batchArg);
const every = Number(everyArg);
const digest = (s) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

const ledger = Ledger.open(path, { create: true, key: (origin) => defaultKeyPath(origin) });
// With AIRLOCK_TEST_START_GATE set, say "ready" and wait for that file, so two writers really overlap even on a
// loaded machine (the concurrency test asserts their appends interleave).
const gate = process.env.AIRLOCK_TEST_START_GATE;
if (gate) {
  const { existsSync } = await import('node:fs');
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for (let i = 0; i < 6000 && !existsSync(gate); i++) await new Promise((r) => setTimeout(r, 5));
}
let written = 0;
for (let i = 0; count === 0 || written < count; i++) {
  const events = [];
  for (let j = 0; j < batch && (count === 0 || written + events.length < count); j++) {
    const n = written + events.length;
    events.push(
      n % 5 === 4
        ? refusedEvent({ image: `ghcr.io/fluxcd/${tag}`, digest: digest(`${tag}-${n}`), reason: 'NO_SIGNATURE', message: `No signature (${tag} ${n}).` })
        : verifiedEvent({ image: `ghcr.io/fluxcd/${tag}`, digest: digest(`${tag}-${n}`), verdict: { writer: tag, n, pad: 'x'.repeat(200) }, trustRootDigest: digest('root') }),
    );
  }
  const seqs = ledger.append(events);
  written += events.length;
  process.stdout.write(`${JSON.stringify({ tag, seqs })}\n`);
  if (written % every === 0) await ledger.checkpoint();
}
await ledger.checkpoint();
ledger.close();
