/** Turns trained digits-MLP weights into an ONNX model with the project's builder. */
import { buildModel, dense, GraphBuilder, relu, softmax } from '../../src/onnx/index.js';
import { CLASSES, PIXELS } from './dataset.js';
import type { MlpWeights } from './mlp.js';

/** Graph tensor names, shared with the config, the README and the tests. */
export const DIGITS_INPUT = 'input';
export const DIGITS_OUTPUT = 'probabilities';

/** ONNX bytes: input FP32 [batch, 784] → MatMul+Add → Relu → MatMul+Add → Softmax → FP32 [batch, 10]. */
export function digitsModel(w: MlpWeights, docString = ''): Uint8Array {
  const g = new GraphBuilder('digits_mlp').input(DIGITS_INPUT, 'FP32', ['batch', PIXELS], '28×28 pixels, 0..1');
  const hidden = relu(
    g,
    dense(g, DIGITS_INPUT, { inFeatures: PIXELS, outFeatures: w.hidden, weights: w.w1, bias: w.b1 }, 'fc1'),
  );
  const logits = dense(g, hidden, { inFeatures: w.hidden, outFeatures: CLASSES, weights: w.w2, bias: w.b2 }, 'fc2');
  softmax(g, logits, DIGITS_OUTPUT);
  g.output(DIGITS_OUTPUT, 'FP32', ['batch', CLASSES], 'class probabilities for digits 0..9');
  return buildModel(g, { docString });
}
