/**
 * The text-direction step (paddleocr_cls): line images → the classifier's [N, 3, 48, 192] input, and
 * its [N, 2] probabilities of (0°, 180°) → which lines to turn over. Pre-processing is PaddleOCR's
 * ClsPredictor resize_norm_img, which is the recogniser's (BGR, height 48, aspect kept, cut at the
 * width, padded right with 0 after (x - 0.5) / 0.5), so it reuses paddleOcrRecSpec.
 */
import type { Image } from '../../src/optimizer/data/image.js';
import { paddleOcrRecSpec, preprocessImage } from '../../src/optimizer/data/image-preprocess.js';
import { rotate180 } from './crop.js';
import type { TensorData } from './det-pre.js';

export const CLS_HEIGHT = 48;
export const CLS_WIDTH = 192;
/** Only a confident "180" turns a line over (PaddleOCR's cls_thresh). */
export const CLS_THRESH = 0.9;

/** Line images → [N, 3, 48, 192]. A line wider than 4:1 is squeezed to fit, as in PaddleOCR. */
export function clsInput(lines: Image[]): TensorData {
  const spec = paddleOcrRecSpec(CLS_WIDTH);
  const row = 3 * CLS_HEIGHT * CLS_WIDTH;
  const data = new Float32Array(lines.length * row);
  lines.forEach((img, i) => {
    data.set(preprocessImage(img, spec), i * row);
  });
  return { data, dims: [lines.length, 3, CLS_HEIGHT, CLS_WIDTH] };
}

export interface ClsDecision {
  /** The more probable direction. */
  angle: 0 | 180;
  /** Its probability. */
  score: number;
  /** Whether the line should be turned over: angle 180 with score above the threshold. */
  rotate: boolean;
}

/** Classifier output ([N, 2] probabilities, labels 0 and 180) → one decision per line. */
export function clsDecide(probs: Float32Array, count: number, thresh = CLS_THRESH): ClsDecision[] {
  if (probs.length !== count * 2) throw new Error(`cls output has ${probs.length} values, expected ${count}×2`);
  return Array.from({ length: count }, (_, i) => {
    const [p0, p180] = [probs[2 * i]!, probs[2 * i + 1]!];
    const angle = p180 > p0 ? 180 : 0;
    const score = Math.max(p0, p180);
    return { angle, score, rotate: angle === 180 && score > thresh };
  });
}

/**
 * Lines to read both ways: every line the classifier leans to 180° on, however weakly. The mobile
 * classifier squeezes a whole line into 192 px and on long upright lines says "180" with > 0.9
 * often enough to wreck a page (and misses upside-down ones below 0.9), while the recogniser's
 * confidence separates the two readings far better (≈ 0.99 against ≈ 0.5). So the classifier only
 * nominates, and the recogniser decides (resolveFlips).
 */
export function flipCandidates(decisions: ClsDecision[]): number[] {
  return decisions.flatMap((d, i) => (d.angle === 180 ? [i] : []));
}

/** The rec batch when verifying: all lines as they are, then the candidates turned 180°. */
export function withFlips(lines: Image[], candidates: number[]): Image[] {
  return [...lines, ...candidates.map((i) => rotate180(lines[i]!))];
}

/**
 * Readings of withFlips(lines, candidates) → one per line: a candidate's 180° reading replaces its
 * as-is reading when it is more confident.
 */
export function resolveFlips<T extends { confidence: number }>(
  reads: T[],
  count: number,
  candidates: number[],
): { read: T; angle: 0 | 180 }[] {
  if (reads.length !== count + candidates.length)
    throw new Error(`${reads.length} readings for ${count} lines and ${candidates.length} flipped ones`);
  const out = reads.slice(0, count).map((read) => ({ read, angle: 0 as 0 | 180 }));
  candidates.forEach((i, k) => {
    const flipped = reads[count + k]!;
    if (flipped.confidence > out[i]!.read.confidence) out[i] = { read: flipped, angle: 180 };
  });
  return out;
}

/** Apply the decisions: lines marked `rotate` come back turned 180°, the rest unchanged. */
export function applyCls(lines: Image[], decisions: ClsDecision[]): Image[] {
  return lines.map((img, i) => (decisions[i]?.rotate ? rotate180(img) : img));
}
