/**
 * `infergate optimize`: argument parsing and printing only; the work lives in src/optimizer/.
 */
import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CalibrationMethod } from '../optimizer/calib-range.js';
import { cpuInfo } from '../optimizer/cpu.js';
import { loadDataFor, splitSet } from '../optimizer/data.js';
import type { ValidationSet } from '../optimizer/evaluate.js';
import { convertFp16, DEFAULT_FP16_BLOCK_OPS } from '../optimizer/fp16.js';
import { checkPortableLevel, optimizeGraph } from '../optimizer/graph-opt.js';
import { inspectModel } from '../optimizer/inspect.js';
import { formatInspect } from '../optimizer/inspect-format.js';
import { type LoadedModel, loadModel } from '../optimizer/io.js';
import { progressReporter } from '../optimizer/progress.js';
import { quantizeDynamic } from '../optimizer/quantize-dynamic.js';
import { quantizeStatic } from '../optimizer/quantize-static.js';
import { formatReport, htmlPathFor } from '../optimizer/report.js';
import { emitVariant, type VariantSpec } from '../optimizer/variant-output.js';

function parseShape(v: string, prev: Record<string, number[]> = {}): Record<string, number[]> {
  const m = /^([^=]+)=(\d+(?:[x,]\d+)*)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected NAME=DxDxD, e.g. x=1x3x48x320 (got "${v}")`);
  return { ...prev, [m[1]!]: m[2]!.split(/[x,]/).map(Number) };
}
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Options every variant-making command shares. */
interface OutputOpts {
  out?: string;
  modelDir?: string;
  data?: string;
  labels?: string;
  input?: string;
  rowShape?: string;
  report?: string;
  threads: string;
  batches: string;
}

interface QuantizeOpts extends OutputOpts {
  mode: string;
  perTensor?: boolean;
  reduceRange?: boolean;
  excludeNodes?: string[];
  excludeOpTypes?: string[];
  opTypes?: string[];
  calibration: CalibrationMethod;
  percentile: string;
  entropyCoverage: string;
  bins: string;
  calibData?: string;
  calibSamples: string;
}

interface Fp16Opts extends OutputOpts {
  keepIoTypes: boolean;
  autoBlockOverflow: boolean;
  blockOps?: string[];
  blockNodes?: string[];
}

interface GraphOpts extends OutputOpts {
  level: string;
}

const FP16_CPU_NOTE =
  'float16 halves the file but gives no speed on CPU: onnxruntime runs it as float32 there (it casts back for missing fp16 kernels). Use it for GPU serving and edge bundles.';

function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--out <file>', 'write the variant to this file')
    .option('--model-dir <dir>', 'write the variant as the next version <dir>/<n>/model.onnx with lineage.json')
    .option(
      '--data <file>',
      'validation inputs (.npy, first axis = samples; or .jsonl with {"input": [...], "label": n})',
    )
    .option('--labels <file>', 'labels .npy for --data .npy (classifier top-1)')
    .option('--input <name>', 'model input the data feeds (default: the first input)')
    .option('--row-shape <DxD>', 'row shape for .jsonl data (default: from the model input)')
    .option('--report <file>', 'report JSON path (default: beside the variant); an HTML page is written beside it')
    .option('--threads <n>', 'intra-op threads for measurements', '1')
    .option('--batches <list>', 'batch sizes for latency', '1,32');
}

/** Register `optimize inspect|quantize|fp16|graph` on the main program. */
export function registerOptimizeCommand(program: Command): void {
  const opt = program
    .command('optimize')
    .description('inspect and optimize ONNX models (int8, fp16, graph optimization) with reports and lineage');
  registerInspect(opt);
  registerQuantize(opt);
  registerFp16(opt);
  registerGraph(opt);
}

function registerInspect(opt: Command): void {
  opt
    .command('inspect')
    .description(
      'opset, IO, op histogram, parameters, FLOPs, subgraphs, Constant-held weights, what each optimization would touch',
    )
    .argument('<model>', 'path to an .onnx file')
    .option(
      '--shape <name=DxD...>',
      'input shape for the FLOP estimate (repeatable); dynamic dims default to 1',
      parseShape,
      {},
    )
    .option('--json', 'print the report as JSON')
    .action((model: string, o: { shape: Record<string, number[]>; json?: boolean }) => {
      const { model: m } = loadModel(model);
      const r = inspectModel(m, o.shape);
      console.log(o.json ? JSON.stringify(r, null, 2) : formatInspect(r, model));
    });
}

function registerQuantize(opt: Command): void {
  const cmd = opt
    .command('quantize')
    .description(
      'INT8: dynamic (DynamicQuantizeLinear + MatMulInteger on MatMul/Gemm) or static QDQ calibrated on --data (MatMul/Gemm/Conv)',
    )
    .argument('<model>', 'path to an .onnx file')
    .addOption(new Option('--mode <mode>', 'quantization mode').choices(['dynamic', 'static']).default('dynamic'))
    .option('--per-tensor', 'one scale per weight tensor instead of per output channel')
    .option('--reduce-range', '7-bit weights (default: on for x86 without VNNI, where 8-bit u8×s8 sums saturate)')
    .option('--no-reduce-range', 'full 8-bit weights')
    .option('--exclude-nodes <names>', 'comma-separated node names to keep in float', list)
    .option('--exclude-op-types <ops>', 'comma-separated op types to keep in float', list)
    .option('--op-types <ops>', 'static: op types to quantize (default MatMul,Gemm,Conv)', list)
    .addOption(
      new Option('--calibration <method>', 'static: range calibrator')
        .choices(['minmax', 'percentile', 'entropy'])
        .default('minmax'),
    )
    .option('--percentile <p>', 'static: percentile of |x| kept by --calibration percentile', '99.999')
    .option(
      '--entropy-coverage <p>',
      'static: the entropy threshold never clips below this percentile of |x| (0 = pure KL, which clips spiky activations)',
      '99.9',
    )
    .option('--bins <n>', 'static: histogram bins for percentile/entropy (few bins make entropy equal minmax)', '2048')
    .option('--calib-data <file>', 'static: calibration inputs (default: the first --calib-samples rows of --data)')
    .option('--calib-samples <n>', 'static: rows of --data used for calibration when --calib-data is absent', '256');
  addOutputOptions(cmd).action(async (model: string, o: QuantizeOpts) => runQuantize(model, o));
}

function registerFp16(opt: Command): void {
  const cmd = opt
    .command('fp16')
    .description(`float32 → float16 weights and compute. ${FP16_CPU_NOTE}`)
    .argument('<model>', 'path to an .onnx file')
    .option('--no-keep-io-types', 'make graph inputs/outputs float16 too (default: float32 with Casts at the boundary)')
    .option(
      '--block-ops <ops>',
      `extra op types kept in float32 (default list: ${DEFAULT_FP16_BLOCK_OPS.join(',')})`,
      list,
    )
    .option('--block-nodes <names>', 'node names kept in float32', list)
    .option(
      '--no-auto-block-overflow',
      'clamp every weight into the fp16 range instead of keeping overflowing nodes float32',
    );
  addOutputOptions(cmd).action(async (model: string, o: Fp16Opts) => runFp16(model, o));
}

function registerGraph(opt: Command): void {
  const cmd = opt
    .command('graph')
    .description("onnxruntime graph optimizations saved as a portable model (basic or extended; 'all' is refused)")
    .argument('<model>', 'path to an .onnx file')
    .option('--level <level>', 'basic | extended', 'extended');
  addOutputOptions(cmd).action(async (model: string, o: GraphOpts) => runGraph(model, o));
}

function requireOutput(o: OutputOpts): void {
  if (!o.out && !o.modelDir) throw new Error('give --out FILE or --model-dir DIR for the variant');
}

function loadSet(src: LoadedModel, path: string, o: OutputOpts): ValidationSet {
  const opts = { input: o.input, labels: o.labels, rowShape: o.rowShape?.split(/[x,]/).map(Number) };
  return loadDataFor(src.model, path, opts);
}

async function runQuantize(path: string, o: QuantizeOpts): Promise<void> {
  requireOutput(o);
  const src = loadModel(path);
  const reduceRange = o.reduceRange ?? cpuInfo().reduceRangeDefault;
  const common = {
    perChannel: !o.perTensor,
    reduceRange,
    excludeNodes: o.excludeNodes ?? [],
    excludeOpTypes: o.excludeOpTypes ?? [],
  };
  let set = o.data ? loadSet(src, o.data, o) : undefined;
  let spec: VariantSpec;
  if (o.mode === 'static') {
    const [calib, rest] = calibrationSplit(src, set, o);
    set = rest;
    spec = await staticSpec(src, calib, common, o);
  } else {
    const res = quantizeDynamic(src.model, { ...common, baseDir: src.baseDir });
    printCounts(res.quantized.length, res.skipped, reduceRange);
    if (res.quantized.length === 0) throw new Error('nothing to quantize: no MatMul/Gemm with a constant float weight');
    spec = {
      name: 'int8 dynamic',
      model: res.model,
      transform: 'quantize-dynamic',
      parameters: { mode: 'dynamic', ...common },
    };
  }
  spec.checkFusion = true;
  await finish(src, spec, o, set);
}

// Static mode: calibrate on --calib-data, or on the first rows of --data and validate on the rest.
function calibrationSplit(
  src: LoadedModel,
  set: ValidationSet | undefined,
  o: QuantizeOpts,
): [ValidationSet, ValidationSet | undefined] {
  if (o.calibData) return [loadSet(src, o.calibData, o), set];
  if (!set) throw new Error('--mode static needs calibration rows: give --data FILE (or --calib-data FILE)');
  const n = Number(o.calibSamples);
  if (set.rows.length >= 2 * n) return splitSet(set, n);
  console.log(
    `note: --data has ${set.rows.length} rows; calibrating and validating on the same rows (give --calib-data to separate them)`,
  );
  return [set, set];
}

async function staticSpec(
  src: LoadedModel,
  calib: ValidationSet,
  common: { perChannel: boolean; reduceRange: boolean; excludeNodes: string[]; excludeOpTypes: string[] },
  o: QuantizeOpts,
): Promise<VariantSpec> {
  const progress = progressReporter();
  const calibration = {
    method: o.calibration,
    percentile: Number(o.percentile),
    entropyCoverage: Number(o.entropyCoverage),
    bins: Number(o.bins),
    threads: Number(o.threads),
    onProgress: (d: number, t: number) => progress.update('calibration', d, t),
  };
  const res = await quantizeStatic(src.model, calib, {
    ...common,
    opTypes: o.opTypes,
    calibration,
    baseDir: src.baseDir,
  });
  progress.stop();
  printCounts(res.quantized.length, res.skipped, common.reduceRange);
  for (const n of res.notes) console.log(`  ${n}`);
  if (res.quantized.length === 0)
    throw new Error('nothing to quantize: no MatMul/Gemm/Conv with a constant float weight in the main graph');
  const { onProgress: _, ...calibParams } = calibration;
  return {
    name: `int8 static (${o.calibration})`,
    model: res.model,
    transform: 'quantize-static',
    parameters: {
      mode: 'static',
      ...common,
      opTypes: o.opTypes,
      calibration: calibParams,
      calibrationRows: calib.rows.length,
    },
    notes: res.notes,
  };
}

function printCounts(done: number, skipped: { node: string; reason: string }[], reduceRange: boolean): void {
  console.log(
    `quantized ${done} node(s)${reduceRange ? ' with 7-bit weights (reduce_range)' : ''}; skipped ${skipped.length}`,
  );
  for (const s of skipped) console.log(`  skipped ${s.node}: ${s.reason}`);
}

async function runFp16(path: string, o: Fp16Opts): Promise<void> {
  requireOutput(o);
  const src = loadModel(path);
  const params = {
    keepIoTypes: o.keepIoTypes,
    autoBlockOverflow: o.autoBlockOverflow,
    extraBlockOps: o.blockOps ?? [],
    blockNodes: o.blockNodes ?? [],
  };
  const res = convertFp16(src.model, { ...params, baseDir: src.baseDir });
  console.log(
    `converted ${res.convertedTensors} tensor(s) to float16; ${res.blockedNodes.length} node(s) kept in float32`,
  );
  for (const n of res.notes) console.log(`  ${n}`);
  console.log(FP16_CPU_NOTE);
  const notes = [...res.notes, FP16_CPU_NOTE];
  const spec = { name: 'fp16', model: res.model, transform: 'fp16', parameters: params, notes };
  await finish(src, spec, o, o.data ? loadSet(src, o.data, o) : undefined);
}

async function runGraph(path: string, o: GraphOpts): Promise<void> {
  checkPortableLevel(o.level);
  requireOutput(o);
  const src = loadModel(path);
  const res = await optimizeGraph(src.model, o.level);
  const fused = Object.entries(res.newOps).map(([k, n]) => `${n} ${k}`);
  console.log(
    `onnxruntime '${o.level}': ${res.nodesBefore} → ${res.nodesAfter} nodes${fused.length ? `; new ops: ${fused.join(', ')}` : ''}`,
  );
  const notes = [
    `saved at level '${o.level}' (${o.level === 'extended' ? 'com.microsoft ops: needs onnxruntime' : 'plain ONNX ops'})`,
  ];
  const spec = {
    name: `graph ${o.level}`,
    model: res.model,
    transform: 'graph',
    parameters: { level: o.level },
    notes,
  };
  await finish(src, spec, o, o.data ? loadSet(src, o.data, o) : undefined);
}

// Measure, write, and print: the common tail of every command that makes a variant.
async function finish(
  src: LoadedModel,
  spec: VariantSpec,
  o: OutputOpts,
  set: ValidationSet | undefined,
): Promise<void> {
  const progress = progressReporter();
  const res = await emitVariant(src, spec, {
    out: o.out,
    modelDir: o.modelDir,
    reportPath: o.report,
    set,
    threads: Number(o.threads),
    batches: o.batches.split(',').map(Number),
    progress: progress.update,
  });
  progress.stop();
  if (res.variant.fusion) console.log(res.variant.fusion.message);
  if (res.report) console.log(formatReport(res.report));
  console.log(`wrote ${res.written} (${(statSync(res.written).size / 1024).toFixed(0)} KiB)`);
  if (res.reportPath) console.log(`report: ${res.reportPath} and ${htmlPathFor(res.reportPath)}`);
}
