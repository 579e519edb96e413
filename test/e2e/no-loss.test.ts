// Zero lost requests through the lifecycle events a load balancer sees (issue #26 acceptance):
// readiness stays 200 through poll-mode version swaps under load, and a client that stops sending on
// the first 503 from readiness loses nothing across a SIGTERM at ~300 req/s. Loads are bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpClient } from '../../src/client/http-client.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { spawnServer } from './process.js';
import { startTestServer } from './server.js';

const x = () => ({ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) });

test('poll mode: readiness stays 200 and no request fails through 10 version swaps under load', async () => {
  const repo = tempRepo();
  addModel(repo, 'm', 1, addConstModel(1));
  const s = await startTestServer({ repository: repo, controlMode: 'poll', pollSeconds: 0.1 });
  let running = true;
  const failures: string[] = [];
  const notReady: number[] = [];
  const load = (async () => {
    while (running) await s.http.infer('m', [x()]).catch((e: Error) => failures.push(e.message));
  })();
  const prober = (async () => {
    while (running) {
      const st = await s.http.status('/v2/health/ready');
      if (st !== 200) notReady.push(st);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    for (let v = 2; v <= 11; v++) {
      addModel(repo, 'm', v, addConstModel(v));
      let served = '';
      for (let i = 0; i < 400 && served !== String(v); i++) {
        served = (await s.http.infer('m', [x()])).version;
        if (served !== String(v)) await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(served, String(v), `version ${v} never took over`);
    }
  } finally {
    running = false;
    await Promise.all([load, prober]);
    await s.close();
  }
  assert.deepEqual(notReady, [], 'readiness answered other than 200 during a swap');
  assert.deepEqual(failures, []);
});

test('SIGTERM at ~300 req/s: a client that stops on the first readiness 503 sees no failed request', async () => {
  const repo = tempRepo();
  addModel(repo, 'fast', 1, addConstModel(3));
  const s = await spawnServer(repo, ['--drain-secs', '2']);
  const client = new HttpClient(`http://127.0.0.1:${s.httpPort}`, { connections: 32 });
  try {
    await s.waitForLog(/infergate ready/);
    let sending = true;
    const inflight: Array<Promise<void>> = [];
    const results = { ok: 0, failed: [] as string[] };
    // Open loop: 3 requests every 10 ms, until readiness says 503 (what a load balancer acts on).
    const ticker = setInterval(() => {
      if (!sending) return;
      for (let i = 0; i < 3; i++)
        inflight.push(
          client.infer('fast', [x()]).then(
            () => {
              results.ok++;
            },
            (e: Error) => {
              results.failed.push(e.message);
            },
          ),
        );
    }, 10);
    const prober = (async () => {
      while (sending) {
        if ((await client.status('/v2/health/ready').catch(() => 0)) !== 200) sending = false;
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    s.child.kill('SIGTERM');
    await prober;
    clearInterval(ticker);
    await Promise.all(inflight);
    assert.equal(await s.exited, 0, s.log());
    assert.deepEqual(results.failed, []);
    assert.ok(results.ok > 100, `${results.ok} requests served`);
  } finally {
    await client.close().catch(() => {});
    s.child.kill('SIGKILL');
  }
});
