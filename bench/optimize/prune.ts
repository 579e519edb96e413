/**
 * Benchmark: structured vs unstructured magnitude pruning of the digit MLP 784-1024-1024-10 (no
 * fine-tuning), swept over sparsities: accuracy on the 2,000 held-out digits, size and gzip size,
 * and interleaved latency at batch 1 and 32 — structured pruning shrinks the matrices (speed),
 * unstructured only zeroes weights (smaller after compression, same speed).
 *   node --import tsx bench/optimize/prune.ts [--threads 1] [--rounds 5] [--sparsity 0.25,0.5,0.75]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Candidate, compareVariants } from '../../src/optimizer/measure/compare.js';
import type { ValidationSet } from '../../src/optimizer/data/validation-set.js';
import { progressReporter } from '../../src/cli/optimize/progress.js';
import { pruneModel } from '../../src/optimizer/prune/sweep.js';
import { compressedSize } from '../../src/optimizer/prune/unstructured.js';
import { saveReport } from '../../src/optimizer/report/report.js';
import { formatReport } from '../../src/cli/optimize/report-table.js';
import { fitDigitMlp, loadDigits } from './mnist-mlp.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    sparsity: { type: 'string', default: '0.25,0.5,0.75' },
    out: { type: 'string', default: 'bench/optimize/results' },
  },
});

const digits = loadDigits();
const model = await fitDigitMlp(digits);
const test: ValidationSet = { input: 'x', rowShape: [784], rows: digits.test.rows, labels: digits.test.labels };
const candidates: Candidate[] = [];
const gzip: string[] = [`fp32: ${(compressedSize(model) / 1024).toFixed(0)} KiB gzip`];
for (const s of values.sparsity!.split(',').map(Number)) {
  for (const method of ['structured', 'unstructured'] as const) {
    const r = pruneModel(model, method, s);
    const name = `${method} ${(s * 100).toFixed(0)}%`;
    candidates.push({ name, model: r.model });
    gzip.push(`${name}: ${(compressedSize(r.model) / 1024).toFixed(0)} KiB gzip`);
  }
}
const progress = progressReporter();
const report = await compareVariants('digit MLP 784-1024-1024-10, magnitude pruning', model, candidates, test, {
  threads: Number(values.threads),
  rounds: Number(values.rounds),
  batches: [1, 32],
  onProgress: progress.update,
});
progress.stop();
console.log(formatReport(report));
console.log(gzip.join('\n'));
mkdirSync(values.out!, { recursive: true });
saveReport(report, join(values.out!, 'mlp-prune.json'));
