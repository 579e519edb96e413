/**
 * A guard against an onnxruntime abort. Its QDQPropagationTransformer (level 'basic') moves a
 * DequantizeLinear forward through MaxPool/Reshape/Transpose/Squeeze/Unsqueeze/Slice and rewires
 * every consumer of their outputs by input slot; a consumer that reads the tensor from inside a
 * subgraph (an If/Loop/Scan implicit input) has no such slot, and the process dies on a failed
 * assertion (onnxruntime-node 1.30, seen on Silero VAD legacy: Conv → Relu → Transpose → If).
 * The planner therefore leaves float any tensor whose DQ could travel that way.
 */
import type { GraphView } from '../model/graph.js';

// Op types onnxruntime propagates a DQ through (qdq_propagation.cc, CanNodePropagate).
const PROPAGATES = new Set(['MaxPool', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Slice']);

/** True when a DQ on `tensor` could be propagated by onnxruntime into a subgraph's implicit read. */
export function dqReachesImplicitRead(tensor: string, view: GraphView, seen = new Set<string>()): boolean {
  for (const r of view.consumersOf(tensor)) {
    if (!r.input.includes(tensor) || !PROPAGATES.has(r.opType) || r.input[0] !== tensor) continue;
    const out = r.output[0];
    if (!out || seen.has(out) || view.graphOutputs.has(out)) continue;
    seen.add(out);
    if (view.consumersOf(out).some((c) => !c.input.includes(out))) return true;
    if (dqReachesImplicitRead(out, view, seen)) return true;
  }
  return false;
}
