// The in-process tier: the CacheTier contract, and what is its own (the byte budget and LRU order).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENTRY_OVERHEAD, MemoryTier } from '../../../src/cache/memory-tier.js';
import { cacheTierContract } from '../../contract/cache-tier.contract.js';

const BUDGET = 4 << 20;
cacheTierContract('MemoryTier', async () => {
  const tier = new MemoryTier({ maxBytes: BUDGET });
  return { tier, tooLargeBytes: BUDGET, cleanup: () => tier.close() };
});

test('the budget holds every byte charged; the least recently used entry goes first', async () => {
  const entry = 1000;
  const key = (i: number) => `k${i}`; // 2 characters each
  const charge = entry + 2 + ENTRY_OVERHEAD;
  const tier = new MemoryTier({ maxBytes: 3 * charge });
  for (const i of [1, 2, 3]) await tier.set(key(i), new Uint8Array(entry), 60_000);
  assert.deepEqual(tier.counters(), { stores: 3, tooLarge: 0, bytes: 3 * charge, entries: 3 });
  await tier.get(key(1)); // 1 is now the most recently used; 2 the least
  await tier.set(key(4), new Uint8Array(entry), 60_000);
  assert.equal(await tier.get(key(2)), 'absent');
  for (const i of [1, 3, 4]) assert.ok((await tier.get(key(i))) instanceof Uint8Array, `k${i} kept`);
  assert.equal(tier.counters().bytes, 3 * charge);
});

test('expiry follows the injected clock', async () => {
  let now = 1000;
  const tier = new MemoryTier({ maxBytes: 1 << 20, now: () => now });
  await tier.set('a', new Uint8Array(4), 100);
  now += 99;
  assert.ok((await tier.get('a')) instanceof Uint8Array);
  now += 2;
  assert.equal(await tier.get('a'), 'absent');
});

test('a budget that is not a positive integer is refused at construction', () => {
  for (const maxBytes of [0, -1, 1.5, Number.NaN])
    assert.throws(() => new MemoryTier({ maxBytes }), /positive byte budget/);
});
