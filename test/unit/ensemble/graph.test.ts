// The ensemble DAG check (pure): what it accepts, the order it plans, and each refusal's message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DataType, EnsembleStepSpec, TensorSpec } from '../../../src/core/index.js';
import { planEnsemble, type Signature } from '../../../src/ensemble/graph.js';

const t = (name: string, datatype: DataType = 'FP32', dims = [4]): TensorSpec => ({ name, datatype, dims });
const model = (inputs: TensorSpec[], outputs: TensorSpec[], maxBatchSize = 8): Signature => ({
  maxBatchSize,
  inputs,
  outputs,
});
const xy = model([t('x')], [t('y')]);
const step = (m: string, inputMap: Record<string, string>, outputMap: Record<string, string>): EnsembleStepSpec => ({
  model: m,
  version: -1,
  inputMap,
  outputMap,
});

test('steps are planned in dependency order whatever the config order', () => {
  const ens = model([t('IN')], [t('OUT')]);
  const plan = planEnsemble(ens, [step('b', { x: 'A' }, { y: 'OUT' }), step('a', { x: 'IN' }, { y: 'A' })], [xy, xy]);
  assert.deepEqual(
    plan.steps.map((s) => s.model),
    ['a', 'b'],
  );
  assert.equal(plan.outputs.get('OUT'), 0, 'OUT comes from config step index 0 (model b)');
});

test('refusals name the step and the tensor', () => {
  const ens = model([t('IN')], [t('OUT')]);
  const cases: Array<[EnsembleStepSpec[], Signature[], RegExp]> = [
    [[], [], /at least one step/],
    [[step('a', { z: 'IN' }, { y: 'OUT' })], [xy], /step 1 \(model 'a'\): input_map names 'z'/],
    [[step('a', {}, { y: 'OUT' })], [xy], /step 1 \(model 'a'\): the model's input 'x' is not mapped/],
    [[step('a', { x: 'IN' }, { w: 'OUT' })], [xy], /output_map names 'w', which is not an output/],
    [[step('a', { x: 'IN' }, {})], [xy], /output_map is empty/],
    [[step('a', { x: 'NOPE' }, { y: 'OUT' })], [xy], /tensor 'NOPE' feeding input 'x' of step 1/],
    [[step('a', { x: 'IN' }, { y: 'X' })], [xy], /ensemble output 'OUT' is produced by no step/],
    [
      [step('a', { x: 'IN' }, { y: 'OUT' }), step('b', { x: 'IN' }, { y: 'OUT' })],
      [xy, xy],
      /tensor 'OUT' is produced twice/,
    ],
    [[step('a', { x: 'IN' }, { y: 'IN' })], [xy], /tensor 'IN' is produced twice: by ensemble input 'IN'/],
    [
      [step('a', { x: 'IN' }, { y: 'OUT' })],
      [model([t('x', 'INT32')], [t('y')])],
      /type mismatch on tensor 'IN': ensemble input 'IN' is FP32 but input 'x' of step 1 \(model 'a'\) expects INT32/,
    ],
    [
      [step('a', { x: 'IN' }, { y: 'OUT' })],
      [model([t('x', 'FP32', [5])], [t('y')])],
      /shape mismatch on tensor 'IN'.*\[-1,4\].*\[-1,5\]/,
    ],
    [
      [step('a', { x: 'IN' }, { y: 'OUT' })],
      [model([t('x')], [t('y')], 2)],
      /max_batch_size 2, below the ensemble's 8/,
    ],
    [
      [step('a', { x: 'IN' }, { y: 'P' }), step('b', { x: 'Q' }, { y: 'OUT' }), step('c', { x: 'OUT' }, { y: 'Q' })],
      [xy, xy, xy],
      /cycle: step 2 \(model 'b'\) reads 'Q'; step 3 \(model 'c'\) reads 'OUT'/,
    ],
  ];
  for (const [steps, sigs, message] of cases) assert.throws(() => planEnsemble(ens, steps, sigs), message);
});

test('an ensemble input no step reads is refused', () => {
  const ens = model([t('IN'), t('SPARE')], [t('OUT')]);
  assert.throws(
    () => planEnsemble(ens, [step('a', { x: 'IN' }, { y: 'OUT' })], [xy]),
    /ensemble input 'SPARE' is not used/,
  );
});

test('optional step inputs may stay unmapped; a non-batching ensemble feeds a batching step its full shape', () => {
  const opt = model([t('x'), { ...t('extra'), optional: true }], [t('y')]);
  const ens = model([t('IN', 'FP32', [-1, 4])], [t('OUT', 'FP32', [-1, 4])], 0);
  const plan = planEnsemble(ens, [step('a', { x: 'IN' }, { y: 'OUT' })], [opt]);
  assert.equal(plan.steps.length, 1);
});
