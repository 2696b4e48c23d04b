// Two clusters, eight connections, the same 1,000 files claimed round after round while claims are committed,
// released, rejected and left to expire: the ledger must never give one file to two owners or one token twice.
// The race itself is in helpers/ledger-race.ts (the Redis topology tests run it on Cluster and Sentinel too).
import { test } from 'node:test';
import { useLedgerFixture } from './helpers/ledger';
import { runLedgerRace } from './helpers/ledger-race';

const fx = useLedgerFixture();

test('concurrent claims by two clusters never share a file or a token', async (t) => {
  await runLedgerRace({ connect: () => fx.connect(), diagnostic: (message) => t.diagnostic(message) });
});
