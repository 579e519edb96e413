// Triton's sequence batcher end to end with real onnxruntime workers: an accumulator carried as
// implicit state, a model fed explicit START / READY / CORRID control inputs, the bad inputs
// Triton refuses, and the official tritonclient running the simple_sequence and
// simple_dyna_sequence example flows over HTTP and gRPC (sync, async and streaming).
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { buildModel, type ElemType, GraphBuilder } from '../../src/onnx/index.js';
import { addModel, tempRepo } from './models.js';
import { clientPython, runPythonCheck } from './python-env.js';
import { startTestServer, type TestServer } from './server.js';

/** A graph whose inputs are all [batch, 1]: the shape every sequence model here takes. */
function graph(name: string, inputs: Record<string, ElemType>): GraphBuilder {
  const g = new GraphBuilder(name);
  for (const [input, type] of Object.entries(inputs)) g.input(input, type, ['batch', 1]);
  return g;
}

/** OUTPUT = INPUT + ACC_IN; ACC_OUT = OUTPUT (the state the server feeds back). */
function accumulator(): Uint8Array {
  const g = graph('acc', { INPUT: 'INT32', ACC_IN: 'INT32' })
    .node('Add', ['INPUT', 'ACC_IN'], ['OUTPUT'])
    .node('Identity', ['OUTPUT'], ['ACC_OUT'])
    .output('OUTPUT', 'INT32', ['batch', 1])
    .output('ACC_OUT', 'INT32', ['batch', 1]);
  return buildModel(g);
}

/** OUTPUT = INPUT·100 + START·10 + READY; CORR = CORRID: every control the server fed is visible. */
function controls(): Uint8Array {
  const g = graph('ctl', { INPUT: 'INT32', START: 'INT32', READY: 'INT32', CORRID: 'UINT64' })
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

/**
 * simple_dyna_sequence as the official examples see it with an integer id:
 * OUTPUT = (INPUT + START + END·CORRID)·READY, so a START request answers INPUT + 1, the ones
 * between echo INPUT, and the END request adds the correlation ID.
 */
function dyna(): Uint8Array {
  const g = graph('dyna', { INPUT: 'INT32', START: 'INT32', END: 'INT32', READY: 'INT32', CORRID: 'UINT64' })
    .node('Cast', ['CORRID'], ['corr'], { to: 6 })
    .node('Mul', ['END', 'corr'], ['endCorr'])
    .node('Add', ['INPUT', 'START'], ['a'])
    .node('Add', ['a', 'endCorr'], ['b'])
    .node('Mul', ['b', 'READY'], ['OUTPUT'])
    .output('OUTPUT', 'INT32', ['batch', 1]);
  return buildModel(g);
}

/**
 * simple_string_dyna_sequence (the QA dyna_sequence backend with a STRING CORRID): accumulates
 * INPUT in implicit state and the END request adds the id parsed as a number:
 * OUTPUT = INPUT + ACC_IN + END·int(CORRID); ACC_OUT = INPUT + ACC_IN.
 */
function dynaString(): Uint8Array {
  const g = graph('dyna_str', { INPUT: 'INT32', ACC_IN: 'INT32', END: 'INT32', CORRID: 'STRING' })
    .node('Add', ['INPUT', 'ACC_IN'], ['ACC_OUT'])
    .node('Cast', ['CORRID'], ['corr'], { to: 6 })
    .node('Mul', ['END', 'corr'], ['endCorr'])
    .node('Add', ['ACC_OUT', 'endCorr'], ['OUTPUT'])
    .output('OUTPUT', 'INT32', ['batch', 1])
    .output('ACC_OUT', 'INT32', ['batch', 1]);
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

/** The official simple_dyna_sequence config: oldest strategy, two instances; `controls` and `extra` vary. */
const dynaConfig = (controls: string[], extra = '') => `max_batch_size: 8
input [{ name: "INPUT" data_type: TYPE_INT32 dims: [1] }]
output [{ name: "OUTPUT" data_type: TYPE_INT32 dims: [1] }]
instance_group [{ count: 2, kind: KIND_CPU }]
sequence_batching {
  max_sequence_idle_microseconds: 10000000
  oldest { max_candidate_sequences: 1024 max_queue_delay_microseconds: 10000 }
  control_input [
    ${controls.join(',\n    ')}
  ]
  ${extra}
}`;
const control = (name: string, kind: string, value: string) =>
  `{ name: "${name}" control [{ kind: CONTROL_SEQUENCE_${kind} ${value} }] }`;

// START/END/READY/CORRID as in the official config.
const DYNA = dynaConfig([
  control('START', 'START', 'int32_false_true: [0, 1]'),
  control('END', 'END', 'int32_false_true: [0, 1]'),
  control('READY', 'READY', 'int32_false_true: [0, 1]'),
  control('CORRID', 'CORRID', 'data_type: TYPE_UINT64'),
]);

// As the official QA derives simple_string_dyna_sequence: the CORRID control becomes TYPE_STRING.
const DYNA_STR = dynaConfig(
  [control('END', 'END', 'int32_false_true: [0, 1]'), control('CORRID', 'CORRID', 'data_type: TYPE_STRING')],
  'state [{ input_name: "ACC_IN" output_name: "ACC_OUT" data_type: TYPE_INT32 dims: [1] }]',
);

/** The check_* functions of python/sequence_checks.py; each runs as its own test. */
const CHECKS = [
  'http_sync',
  'grpc_sync',
  'grpc_stream',
  'http_async',
  'grpc_async',
  'dyna_http_sync',
  'dyna_grpc_sync',
  'dyna_grpc_stream',
];
const SCRIPT = resolve('test/e2e/python/sequence_checks.py');

let s: TestServer;
before(async () => {
  const repo = tempRepo();
  addModel(repo, 'acc', 1, accumulator(), ACC);
  addModel(repo, 'ctl', 1, controls(), CTL);
  addModel(repo, 'simple_dyna_sequence', 1, dyna(), DYNA);
  addModel(repo, 'simple_string_dyna_sequence', 1, dynaString(), DYNA_STR);
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

  for (const check of CHECKS) {
    test(`tritonclient: ${check}`, () => runPythonCheck(clientPython(), SCRIPT, check, s));
  }
});
