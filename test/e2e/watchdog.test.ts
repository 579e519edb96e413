// The worker watchdog end to end on the real server (reliability.md R19): a request whose worker
// never answers gets a retryable 503 naming the instance, the other instance keeps serving, the
// server and the model stay ready throughout, the hang is counted in /metrics and the replaced
// instance serves again. Timing is never asserted beyond "settles instead of hanging".
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

// Test hooks: a non-zero `__test_hang__` input blocks its worker for good (backend/ort/hooks.ts).
process.env['INFERGATE_TEST_HOOKS'] = '1';

const FLOOR_MS = 500;

/** y = x + 1; `__test_hang__` is a real (unused) input, so the router lets requests carry it. */
function wedgeModel(): Uint8Array {
  const g = new GraphBuilder('wedge')
    .input('x', 'FP32', ['batch', 4])
    .input('__test_hang__', 'BOOL', [1])
    .initializer('c', 'FP32', [4], new Float32Array(4).fill(1))
    .node('Add', ['x', 'c'], ['y'])
    .output('y', 'FP32', ['batch', 4]);
  return buildModel(g);
}

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(
    repo,
    'wedge',
    1,
    wedgeModel(),
    'max_batch_size: 0\ninstance_group [{ count: 2, kind: KIND_CPU }]\n' +
      `parameters { key: "watchdog_floor_ms" value { string_value: "${FLOOR_MS}" } }\n`,
  );
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

const inputs = (v: number, hang = false): Tensor[] => [
  { name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4).fill(v) },
  { name: '__test_hang__', datatype: 'BOOL', shape: [1], data: new Uint8Array([hang ? 1 : 0]) },
];
const answer = async (v: number) => [...((await s.http.infer('wedge', inputs(v))).outputs[0]!.data as Float32Array)];

async function metric(series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${s.server.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
const HANGS = 'infergate_worker_hangs_total{model="wedge",version="1"}';
const RESTARTS = 'infergate_worker_restarts_total{model="wedge",version="1"}';

/** Rejects when `p` has not settled within `ms`: "settles, not hangs", never a latency check. */
function settlesWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('a hung worker: 503 naming the instance, the other instance serves, ready throughout, counted, replaced', async () => {
  const hangsBefore = await metric(HANGS);
  const restartsBefore = await metric(RESTARTS);
  // Readiness probes all along, as a load balancer would send them.
  const probes: number[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      probes.push(await s.http.status('/v2/health/ready'), await s.http.status('/v2/models/wedge/ready'));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const hung = s.http.infer('wedge', inputs(1, true));
    // The hung call holds instance 0; the others go to instance 1 meanwhile and are answered.
    for (let i = 0; i < 5; i++) assert.deepEqual(await answer(i), [i + 1, i + 1, i + 1, i + 1]);
    await assert.rejects(settlesWithin(hung, 20_000), (err: Error & { status?: number }) => {
      assert.equal(err.status, 503);
      assert.match(err.message, new RegExp(`model instance 'wedge_1_0' did not answer within ${FLOOR_MS} ms`));
      return true;
    });
    assert.equal((await metric(HANGS)) - hangsBefore, 1, 'the hang is counted');
    // The replacement comes up (counted as a restart) and the model keeps serving.
    for (let i = 0; i < 500 && (await metric(RESTARTS)) === restartsBefore; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal((await metric(RESTARTS)) - restartsBefore, 1, 'the hung instance was replaced');
    const served = await Promise.all([answer(10), answer(20), answer(30)]);
    assert.deepEqual(served, [
      [11, 11, 11, 11],
      [21, 21, 21, 21],
      [31, 31, 31, 31],
    ]);
  } finally {
    probing = false;
    await prober;
  }
  assert.ok(probes.length > 0);
  assert.deepEqual(
    probes.filter((p) => p !== 200),
    [],
    'server and model stayed ready while one instance was hung',
  );
});
