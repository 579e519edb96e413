// The response cache end to end (issue #16 item 1) on the real server with onnxruntime: a second
// identical call is answered from the cache (the metrics say so, the model does not execute
// again), a different input is a miss, a model without response_cache is never cached, and two
// in-process servers sharing one real redis-server answer from each other's entries.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { MISSING_REDIS, testRedisUrl } from '../services/redis.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { executionCount, metricValue, until } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

// A constant drawn per run: the model file (and so every key) is new, whatever the Redis holds.
const C = 1 + Math.floor(Math.random() * 1e6);
const CACHED = 'max_batch_size: 8\nresponse_cache { enable: true }\n';

let a: TestServer;
let b: TestServer | undefined;
let redis: string | undefined;
before(async () => {
  redis = await testRedisUrl();
  const repo = tempRepo();
  addModel(repo, 'cached', 1, addConstModel(C), CACHED);
  addModel(repo, 'plain', 1, addConstModel(C), 'max_batch_size: 8\n');
  // A generous Redis timeout: this file is about what is cached, not about a slow Redis (R8 is).
  const options = { repository: repo, ...(redis ? { cacheRedis: redis, cacheRedisTimeoutMs: 2000 } : {}) };
  [a, b] = await Promise.all([startTestServer(options), redis ? startTestServer(options) : undefined]);
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const y = (r: { outputs: Tensor[] }) => [...(r.outputs[0]!.data as Float32Array)];
const series = (tier: string, outcome: string) => `tier="${tier}",outcome="${outcome}"`;

test('a second identical call is a hit: counted, the model does not run again, the answer is the same', async () => {
  const s = a.server;
  const runs = await executionCount(a.httpAddress, 'cached');
  const first = await a.http.infer('cached', [x(1)]);
  assert.equal(await executionCount(a.httpAddress, 'cached'), runs + 1);
  const again = [
    await a.http.infer('cached', [x(1)]),
    await a.grpc.infer('cached', [x(1)]),
    await a.http.infer('cached', [x(1)], { binary: false }),
  ];
  for (const r of again) assert.deepEqual(y(r), y(first));
  assert.deepEqual(y(first), [1 + C, 1 + C, 1 + C, 1 + C]);
  assert.equal(await executionCount(a.httpAddress, 'cached'), runs + 1, 'no execution for the hits');
  assert.equal(await metricValue(s.metricsPort, 'nv_cache_num_hits_per_model', 'model="cached",version="1"'), 3);
  assert.equal(await metricValue(s.metricsPort, 'nv_cache_num_misses_per_model', 'model="cached",version="1"'), 1);
  assert.equal(await metricValue(s.metricsPort, 'infergate_cache_lookups_total', series('memory', 'hit')), 3);
  assert.ok((await metricValue(s.metricsPort, 'nv_cache_hit_duration_per_model', 'model="cached"')) >= 0);
  // Triton: hits count as successes but not as inferences.
  assert.equal(await metricValue(s.metricsPort, 'nv_inference_request_success', 'model="cached"'), 4);
  assert.equal(await metricValue(s.metricsPort, 'nv_inference_count', 'model="cached"'), 1);
});

test('a different input is a miss and runs the model', async () => {
  const runs = await executionCount(a.httpAddress, 'cached');
  const misses = await metricValue(a.server.metricsPort, 'nv_cache_num_misses_per_model', 'model="cached"');
  assert.deepEqual(y(await a.http.infer('cached', [x(2)])), [2 + C, 2 + C, 2 + C, 2 + C]);
  assert.equal(await executionCount(a.httpAddress, 'cached'), runs + 1);
  assert.equal(await metricValue(a.server.metricsPort, 'nv_cache_num_misses_per_model', 'model="cached"'), misses + 1);
});

test('a model without response_cache is never cached and has no cache series', async () => {
  const runs = await executionCount(a.httpAddress, 'plain');
  for (let i = 0; i < 3; i++) await a.http.infer('plain', [x(1)]);
  assert.equal(await executionCount(a.httpAddress, 'plain'), runs + 3);
  const text = await (await fetch(`http://127.0.0.1:${a.server.metricsPort}/metrics`)).text();
  assert.ok(text.includes('nv_cache_num_hits_per_model{model="cached"'));
  assert.ok(!text.includes('nv_cache_num_hits_per_model{model="plain"'));
});

test('two servers sharing one Redis: a hit on one for an answer computed on the other', async (t) => {
  if (!b || !redis) return t.skip(MISSING_REDIS);
  const stored = () => metricValue(a.server.metricsPort, 'infergate_cache_stores_total', 'tier="redis"');
  const before = await stored();
  const computed = await a.http.infer('cached', [x(7)]);
  await until(async () => (await stored()) > before, 10_000, "server A's answer reached Redis");
  const runsOnB = await executionCount(b.httpAddress, 'cached');
  const fromA = await b.grpc.infer('cached', [x(7)]);
  assert.deepEqual(y(fromA), y(computed));
  assert.equal(await executionCount(b.httpAddress, 'cached'), runsOnB, 'B never ran the model');
  assert.equal(await metricValue(b.server.metricsPort, 'infergate_cache_lookups_total', series('redis', 'hit')), 1);
  // The Redis hit filled B's memory tier: the next identical call stays in the process.
  await b.http.infer('cached', [x(7)]);
  assert.equal(await metricValue(b.server.metricsPort, 'infergate_cache_lookups_total', series('memory', 'hit')), 1);
  assert.equal(await metricValue(b.server.metricsPort, 'infergate_cache_redis_connected'), 1);
  assert.equal(await metricValue(b.server.metricsPort, 'infergate_cache_redis_breaker_state', 'state="closed"'), 1);
});
