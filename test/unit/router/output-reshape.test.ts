// Output `reshape` with variable dims (issue #21 item 4): the client sees the config's `dims`, its
// -1 dims filled from the model's actual shape, as Triton answers its QA tests test_ii1 / test_ii3.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientDims } from '../../../src/router/outputs.js';

test("variable dims pair with reshape's variable dims, in order", () => {
  // test_ii3: dims [1, -1, 1], reshape [-1]; the model answers [4] → the client sees [1, 4, 1].
  assert.deepEqual(clientDims([1, -1, 1], [-1], [4]), [1, 4, 1]);
  assert.deepEqual(clientDims([-1, 3, -1], [-1, -1, 3], [2, 5, 3]), [2, 3, 5]);
});

test('a single variable dim is what the element count leaves when the dims do not pair up', () => {
  // test_ii1: dims [-1, 4, 5, 6], reshape [8, 5, 1, 6] (no variable dim); the model answers [8, 5, 1, 6].
  assert.deepEqual(clientDims([-1, 4, 5, 6], [8, 5, 1, 6], [8, 5, 1, 6]), [2, 4, 5, 6]);
});

test('fixed dims are used as they are; no fitting shape gives undefined', () => {
  assert.deepEqual(clientDims([2, 3], [6], [6]), [2, 3]);
  assert.equal(clientDims([-1, -1], [6], [6]), undefined);
  assert.equal(clientDims([-1, 4], [7], [7]), undefined);
});
