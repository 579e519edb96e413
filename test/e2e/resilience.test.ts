// Resilience end to end on the real server and onnxruntime (issue #15): a degraded model keeps
// answering through its fallback chain with the step named in every response, its breaker opens
// and closes again by itself once the primary can answer (half-open probe); chains that name an
// unknown model or loop back fail the load naming it; the model's default deadline and the
// server's maximum apply.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Metadata } from '@grpc/grpc-js';
import { request } from 'undici';
import type { Tensor } from '../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

// Test hooks: every execution of 'slow' blocks 400 ms in its worker (backend/ort/hooks.ts).
process.env['INFERGATE_TEST_HOOKS'] = '1';
process.env['INFERGATE_TEST_SLEEP_MS'] = 'slow=400';

/**
 * y = x + table[x]: answers for x in 0..3, and fails inside onnxruntime (Gather out of bounds) for
 * x = 100. The failure is the model's own, at execution time, as a production model's would be.
 */
function fragileModel(): Uint8Array {
  const g = new GraphBuilder('fragile')
    .input('x', 'FP32', ['batch', 4])
    .initializer('table', 'FP32', [4], new Float32Array([10, 20, 30, 40]))
    .node('Cast', ['x'], ['i'], { to: 7 })
    .node('Gather', ['table', 'i'], ['g'])
    .node('Add', ['x', 'g'], ['y'])
    .output('y', 'FP32', ['batch', 4]);
  return buildModel(g);
}

const CHAIN = `max_batch_size: 8
resilience {
  circuit_breaker { consecutive_failures: 3 open_ms: 300 half_open_share: 1 half_open_successes: 1 }
  fallback { model: "small" }
  fallback { default_response { output { name: "y" data_type: TYPE_FP32 dims: [1, 4] values: [9, 9, 9, 9] } } }
}
`;

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'm', 1, fragileModel(), CHAIN);
  addModel(repo, 'small', 1, addConstModel(5));
  addModel(repo, 'loops', 1, addConstModel(1), 'resilience { fallback { model: "loops" } }\n');
  addModel(repo, 'unknown', 1, addConstModel(1), 'resilience { fallback { model: "nowhere" } }\n');
  // R7: no breaker, so every call executes on the failing primary and a step is a retry.
  addModel(repo, 'r7', 1, fragileModel(), 'max_batch_size: 8\nresilience { fallback { model: "small" } }\n');
  addModel(
    repo,
    'slow',
    1,
    addConstModel(1),
    'max_batch_size: 4\ninstance_group [{ count: 1, kind: KIND_CPU }]\nresilience { default_timeout_ms: 100 }\n',
  );
  s = await startTestServer({ repository: repo, maxTimeoutMs: 5000, strictReadiness: false });
});
after(() => s.close());

const x = (v: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) });

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.server.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function index(): Promise<
  Array<{ name: string; version?: string; state?: string; reason?: string; breaker?: string }>
> {
  const r = await request(`http://${s.httpAddress}/v2/repository/index`, { method: 'POST', body: '{}' });
  return (await r.body.json()) as never;
}

test('a failing primary answers through its chain, names the step every time, and heals by itself', async () => {
  // While the primary fails every call, each answer comes from 'small' and says so.
  for (let i = 0; i < 12; i++) {
    const client = i % 2 === 0 ? s.http : s.grpc;
    const r = await client.infer('m', [x(100)]);
    assert.equal(r.parameters?.['fallback_step'], 'model:small', `call ${i}`);
    assert.equal(r.model, 'small');
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [105, 105, 105, 105]);
  }
  const raw = await request(`http://${s.httpAddress}/v2/models/m/infer`, {
    method: 'POST',
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [100, 100, 100, 100] }] }),
  });
  assert.equal(raw.statusCode, 200);
  assert.equal(raw.headers['infergate-fallback-step'], 'model:small');
  await raw.body.dump();
  // The breaker opened after 3 failed executions: the state shows in the index and the metrics.
  assert.equal((await index()).find((e) => e.name === 'm')?.breaker, 'open');
  assert.equal(await metric('infergate_circuit_breaker_state', 'model="m",version="1",state="open"'), 1);
  assert.equal(await metric('infergate_fallback_responses_total', 'model="m",step="model:small"'), 13);
  assert.ok((await metric('infergate_circuit_breaker_transitions_total', 'model="m",version="1",state="open"')) >= 1);

  // The primary can answer again (the calls it failed on are over): after open_ms a probe reaches
  // it, succeeds, and the breaker closes; from then on the primary answers with no step named.
  let served = '';
  for (let i = 0; i < 200 && served !== 'm'; i++) {
    const r = await s.http.infer('m', [x(1)]);
    served = r.model;
    if (served === 'm') assert.equal(r.parameters?.['fallback_step'], undefined);
    else await new Promise((res) => setTimeout(res, 25));
  }
  assert.equal(served, 'm', 'the primary never took over again');
  assert.deepEqual([...((await s.grpc.infer('m', [x(1)])).outputs[0]!.data as Float32Array)], [21, 21, 21, 21]);
  assert.equal((await index()).find((e) => e.name === 'm')?.breaker, 'closed');
  assert.equal(await metric('infergate_circuit_breaker_state', 'model="m",version="1",state="closed"'), 1);
});

test('a chain that loops back to its own model, or names an unknown one, fails the load naming it', async () => {
  const rows = await index();
  const loops = rows.find((e) => e.name === 'loops');
  assert.equal(loops?.state, 'UNAVAILABLE');
  assert.match(loops?.reason ?? '', /resilience\.fallback\[0\] names the model itself \('loops'\)/);
  const unknown = rows.find((e) => e.name === 'unknown');
  assert.equal(unknown?.state, 'UNAVAILABLE');
  assert.match(unknown?.reason ?? '', /names model 'nowhere', which is not in the repository/);
});

test("the model's default deadline bounds a call that brings none: it never runs", async () => {
  const executions = async () => {
    const r = await request(`http://${s.httpAddress}/v2/models/slow/stats`);
    return ((await r.body.json()) as { model_stats: Array<{ execution_count: number }> }).model_stats[0]!
      .execution_count;
  };
  const before = await executions();
  const first = s.http.infer('slow', [x(0)]);
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(s.http.infer('slow', [x(0)]), (err: Error & { status?: number }) => {
    assert.equal(err.status, 504);
    return true;
  });
  await first;
  assert.equal((await executions()) - before, 1, 'only the first call executed');
});

test("a deadline beyond the server's maximum is clamped and the response says so", async () => {
  const r = await request(`http://${s.httpAddress}/v2/models/small/infer`, {
    method: 'POST',
    headers: { 'infergate-timeout-ms': '600000' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }] }),
  });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['infergate-deadline-clamped-ms'], '5000');
  const body = (await r.body.json()) as { parameters?: Record<string, unknown> };
  assert.equal(body.parameters?.['deadline_clamped_ms'], 5000);
  const g = await s.grpc.infer('small', [x(0)], { timeoutMs: 600_000 });
  assert.equal(g.parameters?.['deadline_clamped_ms'], 5000);
});

test('R7: retries after failed executions stay within 10% of first attempts in every second (plus 3), none for 4xx', async () => {
  const retriesAllowed = () => metric('infergate_retries_total', 'model="r7",outcome="allowed"');
  const before = await retriesAllowed();
  // 4xx: a wrong shape is refused before anything runs; it is never retried.
  const bad: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) };
  for (let i = 0; i < 20; i++) await assert.rejects(s.http.infer('r7', [bad]), { status: 400 });
  await assert.rejects(s.grpc.infer('r7', [bad]), (err: Error & { code?: number; metadata?: Metadata }) => {
    assert.equal(err.code, 3);
    assert.deepEqual(err.metadata?.get('infergate-error-code'), ['IG_ERR_INVALID_ARG'], 'the stable code as a trailer');
    return true;
  });
  assert.equal(await retriesAllowed(), before, 'no retry of a 4xx');
  // The dependency fails 100%: a closed loop of 8 clients for ~3 s; each answer is either the step's
  // (a retry the budget allowed) or the primary's own failure (the budget said no).
  const t0 = Date.now();
  const rows: Array<{ second: number; retried: boolean }> = [];
  const client = async () => {
    while (Date.now() - t0 < 3000) {
      const r = await s.http.infer('r7', [x(100)]).then(
        (res) => res.parameters?.['fallback_step'] === 'model:small',
        (err: Error & { status?: number }) => {
          assert.equal(err.status, 500, err.message);
          return false;
        },
      );
      rows.push({ second: Math.floor((Date.now() - t0) / 1000), retried: r });
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  const bySecond = new Map<number, { first: number; retries: number }>();
  for (const r of rows) {
    const w = bySecond.get(r.second) ?? { first: 0, retries: 0 };
    w.first++;
    if (r.retried) w.retries++;
    bySecond.set(r.second, w);
  }
  // The budget counts over a sliding second of 100 ms buckets; an aligned second can straddle two of
  // its windows, hence the 10% slack on the ratio (never on the floor).
  for (const [second, w] of bySecond)
    assert.ok(w.retries <= Math.ceil(0.1 * 1.1 * w.first) + 3, `second ${second}: ${w.retries} retries of ${w.first}`);
  const retried = rows.filter((r) => r.retried).length;
  assert.ok(retried > 0, 'the budget allowed some retries');
  assert.equal((await retriesAllowed()) - before, retried, 'every step served was counted as an allowed retry');
  assert.ok((await metric('infergate_retries_total', 'model="r7",outcome="denied"')) > 0);
});
