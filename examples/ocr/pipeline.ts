/**
 * Full PaddleOCR in one function: det pre-processing → paddleocr_det → DB post-processing and
 * crops → paddleocr_cls → flip candidates → paddleocr_rec → CTC decode. The three networks are
 * callbacks, so the same composition runs on onnxruntime sessions in tests; nothing here does I/O.
 * The served ensemble (examples/models/ocr) runs the same steps cut at the networks (serve.ts).
 *
 * Two departures from PaddleOCR's own pipeline, both measured on rendered pages (see
 * test/integration/ocr-pipeline.test.ts): the recogniser reads crops with a margin around the box
 * (cropMargin; PaddleOCR's tight crops lose most spaces between words), and the classifier only
 * nominates lines for turning over while the recogniser's confidence decides (clsMode 'verify').
 * `{ cropMargin: 0, clsMode: 'threshold' }` gives PaddleOCR's behaviour.
 */
import type { Image } from '../../src/optimizer/data/image.js';
import { cropLines } from './crop.js';
import { applyCls, type ClsDecision, clsDecide, clsInput, flipCandidates, resolveFlips, withFlips } from './cls.js';
import { type DetBox, type DetPostOptions, detPostprocess } from './det-post.js';
import { type DetPreOptions, detPreprocess, type TensorData } from './det-pre.js';
import type { Quad } from './geometry.js';
import { type RecWidthOptions, recDecode, recInput, recWidth } from './rec.js';

export type { TensorData } from './det-pre.js';

/** One network call: named input tensors (batch first) → named output tensors. */
export type RunModel = (inputs: Record<string, TensorData>) => Promise<Record<string, TensorData>>;

export interface OcrModels {
  det: RunModel;
  /** Leave out to skip direction classification (every line read as it stands). */
  cls?: RunModel;
  rec: RunModel;
}

/** Tensor names of the three models, from examples/models/paddleocr_*\/config.pbtxt. */
export const PADDLEOCR_TENSORS = {
  det: { input: 'x', output: 'sigmoid_0.tmp_0' },
  cls: { input: 'x', output: 'softmax_0.tmp_0' },
  rec: { input: 'x', output: 'softmax_11.tmp_0' },
} as const;

/** Default crop margin, a fraction of each box's short side (see OcrOptions.cropMargin). */
export const CROP_MARGIN = 0.25;

export interface OcrOptions {
  det?: DetPreOptions & DetPostOptions;
  /**
   * How the direction classifier is used. 'verify' (default): lines it leans to 180° on are read
   * both ways and the more confident reading wins (see flipCandidates). 'threshold': PaddleOCR's
   * rule, a line is turned over when "180" scores above clsThresh, and read once.
   */
  clsMode?: 'verify' | 'threshold';
  /** Probability a "180" verdict needs before a line is turned over in 'threshold' mode (0.9). */
  clsThresh?: number;
  /** Lines per cls call (the served model's max_batch_size, 32). */
  clsBatch?: number;
  /** Lines per rec call (the served model's max_batch_size, 16). */
  recBatch?: number;
  rec?: RecWidthOptions;
  /**
   * Blank margin added around each box before cropping, as a fraction of the box's short side, on
   * every side. The recogniser reads spaces and edge characters reliably only with some background
   * around the ink, and the detector's unclipped boxes are tight (often cutting the first and last
   * strokes), so the crop takes a little more than the box. Default 0.25, tuned on rendered pages
   * (0.2–0.35 read alike; past 0.4 small fonts lose letters); 0 = PaddleOCR's crop.
   */
  cropMargin?: number;
  /** Lines read with a lower confidence are dropped (PaddleOCR's drop_score, 0.5). */
  dropScore?: number;
  tensors?: typeof PADDLEOCR_TENSORS;
}

export interface OcrLine {
  text: string;
  /** Recogniser confidence, 0..1. */
  confidence: number;
  /** Where the line is on the page, source pixels, PaddleOCR corner order. */
  box: Quad;
  /** Detector box score. */
  boxScore: number;
  /** 180 when the line was read turned over (upside down on the page), else 0. */
  angle: 0 | 180;
}

function output(res: Record<string, TensorData>, name: string, model: string): TensorData {
  const t = res[name];
  if (!t) throw new Error(`${model} returned no "${name}" (got ${Object.keys(res).join(', ') || 'nothing'})`);
  return t;
}

/** Step 1-2: run the detector on one page and post-process its map into boxes, reading order. */
export async function detect(img: Image, det: RunModel, opts: OcrOptions = {}): Promise<DetBox[]> {
  const names = (opts.tensors ?? PADDLEOCR_TENSORS).det;
  const pre = detPreprocess(img, opts.det);
  const map = output(await det({ [names.input]: pre.tensor }), names.output, 'det');
  const expected = pre.width * pre.height;
  if (map.data.length !== expected)
    throw new Error(`det map has ${map.data.length} values for a ${pre.width}×${pre.height} input`);
  return detPostprocess(map.data, pre.width, pre.height, img.width, img.height, opts.det);
}

// Runs `fn` over consecutive slices of at most `size` items and concatenates the results.
async function inBatches<T, R>(items: T[], size: number, fn: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(...(await fn(items.slice(i, i + size))));
  return out;
}

/** Step 3: classify each line's direction ([N, 2] softmax per batch). */
export async function classify(lines: Image[], cls: RunModel, opts: OcrOptions = {}): Promise<ClsDecision[]> {
  const names = (opts.tensors ?? PADDLEOCR_TENSORS).cls;
  return inBatches(lines, opts.clsBatch ?? 32, async (chunk) => {
    const res = output(await cls({ [names.input]: clsInput(chunk) }), names.output, 'cls');
    return clsDecide(res.data, chunk.length, opts.clsThresh);
  });
}

/**
 * Step 4: read upright lines. Lines are batched in order of aspect ratio, so each batch's shared
 * width wastes little padding (as PaddleOCR does), and results come back in the input order.
 */
export async function recognise(
  lines: Image[],
  rec: RunModel,
  keys: string[],
  opts: OcrOptions = {},
): Promise<{ text: string; confidence: number }[]> {
  const names = (opts.tensors ?? PADDLEOCR_TENSORS).rec;
  const order = lines
    .map((_, i) => i)
    .sort((a, b) => lines[a]!.width / lines[a]!.height - lines[b]!.width / lines[b]!.height);
  const results = await inBatches(order, opts.recBatch ?? 16, async (idx) => {
    const chunk = idx.map((i) => lines[i]!);
    const res = output(await rec({ [names.input]: recInput(chunk, recWidth(chunk, opts.rec)) }), names.output, 'rec');
    return recDecode(res.data, res.dims, keys);
  });
  const out = new Array<{ text: string; confidence: number }>(lines.length);
  order.forEach((i, k) => {
    out[i] = results[k]!;
  });
  return out;
}

/**
 * Read every text line of a decoded page, in reading order. `keys` is the recogniser's dictionary
 * as paddleKeys makes it from ppocr_keys_v1.txt.
 */
export async function runOcr(img: Image, models: OcrModels, keys: string[], opts: OcrOptions = {}): Promise<OcrLine[]> {
  const boxes = await detect(img, models.det, opts);
  if (boxes.length === 0) return [];
  // The classifier sees PaddleOCR's tight crops (what it was trained on); the recogniser gets the
  // same lines with a margin.
  const crops = cropLines(
    img,
    boxes.map((b) => b.box),
    opts.cropMargin ?? CROP_MARGIN,
  );
  const n = boxes.length;
  let readings: Reading[];
  if (!models.cls) {
    readings = (await recognise(crops.rec, models.rec, keys, opts)).map((read) => ({ read, angle: 0 }));
  } else if ((opts.clsMode ?? 'verify') === 'verify') {
    const candidates = flipCandidates(await classify(crops.tight, models.cls, opts));
    const reads = await recognise(withFlips(crops.rec, candidates), models.rec, keys, opts);
    readings = resolveFlips(reads, n, candidates);
  } else {
    const decisions = await classify(crops.tight, models.cls, opts);
    const reads = await recognise(applyCls(crops.rec, decisions), models.rec, keys, opts);
    readings = reads.map((read, i) => ({ read, angle: decisions[i]!.rotate ? 180 : 0 }));
  }
  return keepLines(readings, boxes, opts.dropScore);
}

/** A line's chosen reading and the turn it was read at. */
export interface Reading {
  read: { text: string; confidence: number };
  angle: 0 | 180;
}

/**
 * The last step: one reading per detected box (same order) → the lines kept, those read with at
 * least `dropScore` confidence (PaddleOCR's drop_score), text trimmed, in the boxes' order.
 */
export function keepLines(readings: Reading[], boxes: DetBox[], dropScore = 0.5): OcrLine[] {
  const out: OcrLine[] = [];
  readings.forEach(({ read, angle }, i) => {
    if (read.confidence < dropScore) return;
    out.push({
      text: read.text.trim(),
      confidence: read.confidence,
      box: boxes[i]!.box,
      boxScore: boxes[i]!.score,
      angle,
    });
  });
  return out;
}
