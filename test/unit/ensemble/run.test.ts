// The ensemble runner with a fake step call: steps start as soon as their inputs exist, only needed
// steps run, shared tensors are copied for all but their last reader, and a failure cancels the rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor, TensorSpec } from '../../../src/core/index.js';
import { planEnsemble, type PlannedStep, type Signature } from '../../../src/ensemble/graph.js';
import { runEnsemble, StepFailure } from '../../../src/ensemble/run.js';

const t = (name: string): TensorSpec => ({ name, datatype: 'FP32', dims: [1] });
const xy: Signature = { maxBatchSize: 0, inputs: [t('x')], outputs: [t('y')] };
const one = (name: string, v: number): Tensor => ({ name, datatype: 'FP32', shape: [1], data: new Float32Array([v]) });

// IN → a → A; A → b → B; A → c → C (b and c are independent).
const plan = planEnsemble(
  { maxBatchSize: 0, inputs: [t('IN')], outputs: [t('B'), t('C')] },
  [
    { model: 'a', version: -1, inputMap: { x: 'IN' }, outputMap: { y: 'A' } },
    { model: 'b', version: -1, inputMap: { x: 'A' }, outputMap: { y: 'B' } },
    { model: 'c', version: -1, inputMap: { x: 'A' }, outputMap: { y: 'C' } },
  ],
  [xy, xy, xy],
);

/** A step call that adds the step's index + 1 and lets the test release each call by hand. */
function manual() {
  const waiting: Array<{ step: PlannedStep; input: Tensor; release: () => void; signal: AbortSignal }> = [];
  const call = (step: PlannedStep, inputs: Tensor[], _outputs: string[], signal: AbortSignal) =>
    new Promise<Tensor[]>((resolve) => {
      const input = inputs[0]!;
      waiting.push({
        step,
        input,
        signal,
        release: () => resolve([one('y', (input.data as Float32Array)[0]! + step.index + 1)]),
      });
    });
  return { waiting, call };
}

const tick = () => new Promise((r) => setImmediate(r));

test('independent steps start together once their input exists', async () => {
  const m = manual();
  const done = runEnsemble(plan, new Map([['IN', one('IN', 0)]]), ['B', 'C'], m.call);
  await tick();
  assert.deepEqual(
    m.waiting.map((w) => w.step.model),
    ['a'],
  );
  m.waiting[0]!.release();
  await tick();
  assert.deepEqual(
    m.waiting.map((w) => w.step.model),
    ['a', 'b', 'c'],
    'b and c run at once',
  );
  assert.notEqual(m.waiting[1]!.input.data, m.waiting[2]!.input.data, 'A read twice: one reader gets a copy');
  m.waiting[2]!.release();
  m.waiting[1]!.release();
  const out = await done;
  assert.deepEqual(
    out.map((x) => [x.name, (x.data as Float32Array)[0]]),
    [
      ['B', 3],
      ['C', 4],
    ],
  );
});

test('only the steps the wanted outputs need run', async () => {
  const m = manual();
  const done = runEnsemble(plan, new Map([['IN', one('IN', 0)]]), ['B'], m.call);
  await tick();
  m.waiting[0]!.release();
  await tick();
  assert.deepEqual(
    m.waiting.map((w) => w.step.model),
    ['a', 'b'],
  );
  m.waiting[1]!.release();
  assert.equal((await done).length, 1);
});

test('a failing step fails the call, names the step, and aborts the signal of the others', async () => {
  let signal: AbortSignal | undefined;
  const call = (step: PlannedStep, _i: Tensor[], _o: string[], s: AbortSignal) => {
    if (step.model === 'a') return Promise.resolve([one('y', 1)]);
    if (step.model === 'b') return Promise.reject(new Error('boom'));
    signal = s;
    return new Promise<Tensor[]>(() => undefined);
  };
  await assert.rejects(runEnsemble(plan, new Map([['IN', one('IN', 0)]]), ['B', 'C'], call), (e: unknown) => {
    assert.ok(e instanceof StepFailure);
    assert.equal(e.step.model, 'b');
    assert.equal(e.message, 'boom');
    return true;
  });
  assert.equal(signal?.aborted, true);
});

test('a missing optional ensemble input fails the call instead of waiting forever', async () => {
  const opt = planEnsemble(
    { maxBatchSize: 0, inputs: [t('IN'), { ...t('OPT'), optional: true }], outputs: [t('B')] },
    [
      { model: 'a', version: -1, inputMap: { x: 'IN' }, outputMap: { y: 'A' } },
      { model: 'b', version: -1, inputMap: { x: 'OPT' }, outputMap: { y: 'B' } },
    ],
    [xy, xy],
  );
  await assert.rejects(
    runEnsemble(opt, new Map([['IN', one('IN', 0)]]), ['B'], () => Promise.resolve([one('y', 0)])),
    /ensemble tensor 'OPT', which the request did not give/,
  );
});
