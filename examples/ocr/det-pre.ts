/**
 * Pre-processing for the PaddleOCR DB text detector (paddleocr_det): PaddleOCR's DetResizeForTest
 * (scale so the longer side is at most `limitSideLen`, each side rounded to a multiple of 32, the
 * network's total stride) and NormalizeImage (ImageNet mean/std on 0..1 pixels), laid out NCHW with
 * a batch of one. Pure: decoded image in, tensor and the factors that map the map back out.
 */
import type { Image } from '../../src/optimizer/data/image.js';

/** A tensor as the model callbacks exchange it: row-major data and its dims (batch first). */
export interface TensorData {
  data: Float32Array;
  dims: number[];
}

export interface DetPreOptions {
  /** Longer side limit before rounding to 32 (PaddleOCR's det_limit_side_len, 960). */
  limitSideLen?: number;
  /**
   * Shorter side floor: images smaller than this are scaled up. PaddleOCR has no floor under
   * limit type "max"; a single text line 40 px high gives the detector too little context, so the
   * pipeline may ask for one (0 = none, PaddleOCR's behaviour).
   */
  minSideLen?: number;
  /**
   * Channel order fed to the network. PaddleOCR reads images with cv2 (BGR) and normalises them
   * without swapping, so the models were trained on BGR with the means listed in RGB order; 'bgr'
   * reproduces that exactly. For grey text on white the two orders give the same tensor.
   */
  channels?: 'bgr' | 'rgb';
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export interface DetInput {
  /** [1, 3, H, W] normalised pixels. */
  tensor: TensorData;
  /** Size of the source image, to map boxes back. */
  srcWidth: number;
  srcHeight: number;
  /** Network input size (multiples of 32). */
  width: number;
  height: number;
  /** Source pixels per network pixel along x and y. */
  scaleX: number;
  scaleY: number;
}

/** Network input size for a source size: DetResizeForTest's "max" rule, plus the optional floor. */
export function detSize(
  srcWidth: number,
  srcHeight: number,
  limitSideLen = 960,
  minSideLen = 0,
): { width: number; height: number } {
  let ratio = Math.max(srcWidth, srcHeight) > limitSideLen ? limitSideLen / Math.max(srcWidth, srcHeight) : 1;
  // The floor only enlarges, and never past the limit on the longer side.
  const short = Math.min(srcWidth, srcHeight) * ratio;
  if (minSideLen > 0 && short < minSideLen)
    ratio = Math.min(minSideLen / Math.min(srcWidth, srcHeight), limitSideLen / Math.max(srcWidth, srcHeight));
  const round32 = (v: number) => Math.max(32, Math.round((v * ratio) / 32) * 32);
  return { width: round32(srcWidth), height: round32(srcHeight) };
}

/**
 * Bilinear resize with half-pixel centres (cv2.INTER_LINEAR's sampling), any channel count. No
 * anti-aliasing when shrinking, as in cv2, which the detector was trained with.
 */
export function resizeBilinear(img: Image, width: number, height: number): Image {
  const { width: sw, height: sh, channels: ch } = img;
  const out = new Float32Array(width * height * ch);
  const fx = sw / width;
  const fy = sh / height;
  for (let y = 0; y < height; y++) {
    const syf = Math.min(Math.max((y + 0.5) * fy - 0.5, 0), sh - 1);
    const y0 = Math.floor(syf);
    const y1 = Math.min(y0 + 1, sh - 1);
    const ay = syf - y0;
    for (let x = 0; x < width; x++) {
      const sxf = Math.min(Math.max((x + 0.5) * fx - 0.5, 0), sw - 1);
      const x0 = Math.floor(sxf);
      const x1 = Math.min(x0 + 1, sw - 1);
      const ax = sxf - x0;
      for (let c = 0; c < ch; c++) {
        const at = (xx: number, yy: number) => img.data[(yy * sw + xx) * ch + c]!;
        const top = at(x0, y0) * (1 - ax) + at(x1, y0) * ax;
        const bottom = at(x0, y1) * (1 - ax) + at(x1, y1) * ax;
        out[(y * width + x) * ch + c] = top * (1 - ay) + bottom * ay;
      }
    }
  }
  return { width, height, channels: ch, data: out };
}

/** Decoded image (HWC, 0..1, grey or RGB) → detector input and the mapping back. */
export function detPreprocess(img: Image, opts: DetPreOptions = {}): DetInput {
  const { width, height } = detSize(img.width, img.height, opts.limitSideLen ?? 960, opts.minSideLen ?? 0);
  const r = width === img.width && height === img.height ? img : resizeBilinear(img, width, height);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  const bgr = (opts.channels ?? 'bgr') === 'bgr';
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) {
      // Output channel c takes source channel c (RGB) or 2 - c (BGR); grey repeats its one channel.
      const src = r.channels === 1 ? 0 : bgr ? 2 - c : c;
      data[c * plane + i] = (r.data[i * r.channels + src]! - MEAN[c]!) / STD[c]!;
    }
  return {
    tensor: { data, dims: [1, 3, height, width] },
    srcWidth: img.width,
    srcHeight: img.height,
    width,
    height,
    scaleX: img.width / width,
    scaleY: img.height / height,
  };
}
