// Acceptance: while a heavy model runs continuously, /v2/health/live keeps answering, because
// inference runs in worker threads and the event loop never computes. The bound (1 s) is generous
// against the seconds a blocked loop would take; it measures responsiveness, not speed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { addModel, heavyModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'heavy', 1, heavyModel(), 'max_batch_size: 64\ninstance_group [{ count: 2, kind: KIND_CPU }]\n');
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

test('health/live answers quickly while the heavy model is busy on every instance', async () => {
  const x: () => Tensor = () => ({ name: 'x', datatype: 'FP32', shape: [64, 1024], data: new Float32Array(64 * 1024) });
  let running = true;
  let executed = 0;
  const load = Array.from({ length: 4 }, async () => {
    while (running) {
      await s.http.infer('heavy', [x()]);
      executed++;
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    assert.equal(await s.http.status('/v2/health/live'), 200);
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  running = false;
  await Promise.all(load);
  assert.ok(executed >= 2, `the heavy model ran ${executed} times during the probe`);
  const worst = Math.max(...latencies);
  assert.ok(worst < 1000, `slowest live probe took ${worst.toFixed(0)} ms`);
});
