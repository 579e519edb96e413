// SIGTERM on `infergate serve`: readiness turns false, requests already in flight finish with 200,
// then the process exits 0. A test-only hook (INFERGATE_TEST_HOOKS) makes the model slow.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { HttpClient } from '../../src/client/http-client.js';
import { addConstModel, addModel, tempRepo } from './models.js';

function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

test('SIGTERM drains in-flight requests, then exits 0', async () => {
  const repo = tempRepo();
  addModel(repo, 'slow', 1, addConstModel(2), 'max_batch_size: 8\ninstance_group [{ count: 2 }]\n');
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      resolve('bin/infergate.js'),
      'serve',
      repo,
      '--http-port',
      String(httpPort),
      '--grpc-port',
      String(grpcPort),
      '--metrics-port',
      '0',
      '--log-format',
      'json',
    ],
    {
      env: { ...process.env, INFERGATE_TEST_HOOKS: '1', INFERGATE_TEST_SLEEP_MS: 'slow=1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const client = new HttpClient(`http://127.0.0.1:${httpPort}`);
  try {
    for (let i = 0; i < 200 && !/infergate ready/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(log, /infergate ready/);
    const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) };
    const inflight = [1, 2, 3].map(() => client.infer('slow', [{ ...x, data: new Float32Array(4) }]));
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const ready = await client.status('/v2/health/ready').catch(() => 'refused');
    assert.notEqual(ready, 200, 'readiness must be false while draining');
    const results = await Promise.all(inflight);
    for (const r of results) assert.deepEqual(Array.from(r.outputs[0]!.data as Float32Array), [2, 2, 2, 2]);
    assert.equal(await exited, 0, log);
    assert.match(log, /shutdown complete/);
  } finally {
    await client.close().catch(() => {});
    child.kill('SIGKILL');
  }
});
