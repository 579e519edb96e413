// The load API's `config` parameter (issue #21 item 7): JSON only, as Triton reads it, and every
// refusal says "failed to load", which Triton's model-control examples check for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigOverride } from '../../../src/config/index.js';
import { InferError } from '../../../src/core/index.js';

const refused = (text: string, detail: RegExp) =>
  assert.throws(
    () => parseConfigOverride(text, 'simple'),
    (err: unknown) =>
      err instanceof InferError &&
      err.code === 'IG_ERR_MODEL_LOAD' &&
      err.message.startsWith("failed to load 'simple': ") &&
      detail.test(err.message),
  );

test('a config that is not JSON is refused, never read as YAML', () => {
  refused('{"max_batch_size": 8', /the 'config' parameter is not valid JSON/);
  refused('max_batch_size: 8', /the 'config' parameter is not valid JSON/);
  refused('[1, 2]', /must be a JSON object/);
  refused('"text"', /must be a JSON object/);
});

test('JSON that is not a model configuration is refused with the same wording', () => {
  refused('{"max_batch_size": "eight"}', /max_batch_size|maxBatchSize/);
  refused('{"no_such_field": 1}', /no_such_field/);
});

test('a valid override parses', () => {
  assert.equal(parseConfigOverride('{"max_batch_size": 8, "backend": "onnxruntime"}', 'simple').config.maxBatchSize, 8);
});
