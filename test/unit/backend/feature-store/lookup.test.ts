// The pure half of a lookup (backend/feature-store/lookup.ts, values.ts): ids → Redis keys, HMGET
// replies → the feature tensor in the configured order, defaults, missing entities and features
// named, stored values that are not numbers refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFeatureStoreSpec } from '../../../../src/backend/feature-store/config.js';
import { assembleFeatures, entityKeys, entityName } from '../../../../src/backend/feature-store/lookup.js';
import { parseFeatureValue } from '../../../../src/backend/feature-store/values.js';
import type { DataType, Tensor } from '../../../../src/core/index.js';
import { throwsCoded, versionSpec } from './spec.js';

const text = (...ids: string[]): Tensor => ({
  name: 'entity',
  datatype: 'BYTES',
  shape: [ids.length, 1],
  data: ids.map((s) => new TextEncoder().encode(s)),
});

function spec(parameters: Record<string, string> = {}, outType: DataType = 'FP32', idType: DataType = 'BYTES') {
  return parseFeatureStoreSpec(
    versionSpec({
      parameters: { key_template: 'user:{id}', features: 'age,score,visits', ...parameters },
      outType,
      idType,
    }),
  );
}

describe('entity keys', () => {
  test('BYTES ids go into the template as bytes, prefix and suffix around them', () => {
    const s = parseFeatureStoreSpec(
      versionSpec({ parameters: { key_template: 't1:{id}:p', features: 'age,score,visits' } }),
    );
    const keys = entityKeys(s, text('u1', 'é'));
    assert.deepEqual(
      keys.map((k) => Buffer.from(k).toString('utf8')),
      ['t1:u1:p', 't1:é:p'],
    );
  });

  test('INT64 and INT32 ids are written in decimal', () => {
    const s64 = spec({}, 'FP32', 'INT64');
    const ids64: Tensor = {
      name: 'entity',
      datatype: 'INT64',
      shape: [2, 1],
      data: new BigInt64Array([42n, -9007199254740993n]),
    };
    assert.deepEqual(entityKeys(s64, ids64), ['user:42', 'user:-9007199254740993']);
    const s32 = spec({}, 'FP32', 'INT32');
    const ids32: Tensor = { name: 'entity', datatype: 'INT32', shape: [1, 1], data: new Int32Array([7]) };
    assert.deepEqual(entityKeys(s32, ids32), ['user:7']);
  });

  test('an empty id and a tensor of the wrong datatype are the caller’s mistake (400)', () => {
    throwsCoded(() => entityKeys(spec(), text('u1', '')), 'IG_ERR_INVALID_ARG', /the entity id of row 1 is empty/);
    const ints: Tensor = { name: 'entity', datatype: 'INT64', shape: [1, 1], data: new BigInt64Array([1n]) };
    throwsCoded(() => entityKeys(spec(), ints), 'IG_ERR_INVALID_ARG', /input 'entity' must be BYTES/);
  });

  test('error messages quote ids, escaped and cut at 64 characters', () => {
    assert.equal(entityName(text('a"b\n'), 0), '"a\\"b\\n"');
    assert.equal(entityName(text('x'.repeat(100)), 0), JSON.stringify(`${'x'.repeat(64)}…`));
  });
});

describe('assembling the feature tensor', () => {
  test('rows in id order, columns in the features order, [rows, features]', () => {
    const t = assembleFeatures(spec(), text('a', 'b'), [
      ['31', '0.5', '2'],
      ['40', '-1.25', '0'],
    ]);
    assert.equal(t.name, 'features');
    assert.equal(t.datatype, 'FP32');
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual([...(t.data as Float32Array)], [31, 0.5, 2, 40, -1.25, 0]);
  });

  test('INT64, INT32 and FP64 outputs', () => {
    const i64 = assembleFeatures(spec({}, 'INT64'), text('a'), [['9007199254740993', '-2', ' 3 ']]);
    assert.ok(i64.data instanceof BigInt64Array);
    assert.deepEqual([...i64.data], [9007199254740993n, -2n, 3n]);
    const i32 = assembleFeatures(spec({}, 'INT32'), text('a'), [['1', '2', '3']]);
    assert.ok(i32.data instanceof Int32Array);
    const f64 = assembleFeatures(spec({}, 'FP64'), text('a'), [['0.1', '1e300', '-0']]);
    assert.ok(f64.data instanceof Float64Array);
    assert.deepEqual([...f64.data], [0.1, 1e300, -0]);
  });

  test('a missing value takes its feature’s default (per feature first, then default_value)', () => {
    const s = spec({ default_value: '-1', 'default.visits': '0' });
    const t = assembleFeatures(s, text('a'), [['31', null, null]]);
    assert.deepEqual([...(t.data as Float32Array)], [31, -1, 0]);
  });

  test('a missing value without a default is a 400 naming the entity and the feature, and how many are missing', () => {
    const s = spec({ 'default.age': '0' });
    throwsCoded(
      () =>
        assembleFeatures(s, text('a', 'b'), [
          ['1', '2', '3'],
          [null, '2', null],
        ]),
      'IG_ERR_INVALID_ARG',
      /^feature store 'user_features': entity "b" has no value for feature 'visits' and the feature has no default$/,
    );
    throwsCoded(
      () =>
        assembleFeatures(s, text('a', 'b'), [
          ['1', null, '3'],
          [null, '2', null],
        ]),
      'IG_ERR_INVALID_ARG',
      /entity "a" has no value for feature 'score' .* \(2 values are missing in this request\)/,
    );
  });

  test('an entity with none of its features stored is not found (400), unless on_missing_entity is default', () => {
    throwsCoded(
      () =>
        assembleFeatures(spec(), text('a', 'ghost'), [
          ['1', '2', '3'],
          [null, null, null],
        ]),
      'IG_ERR_INVALID_ARG',
      /^feature store 'user_features': entity "ghost" not found$/,
    );
    throwsCoded(
      () =>
        assembleFeatures(spec(), text('g1', 'a', 'g2'), [
          [null, null, null],
          ['1', '2', '3'],
          [null, null, null],
        ]),
      'IG_ERR_INVALID_ARG',
      /entity "g1" not found \(2 of the 3 entities were not found\)/,
    );
    // Defaults for every feature alone do not hide an unknown entity: on_missing_entity decides.
    throwsCoded(
      () => assembleFeatures(spec({ default_value: '0' }), text('ghost'), [[null, null, null]]),
      'IG_ERR_INVALID_ARG',
      /entity "ghost" not found/,
    );
    const s = spec({ default_value: '0', 'default.score': '0.5', on_missing_entity: 'default' });
    const t = assembleFeatures(s, text('ghost', 'a'), [
      [null, null, null],
      ['1', null, '3'],
    ]);
    assert.deepEqual([...(t.data as Float32Array)], [0, 0.5, 0, 1, 0.5, 3]);
  });

  test('a stored value that is not a number of the output type is the store’s fault (500), naming entity and feature', () => {
    throwsCoded(
      () => assembleFeatures(spec(), text('a'), [['31', 'n/a', '2']]),
      'IG_ERR_MODEL_EXECUTION',
      /^feature store 'user_features': entity "a", feature 'score': the stored value is not a finite number \(FP32 expected\)$/,
    );
    throwsCoded(
      () => assembleFeatures(spec({}, 'INT64'), text('a'), [['31', '2.5', '2']]),
      'IG_ERR_MODEL_EXECUTION',
      /feature 'score': the stored value is not an integer \(INT64 expected\)/,
    );
    // A stored bad value is refused even where a default exists: a default stands in only for absence.
    throwsCoded(
      () => assembleFeatures(spec({ default_value: '0' }), text('a'), [['', '1', '2']]),
      'IG_ERR_MODEL_EXECUTION',
      /feature 'age': the stored value is not a finite number/,
    );
  });

  test('no ids: an empty [0, features] tensor', () => {
    const t = assembleFeatures(spec(), text(), []);
    assert.deepEqual(t.shape, [0, 3]);
    assert.equal((t.data as Float32Array).length, 0);
  });
});

describe('feature values', () => {
  test('what each datatype accepts and why it refuses', () => {
    const cases: Array<[string, DataType, number | bigint | string]> = [
      ['1.5', 'FP32', 1.5],
      [' 2 ', 'FP64', 2],
      ['', 'FP32', 'is not a finite number'],
      ['Infinity', 'FP64', 'is not a finite number'],
      ['NaN', 'FP32', 'is not a finite number'],
      ['1e39', 'FP32', 'is outside the FP32 range'],
      ['1e39', 'FP64', 1e39],
      ['-2147483648', 'INT32', -2147483648],
      ['2147483648', 'INT32', 'is outside the INT32 range'],
      ['3.0', 'INT32', 'is not an integer'],
      ['9223372036854775807', 'INT64', 9223372036854775807n],
      ['9223372036854775808', 'INT64', 'is outside the INT64 range'],
      ['0x10', 'INT64', 'is not an integer'],
      ['1', 'BYTES', 'cannot be read as BYTES'],
    ];
    for (const [input, dt, want] of cases) assert.equal(parseFeatureValue(input, dt), want, `${dt} '${input}'`);
  });
});
