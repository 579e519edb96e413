/**
 * Pass: move tensors held in `Constant` nodes (value attribute) into initializers of the same graph,
 * so weight-based passes (quantization, fp16, pruning) see them. Exporters like paddle2onnx keep every
 * weight in a Constant node.
 */
import { clone } from '@bufbuild/protobuf';
import { type GraphProto, type ModelProto, ModelProtoSchema } from '../../gen/onnx-ml_pb.js';
import { allGraphs } from './graph.js';
import { tensorNumel } from './tensor-data.js';

export interface LiftOptions {
  /** Lift only Constants with at least this many elements (default 0: all tensor-valued Constants). */
  minElements?: number;
}

/** Return a copy of the model with tensor-valued Constant nodes turned into initializers. */
export function liftConstants(model: ModelProto, opts: LiftOptions = {}): { model: ModelProto; lifted: number } {
  const out = clone(ModelProtoSchema, model);
  let lifted = 0;
  for (const { graph } of allGraphs(out)) lifted += liftInGraph(graph, opts.minElements ?? 0);
  // Initializers that are not graph inputs need IR version 4 or later.
  if (lifted > 0 && out.irVersion < 4n) out.irVersion = 4n;
  return { model: out, lifted };
}

function liftInGraph(graph: GraphProto, minElements: number): number {
  let lifted = 0;
  const keep = graph.node.filter((n) => {
    const isConst = n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx');
    const t = isConst && n.attribute.length === 1 ? n.attribute.find((a) => a.name === 'value')?.t : undefined;
    const out = n.output[0];
    if (!t || !out || tensorNumel(t) < minElements) return true;
    t.name = out;
    graph.initializer.push(t);
    lifted++;
    return false;
  });
  graph.node = keep;
  return lifted;
}
