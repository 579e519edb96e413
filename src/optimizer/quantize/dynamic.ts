/**
 * Pass: dynamic INT8 quantization in operator form, the fast path for MLP/transformer MatMuls.
 *   A → DynamicQuantizeLinear → (A_q uint8, A_scale, A_zp)      one per activation, shared by consumers
 *   MatMulInteger(A_q, W_q int8, A_zp, W_zp) → Cast(float) → Mul(A_scale * W_scale) → original output
 * Only MatMul/Gemm whose weight is a constant 2-D float tensor are rewritten; Gemm becomes
 * MatMul (+ Add for the bias) first. Weights in Constant nodes are lifted; subgraphs are handled.
 */
import { clone } from '@bufbuild/protobuf';
import {
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  TensorProto_DataType as DT,
} from '../../gen/onnx-ml_pb.js';
import { allGraphs, defaultOpset, GraphView, nameAllocator } from '../model/graph.js';
import { liftConstants } from '../model/lift-constants.js';
import { quantizeWeightInt8, transpose2d } from './math.js';
import { attrFloat, attrInt, makeNode } from '../model/attributes.js';
import { floatTensor, makeTensor, tensorToFloat32 } from '../model/tensor-data.js';

export interface DynamicQuantOptions {
  /** One scale per output column of each weight instead of one per tensor (default true). */
  perChannel?: boolean;
  /** 7-bit weights: only for x86 without VNNI, where u8×s8 pairs can saturate int16. */
  reduceRange?: boolean;
  /** Op types to quantize (default MatMul and Gemm). */
  opTypes?: string[];
  /** Node names never to quantize. */
  excludeNodes?: string[];
  /** Op types never to quantize. */
  excludeOpTypes?: string[];
  /** Folder of the model, for weights held as external data. */
  baseDir?: string;
}

export interface DynamicQuantResult {
  model: ModelProto;
  quantized: string[];
  skipped: { node: string; reason: string }[];
}

/** Quantize MatMul/Gemm weights of a model to int8 with runtime-quantized uint8 activations. */
export function quantizeDynamic(model: ModelProto, opts: DynamicQuantOptions = {}): DynamicQuantResult {
  if (defaultOpset(model) < 11) {
    throw new Error(
      `dynamic quantization needs ai.onnx opset >= 11 (DynamicQuantizeLinear); this model has opset ${defaultOpset(model)}`,
    );
  }
  const out = liftConstants(clone(ModelProtoSchema, model)).model;
  const result: DynamicQuantResult = { model: out, quantized: [], skipped: [] };
  const fresh = nameAllocator(out);
  for (const { graph } of allGraphs(out)) quantizeGraph(new GraphView(graph), opts, fresh, result);
  return result;
}

/**
 * Dynamic-quantize only `targets` of one graph (static quantization's fallback where no activation
 * range could be calibrated). `view` may resolve outer-scope weights (see model/subgraph-scope.ts).
 */
export function quantizeNodesDynamic(
  view: GraphView,
  targets: Set<NodeProto>,
  opts: DynamicQuantOptions,
  fresh: (b: string) => string,
): Omit<DynamicQuantResult, 'model'> {
  const res: Omit<DynamicQuantResult, 'model'> = { quantized: [], skipped: [] };
  quantizeGraph(view, opts, fresh, res, targets);
  return res;
}

interface GraphState {
  view: GraphView;
  dql: Map<string, [string, string, string]>;
  weights: Map<string, { q: string; scale: string; zp: string }>;
  nodes: NodeProto[];
}

function quantizeGraph(
  view: GraphView,
  opts: DynamicQuantOptions,
  fresh: (b: string) => string,
  res: Omit<DynamicQuantResult, 'model'>,
  only?: Set<NodeProto>,
): void {
  const graph = view.graph;
  const st: GraphState = { view, dql: new Map(), weights: new Map(), nodes: [] };
  const opTypes = new Set(opts.opTypes ?? ['MatMul', 'Gemm']);
  for (const node of graph.node) {
    const label = node.name || `${node.opType}:${node.output[0]}`;
    const eligible =
      (only ? only.has(node) : opTypes.has(node.opType)) &&
      !opts.excludeOpTypes?.includes(node.opType) &&
      !opts.excludeNodes?.includes(node.name);
    const reason = eligible ? whyNot(node, st.view) : undefined;
    if (!eligible || reason) {
      if (eligible && reason) res.skipped.push({ node: label, reason });
      st.nodes.push(node);
      continue;
    }
    rewrite(node, st, opts, fresh);
    res.quantized.push(label);
  }
  graph.node = st.nodes;
  dropUnused(graph);
}

function whyNot(node: NodeProto, view: GraphView): string | undefined {
  const w = view.constantTensor(node.input[1] ?? '');
  if (!w) return 'weight is not a constant';
  if (w.dataType !== DT.FLOAT) return 'weight is not float32';
  if (w.dims.length !== 2) return `weight has rank ${w.dims.length}, not 2`;
  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) return 'Gemm with transA';
    const c = node.input[2];
    if (c && attrFloat(node, 'beta', 1) !== 1 && !view.constantTensor(c))
      return 'Gemm bias scaled by beta is not constant';
  }
  return undefined;
}

function rewrite(node: NodeProto, st: GraphState, opts: DynamicQuantOptions, fresh: (b: string) => string): void {
  const [a, b] = [node.input[0]!, node.input[1]!];
  const y = node.output[0]!;
  const isGemm = node.opType === 'Gemm';
  const bias = isGemm ? node.input[2] : undefined;
  const mmOut = bias ? fresh(`${y}_matmul`) : y;
  const graph = st.view.graph;
  // Quantized weights are cached per weight name (and Gemm transposition) within the graph.
  const key = `${b}|${isGemm ? attrInt(node, 'transB', 0) : 0}|${isGemm ? attrFloat(node, 'alpha', 1) : 1}`;
  let wq = st.weights.get(key);
  if (!wq) {
    const t = st.view.constantTensor(b)!;
    let w = tensorToFloat32(t, opts.baseDir);
    let dims = t.dims.map(Number);
    if (isGemm && attrInt(node, 'transB', 0)) {
      w = transpose2d(w, dims[0]!, dims[1]!);
      dims = [dims[1]!, dims[0]!];
    }
    const alpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
    if (alpha !== 1) w = w.map((v) => v * alpha);
    const { q, scales } = quantizeWeightInt8(w, dims, opts.perChannel === false ? undefined : 1, opts.reduceRange);
    const sdims = scales.length === 1 ? [] : [scales.length];
    wq = { q: fresh(`${b}_quantized`), scale: fresh(`${b}_scale`), zp: fresh(`${b}_zero_point`) };
    graph.initializer.push(makeTensor(wq.q, DT.INT8, dims, q), floatTensor(wq.scale, sdims, scales));
    graph.initializer.push(makeTensor(wq.zp, DT.INT8, sdims, new Int8Array(scales.length)));
    st.weights.set(key, wq);
  }
  let aq = st.dql.get(a);
  if (!aq) {
    aq = [fresh(`${a}_quantized`), fresh(`${a}_scale`), fresh(`${a}_zero_point`)];
    st.nodes.push(makeNode('DynamicQuantizeLinear', [a], aq, fresh(`${a}_DynamicQuantizeLinear`)));
    st.dql.set(a, aq);
  }
  const base = node.name || y;
  const i32 = fresh(`${y}_int32`);
  const f32 = fresh(`${y}_float`);
  const sc = fresh(`${y}_scale`);
  st.nodes.push(
    makeNode('MatMulInteger', [aq[0], wq.q, aq[2], wq.zp], [i32], fresh(`${base}_MatMulInteger`)),
    makeNode('Cast', [i32], [f32], fresh(`${base}_Cast`), { to: DT.FLOAT }),
    makeNode('Mul', [aq[1], wq.scale], [sc], fresh(`${base}_scale_Mul`)),
    makeNode('Mul', [f32, sc], [mmOut], fresh(`${base}_Mul`)),
  );
  if (bias)
    st.nodes.push(makeNode('Add', [mmOut, scaledBias(node, bias, st, opts, fresh)], [y], fresh(`${base}_bias_Add`)));
}

function scaledBias(
  node: NodeProto,
  bias: string,
  st: GraphState,
  opts: DynamicQuantOptions,
  fresh: (b: string) => string,
): string {
  const beta = attrFloat(node, 'beta', 1);
  if (beta === 1) return bias;
  const t = st.view.constantTensor(bias)!;
  const name = fresh(`${bias}_beta`);
  st.view.graph.initializer.push(
    floatTensor(
      name,
      t.dims.map(Number),
      tensorToFloat32(t, opts.baseDir).map((v) => v * beta),
    ),
  );
  return name;
}

// Removes initializers nothing reads any more (the float weights that were replaced).
function dropUnused(graph: GraphProto): void {
  const view = new GraphView(graph);
  graph.initializer = graph.initializer.filter(
    (t) => view.consumersOf(t.name).length > 0 || view.graphOutputs.has(t.name) || view.graphInputs.has(t.name),
  );
}
