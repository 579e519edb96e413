/** `optimize distill`: a small MLP student trained from a teacher, reported beside a hard-label baseline. */
import { type Command, Option } from 'commander';
import { loadDataFor } from '../../optimizer/data/load.js';
import { limitLabels, withUnlabelled } from '../../optimizer/data/set-ops.js';
import { shuffleSplit } from '../../optimizer/data/split.js';
import type { ValidationSet } from '../../optimizer/data/validation-set.js';
import { distill } from '../../optimizer/distill/distill.js';
import {
  BASELINE_STUDENT,
  betterStudent,
  DISTILLED_STUDENT,
  studentVerdict,
} from '../../optimizer/distill/students.js';
import type { Candidate } from '../../optimizer/measure/compare.js';
import type { VariantSpec } from '../../optimizer/report/variant-output.js';
import {
  addOutputOptions,
  modelWithData,
  numberIn,
  type OutputOpts,
  positiveNumber,
  threadsOf,
  wholeNumber,
} from './options.js';
import { finish } from './output.js';
import { progressReporter } from './progress.js';

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

export function registerDistill(opt: Command): void {
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

async function runDistill(path: string, o: DistillOpts): Promise<void> {
  const data = await modelWithData(path, o, 'distill needs transfer rows: give --data FILE');
  const src = data.src;
  let transfer = data.set;
  let val: ValidationSet;
  if (o.valData) val = await loadDataFor(src.model, o.valData, { input: transfer.input, labels: o.valLabels });
  else
    [transfer, val] = shuffleSplit(
      transfer,
      numberIn(o.valFraction, '--val-fraction', 0, 1),
      wholeNumber(o.seed, '--seed', 0),
    );
  if (o.labelLimit) transfer = limitLabels(transfer, wholeNumber(o.labelLimit, '--label-limit', 1));
  if (o.unlabelled)
    transfer = withUnlabelled(transfer, await loadDataFor(src.model, o.unlabelled, { input: transfer.input }));
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
    threads: threadsOf(o),
    onProgress: progress.update,
  });
  progress.stop();
  console.log(
    `transfer rows ${r.transferRows} (${r.labelledRows} labelled); baseline trained on ${r.baselineLabels}; validation rows ${val.rows.length}`,
  );
  const distilled: Candidate = { name: DISTILLED_STUDENT, model: r.student };
  const baseline: Candidate = { name: BASELINE_STUDENT, model: r.baseline };
  let main = o.export === 'baseline' ? baseline : distilled;
  if (
    o.export === 'best' &&
    (await betterStudent(src.model, r.student, r.baseline, val, threadsOf(o))) === 'baseline'
  ) {
    console.log(
      'the hard-label baseline scored higher on validation than the distilled student: exporting the baseline',
    );
    main = baseline;
  }
  const spec: VariantSpec = {
    name: main.name,
    model: main.model,
    transform: 'distill',
    parameters: { ...params, exported: main.name, transferRows: r.transferRows, labelledRows: r.labelledRows },
    notes: [
      `final training loss: distilled ${r.losses.student.at(-1)?.toFixed(4)}, baseline ${r.losses.baseline.at(-1)?.toFixed(4)}`,
    ],
  };
  const res = await finish(src, spec, o, val, [main === distilled ? baseline : distilled]);
  const v = studentVerdict(res.report);
  if (v) {
    const verdict = v.won ? 'distillation won' : 'distillation LOST to the hard-label baseline';
    console.log(
      `${v.metric}: distilled ${(v.distilled * 100).toFixed(2)}% vs baseline ${(v.baseline * 100).toFixed(2)}% (${verdict} by ${(Math.abs(v.distilled - v.baseline) * 100).toFixed(2)} points)`,
    );
  }
}
