// Shutdown is bounded in every state (issue #21 item 8): SIGTERM to a poll-mode server holding a
// ready model, a model that failed to load and a model still loading ends the process within the
// drain and exit timeouts; so does SIGTERM during a long native onnxruntime run (a process.exit()
// would wait for it to return); SIGTERM while the server is still starting (a model loading) ends it too.
// "Within" is a liveness bound (the process exits at all, long before the test's own timeout), not a
// latency measurement. A test-only hook (INFERGATE_TEST_HOOKS) makes warm-up slow, so loads take long.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpClient } from '../../src/client/http-client.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { spawnServer } from './process.js';

// Every run of 'slow' (its generated warm-up included) sleeps 30 s: its load outlasts the test.
const HOOKS = { INFERGATE_TEST_HOOKS: '1', INFERGATE_TEST_SLEEP_MS: 'slow=30000' };
const ARGS = [
  '--model-control-mode',
  'poll',
  '--repository-poll-secs',
  '1',
  '--drain-secs',
  '0',
  '--exit-timeout-secs',
  '2',
];

/** The exit code, or a rejection when the process is still running after `ms`. */
function exitWithin(exited: Promise<number | null>, ms: number, log: () => string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM:\n${log().slice(-3000)}`)), ms);
  });
  return Promise.race([exited, late]).finally(() => clearTimeout(timer));
}

test('SIGTERM with ready, failed and loading models exits within the drain and exit timeouts', async () => {
  const repo = tempRepo();
  addModel(repo, 'good', 1, addConstModel(1), 'max_batch_size: 8\n');
  addModel(repo, 'broken', 1, new TextEncoder().encode('not an onnx model'), 'max_batch_size: 8\n');
  const s = await spawnServer(repo, ARGS, HOOKS);
  try {
    await s.waitForLog(/infergate (started but NOT )?ready/, 60_000);
    // Added after start: the poll loop picks it up and its load (30 s of warm-up) is in progress.
    addModel(repo, 'slow', 1, addConstModel(2), 'max_batch_size: 8\n');
    await s.waitForLog(/"model":"slow"[^\n]*loading|loading[^\n]*"model":"slow"/, 60_000);
    s.child.kill('SIGTERM');
    const code = await exitWithin(s.exited, 20_000, s.log);
    assert.ok(code === 0 || code === 1, `exit code ${code}`);
  } finally {
    s.child.kill('SIGKILL');
  }
});

test('SIGTERM while models are still loading at startup exits at once', async () => {
  const repo = tempRepo();
  addModel(repo, 'slow', 1, addConstModel(2), 'max_batch_size: 8\n');
  const s = await spawnServer(repo, ARGS, HOOKS);
  try {
    await s.waitForLog(/"model":"slow"[^\n]*loading|loading[^\n]*"model":"slow"/, 60_000);
    s.child.kill('SIGTERM');
    const code = await exitWithin(s.exited, 20_000, s.log);
    // Handled, not the default action: the line is logged first, then the process ends itself
    // (SIGKILL: a model loading inside onnxruntime would hold a process.exit() until it returned).
    assert.match(s.log(), /SIGTERM during startup: exiting/);
    assert.equal(code, null);
    assert.equal(s.child.signalCode, 'SIGKILL');
  } finally {
    s.child.kill('SIGKILL');
  }
});

/** y = x·W·W·…·W (`depth` MatMuls of one 2500² weight): a [2500, 2500] input runs for tens of seconds. */
function longRunModel(depth: number): Uint8Array {
  const n = 2500;
  const w = new Float32Array(n * n).fill(1 / n);
  const g = new GraphBuilder('long').input('x', 'FP32', ['N', n]).initializer('w', 'FP32', [n, n], w);
  for (let i = 0; i < depth; i++)
    g.node('MatMul', [i === 0 ? 'x' : `h${i}`, 'w'], [i === depth - 1 ? 'y' : `h${i + 1}`]);
  return buildModel(g.output('y', 'FP32', ['N', n]));
}

test('SIGTERM during a long native run ends the process within the timeouts, without waiting for the run', async () => {
  const repo = tempRepo();
  addModel(repo, 'long', 1, longRunModel(12), 'max_batch_size: 2500\ninstance_group [{ count: 1 }]\n');
  const s = await spawnServer(repo, ['--drain-secs', '0', '--exit-timeout-secs', '1']);
  const client = new HttpClient(`http://127.0.0.1:${s.httpPort}`);
  try {
    await s.waitForLog(/infergate ready/, 60_000);
    const x = { name: 'x', datatype: 'FP32' as const, shape: [2500, 2500], data: new Float32Array(2500 * 2500) };
    const call = client.infer('long', [x]).catch(() => undefined);
    // Let the run start in its worker (12 MatMuls of 2500³: far longer than the bound below).
    await new Promise((r) => setTimeout(r, 1500));
    s.child.kill('SIGTERM');
    const code = await exitWithin(s.exited, 12_000, s.log);
    assert.match(
      s.log(),
      /exit timeout passed with model work still running: ending the process now/,
      `${code} ${s.child.signalCode}`,
    );
    await call;
  } finally {
    s.child.kill('SIGKILL');
    await client.close().catch(() => {});
  }
});
