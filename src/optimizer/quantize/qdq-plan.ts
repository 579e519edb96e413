/**
 * What static QDQ quantization will touch, decided before calibration: the nodes whose weights get
 * int8 (MatMul/Gemm/Conv with constant float weights), the activation tensors that get a
 * QuantizeLinear/DequantizeLinear pair (and so need a calibrated range), the Relu nodes folded into
 * the output quantizer, and the pass-through ops (MaxPool, Reshape, ...) that reuse their input's
 * scale so onnxruntime can keep the chain in int8.
 */
import type { GraphProto, NodeProto } from '../../gen/onnx-ml_pb.js';
import { TensorProto_DataType as DT } from '../../gen/onnx-ml_pb.js';
import type { GraphView } from '../model/graph.js';
import { dqReachesImplicitRead } from './qdq-propagation.js';
import { attrInt } from '../model/attributes.js';

export interface QdqPlanOptions {
  /** Op types to quantize (default MatMul, Gemm, Conv). */
  opTypes?: string[];
  excludeNodes?: string[];
  excludeOpTypes?: string[];
}

export interface QdqPlan {
  nodes: NodeProto[];
  /** Activation tensors that get a Q/DQ pair, in graph order. */
  activations: string[];
  /** Tensor → the tensor whose range it reuses (outputs of pass-through ops). */
  reuse: Map<string, string>;
  /** Relu nodes removed because the uint8 output quantizer (zero point 0) already clips at 0. */
  foldedRelu: NodeProto[];
  /** MatMul → the Add that applies its constant bias (quantized to int32 so onnxruntime can fuse QGemm). */
  addBias: Map<NodeProto, { add: NodeProto; index: number }>;
  skipped: { node: string; reason: string }[];
}

export const DEFAULT_STATIC_OPS = ['MatMul', 'Gemm', 'Conv'];
// Ops that only move or select values: quantized in and out with one scale, they run in int8.
const PASS_THROUGH = new Set(['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze']);

/** A readable label for a node in messages. */
export function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType}:${n.output[0]}`;
}

/** Why a node cannot be quantized statically, or undefined when it can. */
export function staticWhyNot(node: NodeProto, view: GraphView): string | undefined {
  const w = view.constantTensor(node.input[1] ?? '');
  if (!w) return node.opType === 'MatMul' ? 'activation × activation MatMul stays float' : 'weight is not a constant';
  if (w.dataType !== DT.FLOAT) return 'weight is not float32';
  if (node.opType === 'Conv' && w.dims.length < 3) return `Conv weight has rank ${w.dims.length}`;
  if (node.opType !== 'Conv' && w.dims.length !== 2) return `weight has rank ${w.dims.length}, not 2`;
  if (node.opType === 'Gemm' && attrInt(node, 'transA', 0) !== 0) return 'Gemm with transA';
  const bias = node.opType === 'MatMul' ? undefined : node.input[2];
  if (bias && !view.constantTensor(bias)) return 'bias is not a constant';
  return undefined;
}

/**
 * Plan static QDQ quantization of one graph (the main graph or a subgraph; for a subgraph pass a view
 * that finds outer-scope constants). `skip` holds nodes to leave float with the reason to report.
 */
export function planQdq(view: GraphView, o: QdqPlanOptions = {}, skip = new Map<NodeProto, string>()): QdqPlan {
  const opTypes = new Set(o.opTypes ?? DEFAULT_STATIC_OPS);
  const plan: QdqPlan = {
    nodes: [],
    activations: [],
    reuse: new Map(),
    foldedRelu: [],
    addBias: new Map(),
    skipped: [],
  };
  const wanted = (n: NodeProto) =>
    opTypes.has(n.opType) && !o.excludeOpTypes?.includes(n.opType) && !o.excludeNodes?.includes(n.name);
  for (const n of view.topoOrder()) {
    if (!wanted(n)) continue;
    const reason = skip.get(n) ?? staticWhyNot(n, view) ?? propagationHazard(n, view);
    if (reason) plan.skipped.push({ node: nodeLabel(n), reason });
    else plan.nodes.push(n);
  }
  const acts = new Set<string>();
  const qnodes = new Set(plan.nodes);
  for (const n of plan.nodes) acts.add(n.input[0]!);
  for (const n of plan.nodes) planOutput(n, view, qnodes, acts, plan);
  for (const n of plan.nodes) if (n.opType === 'MatMul') findAddBias(n, view, plan);
  for (const a of [...acts]) traceSource(a, view, acts, plan.reuse);
  plan.activations = orderByGraph(view.graph, acts);
  return plan;
}

// A Conv's output needs a Q too (QLinearConv), so a hazard on either side keeps the Conv float.
function propagationHazard(n: NodeProto, view: GraphView): string | undefined {
  const t = n.opType === 'Conv' ? [n.input[0]!, outputTarget(n, view).out] : [n.input[0]!];
  const bad = t.find((x) => dqReachesImplicitRead(x, view));
  return bad
    ? `"${bad}" flows through reshaping ops into a subgraph, where onnxruntime's QDQ propagation would abort`
    : undefined;
}

// The tensor an output quantizer goes on: the node's output, or the output of a lone Relu after it.
function outputTarget(n: NodeProto, view: GraphView): { out: string; relu?: NodeProto } {
  const out = n.output[0]!;
  const cons = view.consumersOf(out);
  const relu = cons.length === 1 && cons[0]!.opType === 'Relu' ? cons[0]! : undefined;
  const reluOut = relu?.output[0];
  const foldable =
    relu && reluOut && !view.graphOutputs.has(out) && !view.graphOutputs.has(reluOut) && explicitOnly(reluOut, view);
  return foldable ? { out: reluOut, relu } : { out };
}

// Output quantization: Conv always (QLinearConv needs an output Q); MatMul/Gemm only when every
// consumer reads the result as a quantized input (otherwise the extra Q/DQ only adds error).
function planOutput(n: NodeProto, view: GraphView, qnodes: Set<NodeProto>, acts: Set<string>, plan: QdqPlan): void {
  const { out, relu } = outputTarget(n, view);
  if (view.graphOutputs.has(out) || !explicitOnly(out, view) || dqReachesImplicitRead(out, view)) return;
  const readers = view.consumersOf(out);
  const allQuantized = readers.length > 0 && readers.every((r) => qnodes.has(r) && r.input[0] === out);
  if (n.opType !== 'Conv' && !allQuantized) return;
  if (relu) plan.foldedRelu.push(relu);
  acts.add(out);
}

// A MatMul whose only reader is Add(+ constant 1-D bias of N values): onnxruntime turns the pair
// into Gemm and only fuses a QGemm when the bias is int32 behind a DequantizeLinear too.
function findAddBias(n: NodeProto, view: GraphView, plan: QdqPlan): void {
  const out = n.output[0]!;
  const cons = view.consumersOf(out);
  const add = cons.length === 1 && cons[0]!.opType === 'Add' ? cons[0]! : undefined;
  if (!add || view.graphOutputs.has(out) || add.input.length !== 2) return;
  const index = add.input[0] === out ? 1 : 0;
  const b = view.constantTensor(add.input[index]!);
  const w = view.constantTensor(n.input[1]!)!;
  if (!b || b.dataType !== DT.FLOAT || b.dims.length !== 1 || b.dims[0] !== w.dims[1]) return;
  plan.addBias.set(n, { add, index });
}

// True when every consumer names the tensor as an explicit input (no subgraph reads it).
function explicitOnly(name: string, view: GraphView): boolean {
  return view.consumersOf(name).every((c) => c.input.includes(name));
}

// Walk back through pass-through ops to a tensor that is quantized anyway; reuse its range.
function traceSource(a: string, view: GraphView, acts: Set<string>, reuse: Map<string, string>): void {
  const chain: string[] = [];
  let cur = a;
  for (;;) {
    const p = view.producers.get(cur);
    if (!p || !PASS_THROUGH.has(p.opType) || !p.input[0]) return;
    const src = p.input[0];
    if (view.graphOutputs.has(cur) || !explicitOnly(cur, view) || dqReachesImplicitRead(cur, view)) return;
    chain.push(cur);
    if (acts.has(src) && !reuse.has(src)) break;
    if (reuse.has(src)) {
      cur = reuse.get(src)!;
      break;
    }
    cur = src;
  }
  const root = view.producers.get(chain[chain.length - 1]!)!.input[0]!;
  const base = reuse.get(root) ?? root;
  for (const t of chain) {
    acts.add(t);
    reuse.set(t, base);
  }
}

function orderByGraph(graph: GraphProto, names: Set<string>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (t: string) => {
    if (names.has(t) && !seen.has(t)) {
      seen.add(t);
      order.push(t);
    }
  };
  for (const v of graph.input) visit(v.name);
  for (const n of graph.node) for (const o of n.output) visit(o);
  for (const t of names) visit(t);
  return order;
}
