/**
 * Pass: float32 → float16 for weights and compute. Float initializers and Constant values become
 * float16 (clamped into the fp16 range so nothing turns into inf or flushes to a signless 0), float
 * Casts retarget float16, value_info and subgraph I/O follow. With keepIoTypes (the default) graph
 * inputs/outputs stay float32 behind a Cast, so serving code does not change. Ops on the block list
 * run in float32 between Casts. On CPU onnxruntime runs most of this in float32 again (it inserts
 * Casts for missing fp16 kernels): the file halves, the speed does not change. This is for GPU
 * serving and edge bundles.
 */
import { clone } from '@bufbuild/protobuf';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../../gen/onnx-ml_pb.js';
import { ModelProtoSchema, TensorProto_DataType as DT } from '../../gen/onnx-ml_pb.js';
import { toFloat16Bits } from '../../onnx/float16.js';
import { declaredType, inferElemTypes, type TypeMap } from '../model/dtype-infer.js';
import { allGraphs, GraphView, nameAllocator, nodeSubgraphs, renameIn } from '../model/graph.js';
import { makeNode } from '../model/attributes.js';
import { makeTensor, tensorToFloat32 } from '../model/tensor-data.js';

/** Ops kept in float32 by default: float index/shape math, scale inputs, missing fp16 kernels, overflow. */
export const DEFAULT_FP16_BLOCK_OPS = [
  'Range', // index arithmetic in float loses integers above 2048
  'CumSum', // long running sums overflow/lose precision
  'Resize', // scales/roi inputs must stay float32
  'Upsample',
  'RoiAlign',
  'NonMaxSuppression',
  'TopK', // ties and ordering change with rounding
  'RandomUniformLike',
  'RandomNormalLike',
  'QuantizeLinear', // scales are float32 before opset 19
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'ReduceSumSquare', // sums of squares overflow 65504 quickly
  'ReduceL2',
  'ReduceLogSumExp',
];

export const FP16_MAX = 65504;
// Smallest fp16 subnormal: smaller non-zero weights keep their sign at this magnitude instead of 0.
export const FP16_MIN_POSITIVE = 2 ** -24;

export interface Fp16Options {
  /** Keep graph inputs/outputs float32 with Casts at the boundary (default true). */
  keepIoTypes?: boolean;
  /** Op types kept in float32 (default DEFAULT_FP16_BLOCK_OPS plus every ai.onnx.ml op). */
  blockOps?: string[];
  /** Extra op types to keep in float32, added to the default list. */
  extraBlockOps?: string[];
  /** Node names kept in float32. */
  blockNodes?: string[];
  /**
   * Keep nodes whose constant inputs exceed the fp16 range in float32 instead of clamping them
   * (default true): clamping a BatchNormalization running variance of 1e8 to 65504 broke PaddleOCR's
   * detector outright, while the other weights clamp harmlessly.
   */
  autoBlockOverflow?: boolean;
  baseDir?: string;
}

export interface Fp16Result {
  model: ModelProto;
  convertedTensors: number;
  /** Weight values clamped into the fp16 range (|x| > 65504 or 0 < |x| < 2^-24). */
  clamped: number;
  blockedNodes: string[];
  notes: string[];
}

interface Ctx {
  fresh: (b: string) => string;
  blocked: (n: NodeProto) => boolean;
  baseDir?: string;
  res: Fp16Result;
}

/** Convert a model's float32 weights and compute to float16. */
export function convertFp16(model: ModelProto, o: Fp16Options = {}): Fp16Result {
  const out = clone(ModelProtoSchema, model);
  const res: Fp16Result = { model: out, convertedTensors: 0, clamped: 0, blockedNodes: [], notes: [] };
  const blockOps = new Set([...(o.blockOps ?? DEFAULT_FP16_BLOCK_OPS), ...(o.extraBlockOps ?? [])]);
  const blockNodes = new Set(o.blockNodes ?? []);
  const overflow = o.autoBlockOverflow === false ? new Set<NodeProto>() : overflowingNodes(out, o.baseDir);
  if (overflow.size > 0)
    res.notes.push(
      `${overflow.size} node(s) kept in float32: their constant inputs exceed the float16 range (±${FP16_MAX})`,
    );
  const ctx: Ctx = {
    fresh: nameAllocator(out),
    blocked: (n) => blockOps.has(n.opType) || blockNodes.has(n.name) || n.domain === 'ai.onnx.ml' || overflow.has(n),
    baseDir: o.baseDir,
    res,
  };
  const graph = out.graph!;
  const types = inferElemTypes(graph);
  if (![...types.values()].includes(DT.FLOAT))
    throw new Error('nothing to convert: the model has no float32 tensors (already float16?)');
  convertGraph(graph, types, ctx);
  if (o.keepIoTypes ?? true) keepIo(graph, types, ctx);
  else retypeIo(graph, types);
  graph.node = new GraphView(graph).topoOrder();
  if (res.clamped > 0) res.notes.push(`${res.clamped} weight value(s) clamped into the float16 range`);
  return res;
}

// Nodes (in any graph) reading a float constant with a value beyond the fp16 range.
function overflowingNodes(model: ModelProto, baseDir?: string): Set<NodeProto> {
  const out = new Set<NodeProto>();
  for (const { graph } of allGraphs(model)) {
    const view = new GraphView(graph);
    for (const n of graph.node) {
      const big = n.input.some((name) => {
        const t = name ? view.constantTensor(name) : undefined;
        return (
          t?.dataType === DT.FLOAT &&
          tensorToFloat32(t, baseDir).some((x) => Math.abs(x) > FP16_MAX && Number.isFinite(x))
        );
      });
      if (big) out.add(n);
    }
  }
  return out;
}

// Converts one graph's tensors and nodes; recurses into subgraphs of nodes that run in fp16.
function convertGraph(graph: GraphProto, types: TypeMap, ctx: Ctx): void {
  const view = new GraphView(graph);
  const onlyBlocked = (name: string) => {
    const c = view.consumersOf(name);
    return c.length > 0 && c.every(ctx.blocked) && !view.graphOutputs.has(name);
  };
  const kept32 = new Set<string>(); // float constants left in fp32 because only blocked nodes read them
  graph.initializer = graph.initializer.map((t) => {
    if (t.dataType !== DT.FLOAT) return t;
    if (onlyBlocked(t.name)) return kept32.add(t.name) && t;
    return toFp16Tensor(t, ctx);
  });
  const added: NodeProto[] = [];
  for (const n of [...graph.node]) {
    if (ctx.blocked(n)) {
      wrapBlocked(n, types, kept32, ctx, added);
      continue;
    }
    convertNode(n, onlyBlocked, kept32, ctx);
    for (const sg of nodeSubgraphs(n)) {
      convertGraph(sg.graph, inferElemTypes(sg.graph, types), ctx);
      retypeIo(sg.graph, inferElemTypes(sg.graph, types));
    }
  }
  graph.node.push(...added);
  // Casts around blocked nodes were appended: restore topological order (subgraphs are never re-sorted later).
  if (added.length > 0) graph.node = new GraphView(graph).topoOrder();
  for (const v of graph.valueInfo) if (declaredType(v) === DT.FLOAT && !kept32.has(v.name)) setElemType(v, DT.FLOAT16);
}

function convertNode(n: NodeProto, onlyBlocked: (name: string) => boolean, kept32: Set<string>, ctx: Ctx): void {
  if (n.opType === 'Cast') {
    const to = n.attribute.find((a) => a.name === 'to');
    if (to && Number(to.i) === DT.FLOAT) to.i = BigInt(DT.FLOAT16);
    return;
  }
  const dtype = n.attribute.find((a) => a.name === 'dtype');
  if (dtype && Number(dtype.i) === DT.FLOAT) dtype.i = BigInt(DT.FLOAT16);
  for (const a of n.attribute) {
    if (!a.t || a.t.dataType !== DT.FLOAT) continue;
    if (n.opType === 'Constant' && onlyBlocked(n.output[0]!)) {
      kept32.add(n.output[0]!);
      continue;
    }
    a.t = toFp16Tensor(a.t, ctx);
  }
}

// A blocked node reads float32 (Cast from fp16 before it) and its float outputs go back to fp16.
function wrapBlocked(n: NodeProto, types: TypeMap, kept32: Set<string>, ctx: Ctx, added: NodeProto[]): void {
  ctx.res.blockedNodes.push(n.name || `${n.opType}:${n.output[0]}`);
  n.input.forEach((name, i) => {
    if (!name || types.get(name) !== DT.FLOAT || kept32.has(name)) return;
    const cast = ctx.fresh(`${name}_fp32`);
    added.push(makeNode('Cast', [name], [cast], ctx.fresh(`${name}_to_fp32`), { to: DT.FLOAT }));
    n.input[i] = cast;
  });
  n.output.forEach((name, i) => {
    if (!name || types.get(name) !== DT.FLOAT) return;
    const raw = ctx.fresh(`${name}_fp32`);
    n.output[i] = raw;
    added.push(makeNode('Cast', [raw], [name], ctx.fresh(`${name}_to_fp16`), { to: DT.FLOAT16 }));
  });
}

/** A float16 copy of a float32 tensor, with values clamped into the fp16 range. */
function toFp16Tensor(t: TensorProto, ctx: Ctx): TensorProto {
  const v = tensorToFloat32(t, ctx.baseDir);
  const bits = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    const a = Math.abs(x);
    let y = x;
    if (a > FP16_MAX && Number.isFinite(x)) y = Math.sign(x) * FP16_MAX;
    else if (a > 0 && a < FP16_MIN_POSITIVE) y = Math.sign(x) * FP16_MIN_POSITIVE;
    if (y !== x) ctx.res.clamped++;
    bits[i] = toFloat16Bits(y);
  }
  ctx.res.convertedTensors++;
  const out = makeTensor(t.name, DT.FLOAT16, t.dims.map(Number), bits);
  out.docString = t.docString;
  return out;
}

function setElemType(v: { type?: { value: { case: string | undefined; value?: unknown } } }, elem: number): void {
  const tt = v.type?.value;
  if (tt?.case === 'tensorType') (tt.value as { elemType: number }).elemType = elem;
}

// Subgraph (or keepIoTypes=false main graph) I/O: float32 declarations become float16.
function retypeIo(graph: GraphProto, types: TypeMap): void {
  for (const v of [...graph.input, ...graph.output]) {
    const t = declaredType(v) || types.get(v.name);
    if (t === DT.FLOAT) setElemType(v, DT.FLOAT16);
  }
}

// Main graph I/O stays float32: Cast(fp32→fp16) after each input, Cast(fp16→fp32) before each output.
function keepIo(graph: GraphProto, types: TypeMap, ctx: Ctx): void {
  const init = new Set(graph.initializer.map((t) => t.name));
  for (const v of graph.input) {
    if (init.has(v.name) || (declaredType(v) || types.get(v.name)) !== DT.FLOAT) continue;
    const half = ctx.fresh(`${v.name}_fp16`);
    renameReads(graph, v.name, half, ctx.blocked);
    graph.node.push(makeNode('Cast', [v.name], [half], ctx.fresh(`${v.name}_to_fp16`), { to: DT.FLOAT16 }));
  }
  for (const v of graph.output) {
    if ((declaredType(v) || types.get(v.name)) !== DT.FLOAT) continue;
    const half = ctx.fresh(`${v.name}_fp16`);
    renameIn(graph.node, v.name, half, 'output');
    renameIn(graph.node, v.name, half);
    graph.node.push(makeNode('Cast', [half], [v.name], ctx.fresh(`${v.name}_to_fp32`), { to: DT.FLOAT }));
  }
}

// Point readers of `from` (explicit and inside subgraphs that do not redefine it) at `to`.
function renameReads(graph: GraphProto, from: string, to: string, skip: (n: NodeProto) => boolean): void {
  for (const n of graph.node) {
    if (skip(n)) continue;
    renameIn([n], from, to);
    for (const sg of nodeSubgraphs(n)) {
      const g = sg.graph;
      const defines = g.input.some((v) => v.name === from) || g.initializer.some((t) => t.name === from);
      if (!defines) renameReads(g, from, to, skip);
    }
  }
}
