// The load-time warm-up never fails a valid model (issue #21 item 1): a graph that casts its string
// input to numbers (Triton's `simple_string`, the QA `*_object` models) loads with the generated
// warm-up ("0" for strings), a generated warm-up that still fails only warns, and a configured
// `model_warmup` that fails still fails the load, as in Triton.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OrtBackend } from '../../../src/backend/ort/index.js';
import type { InstanceEvent } from '../../../src/backend/types.js';
import { InferError, type ModelVersionSpec, type Tensor } from '../../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../../src/onnx/index.js';
import { contractSpec } from '../../contract/backend.contract.js';
import { writeModel } from './models.js';

const backend = new OrtBackend({ restartDelaysMs: [0, 30] });
after(() => backend.close());

/** y = Cast<INT64>(x): strings that are not integers make onnxruntime fail ("stoll"). */
const castPath = writeModel(
  buildModel(
    new GraphBuilder('cast')
      .input('x', 'BYTES', ['N', 2])
      .node('Cast', ['x'], ['y'], { to: 7 })
      .output('y', 'INT64', ['N', 2]),
  ),
);

function castSpec(model: string, over: Partial<ModelVersionSpec> = {}): ModelVersionSpec {
  const base = contractSpec('add-one', castPath);
  return {
    ...base,
    model,
    inputs: [{ ...base.inputs[0]!, name: 'x', datatype: 'BYTES', dims: [2] }],
    outputs: [{ ...base.outputs[0]!, name: 'y', datatype: 'INT64', dims: [2] }],
    bytesAsText: true,
    ...over,
  };
}

const text = (...items: string[]): Tensor => ({
  name: 'x',
  datatype: 'BYTES',
  shape: [1, items.length],
  data: items.map((s) => new TextEncoder().encode(s)),
});

describe('generated warm-up', () => {
  it('loads a model that casts its strings to numbers, which then serves', async () => {
    const events: InstanceEvent[] = [];
    const m = await backend.load(castSpec('strings'), { onEvent: (e) => events.push(e) });
    try {
      const r = await m.instances[0]!.execute([text('12', '-3')]);
      assert.deepEqual([...(r.outputs[0]!.data as BigInt64Array)], [12n, -3n]);
      assert.equal(events.filter((e) => e.type === 'warning').length, 0, 'the generated "0" sample passed');
    } finally {
      await m.dispose();
    }
  });

  it('a generated sample that still fails only warns, and the model serves', async () => {
    const events: InstanceEvent[] = [];
    // A spec shape the graph refuses makes the generated sample fail inside onnxruntime.
    const odd = castSpec('odd');
    const spec = { ...odd, inputs: [{ ...odd.inputs[0]!, dims: [3] }] };
    const m = await backend.load(spec, { onEvent: (e) => events.push(e) });
    try {
      const warning = events.find((e) => e.type === 'warning');
      assert.ok(warning?.type === 'warning');
      assert.match(warning.message, /^the generated warm-up failed, so the model starts cold: /);
      const r = await m.instances[0]!.execute([text('7', '8')]);
      assert.deepEqual([...(r.outputs[0]!.data as BigInt64Array)], [7n, 8n]);
    } finally {
      await m.dispose();
    }
  });

  it('a configured warm-up that fails still fails the load, naming the sample', async () => {
    const warmup: ModelVersionSpec['warmup'] = [
      // zero_data: empty strings, which no cast reads as a number (random text could, by chance, be digits).
      { name: 'words', batchSize: 1, count: 1, inputs: [{ name: 'x', datatype: 'BYTES', dims: [2], kind: 'zero' }] },
    ];
    await assert.rejects(
      backend.load(castSpec('configured', { warmup })),
      (err: unknown) =>
        err instanceof InferError &&
        err.code === 'IG_ERR_MODEL_LOAD' &&
        /^failed to load model 'configured' version 1: warm-up sample 'words' failed: /.test(err.message),
    );
  });
});
