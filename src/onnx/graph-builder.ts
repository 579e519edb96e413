/**
 * GraphBuilder: collects the inputs, initializers, nodes and outputs of one ONNX graph and turns
 * them into a GraphProto. Methods return `this` so a small graph reads as one chain:
 *
 *   const g = new GraphBuilder('add')
 *     .input('a', 'FP32', ['batch', 4]).input('b', 'FP32', ['batch', 4])
 *     .node('Add', ['a', 'b'], ['sum'])
 *     .output('sum', 'FP32', ['batch', 4]);
 *
 * `toProto()` checks wiring (every node input defined earlier, every output produced, no name
 * produced twice) so a typo fails here with a clear message rather than inside onnxruntime.
 */
import { create } from '@bufbuild/protobuf';
import {
  type GraphProto,
  GraphProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  type ValueInfoProto,
} from '../gen/onnx-ml_pb.js';
import { type AttrValue, attributeProto } from './attribute.js';
import { type ElemType, type TensorValues, tensorProto } from './tensor.js';
import { type Dim, valueInfo } from './value-info.js';

/** Extra node settings. */
export interface NodeOptions {
  /** Node name; defaults to `<OpType>_<index>`. */
  name?: string;
  /** Operator domain; '' (default) is the standard ai.onnx domain, e.g. 'ai.onnx.ml'. */
  domain?: string;
  doc?: string;
}

export class GraphBuilder {
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly valueInfos: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly used = new Set<string>();
  /** Domains used by nodes, so buildModel can import their opsets. */
  readonly domains = new Set<string>();

  constructor(
    readonly name: string,
    private readonly doc = '',
  ) {}

  /** Declares a graph input. Symbolic dims are strings ('batch'); -1/null is unknown. */
  input(name: string, type: ElemType, dims: readonly Dim[], doc = ''): this {
    this.inputs.push(valueInfo(name, type, dims, doc));
    this.used.add(name);
    return this;
  }

  /** Declares a graph output; it must be produced by a node, an input or an initializer. */
  output(name: string, type: ElemType, dims: readonly Dim[], doc = ''): this {
    this.outputs.push(valueInfo(name, type, dims, doc));
    this.used.add(name);
    return this;
  }

  /** Adds a constant weight tensor (stored as little-endian raw_data; strings as string_data). */
  initializer(name: string, type: ElemType, dims: readonly number[], values: TensorValues): this {
    this.initializers.push(tensorProto(name, type, dims, values));
    this.used.add(name);
    return this;
  }

  /** Adds a node. Use '' for an omitted optional input. Attribute typing: see `AttrValue`. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    opts: NodeOptions = {},
  ): this {
    const domain = opts.domain ?? '';
    this.domains.add(domain);
    for (const n of [...inputs, ...outputs]) if (n !== '') this.used.add(n);
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        domain,
        name: opts.name ?? `${opType}_${this.nodes.length}`,
        docString: opts.doc ?? '',
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
      }),
    );
    return this;
  }

  /** Annotates an intermediate value's type and shape (optional; helps shape inference and tools). */
  annotate(name: string, type: ElemType, dims?: readonly Dim[]): this {
    this.valueInfos.push(valueInfo(name, type, dims));
    return this;
  }

  /** A name not yet used in this graph: `prefix`, or `prefix_1`, `prefix_2`, … */
  uniqueName(prefix: string): string {
    let name = prefix;
    for (let i = 1; this.used.has(name); i++) name = `${prefix}_${i}`;
    this.used.add(name);
    return name;
  }

  /**
   * The GraphProto. `outerScope` lists names visible from an enclosing graph (for If/Loop
   * bodies) so the wiring check accepts them.
   */
  toProto(outerScope: Iterable<string> = []): GraphProto {
    checkWiring(this.inputs, this.initializers, this.nodes, this.outputs, new Set(outerScope));
    return create(GraphProtoSchema, {
      name: this.name,
      docString: this.doc,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
      node: this.nodes,
      valueInfo: this.valueInfos,
    });
  }
}

function checkWiring(
  inputs: ValueInfoProto[],
  inits: TensorProto[],
  nodes: NodeProto[],
  outputs: ValueInfoProto[],
  outer: Set<string>,
): void {
  const defined = new Set<string>(outer);
  const define = (name: string, what: string) => {
    if (defined.has(name) && !outer.has(name)) throw new Error(`'${name}' is defined twice (${what})`);
    defined.add(name);
  };
  for (const v of inputs) define(v.name, 'graph input');
  // An initializer may share its name with an input: that is ONNX's "input with a default".
  const inputNames = new Set(inputs.map((v) => v.name));
  for (const t of inits) if (!inputNames.has(t.name)) define(t.name, 'initializer');
  for (const n of nodes) {
    for (const i of n.input) {
      if (i !== '' && !defined.has(i)) throw new Error(`node ${n.name} (${n.opType}) reads undefined '${i}'`);
    }
    for (const o of n.output) if (o !== '') define(o, `output of node ${n.name}`);
  }
  for (const o of outputs) if (!defined.has(o.name)) throw new Error(`graph output '${o.name}' is never produced`);
}
