/**
 * `optimize inspect`: what a model is made of and what each optimization would touch. Pure function
 * of the decoded model (plus the folder for external data sizes); the CLI formats it (cli/optimize/inspect-format.ts).
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../../gen/onnx-ml_pb.js';
import { allGraphs, defaultOpset, GraphView } from './graph.js';
import { inferShapes, type Shape } from './shape-infer.js';
import { attrInt } from './attributes.js';
import { externalInfo, isExternal, onnxTypeBytes, onnxTypeName, tensorNumel } from './tensor-data.js';

export interface IoInfo {
  name: string;
  dtype: string;
  dims: (number | string)[];
  dynamic: boolean;
}

export interface InspectReport {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: IoInfo[];
  outputs: IoInfo[];
  nodeCount: number;
  opHistogram: Record<string, number>;
  params: { count: number; bytes: number; byDtype: Record<string, { count: number; bytes: number }> };
  constantWeights: { nodes: number; params: number; bytes: number };
  externalData: { tensors: number; bytes: number; files: string[] };
  subgraphs: { path: string; owner: string; nodes: number }[];
  flops: { inputShapes: Record<string, number[]>; total: number; byOp: Record<string, number>; unknown: string[] };
  candidates: Candidates;
  warnings: string[];
}

export interface Candidates {
  dynamicInt8: { matmul: number; gemm: number; weightParams: number; skippedConv: number; needsOpset11: boolean };
  staticQdq: { conv: number; matmul: number; gemm: number };
  fp16: { floatBytes: number; savedBytes: number };
  liftConstants: { nodes: number; params: number };
  prune: { layers: number; params: number };
}

// Constant nodes holding at least this many float elements count as weights.
const WEIGHT_MIN = 16;
const FLOAT_TYPES = new Set([1, 10, 11, 16]);

/** Inspect a model; inputShapes fixes dynamic dims (others default to 1) for the FLOP estimate. */
export function inspectModel(model: ModelProto, inputShapes: Record<string, number[]> = {}): InspectReport {
  const graph = model.graph!;
  const graphs = allGraphs(model);
  const hist: Record<string, number> = {};
  let nodeCount = 0;
  for (const { graph: g } of graphs) {
    for (const n of g.node) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      hist[key] = (hist[key] ?? 0) + 1;
      nodeCount++;
    }
  }
  const warnings: string[] = [];
  const initNames = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.filter((v) => !initNames.has(v.name)).map(ioInfo);
  return {
    irVersion: Number(model.irVersion),
    opsets: model.opsetImport.map((o) => ({ domain: o.domain || 'ai.onnx', version: Number(o.version) })),
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
    inputs,
    outputs: graph.output.map(ioInfo),
    nodeCount,
    opHistogram: Object.fromEntries(Object.entries(hist).sort((a, b) => b[1] - a[1])),
    params: paramStats(model),
    constantWeights: constantWeightStats(model),
    externalData: externalStats(model),
    subgraphs: graphs.slice(1).map((r) => ({ path: r.path, owner: r.owner?.opType ?? '', nodes: r.graph.node.length })),
    flops: estimateFlops(graph, inputs, inputShapes, warnings),
    candidates: candidates(model),
    warnings,
  };
}

function ioInfo(v: ValueInfoProto): IoInfo {
  const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  const dims = (tt?.shape?.dim ?? []).map((d) =>
    d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?',
  );
  return {
    name: v.name,
    dtype: tt ? onnxTypeName(tt.elemType) : 'non-tensor',
    dims,
    dynamic: dims.some((d) => typeof d !== 'number'),
  };
}

function everyTensor(model: ModelProto, fn: (t: TensorProto, viaConstant: boolean) => void): void {
  for (const { graph } of allGraphs(model)) {
    for (const t of graph.initializer) fn(t, false);
    for (const n of graph.node) for (const a of n.attribute) if (a.t) fn(a.t, n.opType === 'Constant');
  }
}

function paramStats(model: ModelProto): InspectReport['params'] {
  const byDtype: Record<string, { count: number; bytes: number }> = {};
  let count = 0;
  let bytes = 0;
  everyTensor(model, (t) => {
    const n = tensorNumel(t);
    const b = n * onnxTypeBytes(t.dataType);
    const k = onnxTypeName(t.dataType);
    byDtype[k] ??= { count: 0, bytes: 0 };
    const e = byDtype[k];
    e.count += n;
    e.bytes += b;
    count += n;
    bytes += b;
  });
  return { count, bytes, byDtype };
}

function constantWeightStats(model: ModelProto): InspectReport['constantWeights'] {
  const s = { nodes: 0, params: 0, bytes: 0 };
  everyTensor(model, (t, viaConstant) => {
    if (!viaConstant || !FLOAT_TYPES.has(t.dataType) || tensorNumel(t) < WEIGHT_MIN) return;
    s.nodes++;
    s.params += tensorNumel(t);
    s.bytes += tensorNumel(t) * onnxTypeBytes(t.dataType);
  });
  return s;
}

function externalStats(model: ModelProto): InspectReport['externalData'] {
  const files = new Set<string>();
  let tensors = 0;
  let bytes = 0;
  everyTensor(model, (t) => {
    if (!isExternal(t)) return;
    const info = externalInfo(t);
    files.add(info.location);
    tensors++;
    bytes += info.length ?? tensorNumel(t) * onnxTypeBytes(t.dataType);
  });
  return { tensors, bytes, files: [...files] };
}

/** FLOPs (2 per multiply-add) of one node given inferred shapes, or undefined when not computable. */
export function nodeFlops(n: NodeProto, shapes: Map<string, Shape>): number | undefined {
  const s = (i: number) => shapes.get(n.input[i] ?? '');
  const out = shapes.get(n.output[0] ?? '');
  const prod = (x: Shape) => x.reduce((a, b) => a * b, 1);
  switch (n.opType) {
    case 'MatMul':
    case 'MatMulInteger': {
      const a = s(0);
      return a && out ? 2 * prod(out) * a[a.length - 1]! : undefined;
    }
    case 'Gemm': {
      const a = s(0);
      return a && out ? 2 * prod(out) * (attrInt(n, 'transA', 0) ? a[0]! : a[1]!) : undefined;
    }
    case 'Conv':
    case 'ConvInteger': {
      const w = s(1);
      return w && out ? 2 * prod(out) * prod(w.slice(1)) : undefined;
    }
    case 'ConvTranspose': {
      const x = s(0);
      const w = s(1);
      return x && w ? 2 * prod(x) * prod(w.slice(1)) : undefined;
    }
    default:
      return undefined;
  }
}

const FLOP_OPS = new Set(['MatMul', 'MatMulInteger', 'Gemm', 'Conv', 'ConvInteger', 'ConvTranspose']);

function estimateFlops(
  graph: GraphProto,
  inputs: IoInfo[],
  given: Record<string, number[]>,
  warnings: string[],
): InspectReport['flops'] {
  const shapes = new Map<string, Shape>();
  for (const io of inputs)
    shapes.set(io.name, given[io.name] ?? io.dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1)));
  const view = new GraphView(graph);
  const env = inferShapes(view, shapes);
  const byOp: Record<string, number> = {};
  const unknown: string[] = [];
  let total = 0;
  for (const n of graph.node) {
    if (!FLOP_OPS.has(n.opType)) continue;
    const f = nodeFlops(n, env.shapes);
    if (f === undefined) unknown.push(n.name || n.opType);
    else {
      byOp[n.opType] = (byOp[n.opType] ?? 0) + f;
      total += f;
    }
  }
  if (unknown.length) warnings.push(`FLOPs unknown for ${unknown.length} node(s): shapes could not be inferred`);
  return { inputShapes: Object.fromEntries(inputs.map((io) => [io.name, shapes.get(io.name)!])), total, byOp, unknown };
}

function candidates(model: ModelProto): Candidates {
  const c: Candidates = {
    dynamicInt8: { matmul: 0, gemm: 0, weightParams: 0, skippedConv: 0, needsOpset11: defaultOpset(model) < 11 },
    staticQdq: { conv: 0, matmul: 0, gemm: 0 },
    fp16: { floatBytes: 0, savedBytes: 0 },
    liftConstants: { nodes: 0, params: 0 },
    prune: { layers: 0, params: 0 },
  };
  for (const { graph } of allGraphs(model)) {
    const view = new GraphView(graph);
    for (const n of graph.node) countNode(n, view, c);
  }
  everyTensor(model, (t) => {
    if (t.dataType !== 1) return;
    c.fp16.floatBytes += tensorNumel(t) * 4;
    c.fp16.savedBytes += tensorNumel(t) * 2;
  });
  return c;
}

function countNode(n: NodeProto, view: GraphView, c: Candidates): void {
  const w = view.constantTensor(n.input[1] ?? '');
  const floatW = w !== undefined && w.dataType === 1;
  if (n.opType === 'Constant') {
    const t = n.attribute.find((a) => a.name === 'value')?.t;
    if (t && FLOAT_TYPES.has(t.dataType) && tensorNumel(t) >= WEIGHT_MIN) {
      c.liftConstants.nodes++;
      c.liftConstants.params += tensorNumel(t);
    }
  } else if (n.opType === 'MatMul' || n.opType === 'Gemm') {
    c.staticQdq[n.opType === 'MatMul' ? 'matmul' : 'gemm']++;
    if (floatW && w.dims.length === 2) {
      c.dynamicInt8[n.opType === 'MatMul' ? 'matmul' : 'gemm']++;
      c.dynamicInt8.weightParams += tensorNumel(w);
      c.prune.layers++;
      c.prune.params += tensorNumel(w);
    }
  } else if (n.opType === 'Conv') {
    c.staticQdq.conv++;
    c.dynamicInt8.skippedConv++;
    if (floatW) {
      c.prune.layers++;
      c.prune.params += tensorNumel(w);
    }
  }
}
