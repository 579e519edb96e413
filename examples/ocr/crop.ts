/**
 * Cutting a detected (possibly rotated) text box out of the page as an upright line image, as
 * PaddleOCR's get_rotate_crop_image does: the box's top edge becomes the line's top, sampled
 * bilinearly with edge pixels repeated past the border; a line much taller than wide is taken to be
 * vertical and turned 90° counter-clockwise. Plus the 180° turn the direction classifier asks for.
 */
import type { Image } from '../../src/optimizer/data/image.js';
import { dist, growRect, type Quad } from './geometry.js';

/** Height/width ratio from which a crop is turned 90° (PaddleOCR's 1.5). */
export const VERTICAL_RATIO = 1.5;

// Bilinear sample at (x, y) in OpenCV's convention (pixel i's centre at i), clamped to the border
// (cv2.BORDER_REPLICATE), written to out[o..o+channels).
function sample(img: Image, x: number, y: number, out: Float32Array, o: number): void {
  const fx = Math.min(Math.max(x, 0), img.width - 1);
  const fy = Math.min(Math.max(y, 0), img.height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, img.width - 1);
  const y1 = Math.min(y0 + 1, img.height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const ch = img.channels;
  for (let c = 0; c < ch; c++) {
    const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * ch + c]!;
    const top = at(x0, y0) * (1 - ax) + at(x1, y0) * ax;
    const bottom = at(x0, y1) * (1 - ax) + at(x1, y1) * ax;
    out[o + c] = top * (1 - ay) + bottom * ay;
  }
}

/**
 * The box's content as an image of (longest top/bottom edge) × (longest left/right edge) pixels.
 * Output pixel (u, v) comes from the point at fractions (u / w, v / h) across the quad (bilinear
 * blend of its corners): exact for the rectangles the detector gives, where cv2's perspective warp
 * and this agree, and still sensible for a slightly skewed quad. Set `rotateVertical` to false to
 * keep tall crops as they are.
 */
export function cropQuad(img: Image, quad: Quad, rotateVertical = true): Image {
  const [p0, p1, p2, p3] = quad;
  const w = Math.max(1, Math.trunc(Math.max(dist(p0, p1), dist(p3, p2))));
  const h = Math.max(1, Math.trunc(Math.max(dist(p0, p3), dist(p1, p2))));
  const ch = img.channels;
  const data = new Float32Array(w * h * ch);
  // x(u, v) = p0 + u·a + v·b + u·v·c with a, b, c per output pixel, so an axis-aligned box with
  // integer corners samples exactly integer positions (no rounding drift from u / w · w).
  const a = [(p1[0] - p0[0]) / w, (p1[1] - p0[1]) / w];
  const b = [(p3[0] - p0[0]) / h, (p3[1] - p0[1]) / h];
  const c = [(p2[0] - p1[0] - p3[0] + p0[0]) / (w * h), (p2[1] - p1[1] - p3[1] + p0[1]) / (w * h)];
  for (let v = 0; v < h; v++)
    for (let u = 0; u < w; u++) {
      const x = p0[0] + u * a[0]! + v * b[0]! + u * v * c[0]!;
      const y = p0[1] + u * a[1]! + v * b[1]! + u * v * c[1]!;
      sample(img, x, y, data, (v * w + u) * ch);
    }
  const crop: Image = { width: w, height: h, channels: ch, data };
  return rotateVertical && h / w >= VERTICAL_RATIO ? rotate90ccw(crop) : crop;
}

/**
 * The crop step for a page's boxes: `tight` are PaddleOCR's crops (the direction classifier's
 * input); `rec` are the same lines with `margin` × the box's short side of extra page around them on
 * every side (the recogniser's input; the same images when margin is 0). A line is turned upright
 * by the tight crop's shape in both, so the two always agree on orientation.
 */
export function cropLines(img: Image, boxes: Quad[], margin = 0): { tight: Image[]; rec: Image[] } {
  const tight: Image[] = [];
  const rec: Image[] = [];
  for (const box of boxes) {
    const t = cropQuad(img, box, false);
    const vertical = t.height / t.width >= VERTICAL_RATIO;
    const upright = (c: Image) => (vertical ? rotate90ccw(c) : c);
    tight.push(upright(t));
    const short = Math.min(dist(box[0], box[1]), dist(box[0], box[3]));
    rec.push(margin > 0 ? upright(cropQuad(img, growRect(box, margin * short).corners, false)) : tight.at(-1)!);
  }
  return { tight, rec };
}

/** Turn an image 90° counter-clockwise (numpy's rot90): the last column becomes the first row. */
export function rotate90ccw(img: Image): Image {
  const { width: w, height: h, channels: ch } = img;
  const data = new Float32Array(w * h * ch);
  // Output is h wide and w high; output (x, y) = input (w - 1 - y, x).
  for (let y = 0; y < w; y++)
    for (let x = 0; x < h; x++)
      for (let c = 0; c < ch; c++) data[(y * h + x) * ch + c] = img.data[(x * w + (w - 1 - y)) * ch + c]!;
  return { width: h, height: w, channels: ch, data };
}

/** Turn an image 180° (what the direction classifier's "180" label asks for). */
export function rotate180(img: Image): Image {
  const ch = img.channels;
  const n = img.width * img.height;
  const data = new Float32Array(n * ch);
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) data[i * ch + c] = img.data[(n - 1 - i) * ch + c]!;
  return { ...img, data };
}
