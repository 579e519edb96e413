/** `optimize prune`: a sparsity sweep guarded by accuracy on --data; keeps the highest sparsity within budget. */
import { type Command, Option } from 'commander';
import { formatLoss, parseBudget } from '../../optimizer/measure/accuracy-budget.js';
import { type PruneMethod, parseSparsities, sweepPruning } from '../../optimizer/prune/sweep.js';
import type { VariantSpec } from '../../optimizer/report/variant-output.js';
import { addOutputOptions, list, modelWithData, type OutputOpts, threadsOf, wholeNumber } from './options.js';
import { finish } from './output.js';
import { progressReporter } from './progress.js';
import { formatPruneSkipped, formatSweep, noSparsityMessage } from './prune-format.js';

interface PruneOpts extends OutputOpts {
  method: PruneMethod;
  sparsity: string;
  accuracyBudget: string;
  excludeNodes?: string[];
  channelMultiple: string;
}

export function registerPrune(opt: Command): void {
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

async function runPrune(path: string, o: PruneOpts): Promise<void> {
  const { src, set } = await modelWithData(path, o, 'prune needs validation rows to guard accuracy: give --data FILE');
  const budget = parseBudget(o.accuracyBudget);
  const progress = progressReporter();
  const sweep = await sweepPruning(src.model, set, {
    method: o.method,
    sparsities: parseSparsities(o.sparsity),
    budget,
    baseDir: src.baseDir,
    excludeNodes: o.excludeNodes ?? [],
    channelMultiple: wholeNumber(o.channelMultiple, '--channel-multiple', 1),
    threads: threadsOf(o),
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
