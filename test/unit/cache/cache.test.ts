// The composed response cache (cache/cache.ts): memory first, then the shared tier (whose hit fills
// memory); garbage and expired entries are misses, counted; a shared tier that cannot answer is skipped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseCache } from '../../../src/cache/cache.js';
import { encodeResponse } from '../../../src/cache/codec.js';
import { MemoryTier } from '../../../src/cache/memory-tier.js';
import type { CacheTier, Lookup, TierCounters } from '../../../src/cache/types.js';
import type { InferResponse } from '../../../src/core/index.js';

/** A shared tier held in a Map, whose answers a test can replace. */
class MapTier implements CacheTier {
  readonly name = 'redis' as const;
  readonly map = new Map<string, Uint8Array>();
  down = false;
  gets = 0;
  async get(key: string): Promise<Lookup> {
    this.gets++;
    if (this.down) return 'unavailable';
    return this.map.get(key) ?? 'absent';
  }
  async set(key: string, value: Uint8Array): Promise<boolean> {
    if (this.down) return false;
    this.map.set(key, value);
    return true;
  }
  counters(): TierCounters {
    return { stores: this.map.size, tooLarge: 0 };
  }
  async close(): Promise<void> {}
}

const res = (v: number): InferResponse => ({
  model: 'm',
  version: '1',
  outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array([v]) }],
});
const value = (r: InferResponse | undefined) => (r?.outputs[0]?.data as Float32Array | undefined)?.[0];
const counts = (c: ResponseCache, tier: string) => {
  const t = c.readings().find((x) => x.tier === tier)!;
  return { hits: t.hits, misses: t.misses, garbage: t.garbage };
};

function setup() {
  let now = 1_000_000;
  const clock = { wallMs: () => now, advance: (ms: number) => (now += ms) };
  const memory = new MemoryTier({ maxBytes: 1 << 20 });
  const shared = new MapTier();
  const cache = new ResponseCache({ memory, shared, ttlMs: 10_000, wallMs: clock.wallMs });
  return { clock, memory, shared, cache };
}

test('a stored answer is found in memory first; the shared tier is not asked', async () => {
  const { cache, shared } = setup();
  cache.set('k', res(7));
  assert.equal(value(await cache.get('k', 50)), 7);
  assert.equal(shared.gets, 0);
  assert.deepEqual(counts(cache, 'memory'), { hits: 1, misses: 0, garbage: 0 });
  assert.ok(shared.map.has('k'), 'the store reached the shared tier too');
});

test("another replica's answer: a shared hit, which fills memory for what is left of its life", async () => {
  const { cache, shared, clock } = setup();
  shared.map.set('k', encodeResponse('k', res(3), clock.wallMs() + 5000));
  assert.equal(value(await cache.get('k', 50)), 3);
  assert.deepEqual(counts(cache, 'redis'), { hits: 1, misses: 0, garbage: 0 });
  shared.map.clear();
  assert.equal(value(await cache.get('k', 50)), 3, 'now in memory');
  clock.advance(5001);
  assert.equal(await cache.get('k', 50), undefined, 'the filled entry expires with the original');
});

test('garbage under a key is a miss, counted per tier; the next store overwrites it', async () => {
  const { cache, shared, clock } = setup();
  shared.map.set('k', new TextEncoder().encode('definitely not an entry'));
  assert.equal(await cache.get('k', 50), undefined);
  shared.map.set('k', encodeResponse('other-key', res(1), clock.wallMs() + 5000));
  assert.equal(await cache.get('k', 50), undefined, "another key's entry is garbage here");
  assert.deepEqual(counts(cache, 'redis'), { hits: 0, misses: 2, garbage: 2 });
  cache.set('k', res(2));
  assert.equal(value(await cache.get('k', 50)), 2);
});

test('an entry past the expiry written in it is a miss but not garbage', async () => {
  const { cache, shared, clock } = setup();
  shared.map.set('k', encodeResponse('k', res(1), clock.wallMs() - 1));
  assert.equal(await cache.get('k', 50), undefined);
  assert.deepEqual(counts(cache, 'redis'), { hits: 0, misses: 1, garbage: 0 });
});

test('a shared tier that cannot answer, or no time left, is skipped: a miss, never an error', async () => {
  const { cache, shared } = setup();
  shared.down = true;
  assert.equal(await cache.get('k', 50), undefined);
  cache.set('k2', res(1));
  shared.down = false;
  const before = shared.gets;
  assert.equal(await cache.get('nothing', 0), undefined);
  assert.equal(shared.gets, before, 'no budget: the shared tier is not asked');
  assert.deepEqual(counts(cache, 'redis'), { hits: 0, misses: 0, garbage: 0 }, 'not answered is no miss');
});

test('each call gets its own copy: changing one answer changes no other', async () => {
  const { cache } = setup();
  const original = res(5);
  cache.set('k', original);
  (original.outputs[0]!.data as Float32Array)[0] = 6; // the caller's buffers may be transferred or reused
  const first = await cache.get('k', 50);
  (first!.outputs[0]!.data as Float32Array)[0] = 7;
  assert.equal(value(await cache.get('k', 50)), 5);
});

test('memory only, shared only, and a bad TTL', async () => {
  const only = new ResponseCache({ shared: new MapTier(), ttlMs: 1000 });
  only.set('k', res(1));
  assert.equal(value(await only.get('k', 10)), 1);
  assert.deepEqual(
    only.readings().map((r) => r.tier),
    ['redis'],
  );
  assert.throws(() => new ResponseCache({ ttlMs: 0 }), /positive TTL/);
});
