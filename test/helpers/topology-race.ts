// The ledger race (ledger-race.ts) on an external Redis topology (Cluster or Sentinel) with a failover in the act
// phase of round 2 (half its calls before the kill, half while there is no master): the same options for every
// topology, the connections closed after.
import assert from 'node:assert/strict';
import type { AppConfig } from '../../src/config';
import { connectLedgerRedis } from '../../src/connections/redis';
import type { RedisClient } from '../../src/ledger/scripts';
import { runLedgerRace, type RaceFigures } from './ledger-race';

export async function runLedgerRaceThroughFailover(
  config: AppConfig,
  source: string,
  /** Kills a master, calls `killed()` right after the kill, resolves once a replica took over. */
  failover: (killed: () => void) => Promise<unknown>,
  diagnostic: (message: string) => void,
): Promise<RaceFigures> {
  const clients: RedisClient[] = [];
  let figures: unknown;
  try {
    const race = await runLedgerRace({
      connect: () => {
        const c = connectLedgerRedis(config, {}, { onError: () => undefined });
        clients.push(c);
        return c;
      },
      source,
      files: 500,
      rounds: 4,
      leaseMs: 3_000, // a loaded machine: the claim phase must stay under half a lease
      resilient: true,
      duringAct: {
        round: 2,
        action: async (killed) => {
          figures = await failover(killed);
        },
      },
      diagnostic,
    });
    diagnostic(`failover ${JSON.stringify(figures)}`);
    assert.equal(race.commitCounter, race.commits);
    return race;
  } finally {
    clients.forEach((c) => c.disconnect());
  }
}
