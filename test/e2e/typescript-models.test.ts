// TypeScript models through the real server (HTTP and gRPC): dynamic batching, several instances,
// a model calling an ONNX model through ctx.client, relative and npm imports, detection by the
// model file, and every bad case: a throw, outputs that do not fit the config, an execute that
// never resolves (the client's deadline answers), one stuck in a synchronous loop (the worker is
// terminated and restarted), load failures, and ModelInputError (400).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { pino } from 'pino';
import { ServerError } from '../../src/client/http-client.js';
import type { Tensor } from '../../src/core/index.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { metricValue } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

/** x FP32 [4] → y FP32 [4], batching up to 8; `extra` is appended (backend, batching, parameters). */
function xyConfig(extra = 'backend: "typescript"'): string {
  return `max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
${extra}
`;
}

/** A model that returns `expr` (TypeScript, `x` is its Float32Array input, `n` its batch) as y. */
function returning(expr: string): string {
  return `import type { OutputTensors, Tensors } from 'infergate/model';
export function execute(inputs: Tensors): OutputTensors {
  const t = inputs['x']!;
  const x = t.data as Float32Array;
  const n = t.shape[0]!;
  return ${expr};
}
`;
}

/** Writes `<repo>/<name>/config.pbtxt` and each file under `<repo>/<name>/1/`. */
function addTsModel(repo: string, name: string, config: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(repo, name, '1', file, '..'), { recursive: true });
    writeFileSync(join(repo, name, '1', file), text);
  }
  writeFileSync(join(repo, name, 'config.pbtxt'), config);
}

const MODELS: Record<string, { config: string; files: Record<string, string> }> = {
  ts_double: {
    config: xyConfig('backend: "typescript"\ndynamic_batching { max_queue_delay_microseconds: 100000 }'),
    files: { 'model.ts': returning(`{ y: { datatype: 'FP32', shape: [n, 4], data: x.map((v) => v * 2) } }`) },
  },
  // Plain JavaScript, the file found by its name; two instances, each answering with its index.
  ts_instances: {
    config: `backend: "typescript"
max_batch_size: 0
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "inst" data_type: TYPE_INT32 dims: [ 1 ] } ]
instance_group [ { count: 2 kind: KIND_CPU } ]
`,
    files: {
      'model.js': `export async function execute(inputs, ctx) {
  await new Promise((r) => setTimeout(r, 600));
  return { inst: { datatype: 'INT32', shape: [1], data: [ctx.instance] } };
}
`,
    },
  },
  // No backend named: recognised by its model.ts (and no model.onnx).
  ts_chain: {
    config: xyConfig(''),
    files: {
      'model.ts': `import type { ExecuteContext, OutputTensors, Tensors } from 'infergate/model';
import { plusOne } from './lib/math.js';
export async function execute(inputs: Tensors, ctx: ExecuteContext): Promise<OutputTensors> {
  const r = await ctx.client.infer('add7', { x: inputs['x']! });
  ctx.log.info('chained through add7', { rows: ctx.batchSize });
  const y = r['y']!;
  return { y: { datatype: 'FP32', shape: y.shape, data: plusOne(y.data as Float32Array) } };
}
`,
      'lib/math.ts': 'export const plusOne = (a: Float32Array): Float32Array => a.map((v) => v + 1);\n',
    },
  },
  ts_throws: {
    config: xyConfig(),
    files: { 'model.ts': returning(`(() => { throw new Error('kaboom in /secret/place/weights.bin'); })()`) },
  },
  ts_bad_dtype: {
    config: xyConfig(),
    files: { 'model.ts': returning(`{ y: { datatype: 'INT32', shape: [n, 4], data: new Int32Array(n * 4) } }`) },
  },
  ts_bad_shape: {
    config: xyConfig(),
    files: { 'model.ts': returning(`{ y: { datatype: 'FP32', shape: [n, 3], data: new Float32Array(n * 3) } }`) },
  },
  ts_missing: {
    config: xyConfig(),
    files: { 'model.ts': returning(`{ z: { datatype: 'FP32', shape: [n, 4], data: x } }`) },
  },
  // x[0] = 0: never answers (the event loop stays free); otherwise the identity.
  ts_never: {
    config: xyConfig(),
    files: {
      'model.ts': returning(
        `x[0] === 0 ? (new Promise(() => {}) as never) : { y: { datatype: 'FP32', shape: [n, 4], data: x } }`,
      ),
    },
  },
  // x[0] = 0: a synchronous loop that never ends; otherwise the identity.
  ts_loop: {
    config: xyConfig('backend: "typescript"\nparameters { key: "execute_timeout_ms" value { string_value: "300" } }'),
    files: {
      'model.ts': returning(`(() => {
    while (x[0] === 0) x[1] = (x[1] ?? 0) + 1;
    return { y: { datatype: 'FP32', shape: [n, 4], data: x } };
  })()`),
    },
  },
  ts_syntax: { config: xyConfig(), files: { 'model.ts': 'export function execute( {\n' } },
  ts_noexec: { config: xyConfig(), files: { 'model.ts': 'export function initialize(): void {}\n' } },
};

const ADD7 = `max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
`;

let s: TestServer;
const logLines: Array<Record<string, unknown>> = [];

before(async () => {
  const repo = tempRepo();
  addModel(repo, 'add7', 1, addConstModel(7), ADD7);
  for (const [name, m] of Object.entries(MODELS)) addTsModel(repo, name, m.config, m.files);
  // The documented examples (png_size: an npm import and ModelInputError; text_stats: BYTES, initialize).
  cpSync('examples/typescript/models', repo, { recursive: true });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line));
      done();
    },
  });
  s = await startTestServer({ repository: repo }, { logger: pino({ level: 'debug' }, sink) });
});
after(() => s.close());

function x(rows: number[][]): Tensor {
  return { name: 'x', datatype: 'FP32', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) };
}

function values(r: { outputs: Tensor[] }, name: string): number[] {
  const t = r.outputs.find((o) => o.name === name);
  assert.ok(t, `output '${name}' is in the answer`);
  return Array.from(t.data as Float32Array | Int32Array, Number);
}

async function httpError(p: Promise<unknown>): Promise<ServerError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ServerError, `a server error, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

type IndexEntry = { name: string; state?: string; reason?: string };
type Stats = {
  model_stats: Array<{ execution_count: number; inference_count: number; batch_stats: Array<{ batch_size: number }> }>;
};

test('a TypeScript model serves over HTTP and gRPC, in batches joined by the dynamic batcher', async () => {
  const before = (await s.http.json('GET', '/v2/models/ts_double/stats')) as Stats;
  const start = Number(before.model_stats[0]!.execution_count);
  const calls = Array.from({ length: 24 }, (_, i) => {
    const input = x(Array.from({ length: (i % 2) + 1 }, (_, r) => [i, r, i + r, -i]));
    const p =
      i % 3 === 0 ? s.grpc.infer('ts_double', [input]) : s.http.infer('ts_double', [input], { binary: i % 3 === 1 });
    return p.then((r) => ({ input, r }));
  });
  for (const { input, r } of await Promise.all(calls)) {
    assert.deepEqual(
      values(r, 'y'),
      Array.from(input.data as Float32Array, (v) => v * 2),
    );
    assert.deepEqual(r.outputs[0]!.shape, input.shape);
  }
  const stats = ((await s.http.json('GET', '/v2/models/ts_double/stats')) as Stats).model_stats[0]!;
  const executions = Number(stats.execution_count) - start;
  assert.ok(executions < 24, `24 requests ran in ${executions} executions: they were batched`);
  assert.ok(
    stats.batch_stats.some((b) => Number(b.batch_size) > 1),
    'batches of several requests were formed',
  );
});

test('each instance is a worker of its own: two calls at once run on both (model.js, backend named, file found)', async () => {
  const input: Tensor = { name: 'x', datatype: 'FP32', shape: [4], data: new Float32Array(4) };
  const answers = await Promise.all([s.http.infer('ts_instances', [input]), s.grpc.infer('ts_instances', [input])]);
  assert.deepEqual(answers.map((r) => values(r, 'inst')[0]).sort(), [0, 1]);
});

test('a model recognised by its model.ts calls an ONNX model through ctx.client and logs through the server', async () => {
  const rows = [
    [1, 2, 3, 4],
    [-1, 0, 0.5, 10],
  ];
  for (const r of [await s.http.infer('ts_chain', [x(rows)]), await s.grpc.infer('ts_chain', [x(rows)])])
    assert.deepEqual(
      values(r, 'y'),
      rows.flat().map((v) => v + 8),
    );
  const stats = ((await s.http.json('GET', '/v2/models/add7/stats')) as Stats).model_stats[0]!;
  assert.ok(Number(stats.inference_count) >= 4, 'the ONNX model served the inner calls');
  const line = logLines.find((l) => l['msg'] === 'chained through add7');
  assert.equal(line?.['model'], 'ts_chain');
  assert.equal(line?.['rows'], 2);
});

test('the examples: an npm import, and ModelInputError as the client error 400 naming the model', async () => {
  const png = new PNG({ width: 3, height: 2 });
  const image: Tensor = { name: 'image', datatype: 'BYTES', shape: [1], data: [new Uint8Array(PNG.sync.write(png))] };
  assert.deepEqual(values(await s.http.infer('png_size', [image]), 'size'), [3, 2]);
  const junk: Tensor = { name: 'image', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('not a png')] };
  const err = await httpError(s.http.infer('png_size', [junk]));
  assert.equal(err.status, 400);
  assert.match(err.message, /png_size/);
  assert.match(err.message, /not a PNG that can be decoded/);
});

test('the examples: BYTES in, strings out, a file read in initialize', async () => {
  const texts = ['The cat and the hat', 'été à Paris'];
  const text: Tensor = {
    name: 'text',
    datatype: 'BYTES',
    shape: [2, 1],
    data: texts.map((t) => new TextEncoder().encode(t)),
  };
  for (const r of [await s.http.infer('text_stats', [text]), await s.grpc.infer('text_stats', [text])]) {
    assert.deepEqual(values(r, 'counts'), [19, 2, 11, 3]);
    const upper = r.outputs.find((o) => o.name === 'upper')!;
    assert.deepEqual(upper.shape, [2, 1]);
    assert.deepEqual(
      (upper.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)),
      texts.map((t) => t.toUpperCase()),
    );
  }
});

test('a throw is a 500 naming the model, with no stack or path for the client; the stack is in the server log', async () => {
  const res = await fetch(`http://${s.httpAddress}/v2/models/ts_throws/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
  });
  const body = await res.text();
  assert.equal(res.status, 500);
  assert.match(body, /model 'ts_throws' version 1 failed: kaboom in weights\.bin/);
  assert.doesNotMatch(body, /\/secret|model\.ts|\bat .*\(/);
  const logged = logLines.find((l) => l['model'] === 'ts_throws' && typeof l['stack'] === 'string');
  assert.match(String(logged?.['stack']), /model\.ts:\d+/, 'the stack names the model file and line');
  await assert.rejects(s.grpc.infer('ts_throws', [x([[1, 2, 3, 4]])]), /13 INTERNAL: .*ts_throws.*kaboom/);
});

test('outputs that do not fit the config are a 500 naming the model and the output', async () => {
  const cases: Array<[string, RegExp]> = [
    ['ts_bad_dtype', /output 'y' has datatype INT32, but the config declares FP32/],
    ['ts_bad_shape', /output 'y' has shape \[2,3\], but the config allows \[2,4\]/],
    ['ts_missing', /returned no output 'y'/],
  ];
  for (const [model, reason] of cases) {
    const err = await httpError(
      s.http.infer(model, [
        x([
          [1, 1, 1, 1],
          [2, 2, 2, 2],
        ]),
      ]),
    );
    assert.equal(err.status, 500, model);
    assert.match(err.message, new RegExp(`model '${model}' version 1`));
    assert.match(err.message, reason);
  }
});

test("an execute that never resolves is answered at the client's deadline (504); the instance serves on", async () => {
  const err = await httpError(s.http.infer('ts_never', [x([[0, 0, 0, 0]])], { timeoutMs: 300 }));
  assert.equal(err.status, 504);
  assert.match(err.message, /ts_never/);
  const r = await s.http.infer('ts_never', [x([[5, 6, 7, 8]])]);
  assert.deepEqual(values(r, 'y'), [5, 6, 7, 8]);
});

test('a run stuck in a synchronous loop fails at execute_timeout_ms; its worker is terminated and restarted', async () => {
  const err = await httpError(s.http.infer('ts_loop', [x([[0, 0, 0, 0]])]));
  assert.equal(err.status, 500);
  assert.match(err.message, /model 'ts_loop' version 1 did not finish within 300 ms/);
  // While the thread restarts the instance answers a retryable 503; then the next call is served.
  let served: number[] | undefined;
  for (let attempt = 0; attempt < 200 && served === undefined; attempt++) {
    try {
      served = values(await s.http.infer('ts_loop', [x([[1, 2, 3, 4]])]), 'y');
    } catch (e) {
      assert.ok(e instanceof ServerError && e.status === 503, `only 503 while restarting, got ${String(e)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.deepEqual(served, [1, 2, 3, 4]);
  const labels = 'model="ts_loop"';
  assert.ok((await metricValue(s.server.metricsPort, 'infergate_worker_hangs_total', labels)) >= 1, 'hang counted');
  assert.ok(
    (await metricValue(s.server.metricsPort, 'infergate_worker_restarts_total', labels)) >= 1,
    'restart counted',
  );
});

test('a syntax error or a module without execute fails the load with the reason in the repository index', async () => {
  const index = (await s.http.json('POST', '/v2/repository/index')) as IndexEntry[];
  const by = new Map(index.map((e) => [e.name, e]));
  const good = [...Object.keys(MODELS).filter((n) => n !== 'ts_syntax' && n !== 'ts_noexec'), 'png_size', 'text_stats'];
  for (const name of good) assert.equal(by.get(name)?.state, 'READY', name);
  for (const [name, reason] of [
    ['ts_syntax', /model\.ts:\d+:\d+: /],
    ['ts_noexec', /exports no execute function/],
  ] as const) {
    assert.equal(by.get(name)?.state, 'UNAVAILABLE', name);
    assert.match(by.get(name)?.reason ?? '', reason, name);
    assert.doesNotMatch(by.get(name)?.reason ?? '', /\/tmp\//, 'no absolute path in the reason');
  }
});
