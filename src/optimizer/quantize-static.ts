/**
 * Pass: static INT8 quantization in QDQ form with calibration. Lifts Constant-held weights, plans
 * which nodes and activations to quantize, calibrates the activation ranges with onnxruntime on the
 * user's rows (MinMax, Percentile or Entropy), then rewrites the graph (see qdq-rewrite.ts).
 * Activations are uint8 asymmetric, weights int8 symmetric (U8S8, the fast x86 path).
 */
import { clone } from '@bufbuild/protobuf';
import { type GraphProto, type ModelProto, ModelProtoSchema, type NodeProto } from '../gen/onnx-ml_pb.js';
import type { Range } from './calib-range.js';
import { type CalibrationOptions, calibrate } from './calibrate.js';
import type { ValidationSet } from './evaluate.js';
import { allGraphs, defaultOpset, GraphView, nameAllocator } from './graph.js';
import { liftConstants } from './lift-constants.js';
import { planQdq, type QdqPlanOptions } from './qdq-plan.js';
import { rewriteQdq } from './qdq-rewrite.js';
import {
  chooseMixedPrecision,
  type KeptFloat,
  type MixedPrecisionOptions,
  type NodeSensitivity,
} from './quant-sensitivity.js';

export interface StaticQuantOptions extends QdqPlanOptions, MixedPrecisionOptions {
  calibration: CalibrationOptions;
  /** Progress of the sensitivity pass (one step per candidate node). */
  onSensitivityProgress?: (done: number, total: number) => void;
  /** One weight scale per output channel (default true; needs opset 13). */
  perChannel?: boolean;
  /** 7-bit weights, for x86 without VNNI. */
  reduceRange?: boolean;
  baseDir?: string;
}

export interface StaticQuantResult {
  model: ModelProto;
  quantized: string[];
  skipped: { node: string; reason: string }[];
  /** Calibrated range per quantized activation tensor. */
  ranges: Record<string, Range>;
  notes: string[];
  /** Quantizable nodes kept in float by --keep-float / --auto-exclude, and why. */
  keptFloat: KeptFloat[];
  /** Per-node error when quantized alone, worst first (only when the sensitivity pass ran). */
  sensitivity: NodeSensitivity[];
}

/** Quantize MatMul/Gemm/Conv statically: calibrate on `data`, then insert Q/DQ and int8 weights. */
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
  const out = liftConstants(clone(ModelProtoSchema, model)).model;
  const mixed = (o.keepFloat?.length ?? 0) > 0 || (o.autoExclude ?? 0) > 0;
  if (mixed) nameUnnamedNodes(out);
  const full = planQdq(new GraphView(out.graph!), subgraphNodes(out), o);
  if (full.nodes.length === 0)
    return { model: out, quantized: [], skipped: full.skipped, ranges: {}, notes, keptFloat: [], sensitivity: [] };
  // Ranges by tensor, calibrated once for the full plan; a partial plan (mixed precision) may reach
  // further back through pass-through ops, and only those extra tensors are calibrated again.
  const ranges = new Map<string, Range>();
  let rows = 0;
  let calibrated = 0;
  const rewriteOpts = { perChannel, reduceRange: o.reduceRange ?? false, baseDir: o.baseDir };
  const build = async (keepFloat: string[]) => {
    const m = clone(ModelProtoSchema, out);
    const view = new GraphView(m.graph!);
    const plan = planQdq(view, subgraphNodes(m), { ...o, excludeNodes: [...(o.excludeNodes ?? []), ...keepFloat] });
    const missing = plan.activations.filter((t) => !plan.reuse.has(t) && !ranges.has(t));
    if (missing.length > 0) {
      const cal = await calibrate(out, data, missing, o.calibration);
      for (const [t, r] of cal.ranges) ranges.set(t, r);
      rows = cal.rows;
      calibrated += missing.length;
    }
    const rewriteNotes = rewriteQdq(view, plan, ranges, nameAllocator(m), rewriteOpts);
    finishGraph(m.graph!);
    return { model: m, plan, rewriteNotes };
  };
  let result = await build([]);
  let keptFloat: KeptFloat[] = [];
  let sensitivity: NodeSensitivity[] = [];
  if (mixed) {
    const buildModel = async (keep: string[]) => (await build(keep)).model;
    const choice = await chooseMixedPrecision(full.nodes, out, data, buildModel, o, o.onSensitivityProgress);
    keptFloat = choice.kept;
    sensitivity = choice.sensitivity;
    if (keptFloat.length > 0) result = await build(keptFloat.map((k) => k.node));
    notes.push(
      `kept in float (mixed precision): ${keptFloat.map((k) => `${k.node} (${k.reason})`).join('; ') || 'none'}`,
    );
    if (choice.finalError !== undefined)
      notes.push(
        `sensitivity pass: ${sensitivity.length} node(s) tried; output error ${(choice.finalError * 100).toFixed(3)}% (relative mean abs) on ${Math.min(data.rows.length, o.sensitivityRows ?? 32)} calibration row(s)`,
      );
  }
  notes.push(...result.rewriteNotes);
  notes.push(`calibrated ${calibrated} tensor(s) on ${rows} row(s) with ${describe(o.calibration)}`);
  const kept = new Set(keptFloat.map((k) => k.node));
  const skipped = [
    ...result.plan.skipped,
    ...keptFloat.map((k) => ({ node: k.node, reason: `kept in float: ${k.reason}` })),
  ].filter((s, i, all) => all.findIndex((x) => x.node === s.node) === i);
  const quantized = result.plan.nodes
    .filter((n) => !kept.has(n.name))
    .map((n) => n.name || `${n.opType}:${n.output[0]}`);
  const used = new Set(result.plan.activations.filter((t) => !result.plan.reuse.has(t)));
  const usedRanges = Object.fromEntries([...ranges].filter(([t]) => used.has(t)));
  return { model: result.model, quantized, skipped, ranges: usedRanges, notes, keptFloat, sensitivity };
}

// Exclusion works by node name: give every unnamed main-graph node one.
function nameUnnamedNodes(model: ModelProto): void {
  const alloc = nameAllocator(model);
  for (const n of model.graph!.node) if (!n.name) n.name = alloc(`${n.opType}_q`);
}

function describe(c: CalibrationOptions): string {
  if (c.method === 'percentile') return `percentile ${c.percentile ?? 99.999} (${c.bins ?? 2048} bins)`;
  if (c.method === 'entropy') {
    const cover = c.entropyCoverage ?? 99.9;
    return `entropy / KL divergence (${c.bins ?? 2048} bins${cover > 0 ? `, floor at the ${cover}th percentile` : ', pure KL'})`;
  }
  return 'minmax';
}

function subgraphNodes(model: ModelProto): NodeProto[] {
  return allGraphs(model)
    .slice(1)
    .flatMap((g) => g.graph.node);
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
