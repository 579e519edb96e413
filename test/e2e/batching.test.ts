// The dynamic batcher end to end with real onnxruntime workers: concurrent requests of 1 and 2
// rows are joined into batches in the worker (executeBatch), run once, and every client gets
// exactly its own rows back — over HTTP binary, HTTP JSON and gRPC, with throughput tuning on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

const CONFIG = `max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1, kind: KIND_CPU } ]
dynamic_batching { max_queue_delay_microseconds: 100000 }
parameters { key: "batch_size_tuning" value { string_value: "throughput" } }
`;

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'add7', 1, addConstModel(7), CONFIG);
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

/** Request i: i % 2 + 1 rows whose values encode i, so a mixed-up answer is visible. */
function rows(i: number): Tensor {
  const n = (i % 2) + 1;
  return {
    name: 'x',
    datatype: 'FP32',
    shape: [n, 4],
    data: Float32Array.from({ length: n * 4 }, (_, k) => i * 100 + k),
  };
}

test('concurrent requests are batched and each gets its own rows back, on every protocol', async () => {
  const before = (await s.http.json('GET', '/v2/models/add7/stats')) as { model_stats: Array<Record<string, unknown>> };
  const startCount = Number(before.model_stats[0]!['execution_count']);
  const calls = Array.from({ length: 48 }, (_, i) => {
    const x = rows(i);
    const p = i % 3 === 0 ? s.grpc.infer('add7', [x]) : s.http.infer('add7', [x], { binary: i % 3 === 1 });
    return p.then((r) => ({ i, y: r.outputs.find((t) => t.name === 'y')! }));
  });
  for (const { i, y } of await Promise.all(calls)) {
    const x = rows(i);
    assert.deepEqual(y.shape, x.shape, `request ${i}`);
    assert.deepEqual(
      Array.from(y.data as Float32Array),
      Array.from(x.data as Float32Array, (v) => v + 7),
      `request ${i}`,
    );
  }
  const stats = (await s.http.json('GET', '/v2/models/add7/stats')) as {
    model_stats: Array<{
      execution_count: number;
      inference_count: number;
      batch_stats: Array<{ batch_size: number }>;
    }>;
  };
  const m = stats.model_stats[0]!;
  const executions = Number(m.execution_count) - startCount;
  assert.ok(executions < 48, `48 requests ran in ${executions} executions: they were batched`);
  assert.ok(
    m.batch_stats.some((b) => b.batch_size > 1),
    'batches of several requests were formed',
  );
});
