// The response cache across OS processes and across tenants (issue #16's open acceptance items):
// two `infergate serve` processes over one real redis-server answer from each other's entries (a
// hit in the Redis tier, the model never runs in the second process, the same bytes), and on a
// server with auth required two tenants sending identical bytes never share an entry
// (reliability.md S17) over HTTP and gRPC, while a refused call never reaches the cache.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status as GrpcCode } from '@grpc/grpc-js';
import { request } from 'undici';
import { ApiKeyStore } from '../../src/auth/api-keys.js';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { HttpClient } from '../../src/client/http-client.js';
import type { Tensor } from '../../src/core/index.js';
import { MISSING_REDIS, testRedisUrl } from '../services/redis.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { type ServerProcess, spawnServer } from './process.js';
import { executionCount, metricValue, until } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

// A constant drawn per run: the model file (and so every key) is new, whatever the Redis holds.
const C = 1 + Math.floor(Math.random() * 1e6);
const CACHED = 'max_batch_size: 8\nresponse_cache { enable: true }\n';

const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const bytes = (r: { outputs: Tensor[] }) => {
  const d = r.outputs[0]!.data as Float32Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
};
const lookups = (port: number | undefined, tier: string, outcome: string) =>
  metricValue(port, 'infergate_cache_lookups_total', `tier="${tier}",outcome="${outcome}"`);

/** The same call as raw JSON over HTTP: the whole answer body, to compare byte for byte. */
async function rawInfer(httpPort: number, model: string, v: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${httpPort}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [v, v, v, v] }] }),
  });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
  return text;
}

describe('two infergate processes sharing one Redis', () => {
  let redis: string | undefined;
  const procs: ServerProcess[] = [];
  const clients: HttpClient[] = [];
  const metricsPorts: number[] = [];

  /** The metrics port the process chose (`--metrics-port 0`), from its JSON ready line. */
  async function metricsPortOf(p: ServerProcess): Promise<number> {
    await p.waitForLog(/infergate ready/, 60_000);
    const line = p
      .log()
      .split('\n')
      .find((l) => l.includes('infergate ready'));
    const port = (JSON.parse(line ?? '{}') as { metricsPort?: number }).metricsPort;
    assert.ok(typeof port === 'number' && port > 0, `no metricsPort in the ready line:\n${p.log()}`);
    return port;
  }

  before(async () => {
    redis = await testRedisUrl();
    if (!redis) return;
    const repo = tempRepo();
    addModel(repo, 'cached', 1, addConstModel(C), CACHED);
    // A generous Redis timeout: this file is about sharing, not about a slow Redis (R8 is).
    const args = ['--cache-redis', redis, '--cache-redis-timeout-ms', '2000', '--drain-secs', '0'];
    procs.push(...(await Promise.all([spawnServer(repo, args), spawnServer(repo, args)])));
    for (const p of procs) {
      const c = new HttpClient(`http://127.0.0.1:${p.httpPort}`);
      clients.push(c);
      await until(async () => (await c.status('/v2/health/ready').catch(() => 0)) === 200, 60_000, 'ready').catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${p.log()}`);
        },
      );
      metricsPorts.push(await metricsPortOf(p));
    }
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  test("process B answers from Redis with what process A computed: a Redis hit, B's model never runs, the same bytes", async (t) => {
    if (!redis) return t.skip(MISSING_REDIS);
    const [pa, pb] = procs as [ServerProcess, ServerProcess];
    const [ca, cb] = clients as [HttpClient, HttpClient];
    const [ma, mb] = metricsPorts as [number, number];
    const stored = () => metricValue(ma, 'infergate_cache_stores_total', 'tier="redis"');

    // A: a miss in both tiers; the model runs there, and its answer is stored in Redis.
    const onA = await ca.infer('cached', [x(3)]);
    assert.deepEqual([...(onA.outputs[0]!.data as Float32Array)], [3 + C, 3 + C, 3 + C, 3 + C]);
    assert.equal(await executionCount(`127.0.0.1:${pa.httpPort}`, 'cached'), 1, 'the model ran on A');
    assert.equal(await metricValue(ma, 'nv_inference_exec_count', 'model="cached"'), 1);
    assert.equal(await lookups(ma, 'redis', 'miss'), 1);
    await until(async () => (await stored()) >= 1, 10_000, "A's answer reached Redis");

    // B: the identical request misses B's own memory and hits the entry A left in Redis.
    const onB = await cb.infer('cached', [x(3)]);
    assert.deepEqual(bytes(onB), bytes(onA), 'the same answer bytes');
    assert.equal(await lookups(mb, 'memory', 'miss'), 1);
    assert.equal(await lookups(mb, 'redis', 'hit'), 1);
    assert.equal(await lookups(mb, 'redis', 'miss'), 0);
    assert.equal(await metricValue(mb, 'nv_cache_num_hits_per_model', 'model="cached",version="1"'), 1);
    assert.equal(await metricValue(mb, 'nv_cache_num_misses_per_model', 'model="cached",version="1"'), 0);
    assert.equal(await executionCount(`127.0.0.1:${pb.httpPort}`, 'cached'), 0, 'B never ran the model');
    assert.equal(await metricValue(mb, 'nv_inference_exec_count', 'model="cached"'), 0);
    assert.equal(await metricValue(mb, 'infergate_cache_redis_connected'), 1);

    // The whole JSON answer too: a call computed on A and the same call answered from Redis on B.
    const jsonA = await rawInfer(pa.httpPort, 'cached', 9);
    await until(async () => (await stored()) >= 2, 10_000, "A's second answer reached Redis");
    const jsonB = await rawInfer(pb.httpPort, 'cached', 9);
    assert.equal(jsonB, jsonA);
    assert.equal(await lookups(mb, 'redis', 'hit'), 2);
    assert.equal(await executionCount(`127.0.0.1:${pb.httpPort}`, 'cached'), 0, 'B still never ran the model');
  });
});

describe('S17: tenants never share an entry (auth required, real API keys)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-cache-tenants-'));
  const keys = new ApiKeyStore(join(dir, 'keys.json'));
  const K = {
    one: keys.create({ name: 'tenant one app', scopes: ['infer', 'read'], tenant: 'one' }),
    oneOther: keys.create({ name: 'tenant one batch', scopes: ['infer'], tenant: 'one' }),
    two: keys.create({ name: 'tenant two app', scopes: ['infer', 'read'], tenant: 'two' }),
    ops: keys.create({ name: 'ops', scopes: ['admin', 'read', 'infer'] }),
  };
  let s: TestServer;
  let port: number | undefined;
  const http = (key?: string) =>
    new HttpClient(`http://${s.httpAddress}`, { headers: key ? { 'x-api-key': key } : {} });
  const grpc = (key?: string) =>
    new GrpcClient(s.grpcAddress, { metadata: key ? { authorization: `Bearer ${key}` } : {} });
  const opened: Array<HttpClient | GrpcClient> = [];
  const open = <T extends HttpClient | GrpcClient>(c: T): T => {
    opened.push(c);
    return c;
  };

  /** What the cache and the model have counted so far (the metrics port needs no credentials). */
  const counters = async () => ({
    hits: await metricValue(port, 'nv_cache_num_hits_per_model', 'model="shared",version="1"'),
    misses: await metricValue(port, 'nv_cache_num_misses_per_model', 'model="shared",version="1"'),
    memoryHits: await lookups(port, 'memory', 'hit'),
    memoryMisses: await lookups(port, 'memory', 'miss'),
    runs: await metricValue(port, 'nv_inference_exec_count', 'model="shared"'),
  });

  before(async () => {
    const repo = tempRepo();
    addModel(repo, 'shared', 1, addConstModel(C), CACHED);
    writeFileSync(
      join(dir, 'auth.yaml'),
      'mode: required\napi_keys: keys.json\ntenants:\n  one: { models: ["shared"] }\n  two: { models: ["shared"] }\n',
    );
    s = await startTestServer({ repository: repo, authConfig: join(dir, 'auth.yaml') });
    port = s.server.metricsPort;
  });
  after(async () => {
    for (const c of opened)
      if (c instanceof GrpcClient) c.close();
      else await c.close().catch(() => {});
    await s?.close();
  });

  test('HTTP: tenant one misses then hits; tenant two, identical bytes, misses (the model runs again) then hits', async () => {
    const [one, two] = [open(http(K.one.key)), open(http(K.two.key))];
    const c0 = await counters();
    assert.deepEqual(c0, { hits: 0, misses: 0, memoryHits: 0, memoryMisses: 0, runs: 0 });

    const first = await one.infer('shared', [x(1)]);
    assert.deepEqual([...(first.outputs[0]!.data as Float32Array)], [1 + C, 1 + C, 1 + C, 1 + C]);
    assert.deepEqual(await counters(), { hits: 0, misses: 1, memoryHits: 0, memoryMisses: 1, runs: 1 });

    assert.deepEqual(bytes(await one.infer('shared', [x(1)])), bytes(first));
    assert.deepEqual(await counters(), { hits: 1, misses: 1, memoryHits: 1, memoryMisses: 1, runs: 1 });

    // Tenant two, the same bytes: not tenant one's entry. A miss, and the model runs again.
    assert.deepEqual(bytes(await two.infer('shared', [x(1)])), bytes(first));
    assert.deepEqual(await counters(), { hits: 1, misses: 2, memoryHits: 1, memoryMisses: 2, runs: 2 });

    // Now tenant two has an entry of its own.
    assert.deepEqual(bytes(await two.infer('shared', [x(1)])), bytes(first));
    assert.deepEqual(await counters(), { hits: 2, misses: 2, memoryHits: 2, memoryMisses: 2, runs: 2 });

    // The key is the tenant's, not the API key's: another key of tenant one hits tenant one's entry.
    assert.deepEqual(bytes(await open(http(K.oneOther.key)).infer('shared', [x(1)])), bytes(first));
    assert.deepEqual(await counters(), { hits: 3, misses: 2, memoryHits: 3, memoryMisses: 2, runs: 2 });

    // A principal without a tenant has a space of its own too: a miss.
    await open(http(K.ops.key)).infer('shared', [x(1)]);
    assert.deepEqual(await counters(), { hits: 3, misses: 3, memoryHits: 3, memoryMisses: 3, runs: 3 });

    // The statistics agree (read scope of a tenant that sees the model).
    const stats = await request(`http://${s.httpAddress}/v2/models/shared/stats`, {
      headers: { 'x-api-key': K.two.key },
    });
    const body = (await stats.body.json()) as {
      model_stats: Array<{ execution_count: number; inference_stats: { cache_hit: { count: number } } }>;
    };
    assert.equal(stats.statusCode, 200);
    assert.equal(body.model_stats[0]!.execution_count, 3);
    assert.equal(body.model_stats[0]!.inference_stats.cache_hit.count, 3);
  });

  test('gRPC: the same separation (a fresh input: tenant one misses then hits, tenant two misses then hits)', async () => {
    const [one, two] = [open(grpc(K.one.key)), open(grpc(K.two.key))];
    const c0 = await counters();
    const delta = async () => {
      const c = await counters();
      return { hits: c.hits - c0.hits, misses: c.misses - c0.misses, runs: c.runs - c0.runs };
    };
    const first = await one.infer('shared', [x(2)]);
    assert.deepEqual([...(first.outputs[0]!.data as Float32Array)], [2 + C, 2 + C, 2 + C, 2 + C]);
    assert.deepEqual(await delta(), { hits: 0, misses: 1, runs: 1 });
    assert.deepEqual(bytes(await one.infer('shared', [x(2)])), bytes(first));
    assert.deepEqual(await delta(), { hits: 1, misses: 1, runs: 1 });
    assert.deepEqual(bytes(await two.infer('shared', [x(2)])), bytes(first));
    assert.deepEqual(await delta(), { hits: 1, misses: 2, runs: 2 }, "tenant two never got tenant one's entry");
    assert.deepEqual(bytes(await two.infer('shared', [x(2)])), bytes(first));
    assert.deepEqual(await delta(), { hits: 2, misses: 2, runs: 2 });
    // The entry is the tenant's whatever the protocol: tenant two over HTTP hits what it stored over gRPC.
    assert.deepEqual(bytes(await open(http(K.two.key)).infer('shared', [x(2)])), bytes(first));
    assert.deepEqual(await delta(), { hits: 3, misses: 2, runs: 2 });
  });

  test('an unauthenticated call is refused (HTTP 401, gRPC UNAUTHENTICATED) and touches no cache counter', async () => {
    const c0 = await counters();
    const refused = await request(`http://${s.httpAddress}/v2/models/shared/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] }),
    });
    await refused.body.dump();
    assert.equal(refused.statusCode, 401);
    await assert.rejects(open(http()).infer('shared', [x(1)]), (e: { status?: number }) => e.status === 401);
    await assert.rejects(
      open(grpc()).infer('shared', [x(1)]),
      (e: { code?: number }) => e.code === GrpcCode.UNAUTHENTICATED,
    );
    // A wrong key is refused the same way, and is no tenant's cache either.
    await assert.rejects(
      open(http(`${K.one.key}x`)).infer('shared', [x(1)]),
      (e: { status?: number }) => e.status === 401,
    );
    assert.deepEqual(await counters(), c0);
    assert.equal(await lookups(port, 'memory', 'hit'), c0.memoryHits);
  });
});
