/**
 * `infergate optimize`: argument parsing and printing only; the work lives in src/optimizer/.
 */
import { statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ModelProto } from '../gen/onnx-ml_pb.js';
import { compareVariants } from '../optimizer/compare.js';
import { cpuInfo } from '../optimizer/cpu.js';
import { jsonlSet, npySet } from '../optimizer/data.js';
import type { ValidationSet } from '../optimizer/evaluate.js';
import { inspectModel } from '../optimizer/inspect.js';
import { formatInspect } from '../optimizer/inspect-format.js';
import { type LoadedModel, loadModel, saveModel } from '../optimizer/io.js';
import { sha256File, writeVersion } from '../optimizer/lineage.js';
import { fusionCheck } from '../optimizer/ort.js';
import { quantizeDynamic } from '../optimizer/quantize-dynamic.js';
import { formatReport, saveReport, summarize, type VariantReport } from '../optimizer/report.js';

function parseShape(v: string, prev: Record<string, number[]> = {}): Record<string, number[]> {
  const m = /^([^=]+)=(\d+(?:[x,]\d+)*)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected NAME=DxDxD, e.g. x=1x3x48x320 (got "${v}")`);
  return { ...prev, [m[1]!]: m[2]!.split(/[x,]/).map(Number) };
}
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

interface QuantizeOpts {
  mode: string;
  perTensor?: boolean;
  reduceRange?: boolean;
  excludeNodes?: string[];
  excludeOpTypes?: string[];
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

/** Register `optimize inspect|quantize` on the main program. */
export function registerOptimizeCommand(program: Command): void {
  const opt = program
    .command('optimize')
    .description('inspect and optimize ONNX models (int8 quantization, reports, lineage)');
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
  opt
    .command('quantize')
    .description(
      'INT8 quantization (dynamic: DynamicQuantizeLinear + MatMulInteger on MatMul/Gemm with constant weights)',
    )
    .argument('<model>', 'path to an .onnx file')
    .addOption(new Option('--mode <mode>', 'quantization mode').choices(['dynamic', 'static']).default('dynamic'))
    .option('--per-tensor', 'one scale per weight tensor instead of per output channel')
    .option('--reduce-range', '7-bit weights (default: on for x86 without VNNI, where 8-bit u8×s8 sums saturate)')
    .option('--no-reduce-range', 'full 8-bit weights')
    .option('--exclude-nodes <names>', 'comma-separated node names to keep in float', list)
    .option('--exclude-op-types <ops>', 'comma-separated op types to keep in float', list)
    .option('--out <file>', 'write the variant to this file')
    .option('--model-dir <dir>', 'write the variant as the next version <dir>/<n>/model.onnx with lineage.json')
    .option(
      '--data <file>',
      'validation inputs (.npy, first axis = samples; or .jsonl with {"input": [...], "label": n})',
    )
    .option('--labels <file>', 'labels .npy for --data .npy (classifier top-1)')
    .option('--input <name>', 'model input the validation data feeds (default: the first input)')
    .option('--row-shape <DxD>', 'row shape for .jsonl data (default: from the model input)')
    .option('--report <file>', 'save the report JSON here')
    .option('--threads <n>', 'intra-op threads for measurements', '1')
    .option('--batches <list>', 'batch sizes for latency', '1,32')
    .action(async (model: string, o: QuantizeOpts) => runQuantize(model, o));
}

async function runQuantize(path: string, o: QuantizeOpts): Promise<void> {
  if (o.mode !== 'dynamic')
    throw new Error('--mode static (QDQ with calibration) is not implemented yet; use --mode dynamic');
  if (!o.out && !o.modelDir) throw new Error('give --out FILE or --model-dir DIR for the quantized variant');
  const src = loadModel(path);
  const cpu = cpuInfo();
  const reduceRange = o.reduceRange ?? cpu.reduceRangeDefault;
  const params = {
    mode: 'dynamic',
    perChannel: !o.perTensor,
    reduceRange,
    excludeNodes: o.excludeNodes ?? [],
    excludeOpTypes: o.excludeOpTypes ?? [],
  };
  const res = quantizeDynamic(src.model, { ...params, baseDir: src.baseDir });
  console.log(
    `quantized ${res.quantized.length} node(s)${reduceRange ? ' with 7-bit weights (reduce_range)' : ''}; skipped ${res.skipped.length}`,
  );
  for (const s of res.skipped) console.log(`  skipped ${s.node}: ${s.reason}`);
  if (res.quantized.length === 0) throw new Error('nothing to quantize: no MatMul/Gemm with a constant float weight');
  const fusion = await fusionCheck(res.model);
  console.log(fusion.message);
  let variant: VariantReport = { name: 'int8 dynamic', sizeBytes: 0, latency: [], fusion };
  if (o.data) variant = (await measure(src, res.model, o)) ?? variant;
  const lineage = {
    parent: { path: src.path, sha256: sha256File(src.path) },
    transform: 'quantize-dynamic',
    parameters: params,
    summary: summarize(variant),
  };
  const written = o.modelDir
    ? writeVersion(o.modelDir, res.model, lineage, src.baseDir)
    : writeOut(res.model, o.out!, src);
  console.log(`wrote ${written} (${(statSync(written).size / 1024).toFixed(0)} KiB)`);
}

function writeOut(model: ModelProto, out: string, src: LoadedModel): string {
  saveModel(model, out, { sourceDir: src.baseDir });
  return resolve(out);
}

function validationSet(src: LoadedModel, o: QuantizeOpts): ValidationSet {
  const init = new Set(src.model.graph!.initializer.map((t) => t.name));
  const first = src.model.graph!.input.find((v) => !init.has(v.name));
  const input = o.input ?? first?.name ?? 'input';
  if (extname(o.data!) === '.npy') return npySet(input, o.data!, o.labels);
  const dims = first?.type?.value.case === 'tensorType' ? (first.type.value.value.shape?.dim ?? []).slice(1) : [];
  const rowShape = o.rowShape
    ? o.rowShape.split(/[x,]/).map(Number)
    : dims.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : Number.NaN));
  if (rowShape.some((d) => !Number.isFinite(d)))
    throw new Error(`input "${input}" has dynamic dims: pass --row-shape for ${basename(o.data!)}`);
  return jsonlSet(input, o.data!, rowShape);
}

async function measure(src: LoadedModel, q: ModelProto, o: QuantizeOpts): Promise<VariantReport | undefined> {
  const set = validationSet(src, o);
  const report = await compareVariants(
    basename(dirname(src.path)) + '/' + basename(src.path),
    src.model,
    [{ name: 'int8 dynamic', model: q, checkFusion: true }],
    set,
    {
      threads: Number(o.threads),
      batches: o.batches.split(',').map(Number),
      onProgress: (stage, d, t) => process.stderr.write(`\r${stage} ${d}/${t}   `),
    },
  );
  process.stderr.write('\n');
  console.log(formatReport(report));
  if (o.report) saveReport(report, o.report);
  return report.variants[1];
}
