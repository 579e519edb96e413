/**
 * Static shape inference for the common ONNX ops, enough to estimate FLOPs for a given input shape.
 * Small integer tensors (shapes computed with Shape→Gather→Concat chains, as exporters emit) are
 * evaluated too, so Reshape targets resolve. Anything not understood leaves its outputs unknown.
 */
import type { NodeProto } from '../../gen/onnx-ml_pb.js';
import type { GraphView } from './graph.js';
import { attrInt, attrInts, attrString } from './attributes.js';
import { tensorNumel, tensorToNumbers } from './tensor-data.js';

/** A shape whose dims are numbers; undefined when unknown. */
export type Shape = number[];

/** Shapes and small known integer values by tensor name. */
export interface ShapeEnv {
  shapes: Map<string, Shape>;
  values: Map<string, number[]>;
}

type Infer = (n: NodeProto, ins: (Shape | undefined)[], env: ShapeEnv, view: GraphView) => (Shape | undefined)[];

const UNARY = new Set(
  'Relu Sigmoid HardSigmoid HardSwish Tanh Exp Log Sqrt Abs Neg Erf Clip LeakyRelu Cast Dropout Identity Softmax LogSoftmax BatchNormalization InstanceNormalization LayerNormalization Gelu Not Reciprocal Floor Ceil Round Sign Sin Cos Elu Selu PRelu QuantizeLinear DequantizeLinear DynamicQuantizeLinear Softplus Mish Hardmax CumSum Celu ThresholdedRelu Shrink IsNaN IsInf LpNormalization'.split(
    ' ',
  ),
);
const BINARY = new Set(
  'Add Sub Mul Div Pow Max Min Sum Mean Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor Where Mod BitShift'.split(
    ' ',
  ),
);

/** Numpy-style broadcast of several shapes. */
export function broadcast(shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function matmulShape(a: Shape, b: Shape): Shape {
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
  const out = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.pop();
  return out;
}

function poolShape(n: NodeProto, x: Shape, kernel: number[], outChannels: number): Shape {
  const spatial = x.length - 2;
  const strides = attrInts(n, 'strides') ?? new Array(spatial).fill(1);
  const dil = attrInts(n, 'dilations') ?? new Array(spatial).fill(1);
  const pads = attrInts(n, 'pads') ?? new Array(spatial * 2).fill(0);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  const out = [x[0]!, outChannels];
  for (let i = 0; i < spatial; i++) {
    const inD = x[i + 2]!;
    const s = strides[i] ?? 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(Math.ceil(inD / s));
      continue;
    }
    const k = ((kernel[i] ?? 1) - 1) * (dil[i] ?? 1) + 1;
    const span = inD + (pads[i] ?? 0) + (pads[i + spatial] ?? 0) - k;
    out.push((ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1);
  }
  return out;
}

function convTransposeShape(n: NodeProto, x: Shape, w: Shape): Shape {
  const spatial = x.length - 2;
  const group = attrInt(n, 'group', 1);
  const strides = attrInts(n, 'strides') ?? new Array(spatial).fill(1);
  const pads = attrInts(n, 'pads') ?? new Array(spatial * 2).fill(0);
  const outPad = attrInts(n, 'output_padding') ?? new Array(spatial).fill(0);
  const dil = attrInts(n, 'dilations') ?? new Array(spatial).fill(1);
  const explicit = attrInts(n, 'output_shape');
  const out = [x[0]!, w[1]! * group];
  for (let i = 0; i < spatial; i++) {
    if (explicit) out.push(explicit[explicit.length - spatial + i]!);
    else {
      const k = w[i + 2]!;
      const v = (strides[i] ?? 1) * (x[i + 2]! - 1) + (outPad[i] ?? 0) + ((k - 1) * (dil[i] ?? 1) + 1);
      out.push(v - (pads[i] ?? 0) - (pads[i + spatial] ?? 0));
    }
  }
  return out;
}

function reshapeShape(x: Shape, target: number[], allowZero: boolean): Shape {
  const out = target.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
  const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const total = x.reduce((p, d) => p * d, 1);
  return out.map((d) => (d === -1 ? total / known : d));
}

function axesOf(n: NodeProto, env: ShapeEnv, inputIndex: number): number[] | undefined {
  return attrInts(n, 'axes') ?? (n.input[inputIndex] ? env.values.get(n.input[inputIndex]!) : undefined);
}

const SHAPE_OPS: Record<string, Infer> = {
  MatMul: (_n, [a, b]) => [a && b ? matmulShape(a, b) : undefined],
  MatMulInteger: (_n, [a, b]) => [a && b ? matmulShape(a, b) : undefined],
  Gemm: (n, [a, b]) => {
    if (!a || !b) return [undefined];
    const m = attrInt(n, 'transA', 0) ? a[1]! : a[0]!;
    const nn = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
    return [[m, nn]];
  },
  Conv: (n, [x, w]) => [x && w ? poolShape(n, x, w.slice(2), w[0]!) : undefined],
  ConvInteger: (n, [x, w]) => [x && w ? poolShape(n, x, w.slice(2), w[0]!) : undefined],
  ConvTranspose: (n, [x, w]) => [x && w ? convTransposeShape(n, x, w) : undefined],
  MaxPool: (n, [x]) => [x ? poolShape(n, x, attrInts(n, 'kernel_shape') ?? [], x[1]!) : undefined],
  AveragePool: (n, [x]) => [x ? poolShape(n, x, attrInts(n, 'kernel_shape') ?? [], x[1]!) : undefined],
  GlobalAveragePool: (_n, [x]) => [x ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined],
  GlobalMaxPool: (_n, [x]) => [x ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined],
  Flatten: (n, [x]) => {
    if (!x) return [undefined];
    const ax = norm(attrInt(n, 'axis', 1), x.length);
    const p = (s: Shape) => s.reduce((a, b) => a * b, 1);
    return [[p(x.slice(0, ax)), p(x.slice(ax))]];
  },
  Reshape: (n, [x], env) => {
    const target = attrInts(n, 'shape') ?? env.values.get(n.input[1] ?? '');
    return [x && target ? reshapeShape(x, target, attrInt(n, 'allowzero', 0) === 1) : undefined];
  },
  Transpose: (n, [x]) => {
    if (!x) return [undefined];
    const perm = attrInts(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
    return [perm.map((p) => x[p]!)];
  },
  Squeeze: (n, [x], env) => {
    if (!x) return [undefined];
    const axes = axesOf(n, env, 1)?.map((a) => norm(a, x.length));
    return [x.filter((d, i) => (axes ? !axes.includes(i) : d !== 1))];
  },
  Unsqueeze: (n, [x], env) => {
    const axes = axesOf(n, env, 1);
    if (!x || !axes) return [undefined];
    const rank = x.length + axes.length;
    const set = new Set(axes.map((a) => norm(a, rank)));
    const out: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[k++]!);
    return [out];
  },
  Concat: (n, ins) => {
    if (ins.some((s) => !s) || ins.length === 0) return [undefined];
    const first = ins[0]!;
    const ax = norm(attrInt(n, 'axis', 0), first.length);
    const out = [...first];
    out[ax] = ins.reduce((s, x) => s + x![ax]!, 0);
    return [out];
  },
  Shape: (_n, [x]) => [x ? [x.length] : undefined],
  Slice: (n, [x], env) => {
    if (!x) return [undefined];
    const get = (i: number, attr: string) => attrInts(n, attr) ?? env.values.get(n.input[i] ?? '');
    const starts = get(1, 'starts');
    const ends = get(2, 'ends');
    if (!starts || !ends) return [undefined];
    const axes = get(3, 'axes') ?? starts.map((_, i) => i);
    const steps = env.values.get(n.input[4] ?? '') ?? starts.map(() => 1);
    const out = [...x];
    axes.forEach((a, i) => {
      const ax = norm(a, x.length);
      const d = x[ax]!;
      const step = steps[i] ?? 1;
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
      const s = clamp(starts[i]!, 0, step > 0 ? d : d - 1);
      const e = clamp(ends[i]!, step > 0 ? 0 : -1, step > 0 ? d : d - 1);
      out[ax] = Math.max(0, Math.ceil((e - s) / step));
    });
    return [out];
  },
  Resize: (n, [x], env) => resizeShape(n, x, env),
  Upsample: (n, [x], env) => resizeShape(n, x, env),
  Gather: (n, [x, idx]) => {
    if (!x || !idx) return [undefined];
    const ax = norm(attrInt(n, 'axis', 0), x.length);
    return [[...x.slice(0, ax), ...idx, ...x.slice(ax + 1)]];
  },
  Split: (n, [x], env) => {
    if (!x) return n.output.map(() => undefined);
    const ax = norm(attrInt(n, 'axis', 0), x.length);
    const parts = attrInts(n, 'split') ?? env.values.get(n.input[1] ?? '');
    const sizes = parts ?? n.output.map(() => x[ax]! / n.output.length);
    return sizes.map((s) => x.map((d, i) => (i === ax ? s : d)));
  },
  Pad: (n, [x], env) => {
    const pads = attrInts(n, 'pads') ?? env.values.get(n.input[1] ?? '');
    if (!x || !pads) return [undefined];
    return [x.map((d, i) => d + pads[i]! + pads[i + x.length]!)];
  },
  ArgMax: (n, [x]) => [x ? reduced(x, [attrInt(n, 'axis', 0)], attrInt(n, 'keepdims', 1) === 1) : undefined],
};
for (const op of [
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL2',
  'ReduceL1',
  'ReduceSumSquare',
]) {
  SHAPE_OPS[op] = (n, [x], env) => {
    if (!x) return [undefined];
    const axes = axesOf(n, env, 1) ?? x.map((_, i) => i);
    return [reduced(x, axes, attrInt(n, 'keepdims', 1) === 1)];
  };
}

function reduced(x: Shape, axes: number[], keep: boolean): Shape {
  const set = new Set(axes.map((a) => norm(a, x.length)));
  const out: number[] = [];
  x.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

function resizeShape(n: NodeProto, x: Shape | undefined, env: ShapeEnv): (Shape | undefined)[] {
  if (!x) return [undefined];
  const sizes = env.values.get(n.input[3] ?? '');
  if (sizes && sizes.length === x.length) return [sizes];
  const scales =
    env.values.get(n.input[n.opType === 'Upsample' ? 1 : 2] ?? '') ??
    n.attribute.find((a) => a.name === 'scales')?.floats;
  if (!scales || scales.length !== x.length) return [undefined];
  return [x.map((d, i) => Math.floor(d * scales[i]!))];
}

/** Infer shapes (and small integer values) through a graph in topological order. */
export function inferShapes(view: GraphView, inputShapes: Map<string, Shape>): ShapeEnv {
  const env: ShapeEnv = { shapes: new Map(inputShapes), values: new Map() };
  for (const [name, t] of view.initializers) seedConstant(env, name, t);
  for (const node of view.topoOrder()) {
    if (node.opType === 'Constant') {
      const t = node.attribute.find((a) => a.name === 'value')?.t;
      if (t && node.output[0]) seedConstant(env, node.output[0], t);
      continue;
    }
    const ins = node.input.map((i) => (i ? env.shapes.get(i) : undefined));
    let outs: (Shape | undefined)[];
    if (UNARY.has(node.opType)) outs = [ins[0]];
    else if (BINARY.has(node.opType)) outs = [ins.every((s) => s) ? broadcast(ins as Shape[]) : undefined];
    else outs = SHAPE_OPS[node.opType]?.(node, ins, env, view) ?? [];
    node.output.forEach((o, i) => {
      const s = outs[i];
      if (o && s?.every((d) => Number.isFinite(d) && d >= 0)) env.shapes.set(o, s);
    });
    evalValues(node, env);
  }
  return env;
}

function seedConstant(env: ShapeEnv, name: string, t: import('../../gen/onnx-ml_pb.js').TensorProto): void {
  env.shapes.set(name, t.dims.map(Number));
  // Only small integer tensors matter for shape arithmetic.
  if ((t.dataType === 7 || t.dataType === 6 || t.dataType === 1) && tensorNumel(t) <= 16) {
    try {
      env.values.set(name, Array.from(tensorToNumbers(t)));
    } catch {
      // External or unreadable: no value, shapes still known.
    }
  }
}

// Evaluates the integer ops exporters use to compute shapes at run time.
function evalValues(n: NodeProto, env: ShapeEnv): void {
  const v = (i: number) => env.values.get(n.input[i] ?? '');
  const out = n.output[0];
  if (!out) return;
  const set = (x: number[] | undefined) => x && env.values.set(out, x);
  const bin = (f: (a: number, b: number) => number) => {
    const a = v(0);
    const b = v(1);
    if (!a || !b) return;
    const len = Math.max(a.length, b.length);
    set(Array.from({ length: len }, (_, i) => f(a[a.length === 1 ? 0 : i]!, b[b.length === 1 ? 0 : i]!)));
  };
  switch (n.opType) {
    case 'Shape': {
      const s = env.shapes.get(n.input[0] ?? '');
      if (s)
        set(
          s.slice(attrInt(n, 'start', 0), n.attribute.some((a) => a.name === 'end') ? attrInt(n, 'end', 0) : undefined),
        );
      return;
    }
    case 'Gather': {
      const data = v(0);
      const idx = v(1);
      if (data && idx) set(idx.map((i) => data[i < 0 ? i + data.length : i]!));
      return;
    }
    case 'Cast':
    case 'Identity':
    case 'Squeeze':
    case 'Unsqueeze':
    case 'Reshape':
      return void set(v(0));
    case 'Concat': {
      const parts = n.input.map((_, i) => v(i));
      if (parts.every((p) => p)) set(parts.flat() as number[]);
      return;
    }
    case 'Add':
      bin((a, b) => a + b);
      return;
    case 'Sub':
      bin((a, b) => a - b);
      return;
    case 'Mul':
      bin((a, b) => a * b);
      return;
    case 'Div':
      bin((a, b) => Math.trunc(a / b));
      return;
    case 'Slice': {
      const data = v(0);
      const s = attrInts(n, 'starts') ?? v(1);
      const e = attrInts(n, 'ends') ?? v(2);
      if (data && s && e && s.length === 1) set(data.slice(s[0], Math.min(e[0]!, data.length)));
      return;
    }
  }
}
