/**
 * Static QDQ over every graph of a model: the main graph and the bodies of If/Loop/Scan nodes. Each
 * graph is planned on its own (qdq-plan.ts) with constants found through enclosing scopes; activation
 * ranges are calibrated by scope (calibrate/scoped.ts) and cached across builds, since mixed precision
 * builds many variants of one model. A node whose activation got no range (its If branch never ran
 * on the calibration rows) leaves the QDQ plan: a MatMul/Gemm falls back to dynamic int8, which
 * quantizes its input at run time, and any other op stays float, each with the reason recorded.
 */
import type { GraphProto, ModelProto, NodeProto } from '../../gen/onnx-ml_pb.js';
import type { Range } from '../calibrate/range.js';
import { calibrateScoped } from '../calibrate/scoped.js';
import type { ExposeRequest } from '../calibrate/subgraph.js';
import type { CalibrationOptions } from '../calibrate/calibrate.js';
import type { ValidationSet } from '../data/validation-set.js';
import { GraphView, nameAllocator } from '../model/graph.js';
import { nodeLabel, planQdq, type QdqPlan, type QdqPlanOptions } from './qdq-plan.js';
import { type QdqRewriteOptions, rewriteQdq } from './qdq-rewrite.js';
import { quantizeNodesDynamic } from './dynamic.js';
import { definingScope, modelScopes, refreshViews, type Scope, scopedKey } from '../model/subgraph-scope.js';

export type QuantMode = 'static' | 'dynamic' | 'float';

/** What happened to one quantizable node, where, and why. */
export interface NodeDecision {
  node: string;
  opType: string;
  /** "main" or the subgraph path, e.g. "main/If_0.then_branch". */
  graph: string;
  mode: QuantMode;
  reason: string;
}

/** Calibrated ranges by scoped tensor key, kept across the builds of one quantization run. */
export interface RangeCache {
  ranges: Map<string, Range>;
  /** Key → why no range could be calibrated. */
  missing: Map<string, string>;
  rows: number;
  calibrated: number;
}

export interface GraphsQuantOptions extends QdqPlanOptions {
  calibration: CalibrationOptions;
  rewrite: QdqRewriteOptions;
  /** Dynamic int8 for a MatMul/Gemm whose input got no range (needs opset 11). */
  dynamicFallback: boolean;
}

export interface GraphsQuantResult {
  decisions: NodeDecision[];
  notes: string[];
  /** Ranges used, by tensor name (main graph) or "<graph path>::<tensor>" (subgraphs). */
  ranges: Record<string, Range>;
}

interface GraphPlan {
  scope: Scope;
  plan: QdqPlan;
}

/** An empty range cache. */
export function newRangeCache(): RangeCache {
  return { ranges: new Map(), missing: new Map(), rows: 0, calibrated: 0 };
}

/** Plan every graph without calibrating: what static QDQ would quantize if every range existed. */
export function planGraphs(model: ModelProto, o: QdqPlanOptions): GraphPlan[] {
  return modelScopes(model).map((scope) => ({ scope, plan: planQdq(scope.view, o) }));
}

// The key of a tensor read in `scope`: named by the graph that defines it, so a branch reading the
// main graph's input shares that input's range.
function keyIn(scope: Scope, name: string): string {
  return scopedKey((definingScope(scope, name) ?? scope).id, name);
}

function requestsOf(plans: GraphPlan[]): ExposeRequest[] {
  const out = new Map<string, ExposeRequest>();
  for (const { scope, plan } of plans)
    for (const a of plan.activations) {
      if (plan.reuse.has(a)) continue;
      const def = definingScope(scope, a) ?? scope;
      const key = scopedKey(def.id, a);
      if (!out.has(key)) out.set(key, { key, scopeId: def.id, tensor: a });
    }
  return [...out.values()];
}

// Nodes to take out of the plan because an activation they need has no range: its quantized readers,
// or, when it has none, the node whose output quantizer it is.
function dropUncalibrated(plans: GraphPlan[], cache: RangeCache, noRange: Map<NodeProto, string>): number {
  let added = 0;
  for (const { scope, plan } of plans)
    for (const a of plan.activations) {
      const why = cache.missing.get(keyIn(scope, plan.reuse.get(a) ?? a));
      if (why === undefined) continue;
      const readers = plan.nodes.filter((n) => n.input[0] === a);
      const producer = (n: NodeProto) =>
        n.output[0] === a || plan.foldedRelu.some((r) => r.output[0] === a && r.input[0] === n.output[0]);
      const targets = readers.length > 0 ? readers : plan.nodes.filter(producer);
      const side = readers.length > 0 ? 'input' : 'output';
      for (const t of targets)
        if (!noRange.has(t)) {
          noRange.set(t, `${side} "${a}" has no calibrated range: ${why}`);
          added++;
        }
    }
  return added;
}

/**
 * Quantize `m` (a fresh copy of `fp32`, the lifted float model calibration runs on) in place over
 * all its graphs; ranges come from `cache` or are calibrated on `data` and added to it.
 */
export async function quantizeGraphs(
  m: ModelProto,
  fp32: ModelProto,
  data: ValidationSet,
  o: GraphsQuantOptions,
  cache: RangeCache,
): Promise<GraphsQuantResult> {
  const scopes = modelScopes(m);
  const noRange = new Map<NodeProto, string>();
  let plans: GraphPlan[] = [];
  for (;;) {
    plans = scopes.map((scope) => ({ scope, plan: planQdq(scope.view, o, noRange) }));
    const todo = requestsOf(plans).filter((r) => !cache.ranges.has(r.key) && !cache.missing.has(r.key));
    if (todo.length > 0) {
      const cal = await calibrateScoped(fp32, data, todo, o.calibration);
      for (const [k, r] of cal.ranges) cache.ranges.set(k, r);
      for (const [k, why] of cal.missing) cache.missing.set(k, why);
      cache.rows = cal.rows;
      cache.calibrated += todo.length;
    }
    if (dropUncalibrated(plans, cache, noRange) === 0) break;
  }
  const labels = new Map(scopes.flatMap((s) => s.graph.node.map((n) => [n, nodeLabel(n)] as const)));
  const decisions: NodeDecision[] = [];
  const notes = new Set<string>();
  const ranges: Record<string, Range> = {};
  const fresh = nameAllocator(m);
  for (const { scope, plan } of plans) {
    const byLabel = new Map(scope.graph.node.map((n) => [labels.get(n)!, n]));
    const local = new Map<string, Range>();
    for (const a of plan.activations) {
      const root = plan.reuse.get(a) ?? a;
      const def = definingScope(scope, root) ?? scope;
      const r = cache.ranges.get(scopedKey(def.id, root));
      if (!r) continue;
      local.set(root, r);
      ranges[def.id === 'main' ? root : `${def.label}::${root}`] = r;
    }
    for (const n of plan.nodes) decisions.push(decide(n, scope, 'static', 'QDQ int8 with calibrated ranges', labels));
    for (const s of plan.skipped) {
      const n = byLabel.get(s.node);
      if (n && !noRange.has(n)) decisions.push(decide(n, scope, 'float', s.reason, labels));
    }
    if (plan.nodes.length > 0)
      for (const note of rewriteQdq(scope.view, plan, local, fresh, o.rewrite)) notes.add(note);
  }
  refreshViews(scopes);
  for (const scope of scopes) decisions.push(...fallback(scope, noRange, o, fresh, labels));
  for (const s of [...scopes].reverse()) finishGraph(s.graph);
  return { decisions, notes: [...notes], ranges };
}

function decide(
  n: NodeProto,
  scope: Scope,
  mode: QuantMode,
  reason: string,
  labels: Map<NodeProto, string>,
): NodeDecision {
  return { node: labels.get(n) ?? nodeLabel(n), opType: n.opType, graph: scope.label, mode, reason };
}

// Nodes left out for want of a range: dynamic int8 where the op has it, float otherwise.
function fallback(
  scope: Scope,
  noRange: Map<NodeProto, string>,
  o: GraphsQuantOptions,
  fresh: (b: string) => string,
  labels: Map<NodeProto, string>,
): NodeDecision[] {
  const mine = scope.graph.node.filter((n) => noRange.has(n));
  if (mine.length === 0) return [];
  const dynamicOps = new Set(['MatMul', 'Gemm']);
  const targets = new Set(mine.filter((n) => o.dynamicFallback && dynamicOps.has(n.opType)));
  const opts = { perChannel: o.rewrite.perChannel, reduceRange: o.rewrite.reduceRange, baseDir: o.rewrite.baseDir };
  const dyn = targets.size > 0 ? quantizeNodesDynamic(scope.view, targets, opts, fresh) : undefined;
  const done = new Set(dyn?.quantized ?? []);
  const refused = new Map((dyn?.skipped ?? []).map((s) => [s.node, s.reason]));
  return mine.map((n) => {
    const label = labels.get(n) ?? nodeLabel(n);
    const why = noRange.get(n)!;
    if (done.has(label))
      return decide(n, scope, 'dynamic', `${why}; dynamic int8 instead (input quantized at run time)`, labels);
    const tail = targets.has(n)
      ? `; no dynamic fallback: ${refused.get(label) ?? 'not rewritten'}`
      : dynamicOps.has(n.opType)
        ? '; dynamic fallback is off (it needs opset 11)'
        : `; ${n.opType} has no dynamic int8 form here, so it stays float`;
    return decide(n, scope, 'float', `${why}${tail}`, labels);
  });
}

/** Sort nodes topologically and drop initializers nothing reads any more. */
export function finishGraph(graph: GraphProto): void {
  graph.node = new GraphView(graph).topoOrder();
  dropUnusedInitializers(graph);
}

/** Remove initializers that no node, subgraph or graph output reads. */
export function dropUnusedInitializers(graph: GraphProto): void {
  const view = new GraphView(graph);
  graph.initializer = graph.initializer.filter(
    (t) => view.consumersOf(t.name).length > 0 || view.graphOutputs.has(t.name) || view.graphInputs.has(t.name),
  );
}
