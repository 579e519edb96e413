/**
 * Pass: unstructured magnitude pruning. Zeroes the smallest |w| of each MatMul/Gemm/Conv weight
 * (per layer, so no layer is wiped out). onnxruntime's CPU kernels are dense: the zeros make the
 * file compress better and bring no speed at all, which the result says.
 */
import { gzipSync } from 'node:zlib';
import { clone } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from '../../gen/onnx-ml_pb.js';
import { allGraphs, GraphView } from '../model/graph.js';
import { encodeModel } from '../model/io.js';
import { liftConstants } from '../model/lift-constants.js';
import { tensorToFloat32 } from '../model/tensor-data.js';
import { layerWeights, setFloatData } from './weight-edit.js';

export const UNSTRUCTURED_NOTE =
  'unstructured sparsity: zeros make the file compress better but onnxruntime CPU kernels are dense, so there is no speedup';

export interface PruneLayerStat {
  node: string;
  params: number;
  zeroed: number;
}

export interface PruneResult {
  model: ModelProto;
  layers: PruneLayerStat[];
  /** Weights set to zero (or removed, for structured pruning) over all layers. */
  prunedParams: number;
  totalParams: number;
  notes: string[];
  /** Layers a structured pass left intact, with the reason (a residual Add, a graph output, …). */
  skipped?: { node: string; reason: string }[];
}

/** Zero the `sparsity` fraction (0..1) of smallest-magnitude weights in every eligible layer. */
export function pruneUnstructured(
  model: ModelProto,
  sparsity: number,
  opts: { baseDir?: string; excludeNodes?: string[] } = {},
): PruneResult {
  checkSparsity(sparsity);
  const out = liftConstants(clone(ModelProtoSchema, model)).model;
  const layers: PruneLayerStat[] = [];
  for (const { graph } of allGraphs(out)) {
    for (const ref of layerWeights(new GraphView(graph))) {
      if (opts.excludeNodes?.includes(ref.node.name)) continue;
      const w = tensorToFloat32(ref.tensor, opts.baseDir);
      const zeroed = zeroSmallest(w, Math.floor(sparsity * w.length));
      setFloatData(ref.tensor, w);
      layers.push({ node: ref.node.name || ref.node.output[0]!, params: w.length, zeroed });
    }
  }
  const prunedParams = layers.reduce((a, l) => a + l.zeroed, 0);
  const totalParams = layers.reduce((a, l) => a + l.params, 0);
  return { model: out, layers, prunedParams, totalParams, notes: [UNSTRUCTURED_NOTE] };
}

/** Zero exactly `k` entries of smallest magnitude (ties broken by position); returns k. */
export function zeroSmallest(w: Float32Array, k: number): number {
  if (k <= 0) return 0;
  const mags = Float32Array.from(w, Math.abs).sort();
  const thr = mags[Math.min(k, w.length) - 1]!;
  let below = 0;
  for (const v of w) if (Math.abs(v) < thr) below++;
  let ties = k - below; // entries equal to the threshold still to zero
  for (let i = 0; i < w.length; i++) {
    const m = Math.abs(w[i]!);
    if (m < thr) w[i] = 0;
    else if (m === thr && ties > 0) {
      w[i] = 0;
      ties--;
    }
  }
  return Math.min(k, w.length);
}

/** Size of the encoded model after gzip (what an edge bundle or a registry download costs). */
export function compressedSize(model: ModelProto): number {
  return gzipSync(encodeModel(model), { level: 6 }).length;
}

/** Refuse sparsities outside [0, 1). */
export function checkSparsity(s: number): void {
  if (!(s >= 0 && s < 1)) throw new Error(`sparsity must be in [0, 1), got ${s}`);
}
