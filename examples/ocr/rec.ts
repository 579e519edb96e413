/**
 * The recognition step (paddleocr_rec): upright line images → the recogniser's [N, 3, 48, W] input,
 * W shared by the batch, and its [N, T, classes] CTC probabilities → text and confidence. The
 * resize/normalise is paddleOcrRecSpec (BGR, (x - 0.5) / 0.5, aspect kept, padded right with 0) and
 * the decode is ctcGreedyDecode, so this file only picks the width and adds the confidence.
 */
import type { Image } from '../../src/optimizer/data/image.js';
import { paddleOcrRecSpec, preprocessImage } from '../../src/optimizer/data/image-preprocess.js';
import { ctcGreedyDecode } from '../../src/optimizer/measure/ctc.js';
import type { TensorData } from './det-pre.js';

export const REC_HEIGHT = 48;

export interface RecWidthOptions {
  /** Narrowest batch width: PaddleOCR starts from its 320-px training width (ratio 320 / 48). */
  minWidth?: number;
  /** Widest allowed; longer lines are squeezed (memory bound for very long lines). */
  maxWidth?: number;
  /** Round the width up to a multiple of this (the network's horizontal stride is 8). */
  multiple?: number;
}

/**
 * Width for a batch: every line at height 48 with its aspect kept must fit, so no line is squeezed
 * (PaddleOCR's max_wh_ratio rule), padded up to a multiple of the stride.
 */
export function recWidth(lines: Image[], opts: RecWidthOptions = {}): number {
  const multiple = opts.multiple ?? 8;
  let w = opts.minWidth ?? 320;
  for (const img of lines) w = Math.max(w, Math.ceil((img.width * REC_HEIGHT) / img.height));
  w = Math.ceil(w / multiple) * multiple;
  return Math.min(w, opts.maxWidth ?? 3200);
}

/** Line images → [N, 3, 48, W] with W from recWidth unless given. */
export function recInput(lines: Image[], width = recWidth(lines)): TensorData {
  const spec = paddleOcrRecSpec(width);
  const row = 3 * REC_HEIGHT * width;
  const data = new Float32Array(lines.length * row);
  lines.forEach((img, i) => {
    data.set(preprocessImage(img, spec), i * row);
  });
  return { data, dims: [lines.length, 3, REC_HEIGHT, width] };
}

export interface RecResult {
  text: string;
  /** Mean probability of the emitted characters' time steps (PaddleOCR's score); 0 for no text. */
  confidence: number;
}

/**
 * Recogniser output [N, T, classes] (probabilities, class 0 = blank, `keys` from paddleKeys) →
 * text per line. The confidence follows PaddleOCR's CTCLabelDecode: the mean, over the steps that
 * emit a character (not blank, not a repeat of the previous step), of their top probability.
 */
export function recDecode(probs: Float32Array, dims: number[], keys: string[]): RecResult[] {
  if (dims.length !== 3) throw new Error(`rec output must be [N, T, classes], got [${dims.join(', ')}]`);
  const [n, steps, classes] = dims as [number, number, number];
  if (probs.length !== n * steps * classes)
    throw new Error(`rec output has ${probs.length} values, expected ${dims.join('×')}`);
  if (keys.length !== classes) throw new Error(`dictionary has ${keys.length} keys, the model ${classes} classes`);
  const out: RecResult[] = [];
  for (let i = 0; i < n; i++) {
    const rows = probs.subarray(i * steps * classes, (i + 1) * steps * classes);
    const text = ctcGreedyDecode(rows, steps, classes, keys);
    let sum = 0;
    let count = 0;
    let prev = -1;
    for (let t = 0; t < steps; t++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (rows[t * classes + c]! > rows[t * classes + best]!) best = c;
      if (best !== 0 && best !== prev) {
        sum += rows[t * classes + best]!;
        count++;
      }
      prev = best;
    }
    out.push({ text, confidence: count > 0 ? sum / count : 0 });
  }
  return out;
}
