import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto, TensorProto } from '../../../../src/gen/onnx-ml_pb.js';
import { attr, buildModelProto, GraphBuilder } from '../../../../src/onnx/index.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { loadModel, saveModel } from '../../../../src/optimizer/model/io.js';
import { createSession } from '../../../../src/optimizer/measure/ort.js';
import { channelsToKeep, keptChannels, selectAxes } from '../../../../src/optimizer/prune/conv.js';
import { convChannelStats } from '../../../../src/optimizer/prune/conv-stats.js';
import { findChannelGroups } from '../../../../src/optimizer/prune/conv-groups.js';
import { pruneStructured } from '../../../../src/optimizer/prune/structured.js';
import { type SweepOptions, sweepPruning } from '../../../../src/optimizer/prune/sweep.js';
import { attrInt } from '../../../../src/optimizer/model/attributes.js';
import { tensorToFloat32 } from '../../../../src/optimizer/model/tensor-data.js';
import { npzBytes } from '../../../fixtures-gen/npz-write.js';
import { rng } from '../models.js';
import { cli } from '../run-cli.js';

const SIDE = 8;

// Small CNN builder over GraphBuilder: random weights, chosen channels zeroed, weights optionally
// in Constant nodes (as paddle2onnx writes them).
class Net {
  readonly g = new GraphBuilder('convnet').input('x', 'FP32', ['batch', 3, SIDE, SIDE]);
  private readonly next: () => number;

  constructor(
    seed: number,
    private readonly constants = false,
  ) {
    this.next = rng(seed);
  }

  tensor(name: string, dims: number[], fill?: (i: number) => number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => (fill ? fill(i) : this.next() * 2 - 1));
    if (this.constants) this.g.node('Constant', [], [name], { value: attr.tensor('FP32', dims, data) });
    else this.g.initializer(name, 'FP32', dims, data);
    return name;
  }

  /** Conv with output channels in `zero` set to all-zero weights and bias. */
  conv(
    x: string,
    cin: number,
    cout: number,
    name: string,
    o: { k?: number; group?: number; zero?: number[]; bias?: boolean; deadBias?: number } = {},
  ) {
    const k = o.k ?? 3;
    const per = (cin / (o.group ?? 1)) * k * k;
    const dead = (i: number) => o.zero?.includes(Math.floor(i / per)) ?? false;
    const w = this.tensor(`${name}.w`, [cout, cin / (o.group ?? 1), k, k], (i) =>
      dead(i) ? 0 : (this.next() * 2 - 1) / Math.sqrt(per),
    );
    const b = (c: number) => (o.zero?.includes(c) ? (o.deadBias ?? 0) : (this.next() - 0.5) * 0.2);
    const ins = o.bias === false ? [x, w] : [x, w, this.tensor(`${name}.b`, [cout], b)];
    const p = Math.floor(k / 2);
    this.g.node('Conv', ins, [name], { kernel_shape: [k, k], pads: [p, p, p, p], group: o.group ?? 1 }, { name });
    return name;
  }

  /** BatchNormalization whose `zero` channels map 0 to 0 (mean and beta 0). */
  bn(x: string, c: number, name: string, zero: number[] = []) {
    const z = (i: number, v: number) => (zero.includes(i) ? 0 : v);
    const ins = [
      this.tensor(`${name}.gamma`, [c], () => 0.5 + this.next()),
      this.tensor(`${name}.beta`, [c], (i) => z(i, this.next() - 0.5)),
      this.tensor(`${name}.mean`, [c], (i) => z(i, this.next() - 0.5)),
      this.tensor(`${name}.var`, [c], () => 0.5 + this.next()),
    ];
    this.g.node('BatchNormalization', [x, ...ins], [name], { epsilon: attr.float(1e-5) }, { name });
    return name;
  }

  op(type: string, inputs: string[], name: string, attrs: Record<string, number | number[]> = {}) {
    this.g.node(type, inputs, [name], attrs, { name });
    return name;
  }

  model(output: string, dims: (number | string)[]): ModelProto {
    this.g.output(output, 'FP32', dims);
    return buildModelProto(this.g);
  }
}

function input(n: number, seed = 5): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n * 3 * SIDE * SIDE }, () => next() * 2 - 1);
}

async function run(model: ModelProto, x: Float32Array): Promise<Float32Array> {
  const s = await createSession(model);
  try {
    const out = await s.run({ x: new ort.Tensor('float32', x, [x.length / (3 * SIDE * SIDE), 3, SIDE, SIDE]) });
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

function weights(m: ModelProto): Record<string, TensorProto> {
  return Object.fromEntries(m.graph!.initializer.map((t) => [t.name, t]));
}
const dimsOf = (m: ModelProto, name: string) => weights(m)[name]!.dims.map(Number);

describe('structured Conv channel pruning', () => {
  it('removes dead channels exactly and shrinks both convolutions', async () => {
    const n = new Net(1);
    const c1 = n.conv('x', 3, 8, 'conv1', { zero: [1, 4, 6] });
    const r = n.op('Relu', [c1], 'relu1');
    n.g.annotate('relu1', 'FP32', ['batch', 8, SIDE, SIDE]);
    const m = n.model(n.conv(r, 8, 4, 'conv2'), ['batch', 4, SIDE, SIDE]);
    const res = pruneStructured(m, 3 / 8, { channelMultiple: 1 });
    assert.deepEqual(dimsOf(res.model, 'conv1.w'), [5, 3, 3, 3]);
    assert.deepEqual(dimsOf(res.model, 'conv1.b'), [5]);
    assert.deepEqual(dimsOf(res.model, 'conv2.w'), [4, 5, 3, 3]);
    assert.deepEqual(res.layers, [{ node: 'conv1', params: 8, zeroed: 3 }]);
    assert.equal(res.model.graph!.valueInfo.length, 0, 'the stale [batch,8,…] shape of relu1 is dropped');
    assert.match(res.notes.join('\n'), /output channels in 1 Conv group/);
    assert.equal(res.prunedParams, 3 * 27 + 3 + 4 * 3 * 9);
    const x = input(4);
    assert.ok(maxDiff(await run(m, x), await run(res.model, x)) < 1e-5);
    assert.deepEqual(res.skipped, [{ node: 'conv2', reason: 'conv2 is a graph output' }]);
  });

  it('prunes through BatchNormalization, Relu and MaxPool with weights in Constant nodes', async () => {
    const n = new Net(2, true);
    const dead = [0, 5];
    const c1 = n.conv('x', 3, 6, 'conv1', { zero: dead });
    const b = n.bn(c1, 6, 'bn1', dead);
    const r = n.op('Relu', [b], 'relu1');
    const p = n.op('MaxPool', [r], 'pool1', { kernel_shape: [2, 2], strides: [2, 2] });
    const m = n.model(n.conv(p, 6, 5, 'conv2'), ['batch', 5, SIDE / 2, SIDE / 2]);
    const res = pruneStructured(m, 1 / 3, { channelMultiple: 1 });
    for (const t of ['gamma', 'beta', 'mean', 'var']) assert.deepEqual(dimsOf(res.model, `bn1.${t}`), [4]);
    assert.deepEqual(dimsOf(res.model, 'conv1.w'), [4, 3, 3, 3]);
    assert.deepEqual(dimsOf(res.model, 'conv2.w'), [5, 4, 3, 3]);
    const x = input(3);
    assert.ok(maxDiff(await run(m, x), await run(res.model, x)) < 1e-5);
  });

  it('prunes a MobileNet block through HardSwish, a depthwise Conv and squeeze-excitation', async () => {
    const n = new Net(3);
    const dead = [0, 3, 5];
    const c1 = n.conv('x', 3, 8, 'expand', { k: 1, zero: dead });
    const b1 = n.bn(c1, 8, 'bn1', dead);
    // HardSwish as paddle2onnx writes it: x · Clip(x + 3, 0, 6) / 6.
    const [three, zero, six] = [3, 0, 6].map((v, i) => n.tensor(`k${i}`, [], () => v)) as [string, string, string];
    const a = n.op('Add', [b1, three], 'hs.add');
    const cl = n.op('Clip', [a, zero, six], 'hs.clip');
    const mu = n.op('Mul', [b1, cl], 'hs.mul');
    const hs = n.op('Div', [mu, six], 'hs');
    const dw = n.conv(hs, 8, 8, 'dw', { group: 8, zero: dead });
    const r = n.op('Relu', [n.bn(dw, 8, 'bn2', dead)], 'relu2');
    const gap = n.op('GlobalAveragePool', [r], 'se.gap');
    const sq = n.op('Relu', [n.conv(gap, 8, 4, 'se.squeeze', { k: 1, zero: [2] })], 'se.relu');
    const gate = n.op('HardSigmoid', [n.conv(sq, 4, 8, 'se.excite', { k: 1 })], 'se.gate');
    const scaled = n.op('Mul', [r, gate], 'se.mul');
    const perChannel = n.tensor('scale', [8, 1, 1], (c) => 1 + c / 8);
    const m = n.model(n.conv(n.op('Mul', [scaled, perChannel], 'scaled'), 8, 6, 'project', { k: 1 }), [
      'batch',
      6,
      SIDE,
      SIDE,
    ]);
    const { groups } = findChannelGroups(m.graph!);
    assert.equal(groups.length, 2);
    assert.deepEqual(
      groups[0]!.producers.map((p) => p.name),
      ['expand', 'se.excite'],
    );
    assert.deepEqual(
      groups[0]!.consumers.map((p) => p.name),
      ['se.squeeze', 'project'],
    );
    const res = pruneStructured(m, 3 / 8, { channelMultiple: 1 });
    const model = res.model;
    assert.deepEqual(dimsOf(model, 'dw.w'), [5, 1, 3, 3]);
    const dwNode = model.graph!.node.find((x) => x.name === 'dw')!;
    assert.equal(attrInt(dwNode, 'group', 1), 5);
    assert.deepEqual(dimsOf(model, 'se.excite.w'), [5, 3, 1, 1], 'both SE groups shrink');
    assert.deepEqual(dimsOf(model, 'se.squeeze.w'), [3, 5, 1, 1]);
    assert.deepEqual(dimsOf(model, 'scale'), [5, 1, 1]);
    assert.deepEqual(dimsOf(model, 'project.w'), [6, 5, 1, 1]);
    const x = input(2);
    assert.ok(maxDiff(await run(m, x), await run(model, x)) < 1e-5);
  });

  it('leaves residual, Concat, graph-output, shared-weight and depthwise-producer cases alone, with reasons', async () => {
    const n = new Net(4);
    const dw = n.conv('x', 3, 3, 'dw0', { group: 3 });
    const c1 = n.op('Relu', [n.conv(dw, 3, 8, 'conv1')], 'relu1');
    const res2 = n.op('Add', [n.conv(c1, 8, 8, 'conv2'), c1], 'residual');
    const c3 = n.conv(res2, 8, 8, 'conv3');
    n.op('Conv', [c3, 'conv3.w'], 'conv3b', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }); // shares conv3's weight
    const cat = n.op('Concat', [n.conv('conv3b', 8, 4, 'conv4'), 'x'], 'cat', { axis: 1 });
    n.g.output('conv4', 'FP32', ['batch', 4, SIDE, SIDE]);
    const m = n.model(n.conv(cat, 7, 2, 'conv5'), ['batch', 2, SIDE, SIDE]);
    const res = pruneStructured(m, 0.5);
    const why = Object.fromEntries((res.skipped ?? []).map((s) => [s.node, s.reason]));
    assert.match(why['dw0']!, /depthwise/);
    assert.match(why['conv1']!, /residual Add residual joins two activations/);
    assert.match(why['conv2']!, /residual Add/);
    assert.match(why['conv3']!, /shares its weight/);
    assert.match(why['conv4']!, /graph output/);
    assert.match(why['conv5']!, /graph output/);
    assert.equal(res.layers.length, 0);
    assert.match(res.notes[0]!, /nothing removed/);
    assert.deepEqual(dimsOf(res.model, 'conv1.w'), [8, 3, 3, 3]);
    const onlyConcat = new Net(5);
    const cc = onlyConcat.op('Concat', [onlyConcat.conv('x', 3, 4, 'c'), 'x'], 'cat', { axis: 1 });
    const r2 = pruneStructured(onlyConcat.model(onlyConcat.conv(cc, 7, 2, 'd'), ['batch', 2, SIDE, SIDE]), 0.5);
    assert.match(r2.skipped![0]!.reason, /c is read by Concat/);
  });

  it('folds the mean of removed constant channels into the consumer bias when statistics are measured', async () => {
    const n = new Net(8);
    const c1 = n.conv('x', 3, 8, 'conv1', { zero: [2, 5], deadBias: 0.7 });
    const m = n.model(n.conv(n.op('Relu', [c1], 'relu1'), 8, 4, 'conv2', { k: 1, bias: false }), [
      'batch',
      4,
      SIDE,
      SIDE,
    ]);
    const set: ValidationSet = { input: 'x', rowShape: [3, SIDE, SIDE], rows: rowsOf(input(16, 2), 16) };
    const stats = await convChannelStats(m, set);
    assert.deepEqual([...stats.keys()], ['relu1']);
    assert.ok(Math.abs(stats.get('relu1')!.mean[2]! - 0.7) < 1e-6 && stats.get('relu1')!.variance[2]! < 1e-9);
    const x = input(3);
    const want = await run(m, x);
    const plain = pruneStructured(m, 0.25, { channelMultiple: 1 });
    assert.ok(maxDiff(want, await run(plain.model, x)) > 1e-2, 'without statistics the constant is lost');
    const folded = pruneStructured(m, 0.25, { channelMultiple: 1, stats });
    assert.deepEqual(dimsOf(folded.model, 'conv2.w'), [4, 6, 1, 1]);
    assert.deepEqual(dimsOf(folded.model, 'conv2.w_bias'), [4], 'a bias is created for the consumer');
    assert.ok(maxDiff(want, await run(folded.model, x)) < 1e-5);
  });

  it('keeps a multiple of 8 channels where the layer had one, so blocked kernels still apply', () => {
    assert.equal(keptChannels(32, 0.25, 8), 24);
    assert.equal(keptChannels(24, 0.25, 8), 16);
    assert.equal(keptChannels(8, 0.5, 8), 8);
    assert.equal(keptChannels(20, 0.5, 8), 10, 'a ragged layer stays ragged');
    assert.equal(keptChannels(16, 0.99, 1), 1);
  });

  it('ranks channels by producer norm × scale × consumer norm and selects along any axis', () => {
    assert.deepEqual(channelsToKeep(Float64Array.from([1, 0, 4, 4]), 2), [2, 3]);
    const [data, dims] = selectAxes(
      Float32Array.from({ length: 24 }, (_, i) => i),
      [2, 3, 4],
      [undefined, [0, 2], [1]],
    );
    assert.deepEqual(dims, [2, 2, 1]);
    assert.deepEqual(Array.from(data), [1, 9, 13, 21]);
  });

  it('sweeps Conv pruning under the accuracy guard and keeps the highest sparsity within budget', async () => {
    const m = classifier(6);
    const set: ValidationSet = { input: 'x', rowShape: [3, SIDE, SIDE], rows: rowsOf(input(48, 9), 48) };
    const o: SweepOptions = {
      method: 'structured',
      sparsities: [0, 0.25, 0.5, 0.875],
      budget: 0.1,
      channelMultiple: 1,
    };
    const r = await sweepPruning(m, set, o);
    assert.equal(r.points.length, 4);
    assert.equal(r.points[0]!.loss, 0);
    assert.equal(r.points[0]!.metric, 'disagreement with original');
    assert.ok(r.points[1]!.prunedParams > 0 && r.points[3]!.prunedParams > r.points[1]!.prunedParams);
    const within = r.points.filter((p) => p.withinBudget).map((p) => p.sparsity);
    assert.equal(r.chosen?.point.sparsity, Math.max(...within));
    assert.ok(r.points[3]!.sizeBytes < r.points[0]!.sizeBytes, 'channels really go');
  });
});

// Conv(3→16) → Relu → Conv(16→8) → Relu → GlobalAveragePool → Flatten → Gemm(→10): class scores.
function classifier(seed: number): ModelProto {
  const n = new Net(seed);
  const r1 = n.op('Relu', [n.conv('x', 3, 16, 'conv1')], 'relu1');
  const r2 = n.op('Relu', [n.conv(r1, 16, 8, 'conv2')], 'relu2');
  const f = n.op('Flatten', [n.op('GlobalAveragePool', [r2], 'gap')], 'flat', { axis: 1 });
  n.tensor('fc.w', [10, 8]);
  n.tensor('fc.b', [10]);
  n.g.node('Gemm', [f, 'fc.w', 'fc.b'], ['y'], { transB: 1 }, { name: 'fc' });
  return n.model('y', ['batch', 10]);
}

function rowsOf(x: Float32Array, n: number): Float32Array[] {
  const len = x.length / n;
  return Array.from({ length: n }, (_, i) => x.slice(i * len, (i + 1) * len));
}

describe('optimize prune CLI on a CNN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-prune-conv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prunes Conv channels, lists the Convs it left intact and writes a model onnxruntime runs', async () => {
    const src = join(dir, 'cnn.onnx');
    saveModel(classifier(7), src);
    const data = join(dir, 'val.npz');
    writeFileSync(data, npzBytes({ x: { shape: [32, 3, SIDE, SIDE], data: input(32, 3) } }, true));
    const out = join(dir, 'pruned.onnx');
    const args = ['--out', out, '--sparsity', '0.5', '--accuracy-budget', '100%', '--batches', '1'];
    const text = await cli('prune', src, '--data', data, ...args);
    assert.match(text, /chose structured sparsity 50%/);
    assert.match(text, /output channels in 1 Conv group/);
    assert.match(text, /left intact: conv2 \(gap is read by Flatten flat\)/);
    const pruned = loadModel(out).model;
    assert.deepEqual(dimsOf(pruned, 'conv1.w'), [8, 3, 3, 3]);
    assert.deepEqual(dimsOf(pruned, 'conv2.w'), [8, 8, 3, 3]);
    assert.equal((await run(pruned, input(2))).length, 20);
    assert.equal(tensorToFloat32(weights(pruned)['conv1.b']!).length, 8);
  });
});
