/** `optimize quantize`: dynamic int8, or static QDQ int8 calibrated on rows (mixed precision, subgraphs, feeds). */
import { type Command, Option } from 'commander';
import { type CalibrationFeeds, parseCarry, parseFeed } from '../../optimizer/calibrate/feeds.js';
import type { CalibrationMethod } from '../../optimizer/calibrate/range.js';
import { CALIBRATION_SPLIT_POLICY, calibrationSplit } from '../../optimizer/data/split.js';
import type { ValidationSet } from '../../optimizer/data/validation-set.js';
import { parseBudget } from '../../optimizer/measure/accuracy-budget.js';
import { cpuInfo } from '../../optimizer/measure/cpu.js';
import { type LoadedModel, loadModel } from '../../optimizer/model/io.js';
import { quantizeDynamic } from '../../optimizer/quantize/dynamic.js';
import { type MixedPrecisionOptions, parseKeepFloat } from '../../optimizer/quantize/sensitivity.js';
import { quantizeStatic } from '../../optimizer/quantize/static.js';
import type { VariantSpec } from '../../optimizer/report/variant-output.js';
import {
  addOutputOptions,
  list,
  loadSet,
  numberIn,
  type OutputOpts,
  repeat,
  requireOutput,
  threadsOf,
  wholeNumber,
} from './options.js';
import { finish } from './output.js';
import { progressReporter } from './progress.js';

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

export function registerQuantize(opt: Command): void {
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
    .option(
      '--calib-samples <n>',
      `static, without --calib-data: N, the rows of --data that calibrate; ${CALIBRATION_SPLIT_POLICY}`,
      '256',
    )
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
  let set = o.data ? await loadSet(src, o.data, o) : undefined;
  let spec: VariantSpec;
  if (o.mode === 'static') {
    const [calib, rest] = await splitCalibration(src, set, o);
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

// Static mode: calibrate on --calib-data, or split --data by the one policy (data/split.ts).
async function splitCalibration(
  src: LoadedModel,
  set: ValidationSet | undefined,
  o: QuantizeOpts,
): Promise<[ValidationSet, ValidationSet | undefined]> {
  if (o.calibData) return [await loadSet(src, o.calibData, o), set];
  if (!set) throw new Error('--mode static needs calibration rows: give --data FILE (or --calib-data FILE)');
  const n = wholeNumber(o.calibSamples, '--calib-samples', 1);
  const split = calibrationSplit(set, n);
  if (!split.heldOut)
    console.log(
      `note: --data has ${set.rows.length} rows; calibrating and validating on the same rows (give --calib-data to separate them)`,
    );
  return [split.calib, split.val];
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
    threads: threadsOf(o),
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
