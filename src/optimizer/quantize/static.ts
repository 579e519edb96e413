/**
 * Pass: static INT8 quantization in QDQ form with calibration. Lifts Constant-held weights, plans
 * which nodes and activations to quantize in every graph (If/Loop/Scan bodies too, see
 * qdq-graphs.ts), calibrates the activation ranges with onnxruntime on the user's rows (MinMax,
 * Percentile or Entropy), then rewrites the graphs (see qdq-rewrite.ts).
 * Activations are uint8 asymmetric, weights int8 symmetric (U8S8, the fast x86 path).
 */
import { clone } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from '../../gen/onnx-ml_pb.js';
import type { Range } from '../calibrate/range.js';
import type { CalibrationOptions } from '../calibrate/calibrate.js';
import type { ValidationSet } from '../data/validation-set.js';
import { allGraphs, defaultOpset, nameAllocator } from '../model/graph.js';
import { liftConstants } from '../model/lift-constants.js';
import { type NodeDecision, newRangeCache, planGraphs, quantizeGraphs } from './qdq-graphs.js';
import { floatDecisions, subgraphSummary } from './qdq-report.js';
import type { QdqPlanOptions } from './qdq-plan.js';
import {
  chooseMixedPrecision,
  type KeptFloat,
  type MixedPrecisionOptions,
  type NodeSensitivity,
} from './sensitivity.js';
import { modelScopes } from '../model/subgraph-scope.js';

export { dropUnusedInitializers, finishGraph } from './qdq-graphs.js';

export interface StaticQuantOptions extends QdqPlanOptions, MixedPrecisionOptions {
  calibration: CalibrationOptions;
  /** Progress of the sensitivity pass (one step per candidate node). */
  onSensitivityProgress?: (done: number, total: number) => void;
  /** One weight scale per output channel (default true; needs opset 13). */
  perChannel?: boolean;
  /** 7-bit weights, for x86 without VNNI. */
  reduceRange?: boolean;
  /** Dynamic int8 for a MatMul/Gemm whose input got no calibrated range (default true). */
  dynamicFallback?: boolean;
  baseDir?: string;
}

export interface StaticQuantResult {
  model: ModelProto;
  /** Nodes now running int8: QDQ, or dynamic where no range could be calibrated (see `nodes`). */
  quantized: string[];
  skipped: { node: string; reason: string }[];
  /** Every quantizable node in every graph: what happened to it, where, and why. */
  nodes: NodeDecision[];
  /** Calibrated range per quantized activation tensor ("<graph path>::<tensor>" inside subgraphs). */
  ranges: Record<string, Range>;
  notes: string[];
  /** Quantizable nodes kept in float by --keep-float / --auto-exclude, and why. */
  keptFloat: KeptFloat[];
  /** Per-node error when quantized alone, worst first (only when the sensitivity pass ran). */
  sensitivity: NodeSensitivity[];
}

/**
 * Quantize MatMul/Gemm/Conv statically in every graph (If/Loop/Scan bodies included): calibrate on
 * `data`, then insert Q/DQ and int8 weights.
 */
export async function quantizeStatic(
  model: ModelProto,
  data: ValidationSet,
  o: StaticQuantOptions,
): Promise<StaticQuantResult> {
  const opset = defaultOpset(model);
  if (opset < 10)
    throw new Error(
      `static QDQ quantization needs ai.onnx opset >= 10 (QuantizeLinear/DequantizeLinear); this model has opset ${opset}. Convert the model to a newer opset first, or use --mode dynamic`,
    );
  const notes: string[] = [];
  let perChannel = o.perChannel ?? true;
  if (perChannel && opset < 13) {
    perChannel = false;
    notes.push(`opset ${opset} < 13 has no per-axis DequantizeLinear: weights use per-tensor scales`);
  }
  const dynamicFallback = (o.dynamicFallback ?? true) && opset >= 11;
  const out = liftConstants(clone(ModelProtoSchema, model)).model;
  const mixed = (o.keepFloat?.length ?? 0) > 0 || (o.autoExclude ?? 0) > 0;
  if (mixed) nameUnnamedNodes(out);
  const planned = planGraphs(out, o);
  if (planned.every((p) => p.plan.nodes.length === 0)) {
    const nodes = planned.flatMap(({ scope, plan }) => floatDecisions(scope.label, scope.graph, plan.skipped));
    const skipped = planned.flatMap((p) => p.plan.skipped);
    return { model: out, quantized: [], skipped, nodes, ranges: {}, notes, keptFloat: [], sensitivity: [] };
  }
  // Ranges by scoped tensor, calibrated once for the full plan; a partial plan (mixed precision) may
  // reach further back through pass-through ops, and only those extra tensors are calibrated again.
  const cache = newRangeCache();
  const rewrite = { perChannel, reduceRange: o.reduceRange ?? false, baseDir: o.baseDir };
  const build = async (keepFloat: string[]) => {
    const m = clone(ModelProtoSchema, out);
    const excludeNodes = [...(o.excludeNodes ?? []), ...keepFloat];
    const r = await quantizeGraphs(m, out, data, { ...o, excludeNodes, rewrite, dynamicFallback }, cache);
    return { model: m, ...r };
  };
  const first = await build([]);
  const { result, keptFloat, sensitivity } = mixed
    ? await mixedPrecision(out, data, o, first, build, notes)
    : { result: first, keptFloat: [], sensitivity: [] };
  const kept = new Set(keptFloat.map((k) => k.node));
  const keptNodes = keptFloat.map((k) => ({ node: k.node, reason: `kept in float: ${k.reason}` }));
  const nodes = [...result.decisions, ...modelScopes(out).flatMap((s) => floatDecisions(s.label, s.graph, keptNodes))];
  notes.push(...result.notes, ...subgraphSummary(nodes));
  notes.push(`calibrated ${cache.calibrated} tensor(s) on ${cache.rows} row(s) with ${describe(o.calibration)}`);
  const skipped = nodes
    .filter((d) => d.mode === 'float')
    .map((d) => ({ node: d.node, reason: d.reason }))
    .filter((s, i, all) => all.findIndex((x) => x.node === s.node) === i);
  const quantized = result.decisions.filter((d) => d.mode !== 'float' && !kept.has(d.node)).map((d) => d.node);
  return { model: result.model, quantized, skipped, nodes, ranges: result.ranges, notes, keptFloat, sensitivity };
}

type Built = Awaited<ReturnType<typeof quantizeGraphs>> & { model: ModelProto };

// --keep-float / --auto-exclude: choose the nodes to keep float and rebuild without them.
async function mixedPrecision(
  out: ModelProto,
  data: ValidationSet,
  o: StaticQuantOptions,
  first: Built,
  build: (keepFloat: string[]) => Promise<Built>,
  notes: string[],
): Promise<{ result: Built; keptFloat: KeptFloat[]; sensitivity: NodeSensitivity[] }> {
  const buildModel = async (keep: string[]) => (await build(keep)).model;
  // Candidates are the nodes the full build really quantized statically (a node without a
  // calibrated range is not one), in graph order.
  const byName = new Map(allGraphs(out).flatMap((g) => g.graph.node.map((n) => [n.name, n] as const)));
  const candidates = first.decisions.filter((d) => d.mode === 'static').map((d) => byName.get(d.node)!);
  const run = { feeds: o.calibration.feeds, batch: o.calibration.feeds ? o.calibration.batchSize : undefined };
  const choice = await chooseMixedPrecision(candidates, out, data, buildModel, o, o.onSensitivityProgress, run);
  const keptFloat = choice.kept;
  const result = keptFloat.length > 0 ? await build(keptFloat.map((k) => k.node)) : first;
  notes.push(
    `kept in float (mixed precision): ${keptFloat.map((k) => `${k.node} (${k.reason})`).join('; ') || 'none'}`,
  );
  if (choice.finalError !== undefined)
    notes.push(
      `sensitivity pass: ${choice.sensitivity.length} node(s) tried; output error ${(choice.finalError * 100).toFixed(3)}% (relative mean abs) on ${Math.min(data.rows.length, o.sensitivityRows ?? 32)} calibration row(s)`,
    );
  return { result, keptFloat, sensitivity: choice.sensitivity };
}

// Exclusion works by node name: give every unnamed node of every graph one.
function nameUnnamedNodes(model: ModelProto): void {
  const alloc = nameAllocator(model);
  for (const { graph } of allGraphs(model)) for (const n of graph.node) if (!n.name) n.name = alloc(`${n.opType}_q`);
}

function describe(c: CalibrationOptions): string {
  if (c.method === 'percentile') return `percentile ${c.percentile ?? 99.999} (${c.bins ?? 2048} bins)`;
  if (c.method === 'entropy') {
    const cover = c.entropyCoverage ?? 99.9;
    return `entropy / KL divergence (${c.bins ?? 2048} bins${cover > 0 ? `, floor at the ${cover}th percentile` : ', pure KL'})`;
  }
  return 'minmax';
}
