// Triton ensembles end to end (real onnxruntime): a DAG of steps where independent steps run at
// once, each step through its own model's scheduler (batching per step), statistics for the
// ensemble and its steps, config errors that refuse the load naming the step and tensor, and a
// step model unloaded while calls are in flight.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ServerError } from '../../src/client/http-client.js';
import type { Tensor } from '../../src/core/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

/** y = x + c on FP32 [batch, 4], batched by the dynamic batcher. */
const ADD = (name: string) => `name: "${name}"
max_batch_size: 16
input [{ name: "x", data_type: TYPE_FP32, dims: [ 4 ] }]
output [{ name: "y", data_type: TYPE_FP32, dims: [ 4 ] }]
dynamic_batching { max_queue_delay_microseconds: 20000 }
`;

/** An ensemble over FP32 [batch, 4] tensors with `steps` (model, input tensor, output tensor). */
function ensemble(name: string, steps: Array<[string, string, string]>, out = 'OUT', type = 'TYPE_FP32'): string {
  const body = steps
    .map(
      ([m, i, o]) =>
        `{ model_name: "${m}" model_version: -1 input_map { key: "x" value: "${i}" } output_map { key: "y" value: "${o}" } }`,
    )
    .join(',\n');
  return `name: "${name}"
platform: "ensemble"
max_batch_size: 16
input [{ name: "IN", data_type: ${type}, dims: [ 4 ] }]
output [{ name: "${out}", data_type: TYPE_FP32, dims: [ 4 ] }]
ensemble_scheduling { step [
${body}
] }
`;
}

function addEnsemble(repo: string, name: string, config: string): void {
  mkdirSync(join(repo, name, '1'), { recursive: true });
  writeFileSync(join(repo, name, 'config.pbtxt'), config);
}

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'add1', 1, addConstModel(1), ADD('add1'));
  addModel(repo, 'add10', 1, addConstModel(10), ADD('add10'));
  addModel(repo, 'add100', 1, addConstModel(100), ADD('add100'));
  // A diamond: IN → add1 → A; A → add10 → B; A → add100 → C; the answer is B (C is not asked).
  addEnsemble(
    repo,
    'chain',
    `name: "chain"
platform: "ensemble"
max_batch_size: 16
input [{ name: "IN", data_type: TYPE_FP32, dims: [ 4 ] }]
output [{ name: "B", data_type: TYPE_FP32, dims: [ 4 ] }, { name: "C", data_type: TYPE_FP32, dims: [ 4 ] }]
ensemble_scheduling { step [
  { model_name: "add10" model_version: -1 input_map { key: "x" value: "A" } output_map { key: "y" value: "B" } },
  { model_name: "add1" model_version: 1 input_map { key: "x" value: "IN" } output_map { key: "y" value: "A" } },
  { model_name: "add100" model_version: -1 input_map { key: "x" value: "A" } output_map { key: "y" value: "C" } }
] }
`,
  );
  addEnsemble(repo, 'single', ensemble('single', [['add1', 'IN', 'OUT']]));
  addEnsemble(repo, 'unstable', ensemble('unstable', [['add10', 'IN', 'OUT']]));
  // Broken ones: each refuses its load naming the step and the tensor.
  addEnsemble(
    repo,
    'cycle',
    ensemble('cycle', [
      ['add1', 'IN', 'P'],
      ['add10', 'Q', 'OUT'],
      ['add100', 'OUT', 'Q'],
    ]),
  );
  addEnsemble(repo, 'unknown_step', ensemble('unknown_step', [['nope', 'IN', 'OUT']]));
  addEnsemble(
    repo,
    'orphan',
    ensemble('orphan', [
      ['add1', 'IN', 'A'],
      ['add10', 'NOBODY', 'OUT'],
    ]),
  );
  addModel(repo, 'truncated', 1, addConstModel(1).subarray(0, 40), ADD('truncated'));
  addEnsemble(repo, 'broken_step', ensemble('broken_step', [['truncated', 'IN', 'OUT']]));
  addEnsemble(repo, 'mistyped', ensemble('mistyped', [['add1', 'IN', 'OUT']], 'OUT', 'TYPE_INT32'));
  addEnsemble(
    repo,
    'twice',
    ensemble('twice', [
      ['add1', 'IN', 'OUT'],
      ['add10', 'IN', 'OUT'],
    ]),
  );
  s = await startTestServer({ repository: repo, controlMode: 'explicit', loadModels: ['*'] });
});
after(() => s?.close());

const row = (v: number): Tensor => ({ name: 'IN', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });
const values = (t: Tensor | undefined) => Array.from((t?.data ?? []) as Float32Array);

test('a DAG of steps answers like the models called by hand, over HTTP and gRPC', async () => {
  const h = await s.http.infer('chain', [row(2)], { outputs: ['B', 'C'] });
  assert.deepEqual(values(h.outputs.find((o) => o.name === 'B')), [13, 13, 13, 13]);
  assert.deepEqual(values(h.outputs.find((o) => o.name === 'C')), [103, 103, 103, 103]);
  const g = await s.grpc.infer('chain', [row(5)]);
  assert.deepEqual(values(g.outputs.find((o) => o.name === 'B')), [16, 16, 16, 16]);
  assert.deepEqual(values(g.outputs.find((o) => o.name === 'C')), [106, 106, 106, 106]);
  const meta = (await s.http.json('GET', '/v2/models/chain')) as { platform: string };
  assert.equal(meta.platform, 'ensemble');
});

test('only the steps the requested outputs need run', async () => {
  const before = await executions('add100');
  const r = await s.http.infer('chain', [row(0)], { outputs: ['B'] });
  assert.deepEqual(
    r.outputs.map((o) => o.name),
    ['B'],
  );
  assert.equal(await executions('add100'), before, 'add100 feeds only C, which was not asked');
});

test("each step goes through its model's own batcher: concurrent ensemble calls batch per step", async () => {
  const before = await stats('add1');
  const n = 32;
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => s.http.infer('single', [row(i)])));
  for (const [i, a] of answers.entries()) assert.deepEqual(values(a.outputs[0]), [i + 1, i + 1, i + 1, i + 1]);
  const after = await stats('add1');
  const inferences = after.inference_count - before.inference_count;
  const executed = after.execution_count - before.execution_count;
  assert.equal(inferences, n);
  assert.ok(executed < n, `the step's batcher joined calls: ${n} inferences in ${executed} executions`);
  const ens = await stats('single');
  assert.ok(ens.inference_stats.success.count >= n, 'the ensemble reports its own successes');
});

test('config errors refuse the load, naming the step and the tensor', async () => {
  const index = (await s.http.json('POST', '/v2/repository/index')) as Array<{
    name: string;
    state?: string;
    reason?: string;
  }>;
  const reason = (name: string) => {
    const e = index.find((x) => x.name === name);
    assert.equal(e?.state, 'UNAVAILABLE', `${name} must not load`);
    return e?.reason ?? '';
  };
  assert.match(reason('cycle'), /cycle.*step 2 \(model 'add10'\).*'Q'/);
  assert.match(reason('unknown_step'), /step 1 \(model 'nope'\).*not in the model repository/);
  assert.match(
    reason('orphan'),
    /tensor 'NOBODY' feeding input 'x' of step 2 \(model 'add10'\) is produced by no step/,
  );
  assert.match(
    reason('mistyped'),
    /type mismatch on tensor 'IN': ensemble input 'IN' is INT32 but input 'x' of step 1 \(model 'add1'\) expects FP32/,
  );
  assert.match(reason('twice'), /tensor 'OUT' is produced twice/);
  // A step model whose own load failed: its reason, at once (not after the 120 s wait for READY).
  assert.match(
    reason('broken_step'),
    /step 1 \(model 'truncated'\): model 'truncated' is not available: .*Protobuf parsing failed/,
  );
  for (const name of ['chain', 'single', 'unstable']) assert.equal(index.find((x) => x.name === name)?.state, 'READY');
});

test('a request the ensemble refuses names the tensor; a step failure names the step', async () => {
  await assert.rejects(
    s.http.infer('single', [{ name: 'WRONG', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }]),
    (e: unknown) => e instanceof ServerError && e.status === 400 && /WRONG/.test(e.message),
  );
});

test('a step model unloaded while calls are in flight: every call is answered, right or 503 naming the step', async () => {
  const calls = Array.from({ length: 40 }, (_, i) =>
    s.http.infer('unstable', [row(i)]).then(
      (r) => ({ ok: true as const, v: values(r.outputs[0])[0], i }),
      (e: unknown) => ({ ok: false as const, e, i }),
    ),
  );
  await s.http.json('POST', '/v2/repository/models/add10/unload');
  const results = await Promise.all(calls);
  for (const r of results) {
    if (r.ok) assert.equal(r.v, r.i + 10);
    else {
      assert.ok(r.e instanceof ServerError, String(r.e));
      assert.equal(r.e.status, 503, r.e.message);
      assert.match(r.e.message, /in ensemble 'unstable', step 1 \(model 'add10'\)/);
    }
  }
  await assert.rejects(s.http.infer('unstable', [row(1)]), (e: unknown) => {
    assert.ok(e instanceof ServerError);
    assert.equal(e.status, 503);
    assert.match(e.message, /in ensemble 'unstable', step 1 \(model 'add10'\)/);
    return true;
  });
  await s.http.json('POST', '/v2/repository/models/add10/load');
  const back = await s.http.infer('unstable', [row(1)]);
  assert.deepEqual(values(back.outputs[0]), [11, 11, 11, 11]);
});

interface ModelStats {
  inference_count: number;
  execution_count: number;
  inference_stats: { success: { count: number } };
}

async function stats(model: string): Promise<ModelStats> {
  const r = (await s.http.json('GET', `/v2/models/${model}/stats`)) as { model_stats: ModelStats[] };
  return r.model_stats[0]!;
}

async function executions(model: string): Promise<number> {
  return (await stats(model)).execution_count;
}
