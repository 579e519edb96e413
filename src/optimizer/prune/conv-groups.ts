/**
 * Finding the Conv output channels that structured pruning may remove. A channel group is every
 * tensor that carries the same C channels on axis 1, found by flooding from a producer Conv through
 * ops that treat each channel on its own (BatchNormalization, activations, pools, Mul/Add by a scalar
 * or per-channel constant, depthwise Conv, a Mul of two such tensors as in HardSwish or a
 * squeeze-excitation gate) up to the Convs that read those channels. Removing channel c from a group
 * is exact for everything downstream only if every reader of every tensor in it is in the group, so
 * any other reader (a residual Add, Concat, Reshape, a graph output) makes the whole group a skip,
 * with the reason.
 */
import type { GraphProto, NodeProto, TensorProto } from '../../gen/onnx-ml_pb.js';
import { GraphView } from '../model/graph.js';
import { attrFloat, attrInt } from '../model/attributes.js';
import { tensorNumel } from '../model/tensor-data.js';

/** A constant to shrink along one axis (conv weight, bias, BatchNormalization parameter, per-channel factor). */
export interface AxisCut {
  tensor: TensorProto;
  axis: number;
}

/** How a per-channel op scales channel c, so a weak channel behind a strong BN is not ranked by its conv alone. */
export type ChannelScale =
  | { kind: 'bn'; gamma: TensorProto; variance: TensorProto; epsilon: number }
  | { kind: 'depthwise'; weight: TensorProto }
  | { kind: 'mul' | 'div'; factor: TensorProto; axis: number };

/** One prunable set of Conv output channels and everything that must shrink with it. */
export interface ChannelGroup {
  /** group=1 Convs whose output channels are the group (weight axis 0 and bias shrink). */
  producers: NodeProto[];
  /** group=1 Convs reading the channels (weight axis 1 shrinks). */
  consumers: NodeProto[];
  /** Depthwise Convs passed through (weight axis 0, bias and the group attribute shrink). */
  depthwise: NodeProto[];
  /** BatchNormalization parameters and per-channel constants. */
  constants: AxisCut[];
  scales: ChannelScale[];
  channels: number;
  /** Tensors carrying the channels (their recorded shapes go stale). */
  tensors: string[];
}

/** A Conv left intact and why. */
export interface ConvSkip {
  node: string;
  reason: string;
}

/** One data input, one output, the same op on every element (so on every channel or neuron). */
export const UNARY = new Set([
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Elu',
  'Selu',
  'Softplus',
  'Gelu',
  'Identity',
  'Dropout',
  'Clip',
  'Abs',
  'Neg',
]);
// Spatial-only ops: channel c of the output comes from channel c of the input.
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'PRelu']);

class Skip extends Error {}

const label = (n: NodeProto) => n.name || n.output[0] || n.opType;

/** Whether a Conv is depthwise with multiplier 1 over `channels` channels. */
function isDepthwise(n: NodeProto, w: TensorProto | undefined, channels: number): boolean {
  return attrInt(n, 'group', 1) === channels && Number(w?.dims[0]) === channels && Number(w?.dims[1]) === 1;
}

// Flood fill of one group from a producer Conv; throws Skip with the reason it cannot be pruned.
class Flood {
  readonly group: ChannelGroup;
  private readonly seen = new Set<string>();
  private readonly queue: string[] = [];
  private readonly done = new Set<NodeProto>();
  private readonly rank: number;

  constructor(
    private readonly view: GraphView,
    start: NodeProto,
  ) {
    const w = this.weight(start);
    if (attrInt(start, 'group', 1) !== 1) throw new Skip('grouped or depthwise Conv: its channels follow its input');
    this.rank = w.dims.length;
    const channels = Number(w.dims[0]);
    this.group = { producers: [], consumers: [], depthwise: [], constants: [], scales: [], channels, tensors: [] };
    this.producer(start);
  }

  run(): ChannelGroup {
    for (let k = 0; k < this.queue.length; k++) {
      const t = this.queue[k]!;
      const p = this.view.producers.get(t);
      if (!p) throw new Skip(`${t} is a graph input`);
      this.visit(p, t, 'out');
      for (const n of this.view.consumersOf(t)) this.visit(n, t, 'in');
    }
    this.group.tensors = this.queue;
    return this.group;
  }

  private add(name: string): void {
    if (this.seen.has(name)) return;
    if (this.view.graphOutputs.has(name)) throw new Skip(`${name} is a graph output`);
    this.seen.add(name);
    this.queue.push(name);
  }

  // Float constant weight used by this node only.
  private weight(n: NodeProto): TensorProto {
    const w = this.view.constantTensor(n.input[1] ?? '');
    if (w?.dataType !== 1 || w.dims.length < 3) throw new Skip(`${label(n)} has no float32 constant weight`);
    if (this.view.consumersOf(n.input[1]!).length !== 1) throw new Skip(`${label(n)} shares its weight`);
    return w;
  }

  // A [C] constant (bias, BN parameter) used by this node only.
  private perChannel(n: NodeProto, i: number): void {
    const name = n.input[i];
    if (!name) return;
    const t = this.view.constantTensor(name);
    if (t?.dataType !== 1 || tensorNumel(t) !== this.group.channels || t.dims.length !== 1)
      throw new Skip(`${label(n)} input ${i} is not a float32 constant of ${this.group.channels} values`);
    if (this.view.consumersOf(name).length !== 1) throw new Skip(`${label(n)} shares input ${name}`);
    this.group.constants.push({ tensor: t, axis: 0 });
  }

  private producer(n: NodeProto): void {
    if (this.done.has(n)) return;
    this.done.add(n);
    const w = this.weight(n);
    if (Number(w.dims[0]) !== this.group.channels || w.dims.length !== this.rank)
      throw new Skip(`${label(n)} has ${w.dims[0]} output channels, not ${this.group.channels}`);
    this.perChannel(n, 2);
    this.group.producers.push(n);
    this.add(n.output[0]!);
  }

  // `n` produces (dir 'out') or reads (dir 'in') the group tensor `t`.
  private visit(n: NodeProto, t: string, dir: 'in' | 'out'): void {
    if (n.domain !== '' && n.domain !== 'ai.onnx') throw new Skip(`${t} meets ${n.opType} (domain ${n.domain})`);
    if (dir === 'in' && !n.input.includes(t)) throw new Skip(`${t} is read inside a subgraph of ${label(n)}`);
    if (n.opType === 'Conv') this.conv(n, t, dir);
    else if (!this.done.has(n)) {
      this.done.add(n);
      if (UNARY.has(n.opType) || POOLS.has(n.opType)) this.unary(n);
      else if (n.opType === 'BatchNormalization' || n.opType === 'InstanceNormalization') this.norm(n);
      else if (BINARY.has(n.opType)) this.binary(n);
      else {
        const why = n.opType === 'Concat' ? 'Concat' : `${n.opType} ${label(n)}`;
        throw new Skip(`${t} ${dir === 'in' ? 'is read by' : 'comes from'} ${why}`);
      }
    }
  }

  private conv(n: NodeProto, t: string, dir: 'in' | 'out'): void {
    const w = this.weight(n);
    if (dir === 'in' && (n.input[0] !== t || n.input.indexOf(t, 1) > 0))
      throw new Skip(`${t} is a weight or bias of ${label(n)}`);
    if (isDepthwise(n, w, this.group.channels)) {
      if (this.done.has(n)) return;
      this.done.add(n);
      this.perChannel(n, 2);
      this.group.depthwise.push(n);
      this.group.scales.push({ kind: 'depthwise', weight: w });
      this.add(n.input[0]!);
      this.add(n.output[0]!);
      return;
    }
    if (attrInt(n, 'group', 1) !== 1) throw new Skip(`${t} meets grouped Conv ${label(n)}`);
    if (dir === 'out') {
      this.producer(n);
      return;
    }
    if (this.group.consumers.includes(n)) return;
    if (Number(w.dims[1]) !== this.group.channels || w.dims.length !== this.rank)
      throw new Skip(`${label(n)} reads ${w.dims[1]} channels, not ${this.group.channels}`);
    this.group.consumers.push(n);
  }

  // Extra outputs (Dropout mask, MaxPool indices, BN training statistics) would keep stale channels.
  private singleOutput(n: NodeProto): void {
    for (const o of n.output.slice(1))
      if (o && (this.view.consumersOf(o).length || this.view.graphOutputs.has(o)))
        throw new Skip(`${label(n)} has a second output in use`);
    this.add(n.output[0]!);
  }

  private unary(n: NodeProto): void {
    // Clip min/max (opset 11+) and Dropout ratio are inputs: they must be constant scalars.
    for (const extra of n.input.slice(1)) {
      const c = extra ? this.view.constantTensor(extra) : undefined;
      if (extra && (!c || tensorNumel(c) !== 1)) throw new Skip(`${label(n)} has a non-constant ${extra}`);
    }
    this.add(n.input[0]!);
    this.singleOutput(n);
  }

  private norm(n: NodeProto): void {
    const count = n.opType === 'BatchNormalization' ? 5 : 3;
    for (let i = 1; i < count; i++) this.perChannel(n, i);
    if (n.opType === 'BatchNormalization') {
      const [gamma, variance] = [n.input[1]!, n.input[4]!].map((i) => this.view.constantTensor(i)!) as [
        TensorProto,
        TensorProto,
      ];
      this.group.scales.push({ kind: 'bn', gamma, variance, epsilon: attrFloat(n, 'epsilon', 1e-5) });
    }
    this.add(n.input[0]!);
    this.singleOutput(n);
  }

  private binary(n: NodeProto): void {
    const live = n.input.filter((i) => !this.view.constantTensor(i));
    if (live.length === 2 && n.opType !== 'Mul')
      throw new Skip(`${n.opType === 'Add' ? 'residual Add' : n.opType} ${label(n)} joins two activations`);
    for (const [i, name] of n.input.entries()) {
      const c = this.view.constantTensor(name);
      if (!c) {
        this.add(name);
        continue;
      }
      const axis = this.channelAxis(n, c);
      if (axis === undefined) continue;
      if (this.view.consumersOf(name).length !== 1) throw new Skip(`${label(n)} shares constant ${name}`);
      this.group.constants.push({ tensor: c, axis });
      if (n.opType === 'Mul' || (n.opType === 'Div' && i === 1))
        this.group.scales.push({ kind: n.opType === 'Mul' ? 'mul' : 'div', factor: c, axis });
    }
    this.add(n.output[0]!);
  }

  // Axis of the channels in a constant that broadcasts against [N, C, spatial…]; undefined for a scalar.
  private channelAxis(n: NodeProto, c: TensorProto): number | undefined {
    const dims = c.dims.map(Number);
    if (dims.length > this.rank) throw new Skip(`${label(n)} broadcasts a constant to a higher rank`);
    if (tensorNumel(c) === 1) return undefined;
    const axis = dims.length - (this.rank - 1);
    const ok =
      c.dataType === 1 &&
      axis >= 0 &&
      dims[axis] === this.group.channels &&
      dims.every((d, i) => i === axis || d === 1);
    if (!ok) throw new Skip(`${label(n)} uses a constant of shape [${dims}] that is not per channel`);
    return axis;
  }
}

/** Every Conv channel group of the graph that can be pruned, and each Conv left intact with its reason. */
export function findChannelGroups(graph: GraphProto): { groups: ChannelGroup[]; skipped: ConvSkip[] } {
  const view = new GraphView(graph);
  const groups: ChannelGroup[] = [];
  const skipped: ConvSkip[] = [];
  const covered = new Set<NodeProto>();
  for (const n of graph.node) {
    if (n.opType !== 'Conv' || (n.domain !== '' && n.domain !== 'ai.onnx') || covered.has(n)) continue;
    let flood: Flood | undefined;
    try {
      flood = new Flood(view, n);
      const g = flood.run();
      groups.push(g);
      for (const m of [...g.producers, ...g.depthwise]) covered.add(m);
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      // Producers met before the failure belong to the same group and would fail the same way.
      for (const m of flood?.group.producers ?? []) covered.add(m);
      for (const m of flood?.group.depthwise ?? []) covered.add(m);
      skipped.push({ node: label(n), reason: e.message });
    }
  }
  return { groups, skipped };
}
