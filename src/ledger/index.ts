// The claim ledger: Redis-backed accept-once state of every remote file, shared by all clusters (DESIGN.md §4).
export { Ledger, type LedgerOptions } from './ledger';
export { DEFAULT_PREFIX, sourceKeys, type SourceKeys } from './keys';
export type { RedisClient } from './scripts';
export * from './types';
export { LedgerReplicationError, type ReplicationGuard } from './replication';
export { byPath, ledgerRows, ledgerRowsWhere, pathMatcher, type RowFilter } from './rows';
