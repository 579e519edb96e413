import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import { optimizeGraph } from '../../../../src/optimizer/convert/graph-opt.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';
import { buildConvNet, rng } from '../models.js';

async function run(model: ModelProto, x: ort.Tensor): Promise<Float32Array> {
  // Level 'disabled' so the comparison runs exactly the graph that was saved.
  const s = await createSession(model, { level: 'disabled' });
  const y = (await s.run({ x }))[s.outputNames[0]!]!.data as Float32Array;
  await s.release();
  return y;
}

describe('graph optimization', () => {
  const next = rng(8);
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * 64 }, () => next()),
    [3, 1, 8, 8],
  );

  for (const level of ['basic', 'extended']) {
    it(`saves level '${level}' as a model that loads and matches`, async () => {
      const model = buildConvNet();
      const r = await optimizeGraph(model, level);
      const [a, b] = [await run(model, x), await run(r.model, x)];
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5);
      if (level === 'extended') assert.ok(r.newOps['FusedConv'] || r.newOps['FusedGemm'], JSON.stringify(r.newOps));
    });
  }

  it("refuses 'all' with the reason", async () => {
    await assert.rejects(optimizeGraph(buildConvNet(), 'all'), /only valid here/);
  });
});
