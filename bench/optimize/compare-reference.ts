/**
 * Side by side with the reference tools from PyPI, on the same models and data in one run:
 * onnxruntime.quantization quantize_dynamic / quantize_static (QDQ, MinMax) and onnxconverter-common
 * convert_float_to_float16(keep_io_types=True), against our dynamic int8, static int8 (MinMax and
 * Entropy) and fp16. Models: the digit MLP 784-1024-1024-10 and the digit CNN (see mnist-mlp.ts);
 * accuracy on the 2,000 held-out digits, calibration on 256 training digits, interleaved latency.
 * The tools live in a git-ignored virtualenv, created on first use:
 *   python3 -m venv .cache/optimize-venv && .cache/optimize-venv/bin/pip install onnxruntime onnxconverter-common onnx
 *   node --import tsx bench/optimize/compare-reference.ts [--threads 1] [--rounds 5] [--only mlp|cnn]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ModelProto } from '../../src/gen/onnx-ml_pb.js';
import { type Candidate, compareVariants } from '../../src/optimizer/measure/compare.js';
import { cpuInfo } from '../../src/optimizer/measure/cpu.js';
import type { ValidationSet } from '../../src/optimizer/data/validation-set.js';
import { convertFp16 } from '../../src/optimizer/convert/fp16.js';
import { loadModel, saveModel } from '../../src/optimizer/model/io.js';
import { progressReporter } from '../../src/cli/optimize/progress.js';
import { quantizeDynamic } from '../../src/optimizer/quantize/dynamic.js';
import { quantizeStatic } from '../../src/optimizer/quantize/static.js';
import { saveReport } from '../../src/optimizer/report/report.js';
import { formatReport } from '../../src/cli/optimize/report-table.js';
import { npyBytes } from '../../test/fixtures-gen/npz-write.js';
import { type Digits, fitDigitConvNet, fitDigitMlp, loadDigits } from './mnist-mlp.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench/optimize/results' },
  },
});
const VENV = '.cache/optimize-venv';
const PY = join(VENV, 'bin', 'python');
const rr = cpuInfo().reduceRangeDefault;

// The reference calls, with the same choices as ours: int8 weights, per-channel, reduce_range as detected.
const SCRIPT = `
import sys, numpy as np, onnx
from onnxruntime.quantization import quantize_dynamic, quantize_static, QuantType, QuantFormat, CalibrationDataReader, CalibrationMethod
from onnxconverter_common import float16
src, calib, out, rr, inp = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1', sys.argv[5]
quantize_dynamic(src, out + '/ref_dyn.onnx', weight_type=QuantType.QInt8, per_channel=True, reduce_range=rr)
class Reader(CalibrationDataReader):
    def __init__(self):
        x = np.load(calib)
        self.rows = iter([{inp: x[i:i+32]} for i in range(0, len(x), 32)])
    def get_next(self):
        return next(self.rows, None)
quantize_static(src, out + '/ref_static.onnx', Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, reduce_range=rr,
                calibrate_method=CalibrationMethod.MinMax)
m = float16.convert_float_to_float16(onnx.load(src), keep_io_types=True)
onnx.save(m, out + '/ref_fp16.onnx')
`;

function ensureVenv(): void {
  if (existsSync(PY)) return;
  console.error(`creating ${VENV} (onnxruntime, onnxconverter-common, onnx from PyPI)`);
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(join(VENV, 'bin', 'pip'), ['install', '-q', 'onnxruntime', 'onnxconverter-common', 'onnx'], {
    stdio: 'inherit',
  });
}

function referenceVariants(model: ModelProto, calib: ValidationSet, dir: string): Candidate[] {
  saveModel(model, join(dir, 'fp32.onnx'));
  const flat = new Float32Array(calib.rows.length * calib.rows[0]!.length);
  for (const [i, r] of calib.rows.entries()) flat.set(r, i * r.length);
  writeFileSync(join(dir, 'calib.npy'), npyBytes([calib.rows.length, ...calib.rowShape], flat));
  writeFileSync(join(dir, 'ref.py'), SCRIPT);
  execFileSync(
    PY,
    [join(dir, 'ref.py'), join(dir, 'fp32.onnx'), join(dir, 'calib.npy'), dir, rr ? '1' : '0', calib.input],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const ver = execFileSync(PY, [
    '-c',
    'import onnxruntime, onnxconverter_common as c; print(onnxruntime.__version__, c.__version__)',
  ])
    .toString()
    .trim()
    .split(' ');
  return [
    { name: `ORT ${ver[0]} quantize_dynamic`, model: loadModel(join(dir, 'ref_dyn.onnx')).model, checkFusion: true },
    {
      name: `ORT ${ver[0]} quantize_static (QDQ minmax)`,
      model: loadModel(join(dir, 'ref_static.onnx')).model,
      checkFusion: true,
    },
    { name: `onnxconverter-common ${ver[1]} fp16`, model: loadModel(join(dir, 'ref_fp16.onnx')).model },
  ];
}

async function ours(model: ModelProto, calib: ValidationSet, hasMatMul: boolean): Promise<Candidate[]> {
  const out: Candidate[] = [];
  if (hasMatMul)
    out.push({
      name: 'ours dynamic int8',
      model: quantizeDynamic(model, { reduceRange: rr }).model,
      checkFusion: true,
    });
  for (const method of ['minmax', 'entropy'] as const) {
    const r = await quantizeStatic(model, calib, { calibration: { method }, reduceRange: rr });
    out.push({ name: `ours static int8 (${method})`, model: r.model, checkFusion: true });
  }
  out.push({ name: 'ours fp16', model: convertFp16(model).model });
  return out;
}

async function bench(name: string, file: string, model: ModelProto, d: Digits, shape: number[]): Promise<void> {
  const calib: ValidationSet = {
    input: 'x',
    rowShape: shape,
    rows: Array.from({ length: 256 }, (_, i) => d.train.rows[(i * 31) % d.train.rows.length]!),
  };
  const test: ValidationSet = { input: 'x', rowShape: shape, rows: d.test.rows, labels: d.test.labels };
  const dir = mkdtempSync(join(tmpdir(), 'ref-compare-'));
  try {
    const candidates = [...(await ours(model, calib, name.includes('MLP'))), ...referenceVariants(model, calib, dir)];
    const progress = progressReporter();
    const report = await compareVariants(name, model, candidates, test, {
      threads: Number(values.threads),
      rounds: Number(values.rounds),
      batches: [1, 32],
      onProgress: progress.update,
    });
    progress.stop();
    console.log(formatReport(report));
    mkdirSync(values.out!, { recursive: true });
    saveReport(report, join(values.out!, file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

ensureVenv();
const digits = loadDigits();
if (values.only !== 'cnn')
  await bench('digit MLP 784-1024-1024-10', 'mlp-reference.json', await fitDigitMlp(digits), digits, [784]);
if (values.only !== 'mlp') {
  const cnn = await fitDigitConvNet(digits);
  await bench('digit CNN conv8-pool-conv8-fc10', 'cnn-reference.json', cnn, digits, [1, 28, 28]);
}
