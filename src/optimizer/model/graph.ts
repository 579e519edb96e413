/**
 * A read-only view over an ONNX graph: who produces and who consumes each tensor name (including
 * outer-scope names used inside If/Loop/Scan bodies), initializer lookup, topological order, and
 * helpers that walk every nested subgraph of a model.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../../gen/onnx-ml_pb.js';

/** A graph and where it sits: "main" or "main/<node>.<attr>[i]" for subgraphs. */
export interface GraphRef {
  graph: GraphProto;
  path: string;
  /** The node owning this subgraph (undefined for the main graph). */
  owner?: NodeProto;
}

/** Subgraphs held directly by a node's attributes (If branches, Loop/Scan bodies). */
export function nodeSubgraphs(node: NodeProto): { attr: string; graph: GraphProto }[] {
  const out: { attr: string; graph: GraphProto }[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push({ attr: a.name, graph: a.g });
    for (const [i, g] of a.graphs.entries()) out.push({ attr: `${a.name}[${i}]`, graph: g });
  }
  return out;
}

/** Every graph of the model, main graph first, subgraphs depth-first. */
export function allGraphs(model: ModelProto): GraphRef[] {
  const out: GraphRef[] = [];
  const visit = (graph: GraphProto, path: string, owner?: NodeProto): void => {
    out.push(owner ? { graph, path, owner } : { graph, path });
    for (const node of graph.node) {
      for (const sg of nodeSubgraphs(node)) visit(sg.graph, `${path}/${node.name || node.opType}.${sg.attr}`, node);
    }
  };
  if (model.graph) visit(model.graph, 'main');
  return out;
}

/** Every TensorProto in the model: initializers and tensors inside node attributes, in all graphs. */
export function allTensors(model: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  for (const { graph } of allGraphs(model)) {
    out.push(...graph.initializer);
    for (const s of graph.sparseInitializer) {
      if (s.values) out.push(s.values);
      if (s.indices) out.push(s.indices);
    }
    for (const node of graph.node) {
      for (const a of node.attribute) {
        if (a.t) out.push(a.t);
        out.push(...a.tensors);
      }
    }
  }
  return out;
}

/** Names a subgraph reads from enclosing scopes (used but not defined inside it, recursively). */
export function outerScopeInputs(graph: GraphProto): Set<string> {
  const defined = new Set<string>([...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]);
  for (const n of graph.node) for (const o of n.output) defined.add(o);
  const used = new Set<string>();
  for (const n of graph.node) {
    for (const i of n.input) if (i && !defined.has(i)) used.add(i);
    for (const sg of nodeSubgraphs(n)) for (const i of outerScopeInputs(sg.graph)) if (!defined.has(i)) used.add(i);
  }
  for (const o of graph.output) if (!defined.has(o.name)) used.add(o.name);
  return used;
}

/** Producer/consumer index of one graph; rebuild it after editing the graph. */
export class GraphView {
  readonly producers = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly initializers = new Map<string, TensorProto>();
  readonly graphInputs = new Set<string>();
  readonly graphOutputs = new Set<string>();
  /** Every name each node reads, explicit inputs and outer-scope names of its subgraphs. */
  readonly reads = new Map<NodeProto, Set<string>>();

  constructor(readonly graph: GraphProto) {
    for (const t of graph.initializer) this.initializers.set(t.name, t);
    for (const v of graph.input) this.graphInputs.add(v.name);
    for (const v of graph.output) this.graphOutputs.add(v.name);
    for (const node of graph.node) {
      for (const o of node.output) if (o) this.producers.set(o, node);
      const reads = new Set(node.input.filter((i) => i !== ''));
      // A node whose subgraph reads an outer name consumes it as an implicit input.
      for (const sg of nodeSubgraphs(node)) for (const i of outerScopeInputs(sg.graph)) reads.add(i);
      this.reads.set(node, reads);
      for (const i of reads) {
        const list = this.consumers.get(i);
        if (list) list.push(node);
        else this.consumers.set(i, [node]);
      }
    }
  }

  /** Nodes reading a tensor (explicitly or from a subgraph). */
  consumersOf(name: string): NodeProto[] {
    return this.consumers.get(name) ?? [];
  }

  /** The constant tensor behind a name: an initializer, or the value of a Constant node. */
  constantTensor(name: string): TensorProto | undefined {
    const init = this.initializers.get(name);
    if (init) return init;
    const p = this.producers.get(name);
    if (p?.opType === 'Constant' && (p.domain === '' || p.domain === 'ai.onnx')) {
      return p.attribute.find((a) => a.name === 'value')?.t;
    }
    return undefined;
  }

  /** Nodes in an order where every producer precedes its consumers (Kahn); throws on a cycle. */
  topoOrder(): NodeProto[] {
    const nodes = this.graph.node;
    const index = new Map(nodes.map((n, i) => [n, i]));
    const indeg = new Array<number>(nodes.length).fill(0);
    const edges: number[][] = nodes.map(() => []);
    nodes.forEach((n, i) => {
      const deps = new Set<number>();
      for (const name of this.reads.get(n) ?? []) {
        const p = this.producers.get(name);
        if (p && p !== n) deps.add(index.get(p)!);
      }
      for (const d of deps) {
        edges[d]!.push(i);
        indeg[i]!++;
      }
    });
    const ready = nodes.map((_, i) => i).filter((i) => indeg[i] === 0);
    const out: NodeProto[] = [];
    for (let k = 0; k < ready.length; k++) {
      const i = ready[k]!;
      out.push(nodes[i]!);
      for (const j of edges[i]!) if (--indeg[j]! === 0) ready.push(j);
    }
    if (out.length !== nodes.length) throw new Error(`graph "${this.graph.name}" has a cycle`);
    return out;
  }
}

/** A generator of tensor/node names not yet used anywhere in the model. */
export function nameAllocator(model: ModelProto): (base: string) => string {
  const used = new Set<string>();
  for (const { graph } of allGraphs(model)) {
    for (const t of graph.initializer) used.add(t.name);
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) used.add(v.name);
    for (const n of graph.node) {
      used.add(n.name);
      for (const x of [...n.input, ...n.output]) used.add(x);
    }
  }
  return (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
}

/** The model's ai.onnx opset version (the default domain), or 0 when absent. */
export function defaultOpset(model: ModelProto): number {
  const o = model.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  return o ? Number(o.version) : 0;
}

/** Replace every occurrence of `from` among a node list's inputs (or outputs) with `to`. */
export function renameIn(nodes: NodeProto[], from: string, to: string, field: 'input' | 'output' = 'input'): void {
  for (const n of nodes) {
    const names = n[field];
    for (let i = 0; i < names.length; i++) if (names[i] === from) names[i] = to;
  }
}
