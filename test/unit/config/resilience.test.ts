// The `resilience` config section → ResilienceSpec: defaults, pbtxt and YAML, and each refusal
// naming the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { parsePbtxt, parseYamlOrJson } from '../../../src/config/parse-text.js';
import { BREAKER_DEFAULTS, checkFallbackModels, resilienceSpec } from '../../../src/config/resilience.js';
import { toVersionSpec } from '../../../src/config/version-spec.js';
import type { ModelIO, TensorSpec } from '../../../src/core/model.js';

const io: ModelIO = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};
const ORT = [{ name: 'onnxruntime', platforms: ['onnxruntime_onnx'] }];
const OUTPUTS: TensorSpec[] = [{ name: 'y', datatype: 'FP32', dims: [2] }];
const cfgOf = (text: string) => normalizeConfig(parsePbtxt(text, 'm/config.pbtxt'), 'm', io, ORT);
const specOf = (text: string) => resilienceSpec(cfgOf(text), OUTPUTS);
const refused = (text: string, re: RegExp) =>
  assert.throws(
    () => specOf(text),
    (e: Error & { code?: string }) => e.code === 'IG_ERR_MODEL_LOAD' && re.test(e.message),
  );

describe('resilience config', () => {
  it('is absent without a section; an empty breaker section takes every default', () => {
    assert.equal(specOf(''), undefined);
    assert.deepEqual(specOf('resilience { circuit_breaker { } }'), {
      fallback: [],
      fallbackReserve: 0.25,
      breaker: BREAKER_DEFAULTS,
    });
  });

  it('reads deadline, breaker fields and every kind of step from pbtxt', () => {
    const s = specOf(`resilience {
      default_timeout_ms: 250
      circuit_breaker { consecutive_failures: 3 open_ms: 800 half_open_share: 0.5 slow_call_ms: 40 }
      fallback { version: 2 }
      fallback { model: "small" }
      fallback { model: "small:7" }
      fallback { default_response { output { name: "y" data_type: TYPE_FP32 dims: [1, 2] values: [0.5, 1] } } }
      fallback_reserve: 0.4
    }`);
    assert.ok(s);
    assert.equal(s.defaultTimeoutMs, 250);
    assert.equal(s.fallbackReserve, 0.4);
    assert.deepEqual(s.breaker, {
      ...BREAKER_DEFAULTS,
      consecutiveFailures: 3,
      openMs: 800,
      halfOpenShare: 0.5,
      slowCallMs: 40,
    });
    assert.deepEqual(s.fallback.slice(0, 3), [
      { kind: 'version', version: 2 },
      { kind: 'model', model: 'small' },
      { kind: 'model', model: 'small', version: 7 },
    ]);
    const d = s.fallback[3];
    assert.ok(d?.kind === 'default');
    assert.deepEqual(d.outputs[0]!.shape, [1, 2]);
    assert.deepEqual([...(d.outputs[0]!.data as Float32Array)], [0.5, 1]);
  });

  it('reads the same section from YAML', () => {
    const raw = parseYamlOrJson(
      'resilience:\n  default_timeout_ms: 100\n  fallback:\n    - model: small\n    - version: 1\n',
      'm/config.yaml',
    );
    const s = resilienceSpec(normalizeConfig(raw, 'm', io, ORT), OUTPUTS);
    assert.deepEqual(s?.fallback, [
      { kind: 'model', model: 'small' },
      { kind: 'version', version: 1 },
    ]);
    assert.equal(s?.defaultTimeoutMs, 100);
  });

  it('refuses, naming the field: shares out of range, a loop, empty steps, bad default outputs', () => {
    refused('resilience { circuit_breaker { failure_rate: 1.5 } }', /circuit_breaker\.failure_rate must be above 0/);
    refused('resilience { circuit_breaker { half_open_share: -1 } }', /half_open_share/);
    refused('resilience { fallback_reserve: 1 }', /fallback_reserve must be between 0 and 1/);
    refused('resilience { fallback { model: "m" } }', /fallback\[0\] names the model itself \('m'\)/);
    refused('resilience { fallback { } }', /fallback\[0\] is empty/);
    refused('resilience { fallback { model: "a:b:c" } }', /must be 'name' or 'name:version'/);
    refused(
      'resilience { fallback { default_response { output { name: "z" dims: [1] values: [1] } } } }',
      /output 'z' is not an output of the model/,
    );
    refused(
      'resilience { fallback { default_response { output { name: "y" data_type: TYPE_FP32 dims: [1, 2] values: [1] } } } }',
      /needs 2 values for dims \[1,2\]/,
    );
    refused(
      'resilience { fallback { default_response { output { name: "y" data_type: TYPE_INT32 dims: [1, 2] values: [1, 2] } } } }',
      /datatype INT32, the model's output is FP32/,
    );
  });

  it("a cache step needs the model's response_cache; response_cache reaches the version spec", () => {
    const text = 'response_cache { enable: true }\nresilience { fallback { cache: true } fallback { version: 1 } }';
    assert.deepEqual(specOf(text)?.fallback, [{ kind: 'cache' }, { kind: 'version', version: 1 }]);
    const yaml = parseYamlOrJson(
      'response_cache: { enable: true }\nresilience: { fallback: [ { cache: true } ] }',
      'm/config.yaml',
    );
    assert.deepEqual(resilienceSpec(normalizeConfig(yaml, 'm', io, ORT), OUTPUTS)?.fallback, [{ kind: 'cache' }]);
    refused(
      'resilience { fallback { cache: true } }',
      /fallback\[0\] is a cache step but the model has no response_cache \{ enable: true \}/,
    );
    refused('response_cache { enable: false }\nresilience { fallback { cache: true } }', /no response_cache/);
    const dir = '/models/m';
    assert.equal(
      toVersionSpec(cfgOf(text), { version: 1, path: `${dir}/1/model.onnx`, modelDir: dir }).responseCache,
      true,
    );
    assert.equal(
      toVersionSpec(cfgOf(''), { version: 1, path: `${dir}/1/model.onnx`, modelDir: dir }).responseCache,
      undefined,
    );
  });

  it('a step naming a model the repository does not know fails the load naming it', () => {
    const ok = cfgOf('resilience { fallback { version: 1 } fallback { model: "small:2" } }');
    assert.doesNotThrow(() => checkFallbackModels(ok, (m) => m === 'small'));
    const cfg = cfgOf('resilience { fallback { version: 1 } fallback { model: "gone:2" } }');
    assert.throws(() => checkFallbackModels(cfg, (m) => m === 'small'), /fallback\[1\] names model 'gone'/);
  });
});
