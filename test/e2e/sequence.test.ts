// Triton's sequence batcher end to end with real onnxruntime workers: an accumulator carried as
// implicit state, a model fed explicit START / READY / CORRID control inputs, the bad inputs
// Triton refuses, and the official tritonclient running a simple_sequence-style flow over HTTP and
// gRPC (sync and streaming).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Tensor } from '../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { addModel, tempRepo } from './models.js';
import { clientPython } from './python-env.js';
import { startTestServer, type TestServer } from './server.js';

/** OUTPUT = INPUT + ACC_IN; ACC_OUT = OUTPUT (the state the server feeds back). */
function accumulator(): Uint8Array {
  const g = new GraphBuilder('acc')
    .input('INPUT', 'INT32', ['batch', 1])
    .input('ACC_IN', 'INT32', ['batch', 1])
    .node('Add', ['INPUT', 'ACC_IN'], ['OUTPUT'])
    .node('Identity', ['OUTPUT'], ['ACC_OUT'])
    .output('OUTPUT', 'INT32', ['batch', 1])
    .output('ACC_OUT', 'INT32', ['batch', 1]);
  return buildModel(g);
}

/** OUTPUT = INPUT·100 + START·10 + READY; CORR = CORRID: every control the server fed is visible. */
function controls(): Uint8Array {
  const g = new GraphBuilder('ctl')
    .input('INPUT', 'INT32', ['batch', 1])
    .input('START', 'INT32', ['batch', 1])
    .input('READY', 'INT32', ['batch', 1])
    .input('CORRID', 'UINT64', ['batch', 1])
    .initializer('c100', 'INT32', [1], new Int32Array([100]))
    .initializer('c10', 'INT32', [1], new Int32Array([10]))
    .node('Mul', ['INPUT', 'c100'], ['a'])
    .node('Mul', ['START', 'c10'], ['b'])
    .node('Add', ['a', 'b'], ['ab'])
    .node('Add', ['ab', 'READY'], ['OUTPUT'])
    .node('Identity', ['CORRID'], ['CORR'])
    .output('OUTPUT', 'INT32', ['batch', 1])
    .output('CORR', 'UINT64', ['batch', 1]);
  return buildModel(g);
}

const ACC = `max_batch_size: 4
input [{ name: "INPUT" data_type: TYPE_INT32 dims: [1] }]
output [{ name: "OUTPUT" data_type: TYPE_INT32 dims: [1] }]
instance_group [{ count: 1, kind: KIND_CPU }]
sequence_batching {
  max_sequence_idle_microseconds: 5000000
  state [{ input_name: "ACC_IN" output_name: "ACC_OUT" data_type: TYPE_INT32 dims: [1] }]
}`;

const CTL = `max_batch_size: 2
input [{ name: "INPUT" data_type: TYPE_INT32 dims: [1] }]
output [{ name: "OUTPUT" data_type: TYPE_INT32 dims: [1] }, { name: "CORR" data_type: TYPE_UINT64 dims: [1] }]
instance_group [{ count: 1, kind: KIND_CPU }]
sequence_batching {
  max_sequence_idle_microseconds: 300000
  control_input [
    { name: "START" control [{ kind: CONTROL_SEQUENCE_START int32_false_true: [0, 1] }] },
    { name: "READY" control [{ kind: CONTROL_SEQUENCE_READY int32_false_true: [0, 1] }] },
    { name: "CORRID" control [{ kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 }] }
  ]
}`;

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'acc', 1, accumulator(), ACC);
  addModel(repo, 'ctl', 1, controls(), CTL);
  s = await startTestServer({ repository: repo });
});
after(() => s.close());

const int = (v: number): Tensor => ({ name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: new Int32Array([v]) });
const seq = (id: number | string, start = false, end = false) => ({
  parameters: { sequence_id: id, sequence_start: start, sequence_end: end },
});
const out = (r: { outputs: Tensor[] }, name = 'OUTPUT') =>
  Array.from(r.outputs.find((t) => t.name === name)!.data as ArrayLike<number | bigint>, Number);

async function httpError(body: unknown, model = 'acc'): Promise<{ status: number; error: string }> {
  const res = await fetch(`http://${s.httpAddress}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
}

const input = { name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: [1] };

describe('sequence batching', () => {
  test('implicit state accumulates per sequence; START resets; sequences stay apart', async () => {
    const a: number[] = [];
    const b: number[] = [];
    for (const [k, v] of [3, 4, 5].entries()) {
      const [ra, rb] = await Promise.all([
        s.http.infer('acc', [int(v)], seq(11, k === 0, k === 2)),
        s.http.infer('acc', [int(v * 10)], seq('eleven', k === 0, k === 2)),
      ]);
      a.push(out(ra)[0]!);
      b.push(out(rb)[0]!);
    }
    assert.deepEqual(a, [3, 7, 12]);
    assert.deepEqual(b, [30, 70, 120]);
    // The same id again starts from zero.
    assert.deepEqual(out(await s.http.infer('acc', [int(2)], seq(11, true))), [2]);
    assert.deepEqual(out(await s.http.infer('acc', [int(2)], seq(11, false, true))), [4]);
  });

  test('explicit control inputs: START on the first request, READY on each, CORRID the id', async () => {
    const first = await s.http.infer('ctl', [int(1)], seq(77, true));
    assert.deepEqual(out(first), [1 * 100 + 10 + 1]);
    assert.deepEqual(out(first, 'CORR'), [77]);
    const next = await s.http.infer('ctl', [int(2)], seq(77, false, true));
    assert.deepEqual(out(next), [2 * 100 + 1]);
    assert.deepEqual(out(next, 'CORR'), [77]);
  });

  test('an idle sequence loses its slot; its next request must START again', async () => {
    await s.http.infer('ctl', [int(1)], seq(5, true));
    await new Promise((r) => setTimeout(r, 450));
    const e = await httpError({ inputs: [input], parameters: { sequence_id: 5 } }, 'ctl');
    assert.equal(e.status, 400);
    assert.equal(
      e.error,
      "inference request for sequence 5 to model 'ctl' must specify the START flag on the first request of the sequence",
    );
  });

  test('bad input answers with Triton texts', async () => {
    let e = await httpError({ inputs: [input] });
    assert.equal(e.status, 400);
    assert.equal(e.error, "inference request to model 'acc' must specify a non-zero or non-empty correlation ID");
    e = await httpError({ inputs: [input], parameters: { sequence_id: 4040, sequence_end: true } });
    assert.equal(
      e.error,
      "inference request for sequence 4040 to model 'acc' must specify the START flag on the first request of the sequence",
    );
    e = await httpError(
      {
        inputs: [input, { name: 'START', datatype: 'INT32', shape: [1, 1], data: [1] }],
        parameters: { sequence_id: 1, sequence_start: true },
      },
      'ctl',
    );
    assert.equal(e.status, 400);
    assert.equal(e.error, "unexpected inference input 'START' for model 'ctl'");
    e = await httpError({ inputs: [input], parameters: { sequence_id: 'x'.repeat(300), sequence_start: true } });
    assert.equal(e.status, 400);
    assert.match(e.error, /parameter 'sequence_id' is 300 bytes long; string ids are at most 256 bytes/);
    e = await httpError({ inputs: [input], parameters: { sequence_id: 'abc', sequence_start: true } }, 'ctl');
    assert.match(e.error, /sequence id 'abc' is a string, but model 'ctl' takes its correlation ID as UINT64/);
  });

  const run = promisify(execFile);
  const SCRIPT = resolve('test/e2e/python/sequence_checks.py');
  for (const check of ['http_sync', 'grpc_sync', 'grpc_stream']) {
    test(`tritonclient: ${check}`, async () => {
      try {
        const { stdout } = await run(
          clientPython(),
          [SCRIPT, '--http', s.httpAddress, '--grpc', s.grpcAddress, check],
          {
            timeout: 120_000,
          },
        );
        assert.match(stdout, new RegExp(`^ok ${check}$`, 'm'));
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        assert.fail(`${check} failed:\n${e.stderr ?? ''}${e.stdout ?? ''}${e.stderr ? '' : e.message}`);
      }
    });
  }
});
