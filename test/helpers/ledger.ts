// Shared set-up of the ledger tests: a real redis-server of the test file's own and fresh sources per test.
import path from 'node:path';
import { after, before } from 'node:test';
import Redis from 'ioredis';
import { closeRedis } from '../../src/connections/redis';
import { Ledger, type Candidate, type ClaimBatchOptions } from '../../src/ledger';
import { startRedisServer, type RedisServer } from '../../src/stack/redis';
import { tempDir } from './servers';

export interface LedgerFixture {
  redis: Redis;
  ledger: Ledger;
  /** Another connection to the same server (closed when the file ends). */
  connect(): Redis;
}

/**
 * Call at the top of a test file: starts a redis-server of the file's own before its tests and stops it after.
 * (testRedis() registers its `after` where it is called, which inside a `before` hook runs too early.)
 */
export function useLedgerFixture(): LedgerFixture {
  const dir = tempDir('ftp-ingest-ledger-');
  const clients: Redis[] = [];
  let server: RedisServer | undefined;
  const connect = (): Redis => {
    if (!server) throw new Error('the ledger fixture is not started yet');
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  const fixture = { connect } as LedgerFixture;
  before(async () => {
    server = await startRedisServer(path.join(dir, 'data'));
    fixture.redis = connect();
    fixture.ledger = new Ledger(fixture.redis);
  });
  after(async () => {
    await Promise.all(clients.map((c) => closeRedis(c)));
    await server?.stop();
  });
  return fixture;
}

let sources = 0;
/** A source id no other test uses, so tests share one server without seeing each other's records. */
export const freshSource = (): string => `src-${++sources}`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const file = (path: string, mtimeMs = 1_700_000_000_000, size = 100): Candidate => ({ path, mtimeMs, size });

export function claimOptions(overrides: Partial<ClaimBatchOptions> = {}): ClaimBatchOptions {
  return {
    clusterId: 'A',
    pollRun: 'run-1',
    leaseMs: 60_000,
    maxTries: 3,
    maxAcceptPerPoll: 100,
    maxInFlight: 100,
    versionPolicy: 'reprocess',
    ...overrides,
  };
}

/** Redis server time in ms (the ledger's clock). */
export async function serverNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
