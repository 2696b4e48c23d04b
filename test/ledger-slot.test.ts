// Every key one ledger script touches must hash to one Redis Cluster slot, or the script fails with CROSSSLOT.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import { Ledger } from '../src/ledger';

function ledgerWithoutServer(prefix?: string): { ledger: Ledger; close: () => void } {
  // Registering scripts needs no connection; lazyConnect keeps this test free of any server.
  const redis = new Redis({ lazyConnect: true });
  return { ledger: new Ledger(redis, prefix === undefined ? {} : { prefix }), close: () => redis.disconnect() };
}

const slotsOf = (keys: string[]): Set<number> => new Set(keys.map((k) => calculateSlot(k)));

// A path is a field of the `records` hash, never part of a key name: no path (braces and all) can move a key.
test('all keys of one source fall in one cluster slot', () => {
  const { ledger, close } = ledgerWithoutServer();
  const keys = ledger.keys('orders');
  assert.equal(keys.length, 9); // token, records, inflight, dlq, seen, stats, due, health, cursors
  assert.ok(keys.every((k) => k.startsWith('ftpi:{orders}:')));
  assert.equal(slotsOf(keys).size, 1);
  assert.equal(calculateSlot(keys[0] ?? ''), calculateSlot('orders'), 'the slot is the hash of the source id');
  close();
});

test('two sources use different hash tags, and a custom prefix keeps the tag', () => {
  const { ledger, close } = ledgerWithoutServer('ingest-eu');
  const a = ledger.keys('orders');
  const b = ledger.keys('invoices');
  assert.ok(a.every((k) => k.startsWith('ingest-eu:{orders}:')));
  assert.ok(b.every((k) => k.startsWith('ingest-eu:{invoices}:')));
  assert.equal(slotsOf(a).size, 1);
  assert.equal(slotsOf(b).size, 1);
  assert.notEqual(calculateSlot(a[0] ?? ''), calculateSlot(b[0] ?? ''));
  assert.equal(new Set([...a, ...b]).size, a.length + b.length, 'no key is shared between sources');
  close();
});

test('a source id or prefix with braces is refused: it would move the hash tag', () => {
  const { ledger, close } = ledgerWithoutServer();
  assert.throws(() => ledger.keys('a}b'), /braces/);
  assert.throws(() => ledger.keys('{a}'), /braces/);
  assert.throws(() => ledgerWithoutServer('p{x}'), /braces/);
  close();
});
