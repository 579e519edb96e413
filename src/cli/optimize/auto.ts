/** `optimize auto`: every optimization that applies, measured, and the best within the budget for a target. */
import { basename, dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { autoOptimize, NothingFitsError } from '../../optimizer/auto/auto.js';
import type { Target } from '../../optimizer/auto/select.js';
import { CALIBRATION_SPLIT_POLICY, calibrationSplit } from '../../optimizer/data/split.js';
import { formatLoss, parseBudget } from '../../optimizer/measure/accuracy-budget.js';
import { cpuInfo } from '../../optimizer/measure/cpu.js';
import { parseSparsities } from '../../optimizer/prune/sweep.js';
import { type VariantSpec, writeMeasured } from '../../optimizer/report/variant-output.js';
import { addOutputOptions, batchesOf, modelWithData, type OutputOpts, threadsOf, wholeNumber } from './options.js';
import { printWritten } from './output.js';
import { progressReporter } from './progress.js';
import { formatReport } from './report-table.js';

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

export function registerAuto(opt: Command): void {
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
    .option(
      '--calib-samples <n>',
      `N, the rows of --data that calibrate static int8; ${CALIBRATION_SPLIT_POLICY}`,
      '256',
    )
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

async function runAuto(path: string, o: AutoOpts): Promise<void> {
  const { src, set: all } = await modelWithData(path, o, 'auto needs validation rows: give --data FILE or DIR');
  const n = wholeNumber(o.calibSamples, '--calib-samples', 1);
  const { calib, val, heldOut } = calibrationSplit(all, n);
  if (!heldOut) console.log(`note: ${all.rows.length} rows; calibrating and validating on the same rows`);
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
      threads: threadsOf(o),
      batches: batchesOf(o),
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
  printWritten(res);
  if (o.register) {
    const { registerVariant } = await import('./register.js');
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
