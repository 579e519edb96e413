/**
 * Graph scopes for passes that work inside If/Loop/Scan bodies: every graph of a model with its
 * parent, a view whose constant lookup falls back to enclosing graphs (a branch may read a weight
 * the main graph holds), and where a name is defined. Scope ids use node indices, so they are equal
 * for every clone of one model as long as the clone is not edited; labels use node names for people.
 */
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../../gen/onnx-ml_pb.js';
import { GraphView, nodeSubgraphs } from './graph.js';

/** A graph view that also finds constants held by enclosing graphs (ONNX outer-scope names). */
export class ScopedView extends GraphView {
  constructor(
    graph: GraphProto,
    readonly parent?: ScopedView,
  ) {
    super(graph);
  }

  /** True when this graph itself defines the name (input, initializer or node output). */
  definesLocally(name: string): boolean {
    return this.initializers.has(name) || this.graphInputs.has(name) || this.producers.has(name);
  }

  override constantTensor(name: string): TensorProto | undefined {
    if (this.definesLocally(name)) return super.constantTensor(name);
    return this.parent?.constantTensor(name);
  }
}

/** One graph of the model and where it sits. */
export interface Scope {
  graph: GraphProto;
  /** Stable id: "main", then "<parent id>/<node index>.<attribute>". */
  id: string;
  /** Readable path: "main", then "<parent label>/<node name or op>.<attribute>". */
  label: string;
  view: ScopedView;
  parent?: Scope;
  /** The node holding this graph as an attribute (undefined for the main graph). */
  owner?: NodeProto;
  /** The attribute of `owner` that holds it (then_branch, else_branch, body). */
  attr?: string;
}

/** Every graph of the model, main first, subgraphs depth-first (parents before children). */
export function modelScopes(model: ModelProto): Scope[] {
  const out: Scope[] = [];
  const visit = (graph: GraphProto, id: string, label: string, parent?: Scope, owner?: NodeProto, attr?: string) => {
    const view = new ScopedView(graph, parent?.view);
    const scope: Scope = { graph, id, label, view, ...(parent ? { parent } : {}), ...(owner ? { owner, attr } : {}) };
    out.push(scope);
    graph.node.forEach((n, i) => {
      for (const sg of nodeSubgraphs(n))
        visit(sg.graph, `${id}/${i}.${sg.attr}`, `${label}/${n.name || n.opType}.${sg.attr}`, scope, n, sg.attr);
    });
  };
  if (model.graph) visit(model.graph, 'main', 'main');
  return out;
}

/** The scope that defines `name` as seen from `scope` (itself or the nearest enclosing graph). */
export function definingScope(scope: Scope, name: string): Scope | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) if (s.view.definesLocally(name)) return s;
  return undefined;
}

/** A key naming one tensor of one graph, unique across the model. */
export function scopedKey(scopeId: string, tensor: string): string {
  return `${scopeId}|${tensor}`;
}

/** Rebuild the scope views after graphs were edited (ids and labels stay). */
export function refreshViews(scopes: Scope[]): void {
  for (const s of scopes) s.view = new ScopedView(s.graph, s.parent?.view);
}
