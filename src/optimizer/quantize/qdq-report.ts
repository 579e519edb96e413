/**
 * Reporting static quantization per node: decisions for nodes a plan left float, and the summary
 * notes for nodes inside subgraphs (how many went static, dynamic or stayed float, and why).
 */
import type { GraphProto } from '../../gen/onnx-ml_pb.js';
import type { NodeDecision } from './qdq-graphs.js';
import { nodeLabel } from './qdq-plan.js';

/** Float decisions for the listed node labels that live in `graph` (others are ignored). */
export function floatDecisions(
  graphLabel: string,
  graph: GraphProto,
  items: { node: string; reason: string }[],
): NodeDecision[] {
  const byLabel = new Map(graph.node.map((n) => [nodeLabel(n), n]));
  return items.flatMap((s) => {
    const n = byLabel.get(s.node);
    return n ? [{ node: s.node, opType: n.opType, graph: graphLabel, mode: 'float' as const, reason: s.reason }] : [];
  });
}

/** One note per subgraph with quantizable nodes: counts by mode, and each float node's reason. */
export function subgraphSummary(decisions: NodeDecision[]): string[] {
  const byGraph = new Map<string, NodeDecision[]>();
  for (const d of decisions) if (d.graph !== 'main') byGraph.set(d.graph, [...(byGraph.get(d.graph) ?? []), d]);
  return [...byGraph].map(([graph, ds]) => {
    const count = (m: NodeDecision['mode']) => ds.filter((d) => d.mode === m).length;
    // The tensor name differs per node; the cause is what a reader needs once.
    const reasons = [
      ...new Set(ds.filter((d) => d.mode !== 'static').map((d) => d.reason.replace(/^(input|output) "[^"]*" /, '$1 '))),
    ];
    return `subgraph ${graph}: ${count('static')} node(s) QDQ int8, ${count('dynamic')} dynamic int8, ${count('float')} float${reasons.length ? ` (${reasons.join('; ')})` : ''}`;
  });
}
