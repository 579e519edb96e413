// The tensor tap's predicate form (router/hooks.ts), which payload logging samples through: the
// copy is made only for calls some tap accepts, every predicate is asked (each remembers its own
// decision) even when another tap copies anyway, and a throwing predicate counts as "no".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hooks } from '../../../src/router/hooks.js';
import type { Exchange } from '../../../src/router/pipeline.js';

const call = (n: number) => ({ n }) as unknown as Exchange;
const nOf = (x: Exchange) => (x as unknown as { n: number }).n;

test('a predicate tap asks for a copy only for the calls it accepts', () => {
  const hooks = new Hooks();
  assert.equal(hooks.wantsTensors, false);
  const remove = hooks.add('answered', () => {}, { tensors: (x) => nOf(x) % 2 === 0 });
  assert.equal(hooks.wantsTensors, true);
  assert.deepEqual(
    [0, 1, 2, 3].map((n) => hooks.tensorsFor(call(n))),
    [true, false, true, false],
  );
  remove();
  assert.equal(hooks.wantsTensors, false);
});

test('every predicate is asked, beside a tap that always copies; a throwing one is reported once', () => {
  const errors: string[] = [];
  const hooks = new Hooks((_err, label) => errors.push(label));
  const asked: number[] = [];
  hooks.add('answered', () => {}, { tensors: true });
  hooks.add('answered', () => {}, { tensors: (x) => asked.push(nOf(x)) < 0 });
  hooks.add('executed', () => {}, {
    label: 'broken',
    tensors: () => {
      throw new Error('boom');
    },
  });
  assert.equal(hooks.tensorsFor(call(1)), true);
  assert.equal(hooks.tensorsFor(call(2)), true);
  assert.deepEqual(asked, [1, 2]);
  assert.deepEqual(errors, ['broken (tensor tap)']);

  const only = new Hooks(() => {});
  only.add('answered', () => {}, {
    tensors: () => {
      throw new Error('boom');
    },
  });
  assert.equal(only.tensorsFor(call(1)), false);
});
