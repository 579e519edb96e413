// Deadlines end to end on the real server: a call whose deadline passes while it waits behind a slow
// execution is answered with a timeout and never executes (the model's execution count proves it);
// HTTP answers say which version served.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import type { Tensor } from '../../src/core/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

// Test hooks: every execution of 'slow' blocks 400 ms in its worker (backend/ort/hooks.ts).
process.env['INFERGATE_TEST_HOOKS'] = '1';
process.env['INFERGATE_TEST_SLEEP_MS'] = 'slow=400,slowq=400';

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'slow', 1, addConstModel(1), 'max_batch_size: 4\ninstance_group [{ count: 1, kind: KIND_CPU }]\n');
  addModel(repo, 'fast', 3, addConstModel(2));
  // Triton's queue policy with the per-request `timeout` override allowed (R2 a).
  addModel(
    repo,
    'slowq',
    1,
    addConstModel(1),
    'max_batch_size: 4\ninstance_group [{ count: 1, kind: KIND_CPU }]\n' +
      'dynamic_batching { default_queue_policy { allow_timeout_override: true default_timeout_microseconds: 10000000 } }\n',
  );
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

const x = (): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) });
const executions = async (model = 'slow') => {
  const stats = (await (await request(`http://${s.httpAddress}/v2/models/${model}/stats`)).body.json()) as {
    model_stats: Array<{ execution_count: number }>;
  };
  return stats.model_stats[0]!.execution_count;
};

test('HTTP: a call that times out in the queue gets 504 and never runs', async () => {
  const before = await executions();
  const first = s.http.infer('slow', [x()]);
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(s.http.infer('slow', [x()], { timeoutMs: 100 }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 504);
    assert.match(err.message, /deadline exceeded/);
    return true;
  });
  await first;
  assert.equal((await executions()) - before, 1, 'only the first call executed');
});

test('gRPC: a client deadline that passes in the queue is DEADLINE_EXCEEDED and never runs', async () => {
  const before = await executions();
  const first = s.grpc.infer('slow', [x()]);
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(s.grpc.infer('slow', [x()], { timeoutMs: 150 }), { code: 4 });
  await first;
  // The server may learn of the deadline from its own timer or from the client's cancel: either way
  // the call never reaches the worker.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await executions()) - before, 1, 'only the first call executed');
});

test('a malformed infergate-timeout-ms is a 400 naming the header', async () => {
  await assert.rejects(s.http.infer('fast', [x()], { timeoutMs: -5 }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 400);
    assert.match(err.message, /infergate-timeout-ms/);
    return true;
  });
});

test('HTTP answers name the version that served in infergate-model-version', async () => {
  const res = await request(`http://${s.httpAddress}/v2/models/fast/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
  });
  const body = (await res.body.json()) as { model_version: string };
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['infergate-model-version'], '3');
  assert.equal(body.model_version, '3');
});

test("R2 (a): Triton's timeout parameter (50,000 µs) fails a call queued behind a busy instance; it never runs", async () => {
  const before = await executions('slowq');
  const first = s.http.infer('slowq', [x()]);
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(
    s.http.infer('slowq', [x()], { parameters: { timeout: 50_000 } }),
    (err: Error & { status?: number }) => {
      assert.equal(err.status, 503);
      return true;
    },
  );
  await first;
  assert.equal((await executions('slowq')) - before, 1, 'only the first call executed');
});

test('R2 (c): 1,000 calls that expire in the queue leave no timers or handles behind', async () => {
  // gRPC: one HTTP/2 connection, so the client's own sockets do not move the count.
  await s.grpc.infer('fast', [x()]);
  const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  await new Promise((r) => setTimeout(r, 200));
  const baseline = resources();
  const rss = process.memoryUsage().rss;
  const before = await executions();
  const first = s.grpc.infer('slow', [x()]);
  await new Promise((r) => setTimeout(r, 50));
  const late = await Promise.allSettled(
    Array.from({ length: 1000 }, () => s.grpc.infer('slow', [x()], { timeoutMs: 100 })),
  );
  await first;
  assert.ok(
    late.every((r) => r.status === 'rejected' && (r.reason as { code?: number }).code === 4),
    'every late call is DEADLINE_EXCEEDED',
  );
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await executions()) - before, 1, 'none of the 1,000 ran');
  const after = resources();
  assert.ok(Math.abs(after - baseline) <= 5, `active resources ${baseline} → ${after}`);
  // RSS is the test process's as a whole (server and client); reported, not asserted on a shared host.
  console.log(
    `# R2 (c): active resources ${baseline} → ${after}; RSS ${((process.memoryUsage().rss - rss) / 1048576).toFixed(1)} MiB`,
  );
});
