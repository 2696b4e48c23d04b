// The ledger race (ledger-race.ts) on an external Redis topology (Cluster or Sentinel) with a failover while the
// first commits of round 2 are in flight: the same options for every topology, the connections closed after.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../../src/config';
import { connectLedgerRedis } from '../../src/connections/redis';
import type { RedisClient } from '../../src/ledger/scripts';
import { runLedgerRace, type RaceFigures } from './ledger-race';

export async function runLedgerRaceThroughFailover(
  config: AppConfig,
  source: string,
  failover: () => Promise<unknown>,
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
        action: async () => {
          await sleep(2); // while the first commits are in flight
          figures = await failover();
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
