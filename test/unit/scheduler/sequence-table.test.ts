import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit, directRows, idleSequences, oldestBatch, pickFreeSlot } from '../../../src/scheduler/sequence-table.js';

describe('sequence table decisions', () => {
  it('admits: joins an open sequence, refuses a non-START for an unknown one, else slot or backlog', () => {
    assert.deepEqual(admit(true, false, undefined), { kind: 'join' });
    assert.deepEqual(admit(true, true, 3), { kind: 'join' });
    assert.deepEqual(admit(false, false, 0), { kind: 'refuse-no-start' });
    assert.deepEqual(admit(false, true, 2), { kind: 'slot', slot: 2 });
    assert.deepEqual(admit(false, true, undefined), { kind: 'backlog' });
  });

  it('picks the lowest free position, spreading sequences over instances', () => {
    const slots = [
      { instance: 0, index: 0, taken: true },
      { instance: 0, index: 1, taken: false },
      { instance: 1, index: 0, taken: false },
      { instance: 1, index: 1, taken: false },
    ];
    assert.equal(pickFreeSlot(slots), 2);
    slots[2]!.taken = true;
    assert.equal(pickFreeSlot(slots), 1);
    assert.equal(pickFreeSlot(slots.map((s) => ({ ...s, taken: true }))), undefined);
  });

  it('finds idle sequences at an injected time and says when the next goes idle', () => {
    const views = [
      { id: 1, busy: false, lastMs: 0 },
      { id: 2, busy: false, lastMs: 600 },
      { id: 3, busy: true, lastMs: 0 },
    ];
    assert.deepEqual(idleSequences(views, 999, 1000), { expired: [], wakeAt: 1000 });
    assert.deepEqual(idleSequences(views, 1000, 1000), { expired: [1], wakeAt: 1600 });
    assert.deepEqual(idleSequences([], 5, 1000), { expired: [], wakeAt: Number.POSITIVE_INFINITY });
  });

  it('direct: rows by slot position, padding for empty slots, trailing empties dropped', () => {
    const r = (at?: number, shapeKey = 'a') => ({ at, shapeKey });
    assert.equal(directRows([r(), r()]), undefined);
    assert.deepEqual(directRows([r(), r(5), r(), r(6), r()]), [null, 1, null, 3]);
    // A head of other shapes waits for a batch of its own.
    assert.deepEqual(directRows([r(1), r(2, 'b'), r(3)]), [0, null, 2]);
  });

  it('oldest: runs when full, at a preferred size or after the delay; else says when', () => {
    const h = (at?: number) => ({ at, shapeKey: 'a' });
    assert.deepEqual(oldestBatch([h(), h()], 4, [], 10, 0), { kind: 'idle' });
    assert.deepEqual(oldestBatch([h(5), h(3)], 4, [], 10, 4), { kind: 'wait', wakeAt: 13 });
    assert.deepEqual(oldestBatch([h(5), h(3)], 4, [2], 10, 4), { kind: 'run', slots: [1, 0] });
    assert.deepEqual(oldestBatch([h(5), h(3)], 4, [], 10, 13), { kind: 'run', slots: [1, 0] });
    assert.deepEqual(oldestBatch([h(5), h(3), h(4)], 2, [], 10, 0), { kind: 'run', slots: [1, 2] });
  });
});
