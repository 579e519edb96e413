/**
 * onnxruntime-node helpers for the offline toolkit: sessions from model bytes, and the check that
 * onnxruntime really fused the int8 kernels (it saves the graph it optimized at level 'extended',
 * which is portable, and we list the op types found there).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { allGraphs } from '../model/graph.js';
import { encodeModel, loadModel } from '../model/io.js';

/** The onnxruntime types the passes use; the rest of the optimizer reaches onnxruntime only through measure/. */
export { type InferenceSession, Tensor } from 'onnxruntime-node';

export type OptLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOpts {
  threads?: number;
  level?: OptLevel;
  optimizedModelFilePath?: string;
}

/** An inference session over an in-memory model (defaults: 1 intra-op thread, level 'all'). */
export async function createSession(
  model: ModelProto | Uint8Array,
  o: SessionOpts = {},
): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const opts: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: o.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: o.level ?? 'all',
  };
  if (o.optimizedModelFilePath) opts.optimizedModelFilePath = o.optimizedModelFilePath;
  return ort.InferenceSession.create(bytes, opts);
}

// Op types that mean onnxruntime runs integer math.
const INT8_KERNELS = new Set([
  'MatMulInteger',
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
  'QLinearMatMul',
  'QGemm',
  'QLinearConv',
  'ConvInteger',
  'QAttention',
  'DynamicQuantizeLSTM',
  'QLinearAdd',
  'QLinearMul',
  'QLinearConcat',
  'QLinearGlobalAveragePool',
  'QLinearSigmoid',
  'QLinearLeakyRelu',
  'QLinearSoftmax',
  'QEmbedLayerNormalization',
]);
// Fused (com.microsoft) kernels: the ones that make int8 fast.
const FUSED = new Set([
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
  'QGemm',
  'QLinearMatMul',
  'QLinearConv',
  'QAttention',
  'DynamicQuantizeLSTM',
]);

export interface FusionReport {
  level: OptLevel;
  ops: Record<string, number>;
  int8Kernels: Record<string, number>;
  fusedKernels: Record<string, number>;
  /** QuantizeLinear/DequantizeLinear left in the optimized graph (QDQ that was not fused). */
  leftoverQdq: number;
  message: string;
}

/** Let onnxruntime optimize the model at `level`, then list the op types of the graph it saved. */
export async function fusionCheck(model: ModelProto, level: OptLevel = 'extended'): Promise<FusionReport> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-fuse-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await createSession(model, { level, optimizedModelFilePath: path });
    await session.release();
    const ops: Record<string, number> = {};
    for (const { graph } of allGraphs(loadModel(path).model))
      for (const n of graph.node) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
    const pick = (set: Set<string>) => Object.fromEntries(Object.entries(ops).filter(([k]) => set.has(k)));
    const int8Kernels = pick(INT8_KERNELS);
    const fusedKernels = pick(FUSED);
    const leftoverQdq = (ops['QuantizeLinear'] ?? 0) + (ops['DequantizeLinear'] ?? 0);
    const list = Object.entries(fusedKernels)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const message = list
      ? `onnxruntime fused int8 kernels at level '${level}': ${list}`
      : Object.keys(int8Kernels).length
        ? `no fused int8 kernels at level '${level}'; unfused integer ops only: ${Object.keys(int8Kernels).join(', ')}`
        : `no int8 kernels found after onnxruntime optimization at level '${level}': the model runs in float`;
    return { level, ops, int8Kernels, fusedKernels, leftoverQdq, message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
