import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ORT_EXECUTION, ortExecutionSettings } from '../../../src/backend/ort/execution-settings.js';
import { sessionOptions } from '../../../src/backend/ort/session-options.js';
import { DEFAULT_EXECUTION, executionSpec } from '../../../src/config/execution.js';
import { normalizeConfig } from '../../../src/config/normalize.js';
import { parsePbtxt } from '../../../src/config/parse-text.js';
import { InferError } from '../../../src/core/index.js';

const ORT = [{ name: 'onnxruntime', platforms: ['onnxruntime_onnx'] }];
/** The ORT settings of a config, through the same path a load takes (config → spec → backend). */
const settingsOf = (text: string) =>
  ortExecutionSettings('m', executionSpec(normalizeConfig(parsePbtxt(text, 'm/config.pbtxt'), 'm', undefined, ORT)));
const param = (key: string, value: string) => `parameters { key: "${key}" value { string_value: "${value}" } }`;

describe('onnxruntime execution settings', () => {
  it('defaults for a shared 2-core machine', () => {
    assert.deepEqual(settingsOf(''), {
      intraOpThreads: 1,
      interOpThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      spinning: false,
      enableMemArena: true,
      enableMemPattern: true,
      executionProviders: [],
      workerPool: 'auto',
    });
    assert.deepEqual(ortExecutionSettings('m', DEFAULT_EXECUTION), DEFAULT_ORT_EXECUTION);
  });

  it('reads parameters, graph level and CPU accelerators', () => {
    const s = settingsOf(`parameters [
        { key: "intra_op_thread_count" value { string_value: " 2 " } },
        { key: "inter_op_thread_count" value { string_value: "3" } },
        { key: "execution_mode" value { string_value: "1" } },
        { key: "enable_mem_arena" value { string_value: "0" } },
        { key: "enable_mem_pattern" value { string_value: "false" } },
        { key: "spinning" value { string_value: "true" } },
        { key: "worker_pool" value { string_value: "Dedicated" } } ]
        optimization { graph { level: -1 } execution_accelerators { cpu_execution_accelerator [ { name: "OpenVINO" } ] } }`);
    assert.deepEqual(s, {
      intraOpThreads: 2,
      interOpThreads: 3,
      graphOptimizationLevel: 'basic',
      executionMode: 'parallel',
      spinning: true,
      enableMemArena: false,
      enableMemPattern: false,
      executionProviders: ['openvino'],
      workerPool: 'dedicated',
    });
    assert.equal(settingsOf('optimization { graph { level: 1 } }').graphOptimizationLevel, 'extended');
    assert.equal(settingsOf('optimization { graph { level: 2 } }').graphOptimizationLevel, 'disabled');
    assert.equal(settingsOf(param('execution_mode', 'Sequential')).executionMode, 'sequential');
  });

  it('rejects a malformed parameter with IG_ERR_MODEL_LOAD naming it', () => {
    const refused = (text: string, pattern: RegExp) =>
      assert.throws(
        () => settingsOf(text),
        (err: unknown) => err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD' && pattern.test(err.message),
      );
    refused(
      param('intra_op_thread_count', 'two'),
      /^failed to load 'm': parameter 'intra_op_thread_count' must be a non-negative integer, got 'two'$/,
    );
    refused(param('spinning', 'maybe'), /parameter 'spinning' must be a boolean \(true\/false\/1\/0\), got 'maybe'/);
    refused(param('execution_mode', '2'), /parameter 'execution_mode' must be 0 \(sequential\) or 1 \(parallel\)/);
    refused(param('worker_pool', 'own'), /parameter 'worker_pool' must be auto, shared or dedicated, got 'own'/);
  });

  it('maps to session options with spinning off by default and cpu when no provider is asked for', () => {
    const o = sessionOptions(DEFAULT_ORT_EXECUTION);
    assert.deepEqual(o.extra, { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' });
    assert.deepEqual(o.executionProviders, ['cpu']);
    const spinning = sessionOptions({ ...DEFAULT_ORT_EXECUTION, spinning: true, executionProviders: ['xnnpack'] });
    assert.deepEqual(spinning.extra, {
      'session.intra_op.allow_spinning': '1',
      'session.inter_op.allow_spinning': '1',
    });
    assert.deepEqual(spinning.executionProviders, ['xnnpack']);
  });
});
