// The feature_store backend against a real redis-server (the run's shared one for reads; private
// ones where a test pauses or kills Redis): one pipeline of one HMGET per row per call, whatever
// the rows (the client is watched, and a direct HMGET fails the test); versions sharing a Redis
// share one client; a key that is not a hash; load errors; the latency budget and the call's
// deadline; Redis down at load and mid-service, then back. Outcomes only, no timed asserts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis, type RedisOptions } from 'ioredis';
import { FeatureStoreBackend } from '../../src/backend/feature-store/backend.js';
import type { InstanceEvent, LoadedModel } from '../../src/backend/types.js';
import { InferError, type Tensor } from '../../src/core/index.js';
import { until } from '../e2e/scrape.js';
import { freshPrefix, MISSING_REDIS, type RedisServer, startServer, testRedisUrl } from '../services/redis.js';
import { privateRedis, rejectsCoded, versionSpec } from '../unit/backend/feature-store/spec.js';

const ids = (...names: string[]): Tensor => ({
  name: 'entity',
  datatype: 'BYTES',
  shape: [names.length, 1],
  data: names.map((s) => new TextEncoder().encode(s)),
});
const values = (m: LoadedModel, t: Tensor, deadline?: number) =>
  m.instances[0]!.execute([t], undefined, { deadline }).then((r) => [...(r.outputs[0]!.data as Float32Array)]);

/** Clients made through `connect`, with every pipeline they sent and every HMGET sent outside one. */
function watchedClients() {
  const w = { made: [] as Redis[], pipelines: [] as number[], direct: 0 };
  const connect = (options: RedisOptions) => {
    const c = new Redis(options);
    w.made.push(c);
    const pipeline = c.pipeline.bind(c);
    c.pipeline = ((...args: Parameters<typeof pipeline>) => {
      const p = pipeline(...args);
      const exec = p.exec.bind(p);
      p.exec = ((...e: Parameters<typeof exec>) => {
        w.pipelines.push((p as unknown as { length: number }).length);
        return exec(...e);
      }) as typeof p.exec;
      return p;
    }) as typeof c.pipeline;
    // Commands of a pipeline reach sendCommand with its stream; a command sent on its own, without.
    const send = c.sendCommand.bind(c);
    c.sendCommand = ((command: { name: string }, stream?: unknown, ...rest: unknown[]) => {
      if (stream === undefined && command.name === 'hmget') w.direct++;
      return (send as (...a: unknown[]) => unknown)(command, stream, ...rest);
    }) as typeof c.sendCommand;
    return c;
  };
  return { w, connect };
}

describe('feature store on the shared Redis', () => {
  let url: string | undefined;
  let admin: Redis;
  const prefix = freshPrefix();
  const params = { key_template: `${prefix}user:{id}`, features: 'age,score,visits' };

  before(async () => {
    url = await testRedisUrl();
    if (!url) return;
    admin = new Redis(url);
    const p = admin.pipeline();
    for (let i = 0; i < 40; i++)
      p.hset(`${prefix}user:u${i}`, { age: String(20 + i), score: String(i / 4), visits: String(i % 3) });
    await p.exec();
    await admin.set(`${prefix}user:plain`, 'a string, not a hash');
  });
  after(() => admin?.disconnect());

  test('one pipeline of one HMGET per row for each call, whatever the number of rows', async (t) => {
    if (!url) return t.skip(MISSING_REDIS);
    const { w, connect } = watchedClients();
    const backend = new FeatureStoreBackend({ redisUrl: url, connect });
    const m = await backend.load(versionSpec({ parameters: params, maxBatchSize: 64 }));
    try {
      assert.equal(m.concurrent, true);
      const rows = Array.from({ length: 32 }, (_, i) => `u${(i * 7) % 40}`);
      const got = await values(m, ids(...rows));
      const want = rows.flatMap((r) => {
        const i = Number(r.slice(1));
        return [20 + i, i / 4, i % 3];
      });
      assert.deepEqual(got, want);
      assert.deepEqual(w.pipelines, [32], 'one pipeline holding 32 commands');
      await values(m, ids('u1'));
      await values(m, ids('u2', 'u3', 'u4'));
      assert.deepEqual(w.pipelines, [32, 1, 3]);
      assert.equal(w.direct, 0, 'no HMGET outside a pipeline');
    } finally {
      await m.dispose();
      await backend.close();
    }
  });

  test('versions reading one Redis share one client, disconnected with the last of them', async (t) => {
    if (!url) return t.skip(MISSING_REDIS);
    const { w, connect } = watchedClients();
    const backend = new FeatureStoreBackend({ redisUrl: url, connect });
    const a = await backend.load(versionSpec({ parameters: params }));
    const b = await backend.load({ ...versionSpec({ parameters: params }), version: 2 });
    const other = await backend.load(versionSpec({ parameters: { ...params, redis_url: `${url}/3` } }));
    assert.equal(w.made.length, 2, 'one client per distinct Redis');
    await a.dispose();
    assert.equal(w.made[0]!.status, 'ready', 'still used by version 2');
    assert.deepEqual(await values(b, ids('u5')), [25, 1.25, 2]);
    await b.dispose();
    await until(async () => w.made[0]!.status === 'end', 5000, 'the shared client is closed');
    assert.equal(w.made[1]!.status, 'ready');
    await other.dispose();
    await backend.close();
  });

  test('a key holding something other than a hash is the store’s fault (500), naming the entity', async (t) => {
    if (!url) return t.skip(MISSING_REDIS);
    const backend = new FeatureStoreBackend({ redisUrl: url });
    const m = await backend.load(versionSpec({ parameters: params }));
    try {
      await rejectsCoded(
        values(m, ids('u1', 'plain')),
        'IG_ERR_MODEL_EXECUTION',
        /^feature store 'user_features': the key of entity "plain" does not hold a hash$/,
      );
      await rejectsCoded(values(m, ids('u1', 'nobody')), 'IG_ERR_INVALID_ARG', /entity "nobody" not found/);
    } finally {
      await m.dispose();
      await backend.close();
    }
  });

  test('load errors: no Redis anywhere, an unusable redis_url (never echoed)', async () => {
    const none = new FeatureStoreBackend();
    await rejectsCoded(
      none.load(versionSpec({ parameters: params })),
      'IG_ERR_MODEL_LOAD',
      /feature store: no Redis to read features from: set the parameter 'redis_url' or start the server with --feature-store-redis/,
    );
    await assert.rejects(
      none.load(versionSpec({ parameters: { ...params, redis_url: 'http://user:s3cr3t@h:1' } })),
      (err: unknown) => {
        assert.ok(err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD');
        assert.match(err.message, /parameter 'redis_url': the Redis URL must use redis:\/\/ or rediss:\/\//);
        assert.doesNotMatch(err.message, /s3cr3t/);
        return true;
      },
    );
    assert.throws(() => new FeatureStoreBackend({ redisUrl: 'not a url' }), /--feature-store-redis/);
    await none.close();
  });
});

describe('feature store on a Redis of its own (paused, killed)', () => {
  let redis: RedisServer | undefined;
  let admin: Redis;
  const params = { key_template: 'user:{id}', features: 'age,score,visits' };
  const seed = async () => {
    admin ??= new Redis(redis!.url, { maxRetriesPerRequest: 1 });
    await admin.hset('user:u1', { age: '31', score: '0.5', visits: '4' });
  };

  before(async () => {
    redis = await privateRedis();
    if (redis) await seed();
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  test('Redis slower than the latency budget: 503 naming the budget; the call’s deadline first: 504', async (t) => {
    if (!redis) return t.skip(MISSING_REDIS);
    const backend = new FeatureStoreBackend({ redisUrl: redis.url });
    const tight = await backend.load(versionSpec({ parameters: { ...params, latency_budget_ms: '50' } }));
    const loose = await backend.load(versionSpec({ parameters: { ...params, latency_budget_ms: '60000' } }));
    try {
      assert.deepEqual(await values(tight, ids('u1')), [31, 0.5, 4]);
      // Every client's commands wait 3 s: far past a 50 ms budget and a 50 ms deadline.
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      await rejectsCoded(
        values(tight, ids('u1')),
        'IG_ERR_UNAVAILABLE',
        /^feature store 'user_features': Redis did not answer within the latency budget \(50 ms\)$/,
      );
      await rejectsCoded(
        values(loose, ids('u1'), Date.now() + 50),
        'IG_ERR_DEADLINE_EXCEEDED',
        /^feature store 'user_features': the request deadline passed while waiting for Redis$/,
      );
      await rejectsCoded(values(loose, ids('u1'), Date.now() - 1), 'IG_ERR_DEADLINE_EXCEEDED', /deadline exceeded/);
      await until(
        async () => (await values(tight, ids('u1')).catch(() => [])).length === 3,
        20_000,
        'answers after the pause',
      );
    } finally {
      await tight.dispose();
      await loose.dispose();
      await backend.close();
    }
  });

  test('Redis down at load: loads with a warning, 503 at once, served when Redis comes; killed: 503, back: served', async (t) => {
    if (!redis) return t.skip(MISSING_REDIS);
    const port = redis.port;
    admin.disconnect();
    admin = undefined as unknown as Redis;
    await redis.stop();
    const events: InstanceEvent[] = [];
    const backend = new FeatureStoreBackend({ readyWaitMs: 200 });
    const m = await backend.load(versionSpec({ parameters: { ...params, redis_url: `redis://127.0.0.1:${port}` } }), {
      onEvent: (e) => events.push(e),
    });
    try {
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, 'warning');
      assert.match(
        (events[0] as { message: string }).message,
        new RegExp(`Redis at 127\\.0\\.0\\.1:${port} does not answer yet; lookups answer 503 until it does`),
      );
      await rejectsCoded(
        values(m, ids('u1')),
        'IG_ERR_UNAVAILABLE',
        /^feature store 'user_features': Redis is not connected$/,
      );

      redis = await startServer({ port });
      await seed();
      await until(
        async () => (await values(m, ids('u1')).catch(() => [])).length === 3,
        20_000,
        'served once Redis is up',
      );
      assert.deepEqual(await values(m, ids('u1')), [31, 0.5, 4]);

      admin.disconnect();
      admin = undefined as unknown as Redis;
      await redis.stop();
      await until(
        async () =>
          values(m, ids('u1')).then(
            () => false,
            (err: unknown) => {
              assert.ok(err instanceof InferError);
              assert.equal(err.code, 'IG_ERR_UNAVAILABLE');
              assert.match(err.message, /^feature store 'user_features': Redis (is not connected|failed \(.+\))$/);
              return true;
            },
          ),
        20_000,
        '503 once Redis is gone',
      );
      redis = await startServer({ port });
      await seed();
      await until(async () => (await values(m, ids('u1')).catch(() => [])).length === 3, 20_000, 'served again');
    } finally {
      await m.dispose();
      await backend.close();
    }
  });
});
