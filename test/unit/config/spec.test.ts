import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { batchingSpec } from '../../../src/config/batching.js';
import { DEFAULT_EXECUTION, executionSpec } from '../../../src/config/execution.js';
import { readLabels, splitLabels } from '../../../src/config/labels.js';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { parsePbtxt } from '../../../src/config/parse-text.js';
import { readModelConfig } from '../../../src/config/read-config.js';
import { toVersionSpec } from '../../../src/config/version-spec.js';
import { selectVersions } from '../../../src/config/version-policy.js';
import { InferError } from '../../../src/core/errors.js';
import type { ModelIO } from '../../../src/core/model.js';

const io: ModelIO = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};
const ORT = [{ name: 'onnxruntime', platforms: ['onnxruntime_onnx'] }];
const cfgOf = (text: string) => normalizeConfig(parsePbtxt(text, 'm/config.pbtxt'), 'm', io, ORT);

describe('execution spec', () => {
  it('defaults: nice 10, no parameters, default graph level, no accelerators', () => {
    assert.deepEqual(executionSpec(cfgOf('')), DEFAULT_EXECUTION);
    assert.deepEqual(DEFAULT_EXECUTION, { niceness: 10, parameters: {}, graphLevel: 0, cpuAccelerators: [] });
  });

  it('carries parameters, graph level and CPU accelerator names as written, for the backend to read', () => {
    const s = executionSpec(
      cfgOf(`parameters [
        { key: "intra_op_thread_count" value { string_value: " 2 " } },
        { key: "worker_nice" value { string_value: "0" } } ]
        optimization { graph { level: -1 } execution_accelerators { cpu_execution_accelerator [ { name: "OpenVINO" } ] } }`),
    );
    assert.deepEqual(s, {
      niceness: 0,
      parameters: { intra_op_thread_count: ' 2 ', worker_nice: '0' },
      graphLevel: -1,
      cpuAccelerators: ['OpenVINO'],
    });
  });

  it('rejects a malformed worker_nice naming it; other parameters are the backend’s to check', () => {
    const spec = (p: string) => executionSpec(cfgOf(`parameters { key: "${p}" value { string_value: "two" } }`));
    assert.deepEqual(spec('intra_op_thread_count').parameters, { intra_op_thread_count: 'two' });
    assert.throws(() => spec('worker_nice'), /worker_nice' must be a non-negative integer, got 'two'/);
    assert.throws(
      () => executionSpec(cfgOf('parameters { key: "worker_nice" value { string_value: "20" } }')),
      /worker_nice' must be between 0 and 19/,
    );
    assert.throws(
      () => executionSpec(cfgOf('parameters { key: "worker_nice" value { string_value: "-5" } }')),
      /worker_nice/,
    );
  });
});

describe('batch size tuning', () => {
  const tuning = (value: string, rest = 'max_batch_size: 8 dynamic_batching { }') =>
    batchingSpec(cfgOf(`${rest} parameters { key: "batch_size_tuning" value { string_value: "${value}" } }`));

  it('is off unless asked for, on with throughput', () => {
    assert.equal(batchingSpec(cfgOf('max_batch_size: 8 dynamic_batching { }'))?.throughputTuning, undefined);
    assert.equal(tuning('none')?.throughputTuning, undefined);
    assert.equal(tuning(' Throughput ')?.throughputTuning, true);
  });

  it('rejects an unknown value and a model that does not batch dynamically, naming the parameter', () => {
    assert.throws(() => tuning('fast'), /batch_size_tuning' must be 'throughput' or 'none', got 'fast'/);
    // max_batch_size 1 without a scheduler section gets no dynamic_batching from auto-complete.
    assert.throws(() => tuning('throughput', 'max_batch_size: 1'), /batch_size_tuning' needs a dynamic_batching/);
  });
});

describe('version policy', () => {
  it('selects latest N, all, or the specific versions present', () => {
    assert.deepEqual(selectVersions(undefined, [1, 3, 2]), [3]);
    assert.deepEqual(
      selectVersions(cfgOf('version_policy { latest { num_versions: 2 } }').versionPolicy, [1, 3, 2]),
      [3, 2],
    );
    assert.deepEqual(selectVersions(cfgOf('version_policy { all {} }').versionPolicy, [1, 3, 2]), [3, 2, 1]);
    assert.deepEqual(
      selectVersions(cfgOf('version_policy { specific { versions: [1, 4] } }').versionPolicy, [1, 3]),
      [1],
    );
  });
});

describe('version spec, labels, warm-up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ig-config-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('builds a ModelVersionSpec with labels, instances and warm-up', async () => {
    await writeFile(join(dir, 'labels.txt'), 'cat\ndog\n');
    const cfg = cfgOf(`instance_group [ { count: 1 }, { count: 2 } ]
      output [ { name: "y" data_type: TYPE_FP32 dims: [2] label_filename: "labels.txt" } ]
      model_warmup [ { name: "w" batch_size: 2 count: 3 inputs { key: "x" value { data_type: TYPE_FP32 dims: [3] input_data_file: "x.bin" } } } ]`);
    const labels = await readLabels(cfg, dir);
    const spec = toVersionSpec(cfg, { version: 2, path: join(dir, '2', 'model.onnx'), modelDir: dir, labels });
    assert.equal(spec.model, 'm');
    assert.equal(spec.version, 2);
    assert.equal(spec.maxBatchSize, 4);
    assert.equal(spec.instances, 3);
    assert.deepEqual(spec.inputs, [{ name: 'x', datatype: 'FP32', dims: [3] }]);
    assert.deepEqual(spec.outputs, [{ name: 'y', datatype: 'FP32', dims: [2], labels: ['cat', 'dog'] }]);
    assert.deepEqual(spec.warmup, [
      {
        name: 'w',
        batchSize: 2,
        count: 3,
        inputs: [{ name: 'x', datatype: 'FP32', dims: [3], kind: 'file', file: join(dir, 'warmup', 'x.bin') }],
      },
    ]);
  });

  it('leaves warm-up empty when none is configured; rejects escaping warm-up files', () => {
    const spec = toVersionSpec(cfgOf(''), { version: 1, path: 'p', modelDir: dir });
    assert.deepEqual(spec.warmup, []);
    const bad = cfgOf(
      'model_warmup [ { name: "w" inputs { key: "x" value { data_type: TYPE_FP32 dims: [3] input_data_file: "../x" } } } ]',
    );
    assert.throws(() => toVersionSpec(bad, { version: 1, path: 'p', modelDir: dir }), /inside warmup/);
  });

  it('fails clearly on a missing label file and splits CRLF labels', async () => {
    const cfg = cfgOf('output [ { name: "y" data_type: TYPE_FP32 dims: [2] label_filename: "nope.txt" } ]');
    await assert.rejects(readLabels(cfg, dir), /label file 'nope.txt' of output 'y'/);
    assert.deepEqual(splitLabels('a\r\nb'), ['a', 'b']);
  });

  it('reads config.pbtxt before YAML/JSON and reports the repo-relative file', async () => {
    const m = join(dir, 'mm');
    await mkdir(m, { recursive: true });
    assert.equal((await readModelConfig(m, 'mm')).file, undefined);
    await writeFile(join(m, 'config.yaml'), 'max_batch_size: 2\n');
    assert.equal((await readModelConfig(m, 'mm')).config.maxBatchSize, 2);
    await writeFile(join(m, 'config.pbtxt'), 'max_batch_size: 3\nbogus: 1\n');
    await assert.rejects(readModelConfig(m, 'mm'), (err: unknown) => {
      assert.ok(err instanceof InferError);
      assert.match(err.message, /'mm\/config\.pbtxt', line 2, field 'bogus'/);
      assert.ok(!err.message.includes(dir));
      return true;
    });
  });
});
