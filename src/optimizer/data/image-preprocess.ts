/**
 * The small preprocessing spec for image validation data, and its application to one decoded image:
 * resize (stretch, or keep the aspect ratio at a fixed height and pad on the right, as text
 * recognizers expect), channel order, mean/std normalisation, and NCHW or NHWC layout.
 */
import type { Image } from './image.js';

export interface PreprocessSpec {
  width: number;
  height: number;
  /** stretch: to width×height; fit-height: scale to height keeping aspect, then pad right to width. */
  resize?: 'stretch' | 'fit-height';
  channels?: 'gray' | 'rgb' | 'bgr';
  layout?: 'NCHW' | 'NHWC';
  /** Per-channel mean and std, applied to pixels in [0, 1]: (p - mean) / std. */
  mean?: number[];
  std?: number[];
  /** Value of padded pixels before normalisation (default 0). */
  pad?: number;
}

/** PaddleOCR's text-recognizer input: BGR, height 48, aspect kept, right-padded to `width`, [-1, 1]. */
export function paddleOcrRecSpec(width: number): PreprocessSpec {
  return { width, height: 48, resize: 'fit-height', channels: 'bgr', mean: [0.5], std: [0.5], pad: 0.5 };
}

/** Validate a parsed spec, naming the offending field. */
export function checkSpec(s: PreprocessSpec, source: string): PreprocessSpec {
  if (!(s.width > 0 && s.height > 0)) throw new Error(`${source}: "width" and "height" must be positive numbers`);
  const c = channelCount(s);
  for (const k of ['mean', 'std'] as const) {
    const v = s[k];
    if (v && v.length !== c && v.length !== 1) throw new Error(`${source}: "${k}" needs 1 or ${c} values`);
  }
  if (s.layout && s.layout !== 'NCHW' && s.layout !== 'NHWC') throw new Error(`${source}: "layout" is NCHW or NHWC`);
  return s;
}

/** Channels after preprocessing. */
export function channelCount(s: PreprocessSpec): number {
  return s.channels === 'gray' ? 1 : 3;
}

/** Row shape (without batch) the spec produces. */
export function rowShapeOf(s: PreprocessSpec): number[] {
  const c = channelCount(s);
  return s.layout === 'NHWC' ? [s.height, s.width, c] : [c, s.height, s.width];
}

// Bilinear sample of channel c at (x, y) in source pixel coordinates (half-pixel centres).
function bilinear(img: Image, x: number, y: number, c: number): number {
  const fx = Math.min(Math.max(x - 0.5, 0), img.width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), img.height - 1);
  const [x0, y0] = [Math.floor(fx), Math.floor(fy)];
  const [x1, y1] = [Math.min(x0 + 1, img.width - 1), Math.min(y0 + 1, img.height - 1)];
  const [ax, ay] = [fx - x0, fy - y0];
  const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * img.channels + c]!;
  const top = at(x0, y0) * (1 - ax) + at(x1, y0) * ax;
  const bottom = at(x0, y1) * (1 - ax) + at(x1, y1) * ax;
  return top * (1 - ay) + bottom * ay;
}

// Source channel for output channel c: grey from RGB by luma, RGB from grey by repetition.
function pixel(img: Image, x: number, y: number, c: number, s: PreprocessSpec): number {
  if (s.channels === 'gray')
    return img.channels === 1
      ? bilinear(img, x, y, 0)
      : 0.299 * bilinear(img, x, y, 0) + 0.587 * bilinear(img, x, y, 1) + 0.114 * bilinear(img, x, y, 2);
  if (img.channels === 1) return bilinear(img, x, y, 0);
  return bilinear(img, x, y, s.channels === 'bgr' ? 2 - c : c);
}

/** Apply the spec to one image; returns the row in the spec's layout. */
export function preprocessImage(img: Image, s: PreprocessSpec): Float32Array {
  const c = channelCount(s);
  const { width: W, height: H } = s;
  // fit-height keeps the aspect ratio: the scaled width is capped at W, the rest is padding.
  const scaledW = s.resize === 'fit-height' ? Math.min(W, Math.max(1, Math.round((img.width * H) / img.height))) : W;
  const out = new Float32Array(c * H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let k = 0; k < c; k++) {
        const inside = x < scaledW;
        const raw = inside
          ? pixel(img, ((x + 0.5) * img.width) / scaledW, ((y + 0.5) * img.height) / H, k, s)
          : (s.pad ?? 0);
        const mean = s.mean?.[s.mean.length === 1 ? 0 : k] ?? 0;
        const std = s.std?.[s.std.length === 1 ? 0 : k] ?? 1;
        out[s.layout === 'NHWC' ? (y * W + x) * c + k : k * H * W + y * W + x] = (raw - mean) / std;
      }
  return out;
}
