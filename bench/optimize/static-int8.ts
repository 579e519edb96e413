/**
 * Benchmark: fp32 vs dynamic int8 vs static QDQ int8 (MinMax, Percentile 99.999, Entropy) vs fp16 on
 * the digit MLP 784-1024-1024-10 and on a small digit CNN (Conv 8 → MaxPool → Conv 8 → Gemm), with
 * interleaved latency at batch 1 and 32, accuracy on the 2,000 held-out digits and the int8 kernels
 * onnxruntime fused. Static variants calibrate on 256 training digits (never on the test digits).
 *   node --import tsx bench/optimize/static-int8.ts [--threads 1] [--rounds 5] [--out DIR] [--only mlp|cnn]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ModelProto } from '../../src/gen/onnx-ml_pb.js';
import type { CalibrationMethod } from '../../src/optimizer/calibrate/range.js';
import { type Candidate, compareVariants } from '../../src/optimizer/measure/compare.js';
import { cpuInfo } from '../../src/optimizer/measure/cpu.js';
import type { ValidationSet } from '../../src/optimizer/data/validation-set.js';
import { convertFp16 } from '../../src/optimizer/convert/fp16.js';
import { progressReporter } from '../../src/cli/optimize/progress.js';
import { quantizeDynamic } from '../../src/optimizer/quantize/dynamic.js';
import { quantizeStatic } from '../../src/optimizer/quantize/static.js';
import { htmlPathFor, saveReport } from '../../src/optimizer/report/report.js';
import { formatReport } from '../../src/cli/optimize/report-table.js';
import { type Digits, fitDigitConvNet, fitDigitMlp, loadDigits } from './mnist-mlp.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/optimize/results' },
    only: { type: 'string' },
  },
});
const rr = cpuInfo().reduceRangeDefault;

async function candidates(model: ModelProto, calib: ValidationSet, hasMatMul: boolean): Promise<Candidate[]> {
  const out: Candidate[] = [];
  if (hasMatMul)
    out.push({ name: 'dyn int8', model: quantizeDynamic(model, { reduceRange: rr }).model, checkFusion: true });
  for (const method of ['minmax', 'percentile', 'entropy'] as CalibrationMethod[]) {
    const r = await quantizeStatic(model, calib, { calibration: { method }, reduceRange: rr });
    out.push({ name: `static int8 ${method}`, model: r.model, checkFusion: true, notes: r.notes });
  }
  out.push({ name: 'fp16', model: convertFp16(model).model, notes: ['CPU: no speed expected (runs as fp32)'] });
  return out;
}

async function bench(name: string, file: string, model: ModelProto, digits: Digits, shape: number[]): Promise<void> {
  const calib: ValidationSet = { input: 'x', rowShape: shape, rows: digits.train.rows.slice(0, 256) };
  // Calibration rows spread over the classes (the training digits are stored class by class).
  calib.rows = Array.from({ length: 256 }, (_, i) => digits.train.rows[(i * 31) % digits.train.rows.length]!);
  const test: ValidationSet = { input: 'x', rowShape: shape, rows: digits.test.rows, labels: digits.test.labels };
  const progress = progressReporter();
  const report = await compareVariants(name, model, await candidates(model, calib, name.includes('MLP')), test, {
    threads: Number(values.threads),
    rounds: Number(values.rounds),
    batches: [1, 32],
    onProgress: progress.update,
  });
  progress.stop();
  console.log(formatReport(report));
  for (const v of report.variants) if (v.fusion) console.log(`${v.name}: ${v.fusion.message}`);
  mkdirSync(values.out!, { recursive: true });
  const path = join(values.out!, file);
  saveReport(report, path);
  console.log(`report: ${path} and ${htmlPathFor(path)}\n`);
}

const digits = loadDigits();
if (values.only !== 'cnn')
  await bench('digit MLP 784-1024-1024-10', 'mlp-static-int8.json', await fitDigitMlp(digits), digits, [784]);
if (values.only !== 'mlp') {
  const t0 = performance.now();
  const cnn = await fitDigitConvNet(digits);
  console.error(`fitted the digit CNN in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await bench('digit CNN conv8-pool-conv8-fc10 (28x28)', 'cnn-static-int8.json', cnn, digits, [1, 28, 28]);
}
