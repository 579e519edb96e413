/**
 * PNG/JPEG bytes of one digit → the 28×28 pixels the `digits` MLP was trained on (the `mnist`
 * package's layout: row-major, 0 = background, 1 = ink). A 28×28 image of light ink on a dark
 * background passes through as it is; anything else is brought to that layout the way MNIST was
 * made: ink made light on dark, cropped to its bounding box, scaled to fit 20×20 keeping its
 * aspect, and placed in a 28×28 frame with its centre of mass in the middle.
 */
import { decodeImage } from '../../../../src/optimizer/data/image.js';
import {
  type ExecuteContext,
  ModelInputError,
  type OutputTensors,
  type Tensors,
} from '../../../../src/backend/typescript/api.js';

const SIDE = 28;
const BOX = 20;
/** Larger images are refused before decoding: a digit needs no more, and a forged header must not cost memory. */
const MAX_PIXELS = 4096 * 4096;

export function execute(inputs: Tensors, ctx: ExecuteContext): OutputTensors {
  const images = inputs['IMAGE']!.data as Uint8Array[];
  const out = new Float32Array(ctx.batchSize * SIDE * SIDE);
  for (const [row, bytes] of images.entries()) out.set(toDigit(bytes, row), row * SIDE * SIDE);
  return { PIXELS: { datatype: 'FP32', shape: [ctx.batchSize, SIDE * SIDE], data: out } };
}

/** One image's 784 pixels; a ModelInputError (400) names the row when it is not a usable image. */
function toDigit(bytes: Uint8Array, row: number): Float32Array {
  const size = pngSize(bytes);
  if (size !== undefined && size.width * size.height > MAX_PIXELS)
    throw new ModelInputError(
      `IMAGE row ${row}: ${size.width}×${size.height} is larger than a digit needs (at most ${MAX_PIXELS} pixels)`,
    );
  let grey: { width: number; height: number; data: Float32Array };
  try {
    const img = decodeImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), `IMAGE row ${row}`);
    grey = { width: img.width, height: img.height, data: toGrey(img.data, img.channels) };
  } catch (err) {
    throw new ModelInputError(err instanceof Error ? err.message : `IMAGE row ${row}: not a PNG or JPEG image`);
  }
  if (borderMean(grey) > 0.5) for (let i = 0; i < grey.data.length; i++) grey.data[i] = 1 - grey.data[i]!;
  if (grey.width === SIDE && grey.height === SIDE) return grey.data;
  return mnistFrame(grey);
}

/** Width and height from a PNG's IHDR chunk, read before decoding; undefined for anything else. */
function pngSize(b: Uint8Array): { width: number; height: number } | undefined {
  if (b.length < 24 || b[0] !== 0x89 || b[1] !== 0x50) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

function toGrey(data: Float32Array, channels: number): Float32Array {
  if (channels === 1) return data;
  const out = new Float32Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = (data[i * 3]! + data[i * 3 + 1]! + data[i * 3 + 2]!) / 3;
  return out;
}

/** The mean of the outermost pixels: paper, whichever its shade. */
function borderMean({ width, height, data }: { width: number; height: number; data: Float32Array }): number {
  let sum = 0;
  let n = 0;
  for (let x = 0; x < width; x++) {
    sum += data[x]! + data[(height - 1) * width + x]!;
    n += 2;
  }
  for (let y = 1; y < height - 1; y++) {
    sum += data[y * width]! + data[y * width + width - 1]!;
    n += 2;
  }
  return n === 0 ? 0 : sum / n;
}

/** MNIST's normalisation: ink's bounding box → fit 20×20 (area sampling) → centre of mass at (14, 14). */
function mnistFrame({ width, height, data }: { width: number; height: number; data: Float32Array }): Float32Array {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[y * width + x]! > 0.1) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  const frame = new Float32Array(SIDE * SIDE);
  if (x1 < 0) return frame; // blank page: nothing to classify, all background
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = BOX / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale));
  const h = Math.max(1, Math.round(bh * scale));
  const small = new Float32Array(w * h);
  // Area sampling: each target pixel averages the source pixels it covers (downscaling keeps thin strokes).
  for (let ty = 0; ty < h; ty++)
    for (let tx = 0; tx < w; tx++) {
      const sx0 = x0 + Math.floor((tx * bw) / w);
      const sx1 = Math.max(sx0 + 1, x0 + Math.floor(((tx + 1) * bw) / w));
      const sy0 = y0 + Math.floor((ty * bh) / h);
      const sy1 = Math.max(sy0 + 1, y0 + Math.floor(((ty + 1) * bh) / h));
      let sum = 0;
      for (let sy = sy0; sy < sy1; sy++) for (let sx = sx0; sx < sx1; sx++) sum += data[sy * width + sx]!;
      small[ty * w + tx] = sum / ((sy1 - sy0) * (sx1 - sx0));
    }
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x]!;
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  const ox = Math.round(SIDE / 2 - (mass > 0 ? cx / mass : w / 2));
  const oy = Math.round(SIDE / 2 - (mass > 0 ? cy / mass : h / 2));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const fx = x + ox;
      const fy = y + oy;
      if (fx >= 0 && fx < SIDE && fy >= 0 && fy < SIDE) frame[fy * SIDE + fx] = small[y * w + x]!;
    }
  return frame;
}
