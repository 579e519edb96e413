/**
 * Quantization arithmetic shared by the passes: affine (asymmetric uint8) and symmetric int8 ranges,
 * per-tensor and per-channel weight quantization. real = scale * (q - zero_point).
 */

export interface QParams {
  scale: number;
  zeroPoint: number;
}

/** uint8 asymmetric parameters for a [min, max] range, widened to contain 0 so 0 is exact. */
export function uint8Params(min: number, max: number): QParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (hi - lo < 1e-12) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric int8 scale for an absolute maximum (qmax 127, or 63 with reduceRange). */
export function int8Scale(absMax: number, reduceRange = false): number {
  const qmax = reduceRange ? 63 : 127;
  return absMax > 0 ? absMax / qmax : 1;
}

/** Weights quantized to int8 with their scales (one, or one per channel). */
export interface QuantizedWeight {
  q: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric int8 quantization of a row-major weight. `axis` selects the channel dimension for
 * per-channel scales (1 for MatMul B [K,N] columns, 0 for Conv [Cout,...] or Gemm transB rows);
 * undefined gives one per-tensor scale.
 */
export function quantizeWeightInt8(
  w: Float32Array,
  dims: number[],
  axis: number | undefined,
  reduceRange = false,
): QuantizedWeight {
  const channels = axis === undefined ? 1 : dims[axis]!;
  const inner = axis === undefined ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const absMax = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = chanOf(i);
    const a = Math.abs(w[i]!);
    if (a > absMax[c]!) absMax[c] = a;
  }
  const scales = absMax.map((m) => int8Scale(m, reduceRange));
  const qmax = reduceRange ? 63 : 127;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = Math.round(w[i]! / scales[chanOf(i)]!);
    q[i] = Math.min(qmax, Math.max(-qmax, v));
  }
  return { q, scales };
}

/** Transpose a row-major [rows, cols] matrix. */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}
