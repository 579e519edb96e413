// A model that fails to load (truncated file, signature not matching its config) is reported
// UNAVAILABLE with a reason and leaves every other model serving; real onnxruntime.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'good', 1, addConstModel(1));
  addModel(repo, 'truncated', 1, addConstModel(1).subarray(0, 40));
  const mismatch =
    'max_batch_size: 8\ninput [{ name: "x", data_type: TYPE_FP32, dims: [ 5 ] }]\noutput [{ name: "y", data_type: TYPE_FP32, dims: [ 4 ] }]\n';
  addModel(repo, 'mismatch', 1, addConstModel(1), mismatch);
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

test('broken models are UNAVAILABLE with a reason; the good one serves', async () => {
  const index = (await s.http.json('POST', '/v2/repository/index')) as Array<{
    name: string;
    state?: string;
    reason?: string;
  }>;
  const by = new Map(index.map((e) => [e.name, e]));
  assert.equal(by.get('good')?.state, 'READY');
  for (const name of ['truncated', 'mismatch']) {
    assert.equal(by.get(name)?.state, 'UNAVAILABLE', name);
    assert.ok((by.get(name)?.reason ?? '').length > 0, `${name} has a reason`);
    assert.doesNotMatch(by.get(name)!.reason!, /\/tmp\//, 'no absolute path in the reason');
  }
  assert.match(by.get('mismatch')!.reason!, /'x'/);
  const r = await s.http.infer('good', [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }]);
  assert.deepEqual(Array.from(r.outputs[0]!.data as Float32Array), [1, 1, 1, 1]);
  assert.equal(await s.http.status('/v2/health/ready'), 503, 'strict readiness: not every model is ready');
  assert.equal(await s.http.status('/v2/models/good/ready'), 200);
});
