// The Redis cache tier against a real redis-server (the run's shared one, started by
// scripts/run-tests.mjs; alone, this file starts its own): the CacheTier contract, garbage written
// by someone else under a key, a Redis that is not there at all, and no password in what it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { parseRedisUrl } from '../../src/redis/connection.js';
import { ResponseCache } from '../../src/cache/cache.js';
import { RedisTier } from '../../src/cache/redis-tier.js';
import { freshPrefix, MISSING_REDIS, redisInstalled, startServer, testRedisUrl } from '../services/redis.js';
import { cacheTierContract } from '../contract/cache-tier.contract.js';

const MAX_ENTRY = 2 << 20;

/** A tier on the shared server with keys of its own; generous timeout: this is not the outage test. */
async function tierOn(url: string, prefix = freshPrefix()): Promise<RedisTier> {
  const tier = new RedisTier({ connection: parseRedisUrl(url), prefix, timeoutMs: 2000, maxEntryBytes: MAX_ENTRY });
  assert.ok(await tier.whenReady(5000), 'connected to the test Redis');
  return tier;
}

cacheTierContract('RedisTier (real redis-server)', async () => {
  const url = await testRedisUrl();
  if (!url) return undefined;
  const tier = await tierOn(url);
  return { tier, tooLargeBytes: MAX_ENTRY + 1, cleanup: () => tier.close() };
});

test('garbage that another writer put under a key is a miss, counted, and overwritten by the next store', async (t) => {
  const url = await testRedisUrl();
  if (!url) return t.skip(MISSING_REDIS);
  const prefix = freshPrefix();
  const tier = await tierOn(url, prefix);
  const raw = new Redis(url);
  const cache = new ResponseCache({ shared: tier, ttlMs: 60_000 });
  try {
    await raw.set(`${prefix}k`, Buffer.from('{"outputs":"not ours"}'));
    assert.equal(await cache.get('k', 1000), undefined);
    const redis = () => cache.readings().find((r) => r.tier === 'redis')!;
    assert.equal(redis().garbage, 1);
    assert.equal(redis().misses, 1);
    cache.set('k', {
      model: 'm',
      version: '1',
      outputs: [{ name: 'y', datatype: 'INT32', shape: [1], data: new Int32Array([4]) }],
    });
    for (let i = 0; i < 100 && (await raw.exists(`${prefix}k`)) && redis().stores === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    const back = await cache.get('k', 1000);
    assert.deepEqual([...(back!.outputs[0]!.data as Int32Array)], [4]);
    assert.ok((await raw.pttl(`${prefix}k`)) > 0, 'stored with a TTL');
  } finally {
    raw.disconnect();
    await cache.close();
  }
});

test('a Redis that is not there: lookups answer unavailable at once, never throw, and the breaker opens', async (t) => {
  if (!redisInstalled()) {
    if (process.env.CI === 'true') throw new Error(MISSING_REDIS);
    return t.skip(MISSING_REDIS);
  }
  // A private server, stopped: its port is then (almost certainly) closed.
  const password = `canary-${Math.random().toString(36).slice(2)}-pw`;
  const server = await startServer({ password });
  const said: string[] = [];
  const states: string[] = [];
  const tier = new RedisTier({
    connection: parseRedisUrl(server.url),
    timeoutMs: 50,
    onError: (err) => said.push(`${err.message} ${err.stack ?? ''} ${JSON.stringify(err)}`),
    onBreaker: (s) => states.push(s),
  });
  try {
    assert.ok(await tier.whenReady(5000));
    assert.equal(await tier.set('k', new Uint8Array([1]), 60_000), true);
    await server.stop();
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await tier.get('k'));
    assert.ok(
      answers.every((a) => a === 'unavailable'),
      answers.join(),
    );
    const c = tier.counters().redis!;
    assert.equal(c.breaker, 'open');
    assert.deepEqual(states, ['open']);
    assert.ok(c.bypassed.get > 0, 'once open, lookups skip Redis');
    // ioredis sees the socket close on a later turn of the event loop than these lookups' failures.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(tier.counters().redis?.connected, false);
    assert.ok(!said.join('\n').includes(password), 'the password never appears in reported errors');
  } finally {
    await tier.close();
    await server.stop();
  }
});
