/**
 * `infergate optimize`: argument parsing and printing only; the work lives in src/optimizer/.
 */
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type CalibrationFeeds, parseCarry, parseFeed } from '../optimizer/calib-feeds.js';
import type { CalibrationMethod } from '../optimizer/calib-range.js';
import { cpuInfo } from '../optimizer/cpu.js';
import { loadDataFor, splitSet } from '../optimizer/data.js';
import { compareOnSet, type ValidationSet } from '../optimizer/evaluate.js';
import { createSession } from '../optimizer/ort.js';
import { convertFp16, DEFAULT_FP16_BLOCK_OPS } from '../optimizer/fp16.js';
import { checkPortableLevel, optimizeGraph } from '../optimizer/graph-opt.js';
import { inspectModel } from '../optimizer/inspect.js';
import { formatInspect } from '../optimizer/inspect-format.js';
import { type LoadedModel, loadModel } from '../optimizer/io.js';
import { progressReporter } from '../optimizer/progress.js';
import { quantizeDynamic } from '../optimizer/quantize-dynamic.js';
import { quantizeStatic } from '../optimizer/quantize-static.js';
import { type MixedPrecisionOptions, parseKeepFloat } from '../optimizer/quant-sensitivity.js';
import { formatReport, htmlPathFor } from '../optimizer/report.js';
import { formatLoss, parseBudget } from '../optimizer/accuracy-budget.js';
import { formatPruneSkipped, formatSweep, noSparsityMessage } from '../optimizer/prune-format.js';
import { type PruneMethod, parseSparsities, sweepPruning } from '../optimizer/prune-sweep.js';
import type { Candidate } from '../optimizer/compare.js';
import { distill } from '../optimizer/distill.js';
import { autoOptimize, NothingFitsError } from '../optimizer/auto.js';
import type { Target } from '../optimizer/auto-select.js';
import { writeMeasured } from '../optimizer/variant-output.js';
import { limitLabels, shuffleSplit, withUnlabelled } from '../optimizer/set-ops.js';
import { type EmitResult, emitVariant, type VariantSpec } from '../optimizer/variant-output.js';

function parseShape(v: string, prev: Record<string, number[]> = {}): Record<string, number[]> {
  const m = /^([^=]+)=(\d+(?:[x,]\d+)*)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected NAME=DxDxD, e.g. x=1x3x48x320 (got "${v}")`);
  return { ...prev, [m[1]!]: m[2]!.split(/[x,]/).map(Number) };
}
const repeat = (v: string, prev: string[]) => [...prev, v];
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
  keepFloat?: string[];
  autoExclude: string;
  errorBudget?: string;
  sensitivityRows: string;
  feed: string[];
  carry: string[];
  calibBatch: string;
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

interface DistillOpts extends OutputOpts {
  unlabelled?: string;
  valData?: string;
  valLabels?: string;
  valFraction: string;
  labelLimit?: string;
  hidden: string;
  epochs: string;
  batchSize: string;
  lr: string;
  temperature: string;
  alpha: string;
  seed: string;
  export: 'distilled' | 'baseline' | 'best';
}

interface AutoOpts extends OutputOpts {
  register?: string;
  registry?: string;
  registryArtifacts?: string;
  parent?: string;
  target: Target;
  accuracyBudget: string;
  calibSamples: string;
  reduceRange?: boolean;
  sparsity: string;
  rounds: string;
  mixedMaxFloat: string;
}

interface PruneOpts extends OutputOpts {
  method: PruneMethod;
  sparsity: string;
  accuracyBudget: string;
  excludeNodes?: string[];
  channelMultiple: string;
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
  registerPrune(opt);
  registerDistill(opt);
  registerAuto(opt);
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
    .option('--calib-samples <n>', 'static: rows of --data used for calibration when --calib-data is absent', '256')
    .option(
      '--keep-float <which>',
      'static, mixed precision: keep the first and/or last quantizable node in float (first, last or first,last)',
      list,
    )
    .option(
      '--auto-exclude <n>',
      'static, mixed precision: keep up to N of the most sensitive nodes in float (each node quantized alone on the calibration rows, ranked by output error)',
      '0',
    )
    .option(
      '--error-budget <e>',
      'static, with --auto-exclude: stop keeping nodes float once the output error (mean abs, relative to mean |fp32 output|) is within this, e.g. 0.5%',
    )
    .option(
      '--sensitivity-rows <n>',
      'static, with --auto-exclude: calibration rows the sensitivity pass runs on',
      '32',
    )
    .option(
      '--feed <name=value>',
      'static: fill another model input while calibrating (repeatable), e.g. sr=16000 or state=0; unknown dims take the batch size',
      repeat,
      [],
    )
    .option(
      '--carry <output=input>',
      'static: feed an output back into an input on the next calibration batch (recurrent state), e.g. stateN=state',
      repeat,
      [],
    )
    .option(
      '--calib-batch <n>',
      'static: rows per calibration run (1 for a streaming model whose state is carried frame to frame)',
      '32',
    );
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

function registerPrune(opt: Command): void {
  const cmd = opt
    .command('prune')
    .description(
      'magnitude pruning swept over sparsities, guarded by accuracy on --data: structured removes hidden neurons of MatMul/Gemm chains and output channels of Conv chains (smaller, faster); unstructured zeroes weights (smaller only after compression, no speed)',
    )
    .argument('<model>', 'path to an .onnx file')
    .addOption(
      new Option('--method <method>', 'what to remove').choices(['structured', 'unstructured']).default('structured'),
    )
    .option('--sparsity <list>', 'sparsities to try: from:to:step or a comma list', '0.1:0.9:0.1')
    .option('--accuracy-budget <b>', 'largest acceptable loss (top-1 drop, disagreement or relative error)', '0.5%')
    .option(
      '--exclude-nodes <names>',
      'comma-separated node names (producers of a hidden layer or of Conv channels) to leave intact',
      list,
    )
    .option(
      '--channel-multiple <n>',
      'structured: keep a multiple of n Conv channels (onnxruntime blocks 8 with AVX2, 16 with AVX-512; 1 = exact fraction)',
      '8',
    );
  addOutputOptions(cmd).action(async (model: string, o: PruneOpts) => runPrune(model, o));
}

function registerDistill(opt: Command): void {
  const cmd = opt
    .command('distill')
    .description(
      'train a small MLP student from a teacher classifier on --data (labelled and/or unlabelled), export it as ONNX, and report a hard-label-only baseline student beside it',
    )
    .argument('<teacher>', 'teacher .onnx (output [N, classes]: logits or probabilities)')
    .option('--unlabelled <file>', 'extra transfer rows without labels (the teacher labels them)')
    .option('--val-data <file>', 'validation rows (default: --val-fraction of --data, split after a seeded shuffle)')
    .option('--val-labels <file>', 'labels .npy for --val-data .npy')
    .option('--val-fraction <f>', 'share of --data held out for validation when --val-data is absent', '0.2')
    .option('--label-limit <n>', 'use labels of only n transfer rows (the rest count as unlabelled)')
    .option('--hidden <list>', 'student hidden layer sizes, comma-separated', '64')
    .option('--epochs <n>', 'training epochs', '10')
    .option('--batch-size <n>', 'minibatch size', '64')
    .option('--lr <x>', 'Adam learning rate', '0.002')
    .option('--temperature <T>', 'softmax temperature of the soft targets', '4')
    .option('--alpha <a>', 'weight of the soft (teacher) term on labelled rows; unlabelled rows use it alone', '0.7')
    .option('--seed <n>', 'seed of initialisation and shuffling (both students use it)', '1')
    .addOption(
      new Option('--export <which>', 'which student to write')
        .choices(['distilled', 'baseline', 'best'])
        .default('distilled'),
    );
  addOutputOptions(cmd).action(async (model: string, o: DistillOpts) => runDistill(model, o));
}

function registerAuto(opt: Command): void {
  const cmd = opt
    .command('auto')
    .description(
      'try every optimization that applies (int8 dynamic, int8 static per calibrator, mixed-precision static int8, fp16, graph extended, pruning), measure each, and pick the best within --accuracy-budget for --target',
    )
    .argument('<model>', 'path to an .onnx file')
    .addOption(
      new Option('--target <t>', 'cpu: fastest; gpu: fp16 when within budget; edge: smallest (gzip)')
        .choices(['cpu', 'gpu', 'edge'])
        .default('cpu'),
    )
    .option('--accuracy-budget <b>', 'largest acceptable loss (top-1 drop, disagreement or relative error)', '0.5%')
    .option('--calib-samples <n>', 'rows of --data used to calibrate static int8 (the rest validate)', '256')
    .option('--reduce-range', '7-bit weights (default: on for x86 without VNNI)')
    .option('--no-reduce-range', 'full 8-bit weights')
    .option('--sparsity <list>', 'pruning sparsities to sweep', '0.1:0.9:0.1')
    .option('--rounds <n>', 'interleaved latency rounds', '5')
    .option(
      '--mixed-max-float <n>',
      'most nodes the mixed-precision int8 variant keeps float (most sensitive first; 0 = no such variant)',
      '3',
    )
    .option('--register <name>', 'also register the chosen variant as a new version of this registry model')
    .option('--registry <dir|url>', 'with --register: the registry (default: $INFERGATE_REGISTRY)')
    .option('--registry-artifacts <dir>', 'with --register and PostgreSQL: the artifact directory')
    .option('--parent <name:version>', 'with --register: the parent version (default: the one whose file is <model>)');
  addOutputOptions(cmd).action(async (model: string, o: AutoOpts) => runAuto(model, o));
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
    if (o.feed.length > 0 && set) {
      // Validation feeds one input per row; a model that needs --feed values cannot be compared that way.
      console.log('note: with --feed inputs the report has size and fused kernels only (no accuracy or latency)');
      set = undefined;
    }
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
  const n = wholeNumber(o.calibSamples, '--calib-samples', 1);
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
    percentile: numberIn(o.percentile, '--percentile', 0, 100),
    entropyCoverage: numberIn(o.entropyCoverage, '--entropy-coverage', 0, 100),
    bins: wholeNumber(o.bins, '--bins', 2),
    threads: wholeNumber(o.threads, '--threads', 1),
    feeds: calibrationFeeds(src, o),
    batchSize: wholeNumber(o.calibBatch, '--calib-batch', 1),
    onProgress: (d: number, t: number) => progress.update('calibration', d, t),
  };
  const mixed = mixedPrecisionOpts(o);
  const res = await quantizeStatic(src.model, calib, {
    ...common,
    ...mixed,
    opTypes: o.opTypes,
    calibration,
    baseDir: src.baseDir,
    onSensitivityProgress: (d, t) => progress.update('sensitivity', d, t),
  });
  progress.stop();
  printCounts(res.quantized.length, res.skipped, common.reduceRange);
  for (const d of res.nodes.filter((x) => x.mode === 'dynamic')) console.log(`  dynamic ${d.node}: ${d.reason}`);
  for (const n of res.notes) console.log(`  ${n}`);
  if (res.keptFloat.length > 0) console.log(`kept in float: ${res.keptFloat.map((k) => k.node).join(', ')}`);
  if (res.quantized.length === 0)
    throw new Error('nothing to quantize: no MatMul/Gemm/Conv with a constant float weight in any graph');
  const { onProgress: _, feeds: __, ...calibParams } = calibration;
  return {
    name: `int8 static (${o.calibration})`,
    model: res.model,
    transform: 'quantize-static',
    parameters: {
      mode: 'static',
      ...common,
      opTypes: o.opTypes,
      calibration: { ...calibParams, feed: o.feed, carry: o.carry },
      calibrationRows: calib.rows.length,
      ...mixed,
      keptFloat: res.keptFloat,
    },
    notes: res.notes,
  };
}

function wholeNumber(text: string, flag: string, min: number): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} "${text}": expected a whole number >= ${min}`);
  return n;
}

// A finite number in [min, max].
function numberIn(text: string, flag: string, min: number, max: number): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${flag} "${text}": expected a number from ${min} to ${max}`);
  return n;
}

// A finite number above 0 (a learning rate or a temperature).
function positiveNumber(text: string, flag: string): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} "${text}": expected a number above 0`);
  return n;
}

// --feed / --carry: values for the inputs the calibration rows do not cover.
function calibrationFeeds(src: LoadedModel, o: QuantizeOpts): CalibrationFeeds | undefined {
  if (o.feed.length === 0 && o.carry.length === 0) return undefined;
  return { inputs: Object.fromEntries(o.feed.map((f) => parseFeed(src.model, f))), carry: parseCarry(o.carry) };
}

// --keep-float / --auto-exclude / --error-budget / --sensitivity-rows, checked.
function mixedPrecisionOpts(o: QuantizeOpts): MixedPrecisionOptions {
  const autoExclude = Number(o.autoExclude);
  if (!Number.isInteger(autoExclude) || autoExclude < 0)
    throw new Error(`--auto-exclude "${o.autoExclude}": expected a whole number of nodes (0 = off)`);
  const sensitivityRows = Number(o.sensitivityRows);
  if (!Number.isInteger(sensitivityRows) || sensitivityRows < 1)
    throw new Error(`--sensitivity-rows "${o.sensitivityRows}": expected a positive whole number`);
  const out: MixedPrecisionOptions = { autoExclude, sensitivityRows };
  if (o.keepFloat) out.keepFloat = parseKeepFloat(o.keepFloat);
  if (o.errorBudget !== undefined) {
    if (autoExclude === 0) throw new Error('--error-budget needs --auto-exclude N (the most nodes it may keep float)');
    out.errorBudget = parseBudget(o.errorBudget);
  }
  return out;
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

async function runPrune(path: string, o: PruneOpts): Promise<void> {
  requireOutput(o);
  if (!o.data) throw new Error('prune needs validation rows to guard accuracy: give --data FILE');
  const src = loadModel(path);
  const set = loadSet(src, o.data, o);
  const budget = parseBudget(o.accuracyBudget);
  const progress = progressReporter();
  const sweep = await sweepPruning(src.model, set, {
    method: o.method,
    sparsities: parseSparsities(o.sparsity),
    budget,
    baseDir: src.baseDir,
    excludeNodes: o.excludeNodes ?? [],
    channelMultiple: wholeNumber(o.channelMultiple, '--channel-multiple', 1),
    threads: wholeNumber(o.threads, '--threads', 1),
    onProgress: progress.update,
  });
  progress.stop();
  console.log(formatSweep(sweep.points, budget));
  if (!sweep.chosen) throw new Error(noSparsityMessage(sweep.points, budget));
  const { point, result } = sweep.chosen;
  console.log(
    `chose ${o.method} sparsity ${(point.sparsity * 100).toFixed(0)}%: loss ${formatLoss(point.loss)} (${point.metric}) within ${formatLoss(budget)}`,
  );
  for (const n of result.notes) console.log(n);
  if (result.skipped?.length) console.log(formatPruneSkipped(result.skipped));
  const spec: VariantSpec = {
    name: `pruned ${o.method} ${(point.sparsity * 100).toFixed(0)}%`,
    model: result.model,
    transform: `prune-${o.method}`,
    parameters: {
      method: o.method,
      sparsity: point.sparsity,
      accuracyBudget: budget,
      sweep: sweep.points.map(({ accuracy: _, ...p }) => p),
    },
    notes: [...result.notes, `gzip size ${(point.gzipBytes / 1024).toFixed(0)} KiB`],
  };
  await finish(src, spec, o, set);
}

async function runDistill(path: string, o: DistillOpts): Promise<void> {
  requireOutput(o);
  if (!o.data) throw new Error('distill needs transfer rows: give --data FILE');
  const src = loadModel(path);
  let transfer = loadSet(src, o.data, o);
  let val: ValidationSet;
  if (o.valData) val = loadDataFor(src.model, o.valData, { input: transfer.input, labels: o.valLabels });
  else
    [transfer, val] = shuffleSplit(
      transfer,
      numberIn(o.valFraction, '--val-fraction', 0, 1),
      wholeNumber(o.seed, '--seed', 0),
    );
  if (o.labelLimit) transfer = limitLabels(transfer, wholeNumber(o.labelLimit, '--label-limit', 1));
  if (o.unlabelled)
    transfer = withUnlabelled(transfer, loadDataFor(src.model, o.unlabelled, { input: transfer.input }));
  const progress = progressReporter();
  const params = {
    hidden: o.hidden.split(',').map(Number),
    epochs: wholeNumber(o.epochs, '--epochs', 1),
    batchSize: wholeNumber(o.batchSize, '--batch-size', 1),
    lr: positiveNumber(o.lr, '--lr'),
    temperature: positiveNumber(o.temperature, '--temperature'),
    alpha: numberIn(o.alpha, '--alpha', 0, 1),
    seed: wholeNumber(o.seed, '--seed', 0),
  };
  const r = await distill(src.model, transfer, {
    ...params,
    threads: wholeNumber(o.threads, '--threads', 1),
    onProgress: progress.update,
  });
  progress.stop();
  console.log(
    `transfer rows ${r.transferRows} (${r.labelledRows} labelled); baseline trained on ${r.baselineLabels}; validation rows ${val.rows.length}`,
  );
  const distilled: Candidate = { name: 'student (distilled)', model: r.student };
  const baseline: Candidate = { name: 'student (hard labels only)', model: r.baseline };
  const main = o.export === 'baseline' ? baseline : distilled;
  const spec: VariantSpec = {
    name: main.name,
    model: main.model,
    transform: 'distill',
    parameters: { ...params, exported: main.name, transferRows: r.transferRows, labelledRows: r.labelledRows },
    notes: [
      `final training loss: distilled ${r.losses.student.at(-1)?.toFixed(4)}, baseline ${r.losses.baseline.at(-1)?.toFixed(4)}`,
    ],
  };
  if (o.export === 'best')
    await pickBestStudent(src.model, spec, baseline, val, wholeNumber(o.threads, '--threads', 1));
  const res = await finish(src, spec, o, val, [spec.model === r.student ? baseline : distilled]);
  const [d, b] = ['student (distilled)', 'student (hard labels only)'].map((n) =>
    res.report?.variants.find((v) => v.name === n),
  );
  const score = (v: typeof d) => v?.accuracy?.top1 ?? v?.accuracy?.agreement;
  const [sd, sb] = [score(d), score(b)];
  if (sd !== undefined && sb !== undefined) {
    const what = d?.accuracy?.top1 !== undefined ? 'top-1' : 'agreement with the teacher';
    const verdict = sd >= sb ? 'distillation won' : 'distillation LOST to the hard-label baseline';
    console.log(
      `${what}: distilled ${(sd * 100).toFixed(2)}% vs baseline ${(sb * 100).toFixed(2)}% (${verdict} by ${(Math.abs(sd - sb) * 100).toFixed(2)} points)`,
    );
  }
}

// --export best: keep whichever student scores higher on the validation rows (top-1, else agreement).
async function pickBestStudent(
  teacher: LoadedModel['model'],
  spec: VariantSpec,
  baseline: Candidate,
  val: ValidationSet,
  threads: number,
): Promise<void> {
  const t = await createSession(teacher, { threads });
  const score = async (m: LoadedModel['model']) => {
    const s = await createSession(m, { threads });
    const a = await compareOnSet(t, s, val);
    await s.release();
    return a.top1 ?? a.agreement ?? -a.meanAbsErr;
  };
  const [sd, sb] = [await score(spec.model), await score(baseline.model)];
  await t.release();
  if (sb > sd) {
    console.log(
      'the hard-label baseline scored higher on validation than the distilled student: exporting the baseline',
    );
    Object.assign(spec, { name: baseline.name, model: baseline.model });
    spec.parameters['exported'] = baseline.name;
  }
}

async function runAuto(path: string, o: AutoOpts): Promise<void> {
  requireOutput(o);
  if (!o.data) throw new Error('auto needs validation rows: give --data FILE or DIR');
  const src = loadModel(path);
  const all = loadSet(src, o.data, o);
  const n = wholeNumber(o.calibSamples, '--calib-samples', 1);
  const [calib, val] = all.rows.length >= 2 * n ? shuffleSplit(all, 1 - n / all.rows.length, 7) : [all, all];
  if (calib === val) console.log(`note: ${all.rows.length} rows; calibrating and validating on the same rows`);
  const budget = parseBudget(o.accuracyBudget);
  const progress = progressReporter();
  const name = `${basename(dirname(src.path))}/${basename(src.path)}`;
  let result: Awaited<ReturnType<typeof autoOptimize>>;
  try {
    result = await autoOptimize(name, src.model, {
      target: o.target,
      budget,
      calib,
      val,
      reduceRange: o.reduceRange ?? cpuInfo().reduceRangeDefault,
      baseDir: src.baseDir,
      threads: wholeNumber(o.threads, '--threads', 1),
      batches: o.batches.split(',').map(Number),
      rounds: wholeNumber(o.rounds, '--rounds', 1),
      mixedMaxFloat: wholeNumber(o.mixedMaxFloat, '--mixed-max-float', 0),
      sparsities: parseSparsities(o.sparsity),
      onProgress: progress.update,
    });
  } catch (e) {
    progress.stop();
    if (e instanceof NothingFitsError) console.log(formatReport(e.result.report));
    throw e;
  }
  progress.stop();
  console.log(formatReport(result.report));
  for (const s of result.skipped) console.log(`not tried: ${s.name} (${s.reason})`);
  for (const v of result.selection.verdicts)
    console.log(
      `  ${v.withinBudget ? 'ok  ' : 'MISS'} ${v.name}: loss ${formatLoss(v.loss)} (${v.metric}), ${v.speedup.toFixed(2)}x, ${(v.gzipBytes / 1024).toFixed(0)} KiB gzip`,
    );
  const c = result.chosen!;
  console.log(`chose ${c.name} — ${result.selection.reason}`);
  const variant = result.report.variants.find((v) => v.name === c.name)!;
  const spec: VariantSpec = {
    name: c.name,
    model: c.model,
    transform: c.transform,
    parameters: {
      ...c.parameters,
      auto: { target: o.target, accuracyBudget: budget, reason: result.selection.reason },
    },
  };
  const res = writeMeasured(src, spec, variant, result.report, {
    out: o.out,
    modelDir: o.modelDir,
    reportPath: o.report,
  });
  console.log(`wrote ${res.written} (${(statSync(res.written).size / 1024).toFixed(0)} KiB)`);
  if (res.reportPath) console.log(`report: ${res.reportPath} and ${htmlPathFor(res.reportPath)}`);
  if (o.register) {
    const { registerVariant } = await import('./optimize-register.js');
    await registerVariant({
      name: o.register,
      registry: o.registry,
      registryArtifacts: o.registryArtifacts,
      parent: o.parent,
      written: res.written,
      versionDir: Boolean(o.modelDir),
      originalPath: src.path,
      metrics: verdictMetrics(result.selection.verdicts.find((v) => v.name === c.name)),
      transform: spec.transform,
      parameters: spec.parameters,
    });
  }
}

/** What `--register` records of the chosen variant's measurements. */
function verdictMetrics(v: { speedup: number; loss: number; gzipBytes: number } | undefined): Record<string, number> {
  return v ? { speedup: v.speedup, accuracy_loss: v.loss, gzip_bytes: v.gzipBytes } : {};
}

// Measure, write, and print: the common tail of every command that makes a variant.
async function finish(
  src: LoadedModel,
  spec: VariantSpec,
  o: OutputOpts,
  set: ValidationSet | undefined,
  extra: Candidate[] = [],
): Promise<EmitResult> {
  const progress = progressReporter();
  const res = await emitVariant(src, spec, {
    out: o.out,
    modelDir: o.modelDir,
    reportPath: o.report,
    set,
    threads: wholeNumber(o.threads, '--threads', 1),
    batches: o.batches.split(',').map(Number),
    progress: progress.update,
    extra,
  });
  progress.stop();
  if (res.variant.fusion) console.log(res.variant.fusion.message);
  if (res.report) console.log(formatReport(res.report));
  console.log(`wrote ${res.written} (${(statSync(res.written).size / 1024).toFixed(0)} KiB)`);
  if (res.reportPath) console.log(`report: ${res.reportPath} and ${htmlPathFor(res.reportPath)}`);
  return res;
}
