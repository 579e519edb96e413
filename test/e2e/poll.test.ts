// Poll mode with real onnxruntime: a new version directory is loaded, warmed and then served; a
// broken newer version never takes the working one down; removing versions falls back.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
let repo: string;
before(async () => {
  repo = tempRepo();
  addModel(repo, 'm', 1, addConstModel(1), 'max_batch_size: 4\ninstance_group [{ count: 1 }]\n');
  s = await startTestServer({ repository: repo, controlMode: 'poll', pollSeconds: 0.2 });
});
after(() => s.close());

async function answer(): Promise<number> {
  const r = await s.http.infer('m', [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }]);
  return (r.outputs[0]!.data as Float32Array)[0]!;
}

async function eventually(want: number): Promise<void> {
  let got = Number.NaN;
  for (let i = 0; i < 150; i++) {
    got = await answer().catch(() => Number.NaN);
    if (got === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`model answered ${got}, expected ${want}`);
}

test('new version served after load; broken version ignored; removal falls back', async () => {
  assert.equal(await answer(), 1);
  addModel(repo, 'm', 2, addConstModel(2));
  await eventually(2);
  addModel(repo, 'm', 3, addConstModel(3).subarray(0, 30));
  let v3: { state?: string } | undefined;
  for (let i = 0; i < 100 && v3?.state !== 'UNAVAILABLE'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const index = (await s.http.json('POST', '/v2/repository/index')) as Array<{ version?: string; state?: string }>;
    v3 = index.find((e) => e.version === '3');
  }
  assert.equal(v3?.state, 'UNAVAILABLE', 'the broken version is reported');
  assert.equal(await answer(), 2, 'the working version keeps serving');
  rmSync(join(repo, 'm', '3'), { recursive: true });
  rmSync(join(repo, 'm', '2'), { recursive: true });
  await eventually(1);
});
