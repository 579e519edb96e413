// The model memory budget with real onnxruntime through HTTP: a budget that holds 2 of 3 models
// answers every call to all 3 (evicting the least recently used, loading on demand), the server
// stays ready throughout, and the eviction and on-demand metrics move.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addModel, heavyModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

const MODELS = ['m0', 'm1', 'm2'];
const WIDTH = 1024;

let s: TestServer;
let fileBytes: number;
before(async () => {
  const repo = tempRepo();
  // 2 layers of 1024 × 1024 FP32: 8 MiB of weights per model, large beside what warm-up adds.
  const bytes = heavyModel(WIDTH, 2);
  for (const m of MODELS) addModel(repo, m, 1, bytes, 'max_batch_size: 4\ninstance_group [{ count: 1 }]\n');
  fileBytes = statSync(join(repo, 'm0', '1', 'model.onnx')).size;
  // Room for two (each holds its file and a little more), never for three (each holds its file at least).
  s = await startTestServer({ repository: repo, modelMemoryBudget: Math.floor(2.6 * fileBytes) });
});
after(() => s.close());

const x = () => [{ name: 'x', datatype: 'FP32' as const, shape: [1, WIDTH], data: new Float32Array(WIDTH).fill(1) }];

/** Sum of every series of a family (all label sets) whose labels contain `labels`. */
async function total(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.server.metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function states(): Promise<string[]> {
  const index = (await s.http.json('POST', '/v2/repository/index')) as Array<{ state?: string; reason?: string }>;
  return index.map((e) => `${e.state}${e.reason ? ` ${e.reason}` : ''}`).sort();
}

test('a budget for 2 of 3 models answers every call to all 3, evicting and loading on demand', async () => {
  assert.deepEqual(await states(), ['READY', 'READY', 'UNAVAILABLE evicted (memory budget)']);
  assert.equal(await s.http.status('/v2/health/ready'), 200, 'an evicted model never makes the server unready');
  const evictedAtStart = await total('infergate_model_evictions_total');
  assert.ok(evictedAtStart >= 1);

  // Round robin: every call goes to the least recently used model, the worst case for an LRU.
  for (let round = 0; round < 3; round++)
    for (const m of MODELS) {
      const r = await s.http.infer(m, x());
      assert.equal(r.model, m);
      assert.equal(r.outputs[0]?.shape.join(), `1,${WIDTH}`);
    }
  // All three at once: one must wait for an idle one to be evicted.
  const all = await Promise.all(MODELS.map((m) => s.http.infer(m, x())));
  assert.deepEqual(
    all.map((r) => r.model),
    MODELS,
  );

  assert.ok((await total('infergate_model_evictions_total')) > evictedAtStart + 3, 'evictions counted');
  assert.ok((await total('infergate_model_ondemand_loads_total', 'outcome="ok"')) >= 3, 'on-demand loads counted');
  assert.equal(await total('infergate_model_ondemand_loads_total', 'outcome="error"'), 0);
  assert.ok((await total('infergate_model_ondemand_load_seconds_count')) >= 3);
  const resident = await total('infergate_model_resident_bytes');
  const budget = await total('infergate_model_memory_budget_bytes');
  assert.equal(budget, Math.floor(2.6 * fileBytes));
  assert.ok(resident >= 2 * fileBytes && resident <= 2.6 * fileBytes, `2 models resident (${resident} bytes)`);
  assert.equal(await s.http.status('/v2/health/ready'), 200);
  assert.equal((await states()).filter((st) => st === 'READY').length, 2);
});
