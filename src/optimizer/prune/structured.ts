/**
 * Pass: structured pruning of hidden neurons between two fully connected layers (and, through
 * conv.ts, of Conv output channels in the same run). For a chain
 *   MatMul/Gemm (W1) [+ Add bias] → per-neuron activations (Relu, Sigmoid, Clip, …) → MatMul/Gemm (W2)
 * it keeps the neurons with the largest ||W1[:,j]||·||W2[j,:]|| (the bound on what neuron j can add
 * to the next layer) and removes the others from W1's columns, the bias and W2's rows. The matrices
 * really shrink, so the model gets faster. Scores come from the original weights, so a layer that is
 * both the consumer of one chain and the producer of the next is cut consistently on both sides.
 */
import { clone } from '@bufbuild/protobuf';
import {
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  type TensorProto,
} from '../../gen/onnx-ml_pb.js';
import { GraphView } from '../model/graph.js';
import { liftConstants } from '../model/lift-constants.js';
import { UNARY } from './conv-groups.js';
import { type ConvPruneOptions, pruneConvChannels } from './conv.js';
import { checkSparsity, type PruneLayerStat, type PruneResult } from './unstructured.js';
import { attrInt } from '../model/attributes.js';
import { tensorToFloat32 } from '../model/tensor-data.js';
import { setFloatData } from './weight-edit.js';

/** One prunable hidden layer: producer, the optional bias tensor, consumer, the tensors in between. */
export interface NeuronChain {
  producer: NodeProto;
  bias?: TensorProto;
  consumer: NodeProto;
  hidden: number;
  /** Tensor names between producer and consumer (their recorded shapes go stale). */
  between: string[];
}

interface Layer {
  w: TensorProto;
  /** Output features along axis 0 (Gemm transB) instead of axis 1. */
  outAxis0: boolean;
}

function fcLayer(node: NodeProto, view: GraphView): Layer | undefined {
  if ((node.opType !== 'MatMul' && node.opType !== 'Gemm') || node.domain !== '') return undefined;
  if (node.opType === 'Gemm' && attrInt(node, 'transA', 0) !== 0) return undefined;
  const w = view.constantTensor(node.input[1] ?? '');
  if (w?.dataType !== 1 || w.dims.length !== 2) return undefined;
  if (view.consumersOf(node.input[1]!).length !== 1) return undefined; // shared weights: leave alone
  return { w, outAxis0: node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1 };
}

const outDim = (l: Layer) => Number(l.w.dims[l.outAxis0 ? 0 : 1]);
const inDim = (l: Layer) => Number(l.w.dims[l.outAxis0 ? 1 : 0]);

// The only consumer of `name`, when there is exactly one and it is not a graph output.
function soleConsumer(view: GraphView, name: string): NodeProto | undefined {
  const c = view.consumersOf(name);
  return c.length === 1 && !view.graphOutputs.has(name) ? c[0] : undefined;
}

// A bias Add right after a MatMul: one constant input of shape [H] (or [1,H]) used only there.
function biasOf(view: GraphView, add: NodeProto, from: string, hidden: number): TensorProto | undefined {
  if (add.opType !== 'Add' || add.input.length !== 2) return undefined;
  const other = add.input[0] === from ? add.input[1]! : add.input[0]!;
  const t = view.constantTensor(other);
  const dims = t?.dims.map(Number) ?? [];
  if (t?.dataType !== 1 || dims[dims.length - 1] !== hidden || dims.reduce((a, b) => a * b, 1) !== hidden)
    return undefined;
  return view.consumersOf(other).length === 1 ? t : undefined;
}

/** Find every producer → activations → consumer chain whose hidden neurons can be removed. */
export function findNeuronChains(graph: GraphProto): NeuronChain[] {
  const view = new GraphView(graph);
  const chains: NeuronChain[] = [];
  for (const producer of graph.node) {
    const p = fcLayer(producer, view);
    if (!p) continue;
    const hidden = outDim(p);
    let bias = producer.opType === 'Gemm' ? gemmBias(view, producer, hidden) : undefined;
    if (producer.opType === 'Gemm' && producer.input[2] && !bias) continue;
    let cur = producer.output[0]!;
    const between = [cur];
    let next = soleConsumer(view, cur);
    if (next && producer.opType === 'MatMul' && next.opType === 'Add') {
      bias = biasOf(view, next, cur, hidden);
      if (!bias) continue;
      cur = next.output[0]!;
      between.push(cur);
      next = soleConsumer(view, cur);
    }
    while (next && UNARY.has(next.opType) && next.domain === '' && next.input[0] === cur) {
      cur = next.output[0]!;
      between.push(cur);
      next = soleConsumer(view, cur);
    }
    const c = next ? fcLayer(next, view) : undefined;
    if (!next || !c || next.input[0] !== cur || inDim(c) !== hidden) continue;
    chains.push({ producer, ...(bias ? { bias } : {}), consumer: next, hidden, between });
  }
  return chains;
}

function gemmBias(view: GraphView, gemm: NodeProto, hidden: number): TensorProto | undefined {
  const name = gemm.input[2];
  if (!name) return undefined;
  const t = view.constantTensor(name);
  const n = t?.dims.map(Number).reduce((a, b) => a * b, 1);
  return t && n === hidden && view.consumersOf(name).length === 1 ? t : undefined;
}

// Row-major 2-D weight, with which axis holds output features.
interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
  outAxis0: boolean;
}

function matrixOf(node: NodeProto, t: TensorProto, baseDir?: string): Matrix {
  const [rows, cols] = t.dims.map(Number) as [number, number];
  const outAxis0 = node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1;
  return { data: tensorToFloat32(t, baseDir), rows, cols, outAxis0 };
}

// Squared L2 norm of each output feature (out = true) or each input feature.
function featureNorms(m: Matrix, out: boolean): Float64Array {
  const alongRows = out === m.outAxis0; // the feature index is the row index
  const n = alongRows ? m.rows : m.cols;
  const s = new Float64Array(n);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) {
      const v = m.data[r * m.cols + c]!;
      s[alongRows ? r : c]! += v * v;
    }
  return s;
}

/** Indices of the `keep` neurons with the largest ||in||·||out|| scores, in ascending order. */
export function neuronsToKeep(inNorms: Float64Array, outNorms: Float64Array, keep: number): number[] {
  const score = Array.from(inNorms, (v, j) => Math.sqrt(v * outNorms[j]!));
  const order = score.map((_, j) => j).sort((a, b) => score[b]! - score[a]! || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

// Keep the given rows/columns of a row-major matrix (undefined keeps all).
function selectMatrix(m: Matrix, keepRows?: number[], keepCols?: number[]): [Float32Array, number[]] {
  const rows = keepRows ?? Array.from({ length: m.rows }, (_, i) => i);
  const cols = keepCols ?? Array.from({ length: m.cols }, (_, i) => i);
  const out = new Float32Array(rows.length * cols.length);
  rows.forEach((r, i) => {
    cols.forEach((c, j) => {
      out[i * cols.length + j] = m.data[r * m.cols + c]!;
    });
  });
  return [out, [rows.length, cols.length]];
}

interface Cut {
  node: NodeProto;
  m: Matrix;
  t: TensorProto;
  keepOut?: number[];
  keepIn?: number[];
}

/** Remove the `sparsity` fraction of hidden neurons and Conv channels of every prunable chain in the main graph. */
export function pruneStructured(model: ModelProto, sparsity: number, opts: ConvPruneOptions = {}): PruneResult {
  checkSparsity(sparsity);
  const out = liftConstants(clone(ModelProtoSchema, model)).model;
  const graph = out.graph!;
  const view = new GraphView(graph);
  const chains = findNeuronChains(graph).filter((c) => !opts.excludeNodes?.includes(c.producer.name));
  const cuts = new Map<TensorProto, Cut>();
  const cutFor = (node: NodeProto): Cut => {
    const t = view.constantTensor(node.input[1]!)!;
    const found = cuts.get(t);
    if (found) return found;
    const c: Cut = { node, t, m: matrixOf(node, t, opts.baseDir) };
    cuts.set(t, c);
    return c;
  };
  const layers: PruneLayerStat[] = [];
  for (const ch of chains) {
    const p = cutFor(ch.producer);
    const c = cutFor(ch.consumer);
    const keepN = Math.max(1, Math.round(ch.hidden * (1 - sparsity)));
    const keep = neuronsToKeep(featureNorms(p.m, true), featureNorms(c.m, false), keepN);
    p.keepOut = keep;
    c.keepIn = keep;
    if (ch.bias) {
      const b = tensorToFloat32(ch.bias, opts.baseDir);
      setFloatData(
        ch.bias,
        Float32Array.from(keep, (j) => b[j]!),
        keepBiasDims(ch.bias, keep.length),
      );
    }
    layers.push({ node: ch.producer.name || ch.producer.output[0]!, params: ch.hidden, zeroed: ch.hidden - keepN });
  }
  let before = 0;
  let after = 0;
  for (const cut of cuts.values()) {
    before += cut.m.data.length;
    const rowsKeep = cut.m.outAxis0 ? cut.keepOut : cut.keepIn;
    const colsKeep = cut.m.outAxis0 ? cut.keepIn : cut.keepOut;
    const [data, dims] = selectMatrix(cut.m, rowsKeep, colsKeep);
    setFloatData(cut.t, data, dims);
    after += data.length;
  }
  const conv = pruneConvChannels(graph, sparsity, opts);
  layers.push(...conv.layers);
  const stale = new Set([...chains.flatMap((c) => c.between), ...conv.stale]);
  graph.valueInfo = graph.valueInfo.filter((v) => !stale.has(v.name));
  const notes: string[] = [];
  if (chains.length)
    notes.push(
      `structured: removed hidden neurons in ${chains.length} layer(s); the weight matrices shrink, so it runs faster`,
    );
  const convCut = conv.layers.filter((l) => l.zeroed > 0).length;
  if (convCut)
    notes.push(
      `structured: removed output channels in ${convCut} Conv group(s); the convolutions shrink, so it runs faster`,
    );
  if (!chains.length && !convCut)
    notes.push(
      'structured: no MatMul/Gemm → activation → MatMul/Gemm chain and no prunable Conv channels found; nothing removed',
    );
  const prunedParams = before - after + conv.before - conv.after;
  return { model: out, layers, prunedParams, totalParams: before + conv.before, notes, skipped: conv.skipped };
}

// A bias of [H] stays rank 1; [1,H] keeps its leading 1.
function keepBiasDims(t: TensorProto, n: number): number[] {
  const dims = t.dims.map(Number);
  dims[dims.length - 1] = n;
  return dims;
}
