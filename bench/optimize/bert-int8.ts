/**
 * Benchmark: one BERT-like encoder block (H 384, 6 heads, seq 128, FFN 1536; random weights from
 * bench/models.ts) fp32 vs infergate dynamic int8, the optimizer's transformer anchor: interleaved
 * latency at batch 1 and 32, output error against fp32 on random hidden states, fused kernels.
 *   node --import tsx bench/optimize/bert-int8.ts [--threads 1] [--rounds 5] [--out DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel } from '../../src/onnx/index.js';
import { compareVariants } from '../../src/optimizer/measure/compare.js';
import { cpuInfo } from '../../src/optimizer/measure/cpu.js';
import { decodeModel } from '../../src/optimizer/model/io.js';
import { quantizeDynamic } from '../../src/optimizer/quantize/dynamic.js';
import { saveReport } from '../../src/optimizer/report/report.js';
import { formatReport } from '../../src/cli/optimize/report-table.js';
import { bertBlock } from '../models.js';
import { Weights } from '../model-layers.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/optimize/results' },
  },
});
const rr = cpuInfo().reduceRangeDefault;
const fp32 = decodeModel(buildModel(bertBlock()), 'bert block');
const rowShape = [128, 384];
// Hidden states look like layer-normed activations: roughly unit scale.
const noise = new Weights(9);
const rows = Array.from({ length: 64 }, () => noise.normal(128 * 384, 1));
const report = await compareVariants(
  'BERT-like block (H 384, seq 128)',
  fp32,
  [
    {
      name: `dyn int8 per-channel${rr ? ' (7-bit)' : ''}`,
      model: quantizeDynamic(fp32, { perChannel: true, reduceRange: rr }).model,
      checkFusion: true,
    },
    {
      name: `dyn int8 per-tensor${rr ? ' (7-bit)' : ''}`,
      model: quantizeDynamic(fp32, { perChannel: false, reduceRange: rr }).model,
      checkFusion: true,
    },
  ],
  { input: 'x', rowShape, rows },
  {
    threads: Number(values.threads),
    rounds: Number(values.rounds),
    batches: [1, 32],
    itersPerRound: 10,
    onProgress: (stage, d, t) => process.stderr.write(`\r${stage} ${d}/${t}   `),
  },
);
process.stderr.write('\n');
console.log(formatReport(report));
for (const v of report.variants) if (v.fusion) console.log(`${v.name}: ${v.fusion.message}`);
mkdirSync(values.out!, { recursive: true });
saveReport(report, join(values.out!, 'bert-int8.json'));
console.log(`report: ${join(values.out!, 'bert-int8.json')}`);
