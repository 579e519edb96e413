// Full PaddleOCR served as the `ocr` ensemble (examples/models/ocr: TypeScript steps in worker
// threads around the three ONNX models): PNG pages rendered with ImageMagick (test/helpers/
// ocr-pages.ts, the pages the pipeline's own test reads) go in over HTTP binary and gRPC, their
// lines must come back exactly, in reading order, for at least 95% of them. Then the edges: a blank
// page, bytes that are no image, a page too large, too many lines, concurrent pages. Under CI=true
// a missing `convert` fails (never a skip).
//   CI=true npx tsx --test test/e2e/ocr.test.ts   (OCR_DEBUG=1 prints every page's lines)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  cropStep,
  decodeStep,
  flatBoxes,
  imageSize,
  MAX_LINES,
  packImages,
  quadsOf,
  recPrep,
  unpackImages,
} from '../../examples/ocr/serve.js';
import { ServerError } from '../../src/client/http-client.js';
import type { Tensor } from '../../src/core/index.js';
import type { Image } from '../../src/optimizer/data/image.js';
import {
  CONVERT,
  expectedLines,
  haveConvert,
  PAGES,
  type PageSpec,
  renderPng,
  scoreLines,
} from '../helpers/ocr-pages.js';
import { startTestServer, type TestServer } from './server.js';

/** The ensemble and its seven steps, in step order. */
const MODELS = [
  'ocr_detect_pre',
  'paddleocr_det',
  'ocr_crop',
  'paddleocr_cls',
  'ocr_rec_prep',
  'paddleocr_rec',
  'ocr_decode',
  'ocr',
];
const image = (bytes: Uint8Array): Tensor => ({ name: 'IMAGE', datatype: 'BYTES', shape: [1], data: [bytes] });

/** What the ensemble answered for one page. */
interface Reading {
  text: string[];
  scores: Float32Array;
  boxes: Float32Array;
  angles: Int32Array;
  shapes: Record<string, number[]>;
}

function reading(outputs: Tensor[]): Reading {
  const out = (name: string) => {
    const t = outputs.find((o) => o.name === name);
    assert.ok(t, `no output ${name}`);
    return t;
  };
  const decoder = new TextDecoder();
  return {
    text: (out('TEXT').data as Uint8Array[]).map((b) => decoder.decode(b)),
    scores: out('SCORES').data as Float32Array,
    boxes: out('BOXES').data as Float32Array,
    angles: out('ANGLES').data as Int32Array,
    shapes: Object.fromEntries(outputs.map((o) => [o.name, o.shape])),
  };
}

let s: TestServer;
const http = async (bytes: Uint8Array) =>
  reading((await s.http.infer('ocr', [image(bytes)], { binary: true })).outputs);
const grpc = async (bytes: Uint8Array) => reading((await s.grpc.infer('ocr', [image(bytes)])).outputs);

/** An all-white PNG: a page without text. */
function blankPng(width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  png.data.fill(255);
  return new Uint8Array(PNG.sync.write(png));
}

describe('the served ocr ensemble', {
  skip: process.env.CI !== 'true' && !haveConvert && 'imagemagick not installed',
}, () => {
  before(async () => {
    s = await startTestServer({ controlMode: 'explicit', loadModels: MODELS });
  });
  after(() => s?.close());
  /** What each page read alone over HTTP: the reference for the concurrent test. */
  const alone = new Map<PageSpec, string[]>();

  it('reads at least 95% of 60 rendered lines exactly, in order, over HTTP binary and gRPC alike', async () => {
    assert.ok(haveConvert, `ImageMagick convert is required at ${CONVERT} (apt-get install -y imagemagick)`);
    let right = 0;
    let total = 0;
    let flipped = 0;
    let upsideDown = 0;
    let turnedWrongly = 0;
    for (const [i, page] of PAGES.entries()) {
      const png = renderPng(page);
      const h = await http(png);
      const g = await grpc(png);
      assert.deepEqual(g.text, h.text, `page ${i}: gRPC and HTTP read differently`);
      alone.set(page, h.text);
      const n = h.text.length;
      assert.deepEqual(
        [h.shapes['TEXT'], h.shapes['SCORES'], h.shapes['BOXES'], h.shapes['ANGLES']],
        [[n], [n], [n, 8], [n]],
      );
      assert.ok(
        h.scores.every((c) => c >= 0.5 && c <= 1.0001),
        `page ${i}: confidences ${Array.from(h.scores)}`,
      );
      // Boxes lie on the page, top to bottom (every page stacks its lines vertically).
      const size = imageSize(png)!;
      const quads = quadsOf(h.boxes);
      assert.ok(
        quads.every((q) => q.every(([x, y]) => x >= 0 && y >= 0 && x < size.width && y < size.height)),
        `page ${i}: a box off the ${size.width}×${size.height} page`,
      );
      assert.ok(
        quads.every((q, k) => k === 0 || q[0][1] > quads[k - 1]![0][1]),
        `page ${i}: boxes out of reading order`,
      );
      const truth = expectedLines(page);
      const score = scoreLines(truth, h.text);
      right += score.right;
      total += score.total;
      if (page.rotate180) {
        upsideDown += truth.length;
        flipped += h.angles.filter((a) => a === 180).length;
      } else turnedWrongly += h.angles.filter((a) => a !== 0).length;
      if (process.env.OCR_DEBUG || score.right < truth.length || n !== truth.length)
        console.log(`page ${i} (${page.font} ${page.size}): ${score.right}/${truth.length}`, JSON.stringify(h.text));
    }
    const lines = PAGES.reduce((sum, p) => sum + p.lines.length, 0);
    console.log(
      `ocr ensemble: ${right}/${total} lines exact (${((right / total) * 100).toFixed(1)}%) over ${PAGES.length} images, ${lines} rendered lines; upside-down lines read turned over: ${flipped}/${upsideDown}`,
    );
    assert.ok(lines >= 40 && upsideDown > 0, `only ${lines} lines rendered`);
    assert.ok(flipped >= upsideDown - 1, `only ${flipped} of ${upsideDown} upside-down lines were turned over`);
    assert.ok(turnedWrongly <= 1, `${turnedWrongly} lines of upright pages were read turned over`);
    assert.ok(right / total >= 0.95, `${right}/${total} lines exact: below 95%`);
  });

  it('four pages at once over each protocol read as they read alone', async () => {
    const pages = [PAGES[0]!, PAGES[4]!, PAGES[8]!, PAGES[12]!];
    const pngs = pages.map((p) => renderPng(p));
    for (const [k, p] of pages.entries()) if (!alone.has(p)) alone.set(p, (await http(pngs[k]!)).text);
    const [viaHttp, viaGrpc] = await Promise.all([
      Promise.all(pngs.map((png) => http(png))),
      Promise.all(pngs.map((png) => grpc(png))),
    ]);
    let right = 0;
    let total = 0;
    pages.forEach((p, k) => {
      assert.deepEqual(viaHttp[k]!.text, alone.get(p), `page ${k} over HTTP`);
      assert.deepEqual(viaGrpc[k]!.text, alone.get(p), `page ${k} over gRPC`);
      const score = scoreLines(expectedLines(p), viaHttp[k]!.text);
      right += score.right;
      total += score.total;
    });
    assert.ok(right / total >= 0.95, `${right}/${total} lines exact`);
  });

  it('a blank page answers an empty list of lines, over HTTP binary and gRPC', async () => {
    const blank = blankPng(640, 480);
    for (const r of [await http(blank), await grpc(blank)]) {
      assert.deepEqual(r.text, []);
      assert.deepEqual([r.scores.length, r.boxes.length, r.angles.length], [0, 0, 0]);
      assert.deepEqual(r.shapes['BOXES'], [0, 8]);
    }
    // A tiny page too (the detector's smallest input is 32×32).
    assert.deepEqual((await http(blankPng(3, 2))).text, []);
  });

  it('bytes that are no image, and a page too large: 400 naming the step; the server keeps serving', async () => {
    const refused = async (bytes: Uint8Array, why: RegExp) => {
      await assert.rejects(s.http.infer('ocr', [image(bytes)], { binary: true }), (e: unknown) => {
        assert.ok(e instanceof ServerError, String(e));
        assert.equal(e.status, 400);
        assert.match(e.message, /in ensemble 'ocr', step 1 \(model 'ocr_detect_pre'\)/);
        assert.match(e.message, why);
        assert.doesNotMatch(e.message, /\/work\/|\/tmp\/|at .*\.ts:\d+/);
        return true;
      });
    };
    await refused(new TextEncoder().encode('definitely not a PNG'), /IMAGE: not an image file/);
    const png = renderPng(PAGES[13]!);
    await refused(png.subarray(0, 200), /IMAGE: cannot decode this PNG file/);
    // A header that claims 20000×20000 pixels: refused from the header, before any decoding.
    const huge = Buffer.from(png.subarray(0, 33));
    huge.writeUInt32BE(20000, 16);
    huge.writeUInt32BE(20000, 20);
    await refused(huge, /IMAGE is a 20000×20000 PNG, larger than the 16777216 pixels/);
    await assert.rejects(s.grpc.infer('ocr', [image(new Uint8Array(0))]), /IMAGE: not an image file/);
    assert.deepEqual((await http(png)).text, PAGES[13]!.lines);
  });

  it(`a page of more than ${MAX_LINES} lines: 400 naming the count and the limit`, async () => {
    // 5 columns of 14 short lines, well apart: 70 separate boxes.
    const args = ['-background', 'white', '-fill', 'black', '-font', 'DejaVu-Sans', '-pointsize', '18'];
    for (let c = 0; c < 5; c++) {
      args.push('(');
      for (let r = 0; r < 14; r++) args.push(`label:No${c * 14 + r + 10}`);
      args.push('-splice', '0x22', '-append', '-splice', '60x0', ')');
    }
    args.push('+append', '-bordercolor', 'white', '-border', '30', 'png:-');
    const page = execFileSync(CONVERT, args);
    await assert.rejects(s.http.infer('ocr', [image(page)]), (e: unknown) => {
      assert.ok(e instanceof ServerError && e.status === 400, String(e));
      assert.match(e.message, /step 3 \(model 'ocr_crop'\).*the image has 70 text lines, more than the 64 read/);
      return true;
    });
  });
});

describe('the served steps, as pure functions', () => {
  const page = (w: number, h: number): Image => ({
    width: w,
    height: h,
    channels: 1,
    data: new Float32Array(w * h).fill(1),
  });
  const map = (w: number, h: number, blobs: [number, number, number, number][]) => {
    const data = new Float32Array(w * h);
    for (const [x0, y0, x1, y1] of blobs) for (let y = y0; y <= y1; y++) data.fill(0.9, y * w + x0, y * w + x1 + 1);
    return { data, dims: [1, 1, h, w] };
  };

  it('reads image sizes from PNG and JPEG headers', () => {
    const png = blankPng(37, 11);
    assert.deepEqual(imageSize(png), { format: 'PNG', width: 37, height: 11 });
    const rgba = { data: Buffer.alloc(53 * 29 * 4, 255), width: 53, height: 29 };
    assert.deepEqual(imageSize(jpeg.encode(rgba, 90).data), { format: 'JPEG', width: 53, height: 29 });
    assert.equal(imageSize(new TextEncoder().encode('GIF89a........................')), undefined);
  });

  it('packs crops of different sizes and unpacks them; refuses dims that do not fit', () => {
    const a: Image = { width: 2, height: 1, channels: 1, data: Float32Array.of(1, 2) };
    const b: Image = { width: 1, height: 2, channels: 3, data: Float32Array.of(3, 4, 5, 6, 7, 8) };
    const packed = packImages([a, b]);
    assert.deepEqual(Array.from(packed.dims), [2, 1, 1, 1, 2, 3]);
    const back = unpackImages(packed);
    assert.deepEqual(
      back.map((i) => [i.width, i.height, i.channels, Array.from(i.data)]),
      [
        [2, 1, 1, [1, 2]],
        [1, 2, 3, [3, 4, 5, 6, 7, 8]],
      ],
    );
    assert.throws(() => unpackImages({ data: packed.data.subarray(1), dims: packed.dims }), /does not fit CROPS/);
    assert.throws(() => unpackImages({ data: packed.data, dims: packed.dims.subarray(0, 3) }), /CROPS holds 8/);
  });

  it('no line found: one blank row for the models, nothing nominated, nothing read', () => {
    const out = cropStep(map(64, 32, []), page(64, 32));
    assert.equal(out.lines, 0);
    assert.deepEqual([out.cls.dims, out.boxes.length, out.scores.length], [[1, 3, 48, 192], 0, 0]);
    // Even a classifier sure the blank row is upside down nominates nothing.
    const prep = recPrep(unpackImages(out.crops), Float32Array.of(0.01, 0.99), out.lines);
    assert.deepEqual([prep.rec.dims[0], prep.candidates.length], [1, 0]);
    const probs = { data: new Float32Array(1 * 40 * 3), dims: [1, 40, 3] };
    assert.deepEqual(decodeStep(probs, ['', 'a', ' '], prep.candidates, out.boxes, out.scores), []);
  });

  it('boxes in reading order, flip candidates appended, the more confident reading kept', () => {
    const out = cropStep(
      map(200, 100, [
        [20, 60, 120, 70],
        [20, 20, 150, 30],
      ]),
      page(400, 200),
    );
    assert.equal(out.lines, 2);
    assert.ok(quadsOf(out.boxes)[0]![0][1] < quadsOf(out.boxes)[1]![0][1], 'upper line first');
    assert.deepEqual(Array.from(flatBoxes(quadsOf(out.boxes))), Array.from(out.boxes));
    // Line 1 leans to 180°: read twice, its turned reading (row 2) more confident.
    const prep = recPrep(unpackImages(out.crops), Float32Array.of(0.9, 0.1, 0.4, 0.6), out.lines);
    assert.deepEqual([prep.rec.dims[0], Array.from(prep.candidates)], [3, [1]]);
    // Three rows of two steps over classes (blank, a, b): "a" 0.9, "b" 0.6, "a" 0.95.
    const row = (c: number, p: number) => [c === 0 ? p : 0, c === 1 ? p : 0, c === 2 ? p : 0, 1, 0, 0];
    const probs = { data: Float32Array.from([...row(1, 0.9), ...row(2, 0.6), ...row(1, 0.95)]), dims: [3, 2, 3] };
    const lines = decodeStep(probs, ['', 'a', 'b'], prep.candidates, out.boxes, out.scores);
    assert.deepEqual(
      lines.map((l) => [l.text, l.angle]),
      [
        ['a', 0],
        ['a', 180],
      ],
    );
    assert.throws(
      () => decodeStep(probs, ['', 'a', 'b'], Int32Array.of(5), out.boxes, out.scores),
      /CANDIDATES names lines outside 0\.\.1/,
    );
  });

  it(`refuses more than ${MAX_LINES} lines`, () => {
    const blobs: [number, number, number, number][] = [];
    for (let i = 0; i < MAX_LINES + 1; i++)
      blobs.push([10 + (i % 5) * 80, 5 + Math.floor(i / 5) * 12, 60 + (i % 5) * 80, 10 + Math.floor(i / 5) * 12]);
    assert.throws(() => cropStep(map(420, 170, blobs), page(420, 170)), /has 65 text lines, more than the 64/);
    assert.equal(cropStep(map(420, 170, blobs.slice(1)), page(420, 170)).lines, 64);
  });
});
