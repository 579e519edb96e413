import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../../../src/gen/onnx-ml_pb.js';
import { exposeForCalibration } from '../../../../src/optimizer/calibrate/subgraph.js';
import { cpuInfo } from '../../../../src/optimizer/measure/cpu.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';
import { allGraphs } from '../../../../src/optimizer/model/graph.js';
import { createSession, fusionCheck } from '../../../../src/optimizer/measure/ort.js';
import { attr, buildModelProto, GraphBuilder } from '../../../../src/onnx/index.js';
import { quantizeStatic } from '../../../../src/optimizer/quantize/static.js';
import { modelScopes, scopedKey } from '../../../../src/optimizer/model/subgraph-scope.js';
import { buildIfNet, buildLoopNet, buildScanNet, rng } from '../models.js';

const reduceRange = cpuInfo().reduceRangeDefault;

// Rows whose mean is above (then branch) or below (else branch) the If threshold of 0.5.
function rows(n: number, lo: number, hi: number, seed: number, len = 16): Float32Array[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => lo + (hi - lo) * next()));
}

async function run(model: ModelProto, rs: Float32Array[], len: number): Promise<Float32Array> {
  const s = await createSession(model);
  const data = new Float32Array(rs.length * len);
  for (const [i, r] of rs.entries()) data.set(r, i * len);
  const y = (await s.run({ x: new ort.Tensor('float32', data, [rs.length, len]) }))['y']!.data as Float32Array;
  await s.release();
  return y;
}

// Max abs error relative to the largest |fp32 output|.
async function relErr(a: ModelProto, b: ModelProto, rs: Float32Array[], len = 16): Promise<number> {
  const [ya, yb] = [await run(a, rs, len), await run(b, rs, len)];
  let diff = 0;
  let top = 0;
  for (let i = 0; i < ya.length; i++) {
    diff = Math.max(diff, Math.abs(ya[i]! - yb[i]!));
    top = Math.max(top, Math.abs(ya[i]!));
  }
  return diff / top;
}

const opsOf = (m: ModelProto, path: string) =>
  allGraphs(m)
    .find((g) => g.path === path)!
    .graph.node.map((n) => n.opType);
const modeOf = (r: Awaited<ReturnType<typeof quantizeStatic>>, node: string) => r.nodes.find((d) => d.node === node);

describe('static int8 inside If/Loop subgraphs', () => {
  const model = buildIfNet();
  const high = rows(32, 0.45, 1, 1);
  const low = rows(32, 0, 0.55, 2);
  const highVal = rows(16, 0.45, 1, 3);
  const lowVal = rows(16, 0, 0.55, 4);
  const minmax = { method: 'minmax' as const };

  it('routes a subgraph tensor out through the If, with an empty stand-in from the other branch', async () => {
    const scopes = modelScopes(model);
    const elseId = scopes.find((s) => s.label === 'main/route.else_branch')!.id;
    const key = scopedKey(elseId, 'e_flat');
    const ex = exposeForCalibration(model, [{ key, scopeId: elseId, tensor: 'e_flat' }]);
    const s = await createSession(ex.model, { level: 'basic' });
    const out = ex.outputs.get(key)!;
    const feed = (rs: Float32Array[]) => {
      const d = new Float32Array(rs.length * 16);
      for (const [i, r] of rs.entries()) d.set(r, i * 16);
      return { x: new ort.Tensor('float32', d, [rs.length, 16]) };
    };
    const taken = await s.run(feed(low.slice(0, 4)), [out]);
    const other = await s.run(feed(high.slice(0, 4)), [out]);
    await s.release();
    assert.deepEqual(taken[out]!.dims, [4, 64], 'the else branch ran: Flatten output of 4 rows');
    assert.equal(other[out]!.data.length, 0, 'the then branch ran: no values, so no made-up range');
  });

  it('quantizes MatMul and Conv in both If branches when the calibration rows take both', async () => {
    const r = await quantizeStatic(
      model,
      { input: 'x', rowShape: [16], rows: [...high, ...low] },
      {
        calibration: minmax,
        reduceRange,
      },
    );
    for (const n of ['then_fc1', 'then_fc2', 'else_conv', 'else_fc']) assert.equal(modeOf(r, n)?.mode, 'static', n);
    assert.equal(modeOf(r, 'else_conv')!.graph, 'main/route.else_branch');
    assert.deepEqual(r.quantized.sort(), ['else_conv', 'else_fc', 'then_fc1', 'then_fc2']);
    // W1 sat in a Constant node of the branch; Wshared in the main graph: both became int8 in the branch.
    const thenOps = opsOf(r.model, 'main/route.then_branch');
    assert.ok(!thenOps.includes('Constant') && thenOps.includes('QuantizeLinear'));
    const elseInits = allGraphs(r.model)[2]!.graph.initializer.map((t) => t.name);
    assert.ok(elseInits.includes('Wshared_quantized'), 'outer-scope weight quantized inside the branch');
    assert.ok(!r.model.graph!.initializer.some((t) => t.name === 'Wshared'), 'float copy dropped from main');
    const [errThen, errElse] = [await relErr(model, r.model, highVal), await relErr(model, r.model, lowVal)];
    assert.ok(errThen < 0.06, `then branch relative error ${errThen}`);
    assert.ok(errElse < 0.08, `else branch relative error ${errElse}`);
    const fusion = await fusionCheck(r.model);
    assert.equal(fusion.fusedKernels['QLinearConv'], 1, fusion.message);
    assert.equal(fusion.fusedKernels['QGemm'], 3, fusion.message);
    assert.ok(r.notes.some((n) => /subgraph main\/route\.else_branch: 2 node\(s\) QDQ int8/.test(n)));
  });

  it('falls back per node when a branch never ran: dynamic int8 for its MatMul, float for its Conv', async () => {
    const r = await quantizeStatic(
      model,
      { input: 'x', rowShape: [16], rows: high },
      { calibration: minmax, reduceRange },
    );
    assert.equal(modeOf(r, 'then_fc1')!.mode, 'static');
    assert.equal(modeOf(r, 'then_fc2')!.mode, 'static');
    const conv = modeOf(r, 'else_conv')!;
    assert.equal(conv.mode, 'float');
    assert.match(conv.reason, /no calibrated range: .*If branch never ran.*stays float/);
    const fc = modeOf(r, 'else_fc')!;
    assert.equal(fc.mode, 'dynamic');
    assert.match(fc.reason, /dynamic int8 instead/);
    assert.ok(r.skipped.some((s) => s.node === 'else_conv') && !r.skipped.some((s) => s.node === 'else_fc'));
    const elseOps = opsOf(r.model, 'main/route.else_branch');
    assert.ok(elseOps.includes('DynamicQuantizeLinear') && elseOps.includes('MatMulInteger'));
    assert.ok(!elseOps.includes('QuantizeLinear'), 'no QDQ without a range');
    const [errThen, errElse] = [await relErr(model, r.model, highVal), await relErr(model, r.model, lowVal)];
    assert.ok(errThen < 0.06, `then branch relative error ${errThen}`);
    assert.ok(errElse < 0.05, `else branch relative error ${errElse}`);
  });

  it('keeps subgraph nodes float by name like main-graph ones', async () => {
    const set: ValidationSet = { input: 'x', rowShape: [16], rows: [...high, ...low] };
    const r = await quantizeStatic(model, set, { calibration: minmax, reduceRange, excludeNodes: ['else_conv'] });
    assert.equal(modeOf(r, 'else_conv'), undefined, 'excluded nodes are not candidates');
    assert.deepEqual(r.quantized.sort(), ['else_fc', 'then_fc1', 'then_fc2']);
  });

  it('calibrates a loop-carried input of a Loop body from every iteration', async () => {
    const loop = buildLoopNet();
    const x = rows(32, -1, 1, 5, 8);
    const r = await quantizeStatic(loop, { input: 'x', rowShape: [8], rows: x }, { calibration: minmax, reduceRange });
    assert.equal(modeOf(r, 'loop_fc')!.mode, 'static');
    assert.equal(modeOf(r, 'loop_fc')!.graph, 'main/iterate.body');
    assert.ok(r.ranges['main/iterate.body::h_in'], 'the body input got a range');
    // Routed out as a scan output, the value of every iteration comes back stacked.
    const body = modelScopes(loop).find((s) => s.label === 'main/iterate.body')!;
    const key = scopedKey(body.id, 'h_in');
    const ex = exposeForCalibration(loop, [{ key, scopeId: body.id, tensor: 'h_in' }]);
    const s = await createSession(ex.model, { level: 'basic' });
    const out = ex.outputs.get(key)!;
    const got = await s.run({ x: new ort.Tensor('float32', new Float32Array(16), [2, 8]) }, [out]);
    await s.release();
    assert.deepEqual(got[out]!.dims, [3, 2, 8], 'three iterations of [2, 8]');
    const err = await relErr(loop, r.model, rows(16, -1, 1, 6, 8), 8);
    assert.ok(err < 0.05, `relative error ${err}`);
    const fusion = await fusionCheck(r.model);
    assert.equal(fusion.fusedKernels['QGemm'], 1, fusion.message);
  });

  it('quantizes a MatMul inside a Scan body, reading its per-step slices', async () => {
    const scan = buildScanNet();
    const x = rows(32, -1, 1, 7, 32);
    const r = await quantizeStatic(
      scan,
      { input: 'x', rowShape: [4, 8], rows: x },
      { calibration: minmax, reduceRange },
    );
    assert.equal(modeOf(r, 'scan_fc')!.mode, 'static');
    assert.equal(modeOf(r, 'scan_fc')!.graph, 'main/scan.body');
    const s = await createSession(scan);
    const q = await createSession(r.model);
    const feeds = { x: new ort.Tensor('float32', Float32Array.from(x.flatMap((v) => [...v])), [32, 4, 8]) };
    const [ya, yb] = [(await s.run(feeds))['y']!.data as Float32Array, (await q.run(feeds))['y']!.data as Float32Array];
    await s.release();
    await q.release();
    const top = Math.max(...ya.map(Math.abs));
    const err = Math.max(...ya.map((v, i) => Math.abs(v - yb[i]!))) / top;
    assert.ok(err < 0.05, `relative error ${err}`);
    assert.equal((await fusionCheck(r.model)).fusedKernels['QGemm'], 1);
  });

  it('keeps a Conv float when its DQ would travel through a Transpose into an If (onnxruntime aborts there)', async () => {
    // Conv → Relu → Transpose → read inside an If branch: the Silero VAD legacy pattern. Without the
    // guard, creating the session below kills the test process on a failed assertion.
    const next = rng(8);
    const branch = (name: string, scale: number) =>
      new GraphBuilder(name)
        .initializer(`k_${name}`, 'FP32', [], [scale])
        .node('Mul', ['t', `k_${name}`], [`o_${name}`])
        .output(`o_${name}`, 'FP32', ['batch', 6, 3])
        .toProto(['t']);
    const g = new GraphBuilder('hazard')
      .input('x', 'FP32', ['batch', 2, 6])
      .initializer(
        'w',
        'FP32',
        [3, 2, 1],
        Float32Array.from({ length: 6 }, () => next() * 2 - 1),
      )
      .initializer('zero', 'FP32', [], [0])
      // A condition from the data: a constant one would let onnxruntime inline the branch first.
      .node('ReduceMax', ['x'], ['mx'], { keepdims: 0 }, { name: 'max' })
      .node('Greater', ['mx', 'zero'], ['flag'], {}, { name: 'positive' })
      .node('Conv', ['x', 'w'], ['c'], { kernel_shape: [1] }, { name: 'conv' })
      .node('Relu', ['c'], ['r'], {}, { name: 'relu' })
      .node('Transpose', ['r'], ['t'], { perm: [0, 2, 1] }, { name: 'transpose' })
      .node('If', ['flag'], ['y'], { then_branch: attr.graph(branch('a', 2)), else_branch: attr.graph(branch('b', 3)) })
      .output('y', 'FP32', ['batch', 6, 3]);
    const model = buildModelProto(g);
    const x = rows(16, -1, 1, 9, 12);
    const r = await quantizeStatic(
      model,
      { input: 'x', rowShape: [2, 6], rows: x },
      { calibration: minmax, reduceRange },
    );
    const conv = modeOf(r, 'conv')!;
    assert.equal(conv.mode, 'float');
    assert.match(conv.reason, /"r" flows through reshaping ops into a subgraph/);
    const s = await createSession(r.model, { level: 'all' });
    await s.release();
  });
});
