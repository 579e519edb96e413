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
process.env['INFERGATE_TEST_SLEEP_MS'] = 'slow=400';

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'slow', 1, addConstModel(1), 'max_batch_size: 4\ninstance_group [{ count: 1, kind: KIND_CPU }]\n');
  addModel(repo, 'fast', 3, addConstModel(2));
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

const x = (): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) });
const executions = async () => {
  const stats = (await (await request(`http://${s.httpAddress}/v2/models/slow/stats`)).body.json()) as {
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
