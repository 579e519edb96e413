// reliability.md R8 through the real server and a real redis-server behind a TCP fault proxy
// (test/harness/fault-proxy.ts): Redis killed, slowed by 2 s, blackholed and resetting its
// connections. In every mode every call is answered 200 with the right answer, the Redis tier is
// bypassed behind its breaker, the outage shows in the metrics, and once Redis is back the tier
// serves hits again. Outcomes only: no timing is asserted on this shared machine.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { FaultProxy } from '../harness/fault-proxy.js';
import { MISSING_REDIS, type RedisServer, redisInstalled, startServer } from '../services/redis.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { metricValue, until } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

const C = 1 + Math.floor(Math.random() * 1e6);
let redis: RedisServer | undefined;
let proxy: FaultProxy;
let s: TestServer;
let next = 0;

before(async () => {
  if (!redisInstalled()) {
    if (process.env.CI === 'true') throw new Error(MISSING_REDIS);
    return;
  }
  // A private server: this test kills and restarts it.
  redis = await startServer();
  proxy = await FaultProxy.start({ port: redis.port });
  const repo = tempRepo();
  addModel(repo, 'cached', 1, addConstModel(C), 'max_batch_size: 8\nresponse_cache { enable: true }\n');
  // No memory tier: every lookup and store goes to Redis, so each fault meets every call.
  s = await startTestServer({
    repository: repo,
    cacheMemoryBytes: 0,
    cacheRedis: `redis://127.0.0.1:${proxy.port}`,
  });
});
after(async () => {
  await s?.close();
  await proxy?.close();
  await redis?.stop();
});

const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const m = (name: string, labels = '') => metricValue(s.server.metricsPort, name, labels);
const redisHits = () => m('infergate_cache_lookups_total', 'tier="redis",outcome="hit"');
const bypassed = async () =>
  (await m('infergate_cache_redis_bypassed_total', 'op="get"')) +
  (await m('infergate_cache_redis_bypassed_total', 'op="set"'));

/** Calls from 4 clients for `ms`, inputs cycling over a few values; every answer must be right. */
async function drive(ms: number): Promise<number> {
  const end = Date.now() + ms;
  let calls = 0;
  const client = async (id: number) => {
    for (let i = 0; Date.now() < end; i++) {
      const v = (id * 7 + i) % 5;
      const r = await (i % 2 ? s.grpc : s.http).infer('cached', [x(v)]);
      assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [v + C, v + C, v + C, v + C]);
      calls++;
    }
  };
  await Promise.all([0, 1, 2, 3].map(client));
  return calls;
}

/** Repeats a fresh input until its second call is a Redis hit: the tier serves again. */
async function hitsResume(what: string): Promise<void> {
  await until(
    async () => {
      const before = await redisHits();
      const input = x(1000 + next++);
      await s.http.infer('cached', [input]);
      await new Promise((r) => setTimeout(r, 50)); // the store is sent without waiting
      await s.http.infer('cached', [input]);
      return (await redisHits()) > before;
    },
    20_000,
    `Redis hits resume after ${what}`,
  );
  assert.equal(await m('infergate_cache_redis_breaker_state', 'state="closed"'), 1);
}

/** One fault: calls keep being answered, the breaker opens and bypasses Redis, then it recovers. */
async function underFault(name: string, inject: () => Promise<void>, heal: () => Promise<void>): Promise<string> {
  const skipped = await bypassed();
  const failures = await m('infergate_cache_redis_failures_total');
  await inject();
  let opened = false;
  // Driving until the breaker is seen open (the first few calls meet the fault itself).
  await until(
    async () => {
      await drive(300);
      opened ||= (await m('infergate_cache_redis_breaker_state', 'state="open"')) === 1;
      return opened && (await bypassed()) > skipped;
    },
    20_000,
    `${name}: the Redis tier is bypassed behind its open breaker`,
  );
  const calls = await drive(500);
  assert.ok(calls > 0, `${name}: calls answered while Redis is out`);
  const text = await (await fetch(`http://127.0.0.1:${s.server.metricsPort}/metrics`)).text();
  const failed = text
    .split('\n')
    .filter((l) => l.startsWith('infergate_cache_redis_failures_total{'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  assert.ok(failed > failures, `${name}: the failures are counted`);
  await heal();
  await hitsResume(name);
  return `${name}: ${calls} calls in 0.5 s with Redis out, ${(await bypassed()) - skipped} operations bypassed, ${failed - failures} failed`;
}

test('R8: Redis killed, slowed, blackholed, resetting: every call answered, Redis bypassed, outage visible, recovery', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  await hitsResume('start');
  assert.equal(await m('infergate_cache_redis_connected'), 1);

  const seen: string[] = [];
  const diag = (line: string) => {
    seen.push(line);
    t.diagnostic(line);
  };
  diag(
    await underFault(
      'kill',
      async () => {
        await redis?.stop();
      },
      async () => {
        redis = await startServer({ port: redis?.port });
      },
    ),
  );
  diag(
    await underFault(
      'latency 2 s',
      async () => proxy.setMode('latency', 2000),
      async () => proxy.setMode('pass'),
    ),
  );
  diag(
    await underFault(
      'blackhole',
      async () => proxy.setMode('blackhole'),
      async () => proxy.setMode('pass'),
    ),
  );
  diag(
    await underFault(
      'reset',
      async () => proxy.setMode('reset'),
      async () => proxy.setMode('pass'),
    ),
  );
  assert.equal(seen.length, 4);
  assert.equal(await m('infergate_cache_redis_connected'), 1);
  assert.equal(await m('nv_inference_request_failure', 'model="cached",version="1",reason="OTHER"'), 0);
});
