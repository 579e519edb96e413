import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KnownBackend } from '../../../src/config/defaults.js';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { parsePbtxt } from '../../../src/config/parse-text.js';
import { toTritonJson } from '../../../src/config/triton-json.js';
import { toVersionSpec } from '../../../src/config/version-spec.js';
import { InferError } from '../../../src/core/errors.js';
import type { ModelIO } from '../../../src/core/model.js';

const ORT: KnownBackend[] = [{ name: 'onnxruntime', platforms: ['onnxruntime_onnx'] }];

const io: ModelIO = {
  inputs: [
    { name: 'INPUT', datatype: 'INT32', shape: [-1, 1] },
    { name: 'START', datatype: 'INT32', shape: [-1, 1] },
    { name: 'READY', datatype: 'INT32', shape: [-1, 1] },
    { name: 'CORRID', datatype: 'UINT64', shape: [-1, 1] },
    { name: 'ACC_IN', datatype: 'INT32', shape: [-1, 1] },
  ],
  outputs: [
    { name: 'OUTPUT', datatype: 'INT32', shape: [-1, 1] },
    { name: 'ACC_OUT', datatype: 'INT32', shape: [-1, 1] },
  ],
};

const CONFIG = `
max_batch_size: 4
input [{ name: "INPUT" data_type: TYPE_INT32 dims: [1] }]
output [{ name: "OUTPUT" data_type: TYPE_INT32 dims: [1] }]
sequence_batching {
  max_sequence_idle_microseconds: 5000000
  control_input [
    { name: "START" control [{ kind: CONTROL_SEQUENCE_START int32_false_true: [0, 1] }] },
    { name: "READY" control [{ kind: CONTROL_SEQUENCE_READY int32_false_true: [0, 1] }] },
    { name: "CORRID" control [{ kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 }] }
  ]
  state [{ input_name: "ACC_IN" output_name: "ACC_OUT" data_type: TYPE_INT32 dims: [1] }]
}`;

function norm(text: string, model: ModelIO | undefined = io) {
  return normalizeConfig(parsePbtxt(text, 'm/config.pbtxt'), 'm', model, ORT);
}

function loadFailure(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD' && pattern.test(err.message),
  );
}

describe('sequence_batching config', () => {
  it('loads control and state inputs that the config input list leaves out', () => {
    const cfg = norm(CONFIG);
    const spec = toVersionSpec(cfg, { version: 1, path: '/x/model.onnx', modelDir: '/x' });
    assert.equal(spec.sequence?.strategy, 'direct');
    assert.equal(spec.sequence?.maxIdleUs, 5_000_000);
    assert.equal(spec.sequence?.slotsPerInstance, 4);
    assert.deepEqual(
      spec.sequence?.controls.map((c) => [c.input, c.kind, c.datatype]),
      [
        ['START', 'start', 'INT32'],
        ['READY', 'ready', 'INT32'],
        ['CORRID', 'corrid', 'UINT64'],
      ],
    );
    assert.deepEqual(spec.sequence?.states, [
      { input: 'ACC_IN', output: 'ACC_OUT', datatype: 'INT32', initialDims: [1] },
    ]);
    assert.deepEqual(
      spec.inputs.map((i) => i.name),
      ['INPUT'],
      'clients never see server-fed inputs',
    );
    // The generated warm-up feeds every model input, or onnxruntime refuses the run.
    assert.deepEqual(
      spec.warmup[0]?.inputs.map((i) => i.name),
      ['INPUT', 'START', 'READY', 'CORRID', 'ACC_IN'],
    );
  });

  it('defaults as Triton: direct strategy and a 1 s idle limit', () => {
    const json = toTritonJson(norm(CONFIG.replace('max_sequence_idle_microseconds: 5000000', ''))) as {
      sequence_batching: { max_sequence_idle_microseconds: number; direct?: object };
    };
    assert.equal(json.sequence_batching.max_sequence_idle_microseconds, 1000000);
    assert.ok(json.sequence_batching.direct);
  });

  it('auto-complete leaves control and state tensors out of the generated input and output lists', () => {
    const text = CONFIG.replace(/^input .*$/m, '').replace(/^output .*$/m, '');
    const cfg = norm(text);
    assert.deepEqual(
      cfg.input.map((i) => i.name),
      ['INPUT'],
    );
    assert.deepEqual(
      cfg.output.map((o) => o.name),
      ['OUTPUT'],
    );
  });

  it('refuses bad control and state settings with clear messages', () => {
    loadFailure(
      () =>
        norm(
          CONFIG.replace(
            'int32_false_true: [0, 1] }] },\n    { name: "READY"',
            'int32_false_true: [0] }] },\n    { name: "READY"',
          ),
        ),
      /'int32_false_true' must have exactly 2 entries for CONTROL_SEQUENCE_START/,
    );
    loadFailure(
      () => norm(CONFIG.replace('kind: CONTROL_SEQUENCE_READY', 'kind: CONTROL_SEQUENCE_START')),
      /multiple CONTROL_SEQUENCE_START tensors/,
    );
    loadFailure(
      () => norm(CONFIG.replace('data_type: TYPE_UINT64', 'data_type: TYPE_FP32')),
      /must have data-type TYPE_UINT64.*CONTROL_SEQUENCE_CORRID/,
    );
    loadFailure(
      () =>
        norm(
          CONFIG.replace(
            'READY" control [{ kind: CONTROL_SEQUENCE_READY int32_false_true: [0, 1] }]',
            'READY" control [{ kind: CONTROL_SEQUENCE_READY }]',
          ),
        ),
      /must specify either 'int32_false_true'/,
    );
    loadFailure(() => norm(CONFIG.replace('name: "INPUT"', 'name: "START"')), /'START' is fed by the server/);
    loadFailure(
      () => norm(CONFIG.replace('output_name: "ACC_OUT"', 'output_name: "NOPE"')),
      /state output 'NOPE' is not in the model/,
    );
    loadFailure(
      () => norm(CONFIG.replace('TYPE_UINT64 }', 'TYPE_INT64 }')),
      /'CORRID' is INT64 in the config but UINT64 in the model/,
    );
    loadFailure(
      () =>
        norm(
          CONFIG.replace(
            'dims: [1] }]\n}',
            'dims: [1] initial_state [{ name: "i" data_type: TYPE_FP32 dims: [1] zero_data: true }] }]\n}',
          ),
        ),
      /'initial_state' field of state 'ACC_IN' does not match the state data type/,
    );
    loadFailure(() => norm(CONFIG.replace('dims: [1] }]\n}', 'dims: [-1] }]\n}')), /variable dims/);
  });

  it('still refuses a model input that neither the config nor the sequence batcher feeds', () => {
    const withExtra = { ...io, inputs: [...io.inputs, { name: 'OTHER', datatype: 'INT32' as const, shape: [-1, 1] }] };
    loadFailure(() => norm(CONFIG, withExtra), /model input\(s\) 'OTHER' missing from the config/);
  });
});
