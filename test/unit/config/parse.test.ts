import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePbtxt, parseYamlOrJson } from '../../../src/config/parse-text.js';
import { InferError } from '../../../src/core/errors.js';
import { DataType, ModelInstanceGroup_Kind } from '../../../src/gen/model_config_pb.js';

/** Asserts a parse fails with IG_ERR_MODEL_LOAD naming the file, the line and the field. */
function assertError(fn: () => unknown, file: string, line: number, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InferError);
    assert.equal(err.code, 'IG_ERR_MODEL_LOAD');
    assert.match(err.message, new RegExp(`'${file.replace(/[.]/g, '\\.')}'`));
    assert.match(err.message, new RegExp(`line ${line}\\b`));
    assert.ok(err.message.includes(`field '${field}'`), err.message);
    return true;
  });
}

describe('pbtxt parsing (protocol.md D.2)', () => {
  it('accepts repeated blocks, list form and several separate lists, concatenated in order', () => {
    const cfg = parsePbtxt(
      `input [ { name: "a" data_type: TYPE_FP32 dims: [ 1 ] } ]
       input [ { name: "b", data_type: TYPE_INT32, dims: [2] }, { name: "c" data_type: TYPE_STRING dims: 3 dims: 4 } ]
       input { name: "d" data_type: TYPE_BOOL dims: [-1] }
       input: { name: 'e' data_type: TYPE_UINT8 dims: [ 5 ] };`,
      'm/config.pbtxt',
    );
    assert.deepEqual(
      cfg.input.map((i) => i.name),
      ['a', 'b', 'c', 'd', 'e'],
    );
    assert.deepEqual(cfg.input[2]!.dims, [3n, 4n]);
    assert.deepEqual(cfg.input[3]!.dims, [-1n]);
    assert.equal(cfg.input[2]!.dataType, DataType.TYPE_STRING);
  });

  it('accepts comments, enums by name, booleans in every spelling, escapes and maps as entries', () => {
    const cfg = parsePbtxt(
      `# a comment
       name: "m" # trailing comment
       instance_group [ { kind: KIND_CPU count: 1 } ]
       input [ { name: "x\\"y" data_type: TYPE_FP32 dims: [1] optional: True allow_ragged_batch: t } ]
       parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
       parameters [ { key: "a" value { string_value: "b" } }, { key: "c", value: { string_value: "d" } } ]
       output [ { name: "o" data_type: TYPE_FP32 dims: [1] is_shape_tensor: 0 } ]`,
      'm/config.pbtxt',
    );
    assert.equal(cfg.instanceGroup[0]!.kind, ModelInstanceGroup_Kind.CPU);
    assert.equal(cfg.input[0]!.name, 'x"y');
    assert.equal(cfg.input[0]!.optional, true);
    assert.equal(cfg.input[0]!.allowRaggedBatch, true);
    assert.deepEqual(Object.keys(cfg.parameters).sort(), ['a', 'c', 'intra_op_thread_count']);
    assert.equal(cfg.parameters['c']!.stringValue, 'd');
  });

  it('accepts oneofs: version policies and the scheduling choice', () => {
    const latest = parsePbtxt('version_policy: { latest { num_versions: 2 } }', 'f');
    assert.equal(latest.versionPolicy?.policyChoice.case, 'latest');
    const all = parsePbtxt('version_policy { all {} }', 'f');
    assert.equal(all.versionPolicy?.policyChoice.case, 'all');
    const specific = parsePbtxt('version_policy { specific { versions: [1, 3] } }', 'f');
    const choice = specific.versionPolicy?.policyChoice;
    assert.ok(choice?.case === 'specific');
    assert.deepEqual(choice.value.versions, [1n, 3n]);
    const db = parsePbtxt('dynamic_batching { preferred_batch_size: [2, 4] max_queue_delay_microseconds: 100 }', 'f');
    assert.equal(db.schedulingChoice.case, 'dynamicBatching');
  });

  it('names file, line and field for each kind of error', () => {
    const f = 'm/config.pbtxt';
    assertError(() => parsePbtxt('name: "m"\nnmae: "x"', f), f, 2, 'nmae');
    assertError(
      () => parsePbtxt('input [\n { name: "a" data_type: TYPE_FP32 },\n { name: "b"\n data_type: TYPE_FOO } ]', f),
      f,
      4,
      'input[1].data_type',
    );
    assertError(() => parsePbtxt('\n\nmax_batch_size: "x"', f), f, 3, 'max_batch_size');
    assertError(() => parsePbtxt('dynamic_batching {}\nsequence_batching {}', f), f, 2, 'sequence_batching');
    assertError(() => parsePbtxt('max_batch_size: 1\nmax_batch_size: 2', f), f, 2, 'max_batch_size');
    assertError(() => parsePbtxt('input {\n dims: [1, 2,\n "x"] }', f), f, 3, 'input[0].dims[2]');
    assertError(
      () =>
        parsePbtxt('parameters { key: "a" value { string_value: "1" } }\nparameters { key: "b" value { sv: "1" } }', f),
      f,
      2,
      'parameters["b"].sv',
    );
    assertError(() => parsePbtxt('input [ { name: "a"\n', f), f, 2, 'input');
    assertError(() => parsePbtxt('version_policy {\n latest {}\n all {} }', f), f, 3, 'version_policy.all');
  });
});

describe('YAML and JSON configs', () => {
  it('parses YAML with the same snake_case names, ints as numbers', () => {
    const cfg = parseYamlOrJson(
      `name: m
max_batch_size: 8
input:
  - name: a
    data_type: TYPE_FP32
    dims: [3, -1]
dynamic_batching:
  max_queue_delay_microseconds: 100
parameters:
  intra_op_thread_count: { string_value: "2" }
instance_group: [{ kind: KIND_CPU, count: 1 }]
`,
      'm/config.yaml',
    );
    assert.equal(cfg.maxBatchSize, 8);
    assert.deepEqual(cfg.input[0]!.dims, [3n, -1n]);
    assert.equal(cfg.schedulingChoice.case, 'dynamicBatching');
    assert.equal(cfg.parameters['intra_op_thread_count']!.stringValue, '2');
  });

  it('parses JSON (Triton load `config` parameter form) and an empty file', () => {
    const cfg = parseYamlOrJson('{"name":"m","input":[{"name":"a","data_type":"TYPE_INT64","dims":["2"]}]}', 'm');
    assert.deepEqual(cfg.input[0]!.dims, [2n]);
    assert.equal(parseYamlOrJson('', 'm').name, '');
  });

  it('names file, line and field for each kind of error', () => {
    const f = 'm/config.yaml';
    assertError(
      () => parseYamlOrJson('name: m\ninput:\n  - name: a\n  - name: b\n    data_typ: TYPE_FP32\n', f),
      f,
      5,
      'input[1].data_typ',
    );
    assertError(
      () => parseYamlOrJson('max_batch_size: 4\ninput:\n  - name: a\n    dims: [1, x]\n', f),
      f,
      4,
      'input[0].dims[1]',
    );
    assertError(
      () => parseYamlOrJson('{"name": "m",\n "instance_group": [\n {"kind": "KIND_FOO"}]}', 'm/config.json'),
      'm/config.json',
      3,
      'instance_group[0].kind',
    );
    assertError(
      () => parseYamlOrJson('name: m\nparameters:\n  a: {string_value: 3}\n', f),
      f,
      3,
      'parameters[a].string_value',
    );
    assert.throws(() => parseYamlOrJson('name: m\nname: n\n', f), /line 2/);
    assert.throws(() => parseYamlOrJson('- 1\n', f), /mapping/);
  });
});
