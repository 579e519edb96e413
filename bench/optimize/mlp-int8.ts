/**
 * Benchmark: digit MLP 784-1024-1024-10, fp32 vs infergate dynamic int8 (per-tensor, per-channel,
 * and full 8-bit weights where this CPU would want reduce_range), interleaved latency at batch 1 and
 * 32, accuracy on the 2,000 held-out digits, fused kernels found by onnxruntime.
 *   node --import tsx bench/optimize/mlp-int8.ts [--threads 1] [--rounds 5] [--out DIR] [--save-model]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compareVariants, type Candidate } from '../../src/optimizer/measure/compare.js';
import { cpuInfo } from '../../src/optimizer/measure/cpu.js';
import { saveModel } from '../../src/optimizer/model/io.js';
import { quantizeDynamic } from '../../src/optimizer/quantize/dynamic.js';
import { saveReport } from '../../src/optimizer/report/report.js';
import { formatReport } from '../../src/cli/optimize/report-table.js';
import { fitDigitMlp, loadDigits } from './mnist-mlp.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/optimize/results' },
    'save-model': { type: 'boolean', default: false },
  },
});
const cpu = cpuInfo();
const t0 = performance.now();
const digits = loadDigits();
const fp32 = await fitDigitMlp(digits);
console.error(
  `fitted 784-1024-1024-10 on ${digits.train.rows.length} digits in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
const rr = cpu.reduceRangeDefault;
const candidates: Candidate[] = [
  {
    name: `dyn int8 per-tensor${rr ? ' (7-bit)' : ''}`,
    model: quantizeDynamic(fp32, { perChannel: false, reduceRange: rr }).model,
    checkFusion: true,
  },
  {
    name: `dyn int8 per-channel${rr ? ' (7-bit)' : ''}`,
    model: quantizeDynamic(fp32, { perChannel: true, reduceRange: rr }).model,
    checkFusion: true,
  },
];
if (rr) {
  candidates.push({
    name: 'dyn int8 per-channel, 8-bit weights',
    model: quantizeDynamic(fp32, { perChannel: true, reduceRange: false }).model,
    checkFusion: true,
    notes: [
      'full 8-bit weights on a CPU without VNNI: u8×s8 pair sums saturate int16 in MLAS (accuracy check shows the cost)',
    ],
  });
}
const report = await compareVariants(
  'digit MLP 784-1024-1024-10',
  fp32,
  candidates,
  { input: 'x', rowShape: [784], rows: digits.test.rows, labels: digits.test.labels },
  {
    threads: Number(values.threads),
    rounds: Number(values.rounds),
    batches: [1, 32],
    onProgress: (stage, d, t) => process.stderr.write(`\r${stage} ${d}/${t}   `),
  },
);
process.stderr.write('\n');
console.log(formatReport(report));
for (const v of report.variants) if (v.fusion) console.log(`${v.name}: ${v.fusion.message}`);
mkdirSync(values.out!, { recursive: true });
saveReport(report, join(values.out!, 'mlp-int8.json'));
if (values['save-model']) saveModel(fp32, join(values.out!, 'digit-mlp-fp32.onnx'));
console.log(`report: ${join(values.out!, 'mlp-int8.json')}`);
