/**
 * The example repository's generated models: each loads in onnxruntime with the signature its
 * config declares and computes what it should. Missing models are built first (as npm test does).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { SYNTHETIC_MODELS } from '../../../examples/synthetic/models.js';
import { buildExamples, PADDLEOCR_MODELS } from '../../../scripts/build-examples.js';

const path = (name: string) => `examples/models/${name}/1/model.onnx`;

async function session(name: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path(name));
}

function shapeOf(meta: ort.InferenceSession.ValueMetadata): ReadonlyArray<number | string> {
  assert.ok(meta.isTensor);
  return meta.isTensor ? meta.shape : [];
}

before(async () => {
  const names = [...SYNTHETIC_MODELS.map((m) => m.name), ...PADDLEOCR_MODELS.map((m) => m.name), 'digits'];
  if (names.some((n) => !existsSync(path(n)))) await buildExamples(false, () => {});
});

describe('build-examples', () => {
  it('skips every model when nothing changed', async () => {
    await buildExamples(false, () => {}); // rebuilds whatever sources changed since the last build
    const lines: string[] = [];
    await buildExamples(false, (l) => lines.push(l));
    assert.equal(lines.length, SYNTHETIC_MODELS.length + PADDLEOCR_MODELS.length + 1);
    for (const l of lines) assert.match(l, /: up to date$/);
  });
});

describe('example synthetic models', () => {
  it('simple adds and subtracts INT32 [batch, 16]', async () => {
    const s = await session('simple');
    const a = Int32Array.from({ length: 32 }, (_, i) => i);
    const b = Int32Array.from({ length: 32 }, () => 1);
    const out = await s.run({
      INPUT0: new ort.Tensor('int32', a, [2, 16]),
      INPUT1: new ort.Tensor('int32', b, [2, 16]),
    });
    await s.release();
    assert.deepEqual(
      Array.from(out['OUTPUT0']!.data as Int32Array),
      Array.from(a, (v) => v + 1),
    );
    assert.deepEqual(
      Array.from(out['OUTPUT1']!.data as Int32Array),
      Array.from(a, (v) => v - 1),
    );
  });

  it('add_sub_fp32 has a symbolic batch dim so auto-complete can batch it', async () => {
    const s = await session('add_sub_fp32');
    assert.deepEqual(shapeOf(s.inputMetadata[0]!), ['batch', 4]);
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]);
    const out = await s.run({ INPUT0: x, INPUT1: x });
    await s.release();
    assert.deepEqual(Array.from(out['OUTPUT0']!.data as Float32Array), [2, 4, 6, 8]);
    assert.deepEqual(Array.from(out['OUTPUT1']!.data as Float32Array), [0, 0, 0, 0]);
  });

  it('identity_bytes returns its strings', async () => {
    const s = await session('identity_bytes');
    const out = await s.run({ INPUT0: new ort.Tensor('string', ['x', 'yz'], [1, 2]) });
    await s.release();
    assert.deepEqual(out['OUTPUT0']!.data, ['x', 'yz']);
  });

  it('identity_all declares one input and output per datatype listed in its config', async () => {
    const s = await session('identity_all');
    const config = readFileSync('examples/models/identity_all/config.pbtxt', 'utf8');
    const declared = [...config.matchAll(/name: "(INPUT_\w+)"/g)].map((m) => m[1]);
    assert.deepEqual([...s.inputNames].sort(), declared.sort());
    assert.equal(s.outputNames.length, declared.length);
    await s.release();
  });
});

describe('example PaddleOCR models', () => {
  it('det maps a 1×3×64×64 image to a 1×1×64×64 probability map', async () => {
    const s = await session('paddleocr_det');
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(3 * 64 * 64).fill(0.5), [1, 3, 64, 64]) });
    await s.release();
    const map = out['sigmoid_0.tmp_0']!;
    assert.deepEqual(map.dims, [1, 1, 64, 64]);
    for (const v of map.data as Float32Array) assert.ok(v >= 0 && v <= 1);
  });

  it('rec gives per-step distributions over 6625 classes for a 48×160 line', async () => {
    const s = await session('paddleocr_rec');
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(2 * 3 * 48 * 160), [2, 3, 48, 160]) });
    await s.release();
    const p = out['softmax_11.tmp_0']!;
    assert.equal(p.dims.length, 3);
    assert.equal(p.dims[0], 2);
    assert.equal(p.dims[2], 6625);
    const first = (p.data as Float32Array).subarray(0, 6625);
    assert.ok(Math.abs(first.reduce((a, v) => a + v, 0) - 1) < 1e-3);
  });

  it('cls gives two direction probabilities for a 48×192 crop', async () => {
    const s = await session('paddleocr_cls');
    assert.deepEqual(shapeOf(s.outputMetadata[0]!).length, 2);
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(3 * 48 * 192), [1, 3, 48, 192]) });
    await s.release();
    const p = out['softmax_0.tmp_0']!;
    assert.deepEqual(p.dims, [1, 2]);
    const [a, b] = p.data as Float32Array;
    assert.ok(Math.abs(a! + b! - 1) < 1e-4);
  });
});
