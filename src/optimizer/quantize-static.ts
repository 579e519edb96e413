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

export interface StaticQuantOptions extends QdqPlanOptions {
  calibration: CalibrationOptions;
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
  const view = new GraphView(out.graph!);
  const plan = planQdq(view, subgraphNodes(out), o);
  const quantized = plan.nodes.map((n) => n.name || `${n.opType}:${n.output[0]}`);
  if (plan.nodes.length === 0) return { model: out, quantized, skipped: plan.skipped, ranges: {}, notes };
  const calibTensors = plan.activations.filter((t) => !plan.reuse.has(t));
  const cal = await calibrate(out, data, calibTensors, o.calibration);
  const rewriteOpts = { perChannel, reduceRange: o.reduceRange ?? false, baseDir: o.baseDir };
  notes.push(...rewriteQdq(view, plan, cal.ranges, nameAllocator(out), rewriteOpts));
  finishGraph(out.graph!);
  notes.push(`calibrated ${calibTensors.length} tensor(s) on ${cal.rows} row(s) with ${describe(o.calibration)}`);
  return { model: out, quantized, skipped: plan.skipped, ranges: Object.fromEntries(cal.ranges), notes };
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
