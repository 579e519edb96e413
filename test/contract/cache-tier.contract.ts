/**
 * The CacheTier contract (architecture rule 3), run against every tier: the in-process LRU in
 * test/unit/cache/memory-tier.test.ts and a real redis-server in
 * test/integration/cache-redis.test.ts. What storing bytes under a key for a while means, whatever
 * holds them: exact bytes back, replacement, separate keys, expiry, refusing (and counting) an
 * entry too large, never throwing, and answering `unavailable` once closed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { CacheTier, Lookup } from '../../src/cache/types.js';

/** A fresh tier under test (its own keys), and a size it must refuse as too large. */
export interface TierHarness {
  tier: CacheTier;
  tooLargeBytes: number;
  cleanup(): Promise<void>;
}

const TTL = 60_000;

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function same(found: Lookup, want: Uint8Array): void {
  assert.ok(found instanceof Uint8Array, `expected bytes, got ${String(found)}`);
  assert.equal(found.byteLength, want.byteLength);
  assert.ok(Buffer.from(found).equals(Buffer.from(want)), 'the bytes differ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function cacheTierContract(name: string, open: () => Promise<TierHarness | undefined>): void {
  describe(`CacheTier contract: ${name}`, () => {
    /** Runs `fn` on a fresh tier; skips when the tier's backing service is unavailable. */
    const withTier = (fn: (h: TierHarness) => Promise<void>) => async (t: { skip(m: string): void }) => {
      const h = await open();
      if (!h) return t.skip('tier unavailable');
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    };
    const key = () => randomBytes(32).toString('hex');

    it(
      'answers absent for a key never stored',
      withTier(async ({ tier }) => {
        assert.equal(await tier.get(key()), 'absent');
      }),
    );

    it(
      'gives back exactly the bytes stored: every byte value, empty, and 1 MiB',
      withTier(async ({ tier }) => {
        for (const value of [bytes(256), new Uint8Array(0), bytes(1 << 20, 7)]) {
          const k = key();
          assert.equal(await tier.set(k, value, TTL), true);
          same(await tier.get(k), value);
        }
        assert.equal(tier.counters().stores, 3);
      }),
    );

    it(
      'a later store replaces the earlier one; keys that share a prefix stay apart',
      withTier(async ({ tier }) => {
        const k = key();
        await tier.set(k, bytes(10, 1), TTL);
        await tier.set(k, bytes(20, 2), TTL);
        await tier.set(`${k}x`, bytes(30, 3), TTL);
        same(await tier.get(k), bytes(20, 2));
        same(await tier.get(`${k}x`), bytes(30, 3));
        assert.equal(await tier.get(k.slice(0, -1)), 'absent');
      }),
    );

    it(
      'an entry is absent once its TTL has passed',
      withTier(async ({ tier }) => {
        const k = key();
        const keep = key();
        await tier.set(k, bytes(16), 50);
        await tier.set(keep, bytes(16), TTL);
        await sleep(250);
        assert.equal(await tier.get(k), 'absent');
        same(await tier.get(keep), bytes(16));
      }),
    );

    it(
      'an entry too large is not stored, is counted, and evicts nothing',
      withTier(async ({ tier, tooLargeBytes }) => {
        const small = key();
        await tier.set(small, bytes(100), TTL);
        const big = key();
        assert.equal(await tier.set(big, new Uint8Array(tooLargeBytes), TTL), false);
        assert.equal(await tier.get(big), 'absent');
        same(await tier.get(small), bytes(100));
        assert.equal(tier.counters().tooLarge, 1);
        assert.equal(tier.counters().stores, 1);
      }),
    );

    it(
      'many concurrent stores and lookups each find their own bytes',
      withTier(async ({ tier }) => {
        const keys = Array.from({ length: 100 }, key);
        const stored = await Promise.all(keys.map((k, i) => tier.set(k, bytes(64 + i, i), TTL)));
        assert.ok(stored.every(Boolean));
        const found = await Promise.all(keys.map((k) => tier.get(k)));
        for (const [i, f] of found.entries()) same(f, bytes(64 + i, i));
      }),
    );

    it(
      'a TTL that is not positive stores nothing',
      withTier(async ({ tier }) => {
        const k = key();
        assert.equal(await tier.set(k, bytes(8), 0), false);
        assert.equal(await tier.get(k), 'absent');
      }),
    );

    it(
      'once closed it answers unavailable and stores nothing, without throwing',
      withTier(async ({ tier }) => {
        const k = key();
        await tier.set(k, bytes(8), TTL);
        await tier.close();
        assert.equal(await tier.get(k), 'unavailable');
        assert.equal(await tier.set(key(), bytes(8), TTL), false);
        await tier.close();
      }),
    );
  });
}
