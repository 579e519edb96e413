// The memory budget's pure decisions: which versions make room, when a load waits or is refused,
// the estimate before a first load, the on-demand back-off, and the refusal texts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { pinnedParameter } from '../../../src/config/residency.js';
import { InferError } from '../../../src/core/errors.js';
import { ModelConfigSchema, ModelParameterSchema } from '../../../src/gen/model_config_pb.js';
import {
  backoffMs,
  estimateNeed,
  evictionOrder,
  inBackoff,
  nextFailure,
  noRoomText,
  planRoom,
  planSettle,
  type ResidentVersion,
  tooLargeText,
} from '../../../src/repository/residency.js';

const v = (model: string, bytes: number, lastUsed: number, extra: Partial<ResidentVersion> = {}): ResidentVersion => ({
  model,
  version: 1,
  bytes,
  lastUsed,
  pinned: false,
  busy: false,
  ...extra,
});
const names = (rows: readonly ResidentVersion[]) => rows.map((r) => r.model);

describe('memory budget: planRoom', () => {
  it('fits without evicting while there is room', () => {
    const plan = planRoom({
      budget: 300,
      need: 100,
      floor: 80,
      reserved: 0,
      resident: [v('a', 100, 1), v('b', 100, 2)],
    });
    assert.deepEqual(plan, { kind: 'fit', evict: [] });
  });

  it('evicts least recently used first, only as many as needed', () => {
    const resident = [v('a', 100, 5), v('b', 100, 1), v('c', 100, 3)];
    const plan = planRoom({ budget: 300, need: 150, floor: 100, reserved: 0, resident });
    assert.equal(plan.kind, 'fit');
    assert.deepEqual(names(plan.kind === 'fit' ? plan.evict : []), ['b', 'c']);
  });

  it('never picks pinned or busy versions', () => {
    const resident = [v('a', 100, 1, { pinned: true }), v('b', 100, 2, { busy: true }), v('c', 100, 9)];
    const plan = planRoom({ budget: 300, need: 100, floor: 100, reserved: 0, resident });
    assert.deepEqual(names(plan.kind === 'fit' ? plan.evict : []), ['c']);
  });

  it('counts other loads in progress as used', () => {
    const plan = planRoom({ budget: 300, need: 100, floor: 100, reserved: 150, resident: [v('a', 100, 1)] });
    assert.deepEqual(names(plan.kind === 'fit' ? plan.evict : []), ['a']);
  });

  it('waits when busy versions or other loads hold the room, refuses when pinned ones do', () => {
    const busy = [v('a', 200, 1, { busy: true }), v('b', 100, 2)];
    assert.deepEqual(planRoom({ budget: 300, need: 250, floor: 200, reserved: 0, resident: busy }), { kind: 'wait' });
    assert.deepEqual(planRoom({ budget: 300, need: 250, floor: 200, reserved: 200, resident: [] }), { kind: 'wait' });
    const pinned = [v('a', 200, 1, { pinned: true }), v('b', 100, 2)];
    assert.deepEqual(planRoom({ budget: 300, need: 150, floor: 100, reserved: 0, resident: pinned }), {
      kind: 'refuse',
      why: 'pinned',
    });
  });

  it('refuses a version whose floor is above the whole budget; plans an estimate above it as the whole budget', () => {
    assert.deepEqual(planRoom({ budget: 300, need: 400, floor: 301, reserved: 0, resident: [] }), {
      kind: 'refuse',
      why: 'too-large',
    });
    const plan = planRoom({ budget: 300, need: 400, floor: 290, reserved: 0, resident: [v('a', 10, 1)] });
    assert.deepEqual(names(plan.kind === 'fit' ? plan.evict : []), ['a']);
  });

  it('orders ties by size (larger first), then by name', () => {
    const order = evictionOrder([v('b', 100, 1), v('a', 100, 1), v('c', 200, 1)]);
    assert.deepEqual(names(order), ['c', 'a', 'b']);
  });
});

describe('memory budget: planSettle (after a load measured more than reserved)', () => {
  it('evicts idle versions until the budget holds; reports what stays above it', () => {
    const resident = [v('a', 200, 1), v('b', 200, 2, { busy: true }), v('c', 100, 3)];
    assert.deepEqual(names(planSettle(400, 0, resident).evict), ['a']);
    assert.deepEqual(planSettle(400, 0, resident).over, 0);
    const pinned = [v('a', 300, 1, { pinned: true }), v('b', 200, 2, { busy: true })];
    assert.deepEqual(planSettle(400, 0, pinned), { evict: [], over: 100 });
    assert.deepEqual(planSettle(1000, 0, resident), { evict: [], over: 0 });
  });
});

describe('memory budget: estimates', () => {
  it('needs the smallest measured size, else the file times the instances times 1.25; the floor is the file', () => {
    assert.deepEqual(estimateNeed(800, 2, undefined), { need: 2000, floor: 1600 });
    assert.deepEqual(
      estimateNeed(800, 2, 9000),
      { need: 9000, floor: 1600 },
      'a noisy measurement never raises the floor',
    );
    assert.deepEqual(estimateNeed(800, 0, undefined).floor, 800, 'at least one instance');
  });
});

describe('memory budget: on-demand back-off', () => {
  it('waits 1 s after a failure, doubling to 30 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    const first = nextFailure(undefined, new Error('x'), 100);
    assert.deepEqual({ failures: first.failures, retryAt: first.retryAt }, { failures: 1, retryAt: 1100 });
    assert.equal(inBackoff(first, 1099), true);
    assert.equal(inBackoff(first, 1100), false);
    assert.equal(inBackoff(undefined, 0), false);
    assert.equal(nextFailure(first, new Error('y'), 1100).retryAt, 3100);
  });
});

describe('memory budget: refusal texts', () => {
  it('a version larger than the budget names both sizes', () => {
    assert.equal(
      tooLargeText(3, 3 << 20, 1 << 20),
      'version 3 needs at least 3.0 MiB (3145728 bytes) (its model file), more than the whole model memory budget of 1.0 MiB (1048576 bytes)',
    );
  });

  it('no room names what is needed, the budget and what is resident, and why it stays', () => {
    const text = noRoomText(2, 150, 300, [v('a', 200, 1, { pinned: true }), v('b', 100, 2, { busy: true })], 50);
    assert.equal(
      text,
      'no room in the model memory budget: version 2 needs about 150 bytes, the budget is 300 bytes and 300 bytes is resident (a v1 200 bytes pinned, b v1 100 bytes busy), 50 bytes reserved by other loads; pinned and busy versions are not evicted',
    );
  });
});

describe("config parameter 'pinned'", () => {
  const cfg = (value?: string) =>
    create(ModelConfigSchema, {
      name: 'm',
      parameters: value === undefined ? {} : { pinned: create(ModelParameterSchema, { stringValue: value }) },
    });

  it('reads true/false spellings; absent is false', () => {
    assert.equal(pinnedParameter(cfg()), false);
    assert.equal(pinnedParameter(cfg('true')), true);
    assert.equal(pinnedParameter(cfg(' YES ')), true);
    assert.equal(pinnedParameter(cfg('0')), false);
  });

  it('refuses the load on a malformed value, naming the parameter', () => {
    assert.throws(
      () => pinnedParameter(cfg('always')),
      (e) =>
        e instanceof InferError &&
        e.code === 'IG_ERR_MODEL_LOAD' &&
        e.message === "failed to load 'm': parameter 'pinned' must be 'true' or 'false', got 'always'",
    );
  });
});
