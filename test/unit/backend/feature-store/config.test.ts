// The feature store's parameters and tensors checked at load (backend/feature-store/config.ts):
// every mistake is IG_ERR_MODEL_LOAD naming the parameter or tensor; what passes is a plain spec.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFeatureStoreSpec } from '../../../../src/backend/feature-store/config.js';
import { type SpecInit, throwsCoded, versionSpec } from './spec.js';

const BASE = { key_template: 'user:{id}', features: 'age,score,visits' };

/** Asserts the load fails with IG_ERR_MODEL_LOAD whose message matches `pattern`. */
function refuses(init: SpecInit, pattern: RegExp): void {
  throwsCoded(
    () => parseFeatureStoreSpec(versionSpec(init)),
    'IG_ERR_MODEL_LOAD',
    /^failed to load 'user_features': feature store: /,
  );
  throwsCoded(() => parseFeatureStoreSpec(versionSpec(init)), 'IG_ERR_MODEL_LOAD', pattern);
}

describe('feature store config', () => {
  test('a minimal config: key split around {id}, features in order, no defaults, errors on missing entities', () => {
    const s = parseFeatureStoreSpec(versionSpec());
    assert.deepEqual(s, {
      model: 'user_features',
      keyPrefix: 'user:',
      keySuffix: '',
      features: ['age', 'score', 'visits'],
      defaults: [undefined, undefined, undefined],
      onMissingEntity: 'error',
      latencyBudgetMs: 100,
      input: { name: 'entity', datatype: 'BYTES' },
      output: { name: 'features', datatype: 'FP32' },
    });
  });

  test('a template with text after {id}, spaces around feature names, a budget and a Redis of its own', () => {
    const s = parseFeatureStoreSpec(
      versionSpec({
        parameters: {
          key_template: 'tenant7:{id}:profile',
          features: ' visits , age ',
          latency_budget_ms: '25',
          redis_url: 'redis://127.0.0.1:6390/2',
        },
        outDims: [2],
      }),
    );
    assert.equal(s.keyPrefix, 'tenant7:');
    assert.equal(s.keySuffix, ':profile');
    assert.deepEqual(s.features, ['visits', 'age']);
    assert.equal(s.latencyBudgetMs, 25);
    assert.equal(s.redisUrl, 'redis://127.0.0.1:6390/2');
  });

  test('defaults: default_value for every feature, default.<feature> overrides it, parsed as the output type', () => {
    const s = parseFeatureStoreSpec(
      versionSpec({
        parameters: { ...BASE, default_value: '0.5', 'default.visits': '7', on_missing_entity: 'default' },
      }),
    );
    assert.deepEqual(s.defaults, [0.5, 0.5, 7]);
    assert.equal(s.onMissingEntity, 'default');
    const i = parseFeatureStoreSpec(
      versionSpec({ parameters: { ...BASE, 'default.score': '-3' }, outType: 'INT64', idType: 'INT64' }),
    );
    assert.deepEqual(i.defaults, [undefined, -3n, undefined]);
    assert.deepEqual(i.input, { name: 'entity', datatype: 'INT64' });
  });

  test('not batched: a vector of ids in, [-1, features] out', () => {
    const s = parseFeatureStoreSpec(versionSpec({ maxBatchSize: 0, idDims: [-1], outDims: [-1, 3] }));
    assert.deepEqual(s.features, ['age', 'score', 'visits']);
    // -1 for the feature dim is accepted too (the config need not repeat the count).
    parseFeatureStoreSpec(versionSpec({ outDims: [-1] }));
  });

  test('key_template: required, with {id} exactly once', () => {
    refuses({ parameters: { features: 'age' }, outDims: [1] }, /parameter 'key_template' is required/);
    refuses({ parameters: { ...BASE, key_template: 'user:' } }, /'key_template' must contain '\{id\}' exactly once/);
    refuses(
      { parameters: { ...BASE, key_template: '{id}:{id}' } },
      /'key_template' must contain '\{id\}' exactly once/,
    );
  });

  test('features: required, no empty or repeated names', () => {
    refuses({ parameters: { key_template: 'u:{id}' } }, /parameter 'features' is required/);
    refuses({ parameters: { key_template: 'u:{id}', features: ' , ' } }, /parameter 'features' is required/);
    refuses({ parameters: { ...BASE, features: 'age,,score' } }, /parameter 'features' has an empty name/);
    refuses({ parameters: { ...BASE, features: 'age,score,age' } }, /parameter 'features' names 'age' twice/);
  });

  test('defaults that are not numbers of the output type, or name unknown features', () => {
    refuses(
      { parameters: { ...BASE, default_value: 'zero' } },
      /parameter 'default_value': 'zero' is not a finite number/,
    );
    refuses(
      { parameters: { ...BASE, 'default.score': '1.5' }, outType: 'INT64' },
      /parameter 'default.score': '1.5' is not an integer/,
    );
    refuses(
      { parameters: { ...BASE, 'default.scroe': '1' } },
      /parameter 'default.scroe' names a feature that is not in 'features' \('age', 'score', 'visits'\)/,
    );
    refuses({ parameters: { ...BASE, default_value: '1e40' } }, /'1e40' is outside the FP32 range/);
  });

  test('on_missing_entity: error or default, and default needs a default for every feature', () => {
    refuses(
      { parameters: { ...BASE, on_missing_entity: 'skip' } },
      /'on_missing_entity' must be 'error' or 'default', not 'skip'/,
    );
    refuses(
      { parameters: { ...BASE, on_missing_entity: 'default', 'default.age': '0' } },
      /'on_missing_entity' is 'default' but feature\(s\) 'score', 'visits' have no default/,
    );
  });

  test('latency_budget_ms: a positive number', () => {
    for (const bad of ['0', '-5', 'soon', ''])
      refuses({ parameters: { ...BASE, latency_budget_ms: bad } }, /'latency_budget_ms' must be a positive number/);
  });

  test("layout: 'hash' only; 'feast' is refused saying why", () => {
    assert.equal(parseFeatureStoreSpec(versionSpec({ parameters: { ...BASE, layout: 'hash' } })).keyPrefix, 'user:');
    refuses({ parameters: { ...BASE, layout: 'feast' } }, /parameter 'layout': 'feast' is not supported/);
    refuses({ parameters: { ...BASE, layout: 'json' } }, /parameter 'layout' must be 'hash', not 'json'/);
  });

  test('tensors: one id input (BYTES/INT64/INT32), one numeric output with a column per feature', () => {
    const two = [
      { name: 'a', datatype: 'BYTES' as const, dims: [1] },
      { name: 'b', datatype: 'BYTES' as const, dims: [1] },
    ];
    refuses({ inputs: two }, /exactly one input \(the entity ids\), not 2/);
    refuses({ outputs: [] }, /exactly one output \(the features\), not 0/);
    refuses({ idType: 'FP32' }, /input 'entity' must be BYTES, INT64, INT32 \(entity ids\), not FP32/);
    refuses({ outType: 'BYTES' }, /output 'features' must be FP32, FP64, INT64, INT32, not BYTES/);
    refuses({ idDims: [2] }, /input 'entity' must have dims \[ 1 \] \(one entity id per batch row\), not \[2\]/);
    refuses({ outDims: [4] }, /output 'features' must have dims \[ 3 \] \(one column per feature\), not \[4\]/);
    refuses({ maxBatchSize: 0, idDims: [-1], outDims: [3] }, /output 'features' must have dims \[ -1, 3 \]/);
    refuses({ maxBatchSize: 0, idDims: [2, 2], outDims: [-1, 3] }, /input 'entity' must have dims \[ -1 \]/);
  });
});
