import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allGraphs, GraphView, nameAllocator, outerScopeInputs } from '../../../../src/optimizer/model/graph.js';
import { inspectModel } from '../../../../src/optimizer/model/inspect.js';
import { liftConstants } from '../../../../src/optimizer/model/lift-constants.js';
import { buildIfModel, buildMlp } from '../models.js';

describe('graph view', () => {
  it('indexes producers, consumers and a topological order even when nodes are shuffled', () => {
    const model = buildMlp([4, 5, 3]);
    const g = model.graph!;
    g.node.reverse();
    const view = new GraphView(g);
    const order = view.topoOrder().map((n) => n.name);
    assert.ok(order.indexOf('fc0') < order.indexOf('relu0'));
    assert.ok(order.indexOf('relu0') < order.indexOf('fc1'));
    assert.equal(view.producers.get('h0')?.name, 'relu0');
    assert.deepEqual(
      view.consumersOf('x').map((n) => n.name),
      ['fc0'],
    );
    assert.ok(view.constantTensor('W0'));
  });

  it('walks If branches and sees outer-scope reads as implicit inputs', () => {
    const model = buildIfModel(4, 3);
    assert.deepEqual(
      allGraphs(model).map((r) => r.path),
      ['main', 'main/choose.then_branch', 'main/choose.else_branch'],
    );
    const branch = allGraphs(model)[1]!.graph;
    assert.deepEqual([...outerScopeInputs(branch)], ['x']);
    assert.deepEqual(
      new GraphView(model.graph!).consumersOf('x').map((n) => n.opType),
      ['If'],
    );
  });

  it('allocates names that do not clash', () => {
    const fresh = nameAllocator(buildMlp([4, 3]));
    assert.equal(fresh('W0'), 'W0_1');
    assert.equal(fresh('W0'), 'W0_2');
    assert.equal(fresh('new'), 'new');
  });
});

describe('inspect', () => {
  it('reports IO, ops, params, FLOPs and candidates', () => {
    const r = inspectModel(buildMlp([784, 128, 10]), { x: [32, 784] });
    assert.deepEqual(r.inputs[0], { name: 'x', dtype: 'float32', dims: ['batch', 784], dynamic: true });
    assert.equal(r.opHistogram['MatMul'], 2);
    assert.equal(r.params.count, 784 * 128 + 128 + 128 * 10 + 10);
    assert.equal(r.params.byDtype['float32']?.bytes, r.params.count * 4);
    assert.equal(r.flops.byOp['MatMul'], 2 * 32 * (784 * 128 + 128 * 10));
    assert.equal(r.candidates.dynamicInt8.matmul, 2);
    assert.equal(r.constantWeights.nodes, 0);
  });

  it('counts Constant-held weights, Gemm FLOPs and subgraphs', () => {
    const r = inspectModel(buildMlp([16, 8, 2], { gemm: true, constantWeights: true }));
    assert.equal(r.constantWeights.nodes, 2);
    assert.equal(r.candidates.liftConstants.nodes, 2);
    assert.equal(r.candidates.dynamicInt8.gemm, 2);
    assert.equal(r.flops.byOp['Gemm'], 2 * (16 * 8 + 8 * 2));
    const s = inspectModel(buildIfModel(4, 3));
    assert.equal(s.subgraphs.length, 2);
    assert.equal(s.candidates.dynamicInt8.matmul, 2);
  });

  it('lifts Constant weights into initializers', () => {
    const { model, lifted } = liftConstants(buildMlp([6, 4], { constantWeights: true }));
    assert.equal(lifted, 2);
    assert.deepEqual(
      model.graph!.initializer.map((t) => t.name),
      ['W0', 'B0'],
    );
    assert.ok(model.graph!.node.every((n) => n.opType !== 'Constant'));
  });
});
