import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleepMsFor } from '../../../src/backend/ort/hooks.js';
import { cleanReason } from '../../../src/backend/ort/reasons.js';
import { warmupPlans } from '../../../src/backend/ort/warmup.js';
import { packBytes, tensorToWire, transferList, unpackBytes, wireToTensor } from '../../../src/backend/ort/wire.js';
import { contractSpec } from '../../contract/backend.contract.js';

describe('ort backend helpers', () => {
  it('packs BYTES elements into one buffer and views them back', () => {
    const pool = new Uint8Array([9, 1, 2, 3, 9]);
    const items = [pool.subarray(1, 3), new Uint8Array(0), pool.subarray(3, 4)];
    const packed = packBytes(items);
    assert.deepEqual([...packed.offsets], [0, 2, 2, 3]);
    assert.deepEqual(
      unpackBytes(packed).map((e) => [...e]),
      [[1, 2], [], [3]],
    );
    const wire = tensorToWire({ name: 'b', datatype: 'BYTES', shape: [3], data: items });
    assert.equal(transferList([wire]).length, 2);
    assert.deepEqual(
      (wireToTensor(wire).data as Uint8Array[]).map((e) => [...e]),
      [[1, 2], [], [3]],
    );
  });

  it('copies a view once and transfers an owned array as is', () => {
    const owned = new Int32Array([1, 2]);
    assert.equal(tensorToWire({ name: 'a', datatype: 'INT32', shape: [2], data: owned }).data, owned);
    const view = new Int32Array([0, 1, 2]).subarray(1);
    const w = tensorToWire({ name: 'a', datatype: 'INT32', shape: [2], data: view });
    assert.notEqual(w.data, view);
    assert.deepEqual([...(w.data as Int32Array)], [1, 2]);
    assert.throws(() => tensorToWire({ name: 'a', datatype: 'INT32', shape: [3], data: owned }), /needs 3/);
  });

  it('builds warm-up plans: configured samples get the batch dim, else one zero sample', () => {
    const spec = contractSpec('add-one', '/m.onnx');
    assert.deepEqual(warmupPlans({ ...spec, inputs: [{ name: 'x', datatype: 'BYTES', dims: [-1, 3] }] }), [
      {
        name: 'generated',
        count: 1,
        inputs: [{ name: 'x', datatype: 'BYTES', shape: [1, 1, 3], kind: 'zero' }],
        generated: true,
      },
    ]);
    assert.deepEqual(warmupPlans({ ...spec, maxBatchSize: 0 })[0]!.inputs[0]!.shape, [4]);
    const warmup = [
      {
        name: 's',
        batchSize: 4,
        count: 3,
        inputs: [{ name: 'x', datatype: 'FP32' as const, dims: [4], kind: 'random' as const }],
      },
    ];
    assert.deepEqual(warmupPlans({ ...spec, warmup })[0], {
      name: 's',
      count: 3,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [4, 4], kind: 'random' }],
    });
    assert.deepEqual(warmupPlans({ ...spec, inputs: [] }), []);
  });

  it('parses the sleep hook setting and strips paths from ORT messages', () => {
    assert.equal(sleepMsFor('a', '50'), 50);
    assert.equal(sleepMsFor('a', 'b=10, a=20'), 20);
    assert.equal(sleepMsFor('a', 'b=10'), 0);
    assert.equal(
      cleanReason('Load model from /srv/models/a/1/model.onnx failed:Protobuf parsing failed.'),
      'Protobuf parsing failed.',
    );
    assert.equal(cleanReason('cannot open /srv/models/a/1/weights.bin here'), 'cannot open weights.bin here');
  });
});
