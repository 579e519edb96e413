// Dense hosting end to end (issue #16 item 3): forty small models on a server with a 2-thread
// shared pool all become ready and each answers with its own weights over HTTP and gRPC, the
// metrics say 2 shared threads hold 40 sessions, and a model whose config asks for
// `worker_pool: dedicated` gets a thread of its own beside them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { metricValue } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

const N = 40;
const ONE = 'max_batch_size: 8\ninstance_group [{ count: 1 }]\n';
const DEDICATED = `${ONE}parameters { key: "worker_pool" value { string_value: "dedicated" } }\n`;

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  for (let i = 0; i < N; i++) addModel(repo, `small${i}`, 1, addConstModel(i), ONE);
  addModel(repo, 'alone', 1, addConstModel(1000), DEDICATED);
  s = await startTestServer({ repository: repo, sharedWorkers: 2 });
});
after(() => s.close());

const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const first = (r: { outputs: Tensor[] }) => (r.outputs[0]!.data as Float32Array)[0];

test('forty small models share two threads, each answering with its own session', async () => {
  assert.equal(await s.http.status('/v2/health/ready'), 200);
  const http = await Promise.all(Array.from({ length: N }, (_, i) => s.http.infer(`small${i}`, [x(1)])));
  assert.deepEqual(
    http.map(first),
    Array.from({ length: N }, (_, i) => i + 1),
  );
  const grpc = await Promise.all(Array.from({ length: N }, (_, i) => s.grpc.infer(`small${i}`, [x(2)])));
  assert.deepEqual(
    grpc.map(first),
    Array.from({ length: N }, (_, i) => i + 2),
  );
  assert.equal(first(await s.http.infer('alone', [x(1)])), 1001);
  const port = s.server.metricsPort;
  assert.equal(await metricValue(port, 'infergate_worker_threads', 'pool="shared"'), 2);
  assert.equal(await metricValue(port, 'infergate_worker_threads', 'pool="dedicated"'), 1);
  assert.equal(await metricValue(port, 'infergate_shared_worker_sessions'), N);
});
