/**
 * DB post-processing of the detector's probability map (PaddleOCR's DBPostProcess, score mode
 * "fast"): threshold → binary map → 8-connected regions → minimum-area rotated rectangle of each →
 * mean probability inside it (drop weak boxes) → unclip (grow by area × ratio / perimeter) → boxes in
 * source-image coordinates, in reading order. Pure: map in, boxes out.
 */
import { dist, inConvex, minAreaRect, orderQuad, type Point, type Quad, sortBoxes, unclipRect } from './geometry.js';

export interface DetPostOptions {
  /** Pixel threshold of the binary map (PaddleOCR det_db_thresh, 0.3). */
  thresh?: number;
  /** Minimum mean probability inside a box (det_db_box_thresh, 0.6). */
  boxThresh?: number;
  /** Unclip ratio (det_db_unclip_ratio, 1.5). */
  unclipRatio?: number;
  /** Shortest side, in map pixels, below which a region is noise (PaddleOCR's min_size, 3). */
  minSize?: number;
  /** At most this many regions are examined (max_candidates, 1000), largest first. */
  maxCandidates?: number;
  /** Boxes whose tops are this close (source pixels) count as one row when ordering. */
  rowTolerance?: number;
}

export interface DetBox {
  /** Corners in source pixels: top-left, top-right, bottom-right, bottom-left. */
  box: Quad;
  /** Mean text probability inside the un-grown box. */
  score: number;
}

/** A connected region of the binary map, kept as the ends of each of its pixel runs per row. */
export interface Region {
  /** Leftmost and rightmost pixel centre of every row the region covers. */
  points: Point[];
  pixels: number;
}

/**
 * 8-connected regions of set pixels (the outer contours cv2.findContours would trace). A region's
 * convex hull, and so its min-area rectangle, depends only on the leftmost and rightmost pixel of
 * each row, so only those are kept.
 */
export function regions(bitmap: Uint8Array, width: number, height: number): Region[] {
  const label = new Int32Array(width * height).fill(-1);
  const out: Region[] = [];
  const stack: number[] = [];
  for (let start = 0; start < bitmap.length; start++) {
    if (!bitmap[start] || label[start] !== -1) continue;
    const id = out.length;
    const rowMin = new Map<number, number>();
    const rowMax = new Map<number, number>();
    let pixels = 0;
    label[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      pixels++;
      if (!(rowMin.get(y)! <= x)) rowMin.set(y, x);
      if (!(rowMax.get(y)! >= x)) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const [nx, ny] = [x + dx, y + dy];
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (bitmap[q] && label[q] === -1) {
            label[q] = id;
            stack.push(q);
          }
        }
    }
    const points: Point[] = [];
    for (const [y, x0] of rowMin) points.push([x0, y], [rowMax.get(y)!, y]);
    out.push({ points, pixels });
  }
  return out;
}

/**
 * Mean probability over the pixels whose centres fall inside the quad (PaddleOCR's box_score_fast:
 * the box's bounding rectangle masked by the filled polygon). 0 when no pixel centre is inside.
 */
export function boxScore(prob: Float32Array, width: number, height: number, quad: Point[]): number {
  const xs = quad.map((p) => p[0]);
  const ys = quad.map((p) => p[1]);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const [x0, x1] = [clamp(Math.floor(Math.min(...xs)), width - 1), clamp(Math.ceil(Math.max(...xs)), width - 1)];
  const [y0, y1] = [clamp(Math.floor(Math.min(...ys)), height - 1), clamp(Math.ceil(Math.max(...ys)), height - 1)];
  let sum = 0;
  let n = 0;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++)
      if (inConvex(quad, x, y, 1e-3)) {
        sum += prob[y * width + x]!;
        n++;
      }
  return n > 0 ? sum / n : 0;
}

/**
 * Probability map [mapHeight × mapWidth] (the detector's output for one image) → text boxes in the
 * source image's pixels (srcWidth × srcHeight), in reading order.
 */
export function detPostprocess(
  prob: Float32Array,
  mapWidth: number,
  mapHeight: number,
  srcWidth: number,
  srcHeight: number,
  opts: DetPostOptions = {},
): DetBox[] {
  if (prob.length !== mapWidth * mapHeight)
    throw new Error(`probability map has ${prob.length} values, expected ${mapWidth}×${mapHeight}`);
  const thresh = opts.thresh ?? 0.3;
  const minSize = opts.minSize ?? 3;
  const bitmap = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) bitmap[i] = prob[i]! > thresh ? 1 : 0;
  // Largest regions first, so a cap on candidates drops specks rather than lines.
  const found = regions(bitmap, mapWidth, mapHeight)
    .sort((a, b) => b.pixels - a.pixels)
    .slice(0, opts.maxCandidates ?? 1000);
  const [sx, sy] = [srcWidth / mapWidth, srcHeight / mapHeight];
  const boxes: DetBox[] = [];
  for (const r of found) {
    const rect = minAreaRect(r.points);
    if (Math.min(rect.width, rect.height) < minSize) continue;
    const score = boxScore(prob, mapWidth, mapHeight, rect.corners);
    if (score < (opts.boxThresh ?? 0.6)) continue;
    const grown = unclipRect(rect.corners, opts.unclipRatio ?? 1.5);
    if (Math.min(grown.width, grown.height) < minSize + 2) continue;
    // To source pixels, rounded and kept inside the image (PaddleOCR's boxes_from_bitmap and
    // filter_tag_det_res), then dropped when a side is 3 px or less there.
    const clip = (v: number, hi: number) => Math.min(Math.max(Math.round(v), 0), hi);
    const box = orderQuad(
      grown.corners.map((p): Point => [clip(p[0] * sx, srcWidth - 1), clip(p[1] * sy, srcHeight - 1)]),
    );
    if (Math.trunc(dist(box[0], box[1])) <= 3 || Math.trunc(dist(box[0], box[3])) <= 3) continue;
    boxes.push({ box, score });
  }
  return sortBoxes(boxes, opts.rowTolerance ?? 10);
}
