/**
 * A trained student MLP as an ONNX model with the project's builder, shaped as a drop-in for its
 * teacher: same input name and row shape (Flatten first when rows are not vectors), same output
 * name, and a final Softmax when the teacher outputs probabilities rather than logits.
 */
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { buildModelProto, dense, GraphBuilder, relu, softmax } from '../../onnx/index.js';
import type { DenseLayer } from './mlp-student.js';

export interface StudentIo {
  input: string;
  rowShape: number[];
  output: string;
  probabilities: boolean;
}

/** Build the student's ONNX model (opset 17). */
export function exportStudent(layers: DenseLayer[], io: StudentIo, doc = ''): ModelProto {
  const g = new GraphBuilder('student_mlp', doc).input(io.input, 'FP32', ['batch', ...io.rowShape]);
  let cur = io.input;
  if (io.rowShape.length !== 1) {
    cur = g.uniqueName('flat');
    g.node('Flatten', [io.input], [cur], { axis: 1 });
  }
  layers.forEach((l, i) => {
    const last = i + 1 === layers.length;
    const out = last && !io.probabilities ? io.output : undefined;
    const w = { inFeatures: l.inFeatures, outFeatures: l.outFeatures, weights: l.w, bias: l.b };
    cur = dense(g, cur, w, `student_fc${i + 1}`, out);
    if (!last) cur = relu(g, cur);
  });
  if (io.probabilities) cur = softmax(g, cur, io.output);
  const classes = layers[layers.length - 1]!.outFeatures;
  g.output(io.output, 'FP32', ['batch', classes]);
  return buildModelProto(g, { producerName: 'infergate optimize distill', docString: doc });
}
