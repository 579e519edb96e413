import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KnownBackend } from '../../../src/config/defaults.js';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { parsePbtxt } from '../../../src/config/parse-text.js';
import { toTritonJson } from '../../../src/config/triton-json.js';
import { InferError } from '../../../src/core/errors.js';
import type { ModelIO } from '../../../src/core/model.js';

const batchable: ModelIO = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};
const fixed: ModelIO = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 2] }],
};

const ORT: KnownBackend[] = [{ name: 'onnxruntime', platforms: ['onnxruntime_onnx'] }];

function norm(text: string, io: ModelIO | undefined = batchable, backends: readonly KnownBackend[] = ORT) {
  return normalizeConfig(parsePbtxt(text, 'm/config.pbtxt'), 'm', io, backends);
}

function loadFailure(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD' && pattern.test(err.message),
  );
}

describe('normalization defaults (D.1, D.3, D.8)', () => {
  it('fills name, platform/backend, filename, version policy and one CPU group of 2', () => {
    const json = toTritonJson(norm(''));
    assert.equal(json['name'], 'm');
    assert.equal(json['platform'], 'onnxruntime_onnx');
    assert.equal(json['backend'], 'onnxruntime');
    assert.equal(json['default_model_filename'], 'model.onnx');
    assert.deepEqual(json['version_policy'], { latest: { num_versions: 1 } });
    const groups = json['instance_group'] as Array<Record<string, unknown>>;
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!['name'], 'm_0');
    assert.equal(groups[0]!['kind'], 'KIND_CPU');
    assert.equal(groups[0]!['count'], 2);
  });

  it('fills the other of platform/backend from the backend serving the one given', () => {
    assert.equal(norm('backend: "onnxruntime"').platform, 'onnxruntime_onnx');
    assert.equal(norm('platform: "onnxruntime_onnx"').backend, 'onnxruntime');
    const more: KnownBackend[] = [...ORT, { name: 'tensorflow', platforms: ['tensorflow_savedmodel'] }];
    assert.equal(norm('platform: "tensorflow_savedmodel"', undefined, more).backend, 'tensorflow');
    assert.equal(norm('backend: "tensorflow"', undefined, more).platform, 'tensorflow_savedmodel');
    const python = norm('backend: "python"', undefined, [...ORT, { name: 'python', platforms: [] }]);
    assert.deepEqual([python.platform, python.backend], ['', 'python']);
  });

  it('refuses a platform or backend no backend of this server serves, naming the available ones', () => {
    loadFailure(
      () => norm('platform: "tensorflow_savedmodel"'),
      /^failed to load 'm': platform 'tensorflow_savedmodel' has no backend in this server; available: onnxruntime \(onnxruntime_onnx\)$/,
    );
    loadFailure(
      () => norm('backend: "pytorch"'),
      /^failed to load 'm': backend 'pytorch' is not available in this server; available: onnxruntime \(onnxruntime_onnx\)$/,
    );
    loadFailure(
      () => norm('platform: "tensorflow_savedmodel" backend: "onnxruntime"'),
      /platform 'tensorflow_savedmodel' is not served by backend 'onnxruntime'/,
    );
    loadFailure(
      () => norm('', undefined, []),
      /backend 'onnxruntime' is not available in this server; available: none$/,
    );
  });

  it('requires the name to equal the directory', () => {
    loadFailure(() => norm('name: "other"'), /does not match the model directory name 'm'/);
  });

  it('maps KIND_AUTO/KIND_MODEL to CPU and rejects KIND_GPU clearly', () => {
    const cfg = norm('instance_group [ { kind: KIND_AUTO count: 3 }, { kind: KIND_MODEL } ]');
    assert.deepEqual(
      cfg.instanceGroup.map((g) => [g.name, g.kind, g.count]),
      [
        ['m_0', 2, 3],
        ['m_1', 2, 2],
      ],
    );
    loadFailure(() => norm('instance_group [ { kind: KIND_GPU } ]'), /KIND_GPU.*no GPU/);
  });

  it('adds enabled pinned-memory flags like Triton', () => {
    const json = toTritonJson(norm(''));
    const opt = json['optimization'] as Record<string, unknown>;
    assert.deepEqual(opt['input_pinned_memory'], { enable: true });
    assert.deepEqual(opt['output_pinned_memory'], { enable: true });
  });
});

describe('ONNX auto-complete (D.11)', () => {
  it('sets max_batch_size 4, dynamic batching, preferred [4] and IO from a batchable signature', () => {
    const cfg = norm('');
    assert.equal(cfg.maxBatchSize, 4);
    assert.equal(cfg.schedulingChoice.case, 'dynamicBatching');
    const json = toTritonJson(cfg);
    assert.deepEqual((json['dynamic_batching'] as Record<string, unknown>)['preferred_batch_size'], [4]);
    const input = (json['input'] as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual([input['name'], input['data_type'], input['dims']], ['x', 'TYPE_FP32', [3]]);
  });

  it('keeps max_batch_size 0 for a model with a fixed first dim, and uses full shapes', () => {
    const cfg = norm('', fixed);
    assert.equal(cfg.maxBatchSize, 0);
    assert.equal(cfg.schedulingChoice.case, undefined);
    assert.deepEqual(cfg.input[0]!.dims, [1n, 3n]);
  });

  it('rejects max_batch_size > 0 on a model that cannot batch', () => {
    loadFailure(
      () => norm('max_batch_size: 2', fixed),
      /model does not support batching while non-zero max_batch_size is specified/,
    );
  });

  it('keeps max_batch_size 0 when declared dims include the batch dim', () => {
    const cfg = norm('input [ { name: "x" data_type: TYPE_FP32 dims: [-1, 3] } ]');
    assert.equal(cfg.maxBatchSize, 0);
    assert.deepEqual(cfg.output[0]!.dims, [-1n, 2n]);
  });

  it('max_batch_size 1 gets no dynamic batching; an explicit scheduler is kept', () => {
    assert.equal(norm('max_batch_size: 1').schedulingChoice.case, undefined);
    assert.equal(norm('sequence_batching {}').schedulingChoice.case, 'sequenceBatching');
  });

  it('a config that lists its inputs and outputs and no scheduler stays request-at-a-time (D.11 rule 2)', () => {
    const listed =
      'max_batch_size: 8 input [ { name: "x" data_type: TYPE_FP32 dims: [3] } ] output [ { name: "y" data_type: TYPE_FP32 dims: [2] } ]';
    assert.equal(norm(listed).schedulingChoice.case, undefined);
    assert.equal(norm('max_batch_size: 8').schedulingChoice.case, 'dynamicBatching');
  });

  it('generates dims [1] + reshape [] for per-item scalars of a batching model', () => {
    const io: ModelIO = {
      inputs: [{ name: 's', datatype: 'INT64', shape: [-1] }],
      outputs: [{ name: 'o', datatype: 'BYTES', shape: [-1] }],
    };
    const json = toTritonJson(norm('', io));
    const input = (json['input'] as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(input['dims'], [1]);
    assert.deepEqual(input['reshape'], { shape: [] });
    assert.equal((json['output'] as Array<Record<string, unknown>>)[0]!['data_type'], 'TYPE_STRING');
  });

  it('does not touch lists the config already has', () => {
    const cfg = norm(
      'input [ { name: "x" data_type: TYPE_FP32 dims: [-1] } ] output [ { name: "y" data_type: TYPE_FP32 dims: [2] } ]',
    );
    assert.deepEqual(cfg.input[0]!.dims, [-1n]);
    assert.equal(cfg.maxBatchSize, 4);
  });
});

describe('signature validation', () => {
  it('names a declared tensor the model lacks', () => {
    loadFailure(
      () =>
        norm('input [ { name: "x" data_type: TYPE_FP32 dims: [3] }, { name: "z" data_type: TYPE_FP32 dims: [3] } ]'),
      /signature not matching its config: input 'z' is not in the model/,
    );
  });
  it('names a datatype mismatch', () => {
    loadFailure(
      () => norm('input [ { name: "x" data_type: TYPE_INT32 dims: [3] } ]'),
      /input 'x' is TYPE_INT32 in the config but FP32 in the model/,
    );
  });
  it('names incompatible dims and accepts -1 against anything', () => {
    loadFailure(() => norm('output [ { name: "y" data_type: TYPE_FP32 dims: [5] } ]'), /output 'y' has shape \[-1,5\]/);
    assert.doesNotThrow(() => norm('output [ { name: "y" data_type: TYPE_FP32 dims: [-1] } ]'));
  });
  it('names a model input missing from the config', () => {
    const io: ModelIO = {
      inputs: [...batchable.inputs, { name: 'w', datatype: 'FP32', shape: [-1, 1] }],
      outputs: batchable.outputs,
    };
    loadFailure(
      () => norm('input [ { name: "x" data_type: TYPE_FP32 dims: [3] } ]', io),
      /model input\(s\) 'w' missing/,
    );
  });
});

describe('dynamic batching and Triton JSON (D.5, D.9)', () => {
  it('validates preferred sizes and priority levels', () => {
    loadFailure(() => norm('max_batch_size: 4 dynamic_batching { preferred_batch_size: [8] }'), /preferred size 8/);
    loadFailure(() => norm('max_batch_size: 4 dynamic_batching { priority_levels: 2 }'), /default_priority_level/);
  });

  it('turns the listed 64-bit fields into numbers and leaves other 64-bit fields strings', () => {
    const json = toTritonJson(
      norm(`max_batch_size: 4
        version_policy { specific { versions: [1] } }
        dynamic_batching { max_queue_delay_microseconds: 100 priority_levels: 2 default_priority_level: 1
          default_queue_policy { default_timeout_microseconds: 5 }
          priority_queue_policy { key: 1 value { default_timeout_microseconds: 7 } } }
        model_warmup [ { name: "w" batch_size: 1 inputs { key: "x" value { data_type: TYPE_FP32 dims: [3] zero_data: true } } } ]`),
    );
    const db = json['dynamic_batching'] as Record<string, unknown>;
    assert.equal(db['max_queue_delay_microseconds'], 100);
    assert.equal(db['priority_levels'], 2);
    assert.deepEqual(db['default_queue_policy'], {
      timeout_action: 'REJECT',
      default_timeout_microseconds: 5,
      allow_timeout_override: false,
      max_queue_size: 0,
    });
    assert.equal(
      (db['priority_queue_policy'] as Record<string, Record<string, unknown>>)['1']!['default_timeout_microseconds'],
      7,
    );
    assert.deepEqual(json['version_policy'], { specific: { versions: [1] } });
    const warm = (json['model_warmup'] as Array<Record<string, Record<string, Record<string, unknown>>>>)[0]!;
    assert.deepEqual(warm['inputs']!['x']!['dims'], [3]);
    assert.equal(json['max_batch_size'], 4);
    assert.deepEqual((json['input'] as Array<Record<string, unknown>>)[0]!['dims'], [3]);
  });
});
