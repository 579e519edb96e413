/**
 * The QDQ rewrite of a planned graph, given calibrated ranges:
 *   activation x → QuantizeLinear(uint8) → DequantizeLinear → x_dq, read by every former reader of x
 *   weight W → int8 initializer (symmetric, per-channel on the output axis) → DequantizeLinear
 *   bias b → int32 initializer with scale = s_input × s_weight → DequantizeLinear
 * The float ops stay; onnxruntime fuses DQ → op → Q into QLinearConv/QGemm/MatMulIntegerToFloat.
 */
import type { GraphProto, NodeProto, TensorProto } from '../../gen/onnx-ml_pb.js';
import { TensorProto_DataType as DT } from '../../gen/onnx-ml_pb.js';
import type { Range } from '../calibrate/range.js';
import { type GraphView, renameIn } from '../model/graph.js';
import type { QdqPlan } from './qdq-plan.js';
import { quantizeWeightInt8, uint8Params } from './math.js';
import { makeNode } from '../model/attributes.js';
import { attrFloat, attrInt } from '../model/attributes.js';
import { floatTensor, makeTensor, tensorToFloat32 } from '../model/tensor-data.js';

export interface QdqRewriteOptions {
  perChannel: boolean;
  reduceRange: boolean;
  baseDir?: string;
}

interface Ctx {
  view: GraphView;
  plan: QdqPlan;
  fresh: (b: string) => string;
  o: QdqRewriteOptions;
  added: NodeProto[];
  /** Activation tensor → its activation scale (for bias quantization). */
  actScale: Map<string, number>;
  /** Tensor name → the dequantized name readers now use. */
  dq: Map<string, string>;
  notes: Set<string>;
}

/** Rewrite the graph in place; returns notes (e.g. per-channel downgraded for an old opset). */
export function rewriteQdq(
  view: GraphView,
  plan: QdqPlan,
  ranges: Map<string, Range>,
  fresh: (b: string) => string,
  o: QdqRewriteOptions,
): string[] {
  const ctx: Ctx = { view, plan, fresh, o, added: [], actScale: new Map(), dq: new Map(), notes: new Set() };
  const graph = view.graph;
  for (const relu of plan.foldedRelu) {
    const producer = view.producers.get(relu.input[0]!)!;
    producer.output[0] = relu.output[0]!;
  }
  const folded = new Set(plan.foldedRelu);
  graph.node = graph.node.filter((n) => !folded.has(n));
  for (const t of plan.activations) {
    const range = ranges.get(plan.reuse.get(t) ?? t);
    if (!range) throw new Error(`no calibrated range for tensor "${t}"`);
    quantizeActivation(t, range, ctx);
  }
  for (const n of plan.nodes) quantizeWeights(n, ctx);
  graph.node.push(...ctx.added);
  return [...ctx.notes];
}

function quantizeActivation(t: string, r: Range, ctx: Ctx): void {
  const { scale, zeroPoint } = uint8Params(r.min, r.max);
  const g = ctx.view.graph;
  const s = ctx.fresh(`${t}_scale`);
  const zp = ctx.fresh(`${t}_zero_point`);
  const q = ctx.fresh(`${t}_quantized`);
  const dq = ctx.fresh(`${t}_dequantized`);
  g.initializer.push(
    floatTensor(s, [], Float32Array.of(scale)),
    makeTensor(zp, DT.UINT8, [], Uint8Array.of(zeroPoint)),
  );
  renameIn(g.node, t, dq);
  ctx.added.push(
    makeNode('QuantizeLinear', [t, s, zp], [q], ctx.fresh(`${t}_QuantizeLinear`)),
    makeNode('DequantizeLinear', [q, s, zp], [dq], ctx.fresh(`${t}_DequantizeLinear`)),
  );
  ctx.actScale.set(dq, scale);
  ctx.dq.set(t, dq);
}

// Output channel axis of the weight: Conv [Cout,...] → 0; MatMul B [K,N] → 1; Gemm B → 1, or 0 with transB.
function weightAxis(n: NodeProto): number {
  if (n.opType === 'Conv') return 0;
  return n.opType === 'Gemm' && attrInt(n, 'transB', 0) ? 0 : 1;
}

function setAttrOne(n: NodeProto, name: string): void {
  const a = n.attribute.find((x) => x.name === name);
  if (a) a.f = 1;
}

function quantizeWeights(n: NodeProto, ctx: Ctx): void {
  const w = ctx.view.constantTensor(n.input[1]!)!;
  const dims = w.dims.map(Number);
  let data = tensorToFloat32(w, ctx.o.baseDir);
  // Gemm's alpha/beta are folded into the constants so the quantized op is a plain Gemm.
  const alpha = n.opType === 'Gemm' ? attrFloat(n, 'alpha', 1) : 1;
  if (alpha !== 1) data = data.map((v) => v * alpha);
  setAttrOne(n, 'alpha');
  const axis = weightAxis(n);
  const { q, scales } = quantizeWeightInt8(data, dims, ctx.o.perChannel ? axis : undefined, ctx.o.reduceRange);
  const base = n.input[1]!;
  const sdims = scales.length === 1 ? [] : [scales.length];
  const names = [ctx.fresh(`${base}_quantized`), ctx.fresh(`${base}_scale`), ctx.fresh(`${base}_zero_point`)];
  const g = ctx.view.graph;
  g.initializer.push(makeTensor(names[0]!, DT.INT8, dims, q), floatTensor(names[1]!, sdims, scales));
  g.initializer.push(makeTensor(names[2]!, DT.INT8, sdims, new Int8Array(scales.length)));
  const dq = ctx.fresh(`${base}_dequantized`);
  const ints: Record<string, number> = scales.length > 1 ? { axis } : {};
  ctx.added.push(makeNode('DequantizeLinear', names, [dq], ctx.fresh(`${base}_DequantizeLinear`), ints));
  n.input[1] = dq;
  const sIn = ctx.actScale.get(n.input[0]!);
  if (n.input[2]) quantizeBias(n, 2, sIn, scales, ctx);
  const ab = ctx.plan.addBias.get(n);
  if (ab) quantizeBias(ab.add, ab.index, sIn, scales, ctx);
}

// Bias input `index` of node n to int32 with scale s_in × s_w (per channel when the weight is).
function quantizeBias(n: NodeProto, index: number, sIn: number | undefined, wScales: Float32Array, ctx: Ctx): void {
  const bias = n.input[index]!;
  const t = ctx.view.constantTensor(bias)!;
  const beta = n.opType === 'Gemm' ? attrFloat(n, 'beta', 1) : 1;
  setAttrOne(n, 'beta');
  let b = tensorToFloat32(t, ctx.o.baseDir);
  if (beta !== 1) b = b.map((v) => v * beta);
  if (sIn === undefined || t.dims.length !== 1) {
    // Bias of a rank other than 1 stays float (scaled by beta when needed).
    if (beta !== 1) n.input[index] = pushFloat(ctx.view.graph, ctx.fresh(`${bias}_beta`), t, b);
    return;
  }
  const scales = Float32Array.from({ length: b.length }, (_, i) => sIn * wScales[wScales.length === 1 ? 0 : i]!);
  const q = new Int32Array(b.length);
  let clipped = 0;
  for (let i = 0; i < b.length; i++) {
    const v = scales[i]! > 0 ? Math.round(b[i]! / scales[i]!) : 0;
    q[i] = Math.max(-(2 ** 31) + 1, Math.min(2 ** 31 - 1, v));
    if (q[i] !== v) clipped++;
  }
  if (clipped) ctx.notes.add(`${clipped} bias value(s) of ${n.name || bias} clipped to the int32 range`);
  const qn = ctx.fresh(`${bias}_quantized`);
  const sn = ctx.fresh(`${bias}_scale`);
  const per = wScales.length > 1;
  ctx.view.graph.initializer.push(
    makeTensor(qn, DT.INT32, [b.length], q),
    floatTensor(sn, per ? [b.length] : [], per ? scales : scales.subarray(0, 1)),
  );
  const dq = ctx.fresh(`${bias}_dequantized`);
  ctx.added.push(
    makeNode('DequantizeLinear', [qn, sn], [dq], ctx.fresh(`${bias}_DequantizeLinear`), per ? { axis: 0 } : {}),
  );
  n.input[index] = dq;
}

function pushFloat(g: GraphProto, name: string, like: TensorProto, data: Float32Array): string {
  g.initializer.push(floatTensor(name, like.dims.map(Number), data));
  return name;
}
