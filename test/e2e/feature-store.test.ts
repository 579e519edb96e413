// Feature store models end to end (docs/feature-store.md): the real server reads features from a
// real redis-server of this file's own (it is killed and restarted here, and its command counters
// must see only this server): batched rows over HTTP and gRPC, INT64 ids without batching, defaults,
// a missing entity or feature as a 400 naming it, bad parameters refusing the load with the reason
// in the repository index, one HMGET per row sent as one pipeline per call (Redis's own counters),
// a feature store as an ensemble step, and Redis stopped → 503, then served again.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ServerError } from '../../src/client/http-client.js';
import type { Tensor } from '../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { MISSING_REDIS, type RedisServer, startServer } from '../services/redis.js';
import { privateRedis } from '../unit/backend/feature-store/spec.js';
import { addModel, tempRepo } from './models.js';
import { until } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

const param = (k: string, v: string) => `parameters { key: "${k}" value: { string_value: "${v}" } }`;

const USER_FEATURES = `name: "user_features"
backend: "feature_store"
max_batch_size: 8
input [{ name: "entity", data_type: TYPE_STRING, dims: [ 1 ] }]
output [{ name: "features", data_type: TYPE_FP32, dims: [ 3 ] }]
${param('key_template', 'user:{id}')}
${param('features', 'age,score,visits')}
${param('default.visits', '0')}
`;

const ITEM_FEATURES = `name: "item_features"
backend: "feature_store"
max_batch_size: 0
input [{ name: "item_id", data_type: TYPE_INT64, dims: [ -1 ] }]
output [{ name: "item_vec", data_type: TYPE_INT64, dims: [ -1, 2 ] }]
${param('key_template', 'item:{id}:v1')}
${param('features', 'clicks,price_cents')}
${param('default_value', '-1')}
${param('on_missing_entity', 'default')}
`;

/** y = x + 100 on FP32 [batch, 3]: the step after the feature store in the ensemble. */
function plus100(): Uint8Array {
  const g = new GraphBuilder('plus100')
    .input('x', 'FP32', ['batch', 3])
    .initializer('c', 'FP32', [3], new Float32Array(3).fill(100))
    .node('Add', ['x', 'c'], ['y'])
    .output('y', 'FP32', ['batch', 3]);
  return buildModel(g);
}

const SCORER = `name: "scorer"
platform: "ensemble"
max_batch_size: 8
input [{ name: "USER", data_type: TYPE_STRING, dims: [ 1 ] }]
output [{ name: "SCORE", data_type: TYPE_FP32, dims: [ 3 ] }]
ensemble_scheduling { step [
  { model_name: "user_features" model_version: -1
    input_map { key: "entity" value: "USER" } output_map { key: "features" value: "FEATURES" } },
  { model_name: "plus100" model_version: -1
    input_map { key: "x" value: "FEATURES" } output_map { key: "y" value: "SCORE" } }
] }
`;

/** A model folder with a version directory and no model file, as a feature store has. */
function addFileless(repo: string, name: string, config: string): void {
  mkdirSync(join(repo, name, '1'), { recursive: true });
  writeFileSync(join(repo, name, 'config.pbtxt'), config);
}

const users = (...names: string[]): Tensor => ({
  name: 'entity',
  datatype: 'BYTES',
  shape: [names.length, 1],
  data: names.map((n) => new TextEncoder().encode(n)),
});
const floats = (t: Tensor | undefined) => [...(t!.data as Float32Array)];

let redis: RedisServer | undefined;
let admin: Redis | undefined;
let s: TestServer;

async function seed(): Promise<void> {
  admin = new Redis(redis!.url);
  await admin.hset('user:alice', { age: '31', score: '0.5', visits: '4' });
  await admin.hset('user:bob', { age: '40', score: '-1.25', visits: '0' });
  await admin.hset('user:carol', { age: '22', score: '2' }); // no visits: its default, 0
  await admin.hset('user:dave', { age: '50', visits: '1' }); // no score, which has no default
  await admin.hset('item:7:v1', { clicks: '12', price_cents: '9007199254740993' });
  await admin.hset('item:8:v1', { clicks: '3' });
}

before(async () => {
  redis = await privateRedis();
  if (!redis) return;
  await seed();
  const repo = tempRepo();
  addFileless(repo, 'user_features', USER_FEATURES);
  addFileless(repo, 'item_features', ITEM_FEATURES);
  addModel(
    repo,
    'plus100',
    1,
    plus100(),
    `name: "plus100"\nmax_batch_size: 8\ninput [{ name: "x", data_type: TYPE_FP32, dims: [ 3 ] }]\noutput [{ name: "y", data_type: TYPE_FP32, dims: [ 3 ] }]\n`,
  );
  addFileless(repo, 'scorer', SCORER);
  addFileless(
    repo,
    'no_features',
    USER_FEATURES.replace('user_features', 'no_features').replace(`${param('features', 'age,score,visits')}\n`, ''),
  );
  addFileless(
    repo,
    'bad_url',
    `${USER_FEATURES.replace('user_features', 'bad_url')}${param('redis_url', 'http://me:s3cr3t@127.0.0.1:1')}\n`,
  );
  addFileless(
    repo,
    'bad_default',
    `${USER_FEATURES.replace('user_features', 'bad_default')}${param('default.age', 'old')}\n`,
  );
  s = await startTestServer({ repository: repo, featureStoreRedis: redis.url });
});
after(async () => {
  await s?.close();
  admin?.disconnect();
  await redis?.stop();
});

/** The ServerError `p` rejects with, checked for its status and message. */
async function refused(p: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ServerError, String(err));
    assert.equal(err.status, status);
    assert.match(err.message, pattern);
    return true;
  });
}

test('batched rows over HTTP and gRPC: features in the configured order, a missing one takes its default', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  const r = await s.http.infer('user_features', [users('bob', 'alice', 'carol')]);
  assert.equal(r.outputs[0]!.name, 'features');
  assert.deepEqual(r.outputs[0]!.shape, [3, 3]);
  assert.deepEqual(floats(r.outputs[0]), [40, -1.25, 0, 31, 0.5, 4, 22, 2, 0]);
  const g = await s.grpc.infer('user_features', [users('alice', 'carol')]);
  assert.deepEqual(g.outputs[0]!.shape, [2, 3]);
  assert.deepEqual(floats(g.outputs[0]), [31, 0.5, 4, 22, 2, 0]);
  const meta = (await s.http.json('GET', '/v2/models/user_features')) as { inputs: unknown[]; outputs: unknown[] };
  assert.deepEqual(meta.inputs, [{ name: 'entity', datatype: 'BYTES', shape: [-1, 1] }]);
  assert.deepEqual(meta.outputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 3] }]);
});

test('a missing entity or a missing feature without a default: 400 naming it (HTTP), INVALID_ARGUMENT (gRPC)', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  await refused(
    s.http.infer('user_features', [users('alice', 'mallory')]),
    400,
    /feature store 'user_features': entity "mallory" not found/,
  );
  await refused(
    s.http.infer('user_features', [users('dave')]),
    400,
    /feature store 'user_features': entity "dave" has no value for feature 'score' and the feature has no default/,
  );
  await assert.rejects(
    s.grpc.infer('user_features', [users('mallory')]),
    (err: { code?: number; details?: string }) => {
      assert.equal(err.code, 3);
      assert.match(err.details ?? '', /entity "mallory" not found/);
      return true;
    },
  );
});

test('INT64 ids without batching: INT64 features, an unknown item gets the default row', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  const ids: Tensor = { name: 'item_id', datatype: 'INT64', shape: [3], data: new BigInt64Array([8n, 404n, 7n]) };
  const r = await s.http.infer('item_features', [ids]);
  assert.deepEqual(r.outputs[0]!.shape, [3, 2]);
  assert.deepEqual([...(r.outputs[0]!.data as BigInt64Array)], [3n, -1n, -1n, -1n, 12n, 9007199254740993n]);
});

test('bad parameters refuse the load; the repository index says why (never echoing a URL)', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  const index = (await s.http.json('POST', '/v2/repository/index')) as Array<{
    name: string;
    state: string;
    reason?: string;
  }>;
  const by = new Map(index.map((m) => [m.name, m]));
  for (const ok of ['user_features', 'item_features', 'scorer']) assert.equal(by.get(ok)?.state, 'READY', ok);
  const reason = (name: string) => {
    assert.equal(by.get(name)?.state, 'UNAVAILABLE', name);
    return by.get(name)?.reason ?? '';
  };
  assert.match(reason('no_features'), /feature store: parameter 'features' is required/);
  assert.match(
    reason('bad_url'),
    /feature store: parameter 'redis_url': the Redis URL must use redis:\/\/ or rediss:\/\//,
  );
  assert.doesNotMatch(reason('bad_url'), /s3cr3t/);
  assert.match(reason('bad_default'), /feature store: parameter 'default.age': 'old' is not a finite number/);
});

test('one pipeline per call: one HMGET per row reaches Redis, in one read (Redis INFO counters)', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  const info = async () => {
    const text = await admin!.info('all');
    const calls = Number(/cmdstat_hmget:calls=(\d+)/.exec(text)?.[1] ?? 0);
    const reads = Number(/total_reads_processed:(\d+)/.exec(text)?.[1]);
    assert.ok(Number.isFinite(reads), 'Redis reports total_reads_processed');
    return { calls, reads };
  };
  const rows = ['alice', 'bob', 'carol', 'alice', 'bob', 'carol', 'alice', 'bob'];
  const before = await info();
  const r = await s.http.infer('user_features', [users(...rows)]);
  const after = await info();
  assert.deepEqual(r.outputs[0]!.shape, [8, 3]);
  assert.equal(after.calls - before.calls, 8, 'exactly one HMGET per row');
  // Between the two INFO calls Redis read its socket for the lookup and for the second INFO; one
  // round trip per row would be 8 reads for the lookup alone.
  assert.ok(after.reads - before.reads <= 3, `reads between the INFO calls: ${after.reads - before.reads}`);
});

test('a feature store as an ensemble step feeds the next model', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  const r = await s.http.infer('scorer', [{ ...users('carol', 'alice'), name: 'USER' }]);
  assert.equal(r.outputs[0]!.name, 'SCORE');
  assert.deepEqual(floats(r.outputs[0]), [122, 102, 100, 131, 100.5, 104]);
  await refused(s.http.infer('scorer', [{ ...users('mallory'), name: 'USER' }]), 400, /entity "mallory" not found/);
});

test('Redis stopped: 503 naming the feature store, never a hang; Redis back: served again', async (t) => {
  if (!redis) return t.skip(MISSING_REDIS);
  const port = redis.port;
  admin!.disconnect();
  await redis.stop();
  await until(
    async () =>
      s.http.infer('user_features', [users('alice')]).then(
        () => false,
        (err: unknown) => {
          assert.ok(err instanceof ServerError, String(err));
          assert.equal(err.status, 503);
          assert.match(err.message, /^feature store 'user_features': Redis (is not connected|failed \(.+\))$/);
          return true;
        },
      ),
    20_000,
    '503 once Redis is gone',
  );
  await refused(
    s.http.infer('user_features', [users('alice')]),
    503,
    /feature store 'user_features': Redis is not connected/,
  );
  redis = await startServer({ port });
  await seed();
  await until(
    async () => (await s.http.infer('user_features', [users('alice')]).catch(() => undefined)) !== undefined,
    20_000,
    'served again once Redis is back',
  );
  const r = await s.http.infer('user_features', [users('alice')]);
  assert.deepEqual(floats(r.outputs[0]), [31, 0.5, 4]);
});
