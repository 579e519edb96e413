/**
 * Helpers for passes that rewrite float weights in place: read a constant as float32, write new
 * float32 values (and dims) back inline, and find which MatMul/Gemm/Conv weights a pass may touch.
 */
import {
  TensorProto_DataLocation,
  TensorProto_DataType as DT,
  type NodeProto,
  type TensorProto,
} from '../../gen/onnx-ml_pb.js';
import type { GraphView } from '../model/graph.js';
import { attrInt } from '../model/attributes.js';

/** Replace a tensor's payload with float32 values (inline raw_data) and optional new dims. */
export function setFloatData(t: TensorProto, data: Float32Array, dims?: readonly number[]): void {
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  t.dataType = DT.FLOAT;
  t.rawData = bytes;
  t.floatData = [];
  t.dataLocation = TensorProto_DataLocation.DEFAULT;
  t.externalData = [];
  if (dims) t.dims = dims.map((d) => BigInt(d));
}

/** A weight a pass may edit: the node, the weight's input index and its tensor. */
export interface WeightRef {
  node: NodeProto;
  tensor: TensorProto;
  /** Whether the layer's output features run along axis 0 of the weight (Conv, Gemm transB). */
  outAxis0: boolean;
}

const WEIGHT_OPS = new Set(['MatMul', 'Gemm', 'Conv']);

/** Float constant weights of MatMul (rank 2), Gemm and Conv nodes, each tensor once. */
export function layerWeights(view: GraphView): WeightRef[] {
  const seen = new Set<TensorProto>();
  const out: WeightRef[] = [];
  for (const node of view.graph.node) {
    if (!WEIGHT_OPS.has(node.opType) || node.domain !== '') continue;
    const t = view.constantTensor(node.input[1] ?? '');
    if (!t || t.dataType !== DT.FLOAT || seen.has(t)) continue;
    if (node.opType !== 'Conv' && t.dims.length !== 2) continue;
    seen.add(t);
    const outAxis0 = node.opType === 'Conv' || (node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1);
    out.push({ node, tensor: t, outAxis0 });
  }
  return out;
}
