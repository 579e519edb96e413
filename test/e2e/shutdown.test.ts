// The server's lifecycle as an orchestrator sees it (reliability.md R11, R23), on `infergate serve`
// as a child process. A test-only hook (INFERGATE_TEST_HOOKS) makes a model slow.
import assert from 'node:assert/strict';
import { type ClientHttp2Session, connect } from 'node:http2';
import { test } from 'node:test';
import { request } from 'undici';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { HttpClient } from '../../src/client/http-client.js';
import { addConstModel, addModel, heavyModel, tempRepo } from './models.js';
import { spawnServer } from './process.js';

const x = () => ({ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) });
const SLOW = { INFERGATE_TEST_HOOKS: '1', INFERGATE_TEST_SLEEP_MS: 'slow=1500' };

test('SIGTERM: readiness 503 at once, requests during the drain are served with Connection: close, gRPC connections get GOAWAY, in-flight calls finish, exit 0', async () => {
  const repo = tempRepo();
  addModel(repo, 'slow', 1, addConstModel(2), 'max_batch_size: 8\ninstance_group [{ count: 2 }]\n');
  addModel(repo, 'fast', 1, addConstModel(3));
  const s = await spawnServer(repo, ['--drain-secs', '2'], SLOW);
  const client = new HttpClient(`http://127.0.0.1:${s.httpPort}`);
  const grpc = new GrpcClient(`127.0.0.1:${s.grpcPort}`);
  let h2: ClientHttp2Session | undefined;
  try {
    await s.waitForLog(/infergate ready/);
    // An idle HTTP/2 connection to the gRPC port, as a client's channel keeps one: told GOAWAY at drain start.
    h2 = connect(`http://127.0.0.1:${s.grpcPort}`);
    const session = h2;
    let goaway: number | undefined;
    session.once('goaway', (code) => {
      goaway = code;
    });
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    const inflight = [1, 2, 3].map(() => client.infer('slow', [x()]));
    const grpcInflight = grpc.infer('slow', [x()]);
    await new Promise((r) => setTimeout(r, 400));
    s.child.kill('SIGTERM');
    await s.waitForLog(/draining/);
    assert.equal(await client.status('/v2/health/ready'), 503, 'readiness is false while draining');
    // Still accepting and serving during the drain: a load balancer that has not noticed yet loses nothing.
    const during = await request(`http://127.0.0.1:${s.httpPort}/v2/models/fast/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }] }),
    });
    assert.equal(during.statusCode, 200);
    assert.equal(during.headers.connection, 'close');
    // Still within the drain (that answer said Connection: close), the gRPC connection was told to go.
    assert.equal(goaway, 0, 'GOAWAY (NO_ERROR: a graceful goodbye) at drain start, not at the end');
    await during.body.dump();
    const results = await Promise.all([...inflight, grpcInflight]);
    for (const r of results) assert.deepEqual(Array.from(r.outputs[0]!.data as Float32Array), [2, 2, 2, 2]);
    assert.equal(await s.exited, 0, s.log());
    assert.match(s.log(), /shutdown complete/);
  } finally {
    await client.close().catch(() => {});
    grpc.close();
    h2?.destroy();
    s.child.kill('SIGKILL');
  }
});

test('--exit-timeout-secs bounds shutdown: queued requests get a retryable 503 and the process exits', async () => {
  const repo = tempRepo();
  addModel(repo, 'slow', 1, addConstModel(2), 'max_batch_size: 8\ninstance_group [{ count: 1 }]\n');
  const s = await spawnServer(repo, ['--drain-secs', '0', '--exit-timeout-secs', '1'], SLOW);
  const client = new HttpClient(`http://127.0.0.1:${s.httpPort}`, { connections: 16 });
  try {
    await s.waitForLog(/infergate ready/);
    // 8 calls of 1.5 s each on one instance: 12 s of work queued behind the first.
    const calls = Array.from({ length: 8 }, () =>
      client.infer('slow', [x()]).then(
        () => 200,
        (e: Error & { status?: number }) => e.status ?? 0,
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const code = await s.exited;
    const ms = Date.now() - t0;
    const statuses = await Promise.all(calls);
    assert.equal(code, 0, s.log());
    // Unbounded before (the whole queue was worked off); now the timeout, the running call and a grace second.
    assert.ok(ms < 6000, `shutdown took ${ms} ms with a 1 s exit timeout`);
    assert.ok(statuses.filter((st) => st === 503).length >= 5, `queued calls answered 503: ${statuses}`);
    assert.match(s.log(), /exit timeout passed/);
  } finally {
    await client.close().catch(() => {});
    s.child.kill('SIGKILL');
  }
});

test('the ports open before models load: live 200 at once, ready 503 until the startup models are READY', async () => {
  const repo = tempRepo();
  // A warm-up of many heavy runs makes loading take seconds.
  addModel(
    repo,
    'heavy',
    1,
    heavyModel(),
    'max_batch_size: 64\nmodel_warmup [{ name: "w" batch_size: 64 count: 40 inputs { key: "x" value: { data_type: TYPE_FP32 dims: [1024] zero_data: true } } }]\n',
  );
  const s = await spawnServer(repo);
  const client = new HttpClient(`http://127.0.0.1:${s.httpPort}`);
  try {
    let live = 0;
    for (let i = 0; i < 400 && live !== 200; i++) {
      live = await client.status('/v2/health/live').catch(() => 0);
      if (live !== 200) await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(live, 200);
    assert.doesNotMatch(s.log(), /infergate ready/, 'live answered before loading finished');
    assert.equal(await client.status('/v2/health/ready'), 503);
    await s.waitForLog(/infergate ready/, 60_000);
    assert.equal(await client.status('/v2/health/ready'), 200);
    s.child.kill('SIGINT');
    assert.equal(await s.exited, 0, s.log());
  } finally {
    await client.close().catch(() => {});
    s.child.kill('SIGKILL');
  }
});
