/**
 * Plane geometry behind PaddleOCR's DB post-processing, written out so the pipeline needs neither
 * OpenCV nor pyclipper: convex hull, minimum-area rotated rectangle (cv2.minAreaRect), PaddleOCR's
 * corner order, the unclip offset, and the reading order of boxes. Coordinates follow OpenCV: pixel
 * (i, j) has its centre at (i, j).
 */

export type Point = [x: number, y: number];
/** Four corners in PaddleOCR's order: top-left, top-right, bottom-right, bottom-left. */
export type Quad = [Point, Point, Point, Point];

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
export const dist = (a: Point, b: Point): number => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Convex hull (Andrew's monotone chain), counter-clockwise in image axes, no collinear points. */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const half = (list: Point[]): Point[] => {
    const h: Point[] = [];
    for (const p of list) {
      while (h.length >= 2 && cross(h[h.length - 2]!, h[h.length - 1]!, p) <= 0) h.pop();
      h.push(p);
    }
    h.pop(); // the last point starts the other half
    return h;
  };
  const hull = [...half(pts), ...half([...pts].reverse())];
  // All points on one line: the chain keeps only the two ends.
  return hull.length > 0 ? hull : [pts[0]!, pts[pts.length - 1]!];
}

/** A rotated rectangle: its corners in PaddleOCR order and its side lengths. */
export interface RotatedRect {
  corners: Quad;
  width: number;
  height: number;
}

/**
 * Smallest-area enclosing rectangle of a point set. One side of the optimum lies on a hull edge
 * (rotating calipers), so trying every edge as the base is exact; hulls of text regions have tens
 * of points, so the quadratic scan costs nothing next to the models.
 */
export function minAreaRect(points: Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) throw new Error('minAreaRect of no points');
  // A single point or a segment: use the x axis (or the segment) as the base.
  const bases: Point[][] =
    hull.length === 1
      ? [[hull[0]!, [hull[0]![0] + 1, hull[0]![1]]]]
      : hull.map((p, i) => [p, hull[(i + 1) % hull.length]!]);
  let best: { area: number; corners: Point[]; w: number; h: number } | undefined;
  for (const [a, b] of bases as [Point, Point][]) {
    const len = dist(a, b);
    if (len === 0) continue;
    const e: Point = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
    const n: Point = [-e[1], e[0]];
    let [u0, u1, v0, v1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const p of hull) {
      const [dx, dy] = [p[0] - a[0], p[1] - a[1]];
      const u = dx * e[0] + dy * e[1];
      const v = dx * n[0] + dy * n[1];
      [u0, u1, v0, v1] = [Math.min(u0, u), Math.max(u1, u), Math.min(v0, v), Math.max(v1, v)];
    }
    const area = (u1 - u0) * (v1 - v0);
    if (best && area >= best.area - 1e-9) continue;
    const at = (u: number, v: number): Point => [a[0] + e[0] * u + n[0] * v, a[1] + e[1] * u + n[1] * v];
    best = { area, corners: [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)], w: u1 - u0, h: v1 - v0 };
  }
  if (!best) return { corners: orderQuad([hull[0]!, hull[0]!, hull[0]!, hull[0]!]), width: 0, height: 0 };
  return { corners: orderQuad(best.corners), width: best.w, height: best.h };
}

/**
 * PaddleOCR's get_mini_boxes order: the two leftmost corners give top-left (smaller y) and
 * bottom-left, the two rightmost give top-right and bottom-right. Kept as is (rather than a
 * cleverer order) because the crop's orientation, and so the 90° rule, depends on it.
 */
export function orderQuad(corners: Point[]): Quad {
  if (corners.length !== 4) throw new Error(`a quad has 4 corners, got ${corners.length}`);
  const p = [...corners].sort((a, b) => a[0] - b[0]);
  const [tl, bl] = p[1]![1] > p[0]![1] ? [p[0]!, p[1]!] : [p[1]!, p[0]!];
  const [tr, br] = p[3]![1] > p[2]![1] ? [p[2]!, p[3]!] : [p[3]!, p[2]!];
  return [tl, tr, br, bl];
}

/** Shoelace area and perimeter of a polygon. */
export function areaPerimeter(poly: Point[]): { area: number; perimeter: number } {
  let a = 0;
  let per = 0;
  poly.forEach((p, i) => {
    const q = poly[(i + 1) % poly.length]!;
    a += p[0] * q[1] - q[0] * p[1];
    per += dist(p, q);
  });
  return { area: Math.abs(a) / 2, perimeter: per };
}

/**
 * DB's unclip: the shrunk text kernel is grown back by d = area × ratio / perimeter. PaddleOCR
 * offsets the polygon with pyclipper (round joins) and takes the min-area rectangle of the result;
 * for a rectangle that is exactly the rectangle with every side pushed out by d, which is what this
 * computes (no clipper needed). Returns the grown rectangle in PaddleOCR order.
 */
export function unclipRect(quad: Quad, ratio: number): RotatedRect {
  const { area, perimeter } = areaPerimeter(quad);
  return growRect(quad, perimeter > 0 ? (area * ratio) / perimeter : 0);
}

/**
 * Push every side of a rectangle out by `d` along its own axes (tl→tr and tl→bl), whatever its
 * rotation; a negative `d` shrinks it. Returns the result in PaddleOCR order.
 */
export function growRect(quad: Quad, d: number): RotatedRect {
  const [tl, tr, , bl] = quad;
  const w = dist(tl, tr);
  const h = dist(tl, bl);
  const ex: Point = w > 0 ? [(tr[0] - tl[0]) / w, (tr[1] - tl[1]) / w] : [1, 0];
  const ey: Point = h > 0 ? [(bl[0] - tl[0]) / h, (bl[1] - tl[1]) / h] : [-ex[1], ex[0]];
  const at = (u: number, v: number): Point => [tl[0] + ex[0] * u + ey[0] * v, tl[1] + ex[1] * u + ey[1] * v];
  const corners = [at(-d, -d), at(w + d, -d), at(w + d, h + d), at(-d, h + d)];
  return { corners: orderQuad(corners), width: w + 2 * d, height: h + 2 * d };
}

/**
 * Reading order, as PaddleOCR's sorted_boxes: by the top-left corner's y then x, then one insertion
 * pass that puts boxes whose tops are within `rowTolerance` pixels (one visual row) left to right.
 */
export function sortBoxes<T extends { box: Quad }>(items: T[], rowTolerance = 10): T[] {
  const out = [...items].sort((a, b) => a.box[0][1] - b.box[0][1] || a.box[0][0] - b.box[0][0]);
  for (let i = 0; i < out.length - 1; i++)
    for (let j = i; j >= 0; j--) {
      const [a, b] = [out[j]!, out[j + 1]!];
      if (Math.abs(b.box[0][1] - a.box[0][1]) < rowTolerance && b.box[0][0] < a.box[0][0]) {
        out[j] = b;
        out[j + 1] = a;
      } else break;
    }
  return out;
}

/** Whether (x, y) lies in a convex polygon (either winding; the boundary counts as inside). */
export function inConvex(poly: Point[], x: number, y: number, eps = 1e-6): boolean {
  let sign = 0;
  for (let i = 0; i < poly.length; i++) {
    const c = cross(poly[i]!, poly[(i + 1) % poly.length]!, [x, y]);
    if (Math.abs(c) <= eps) continue;
    const s = Math.sign(c);
    if (sign !== 0 && s !== sign) return false;
    sign = s;
  }
  return true;
}
