/**
 * Making tensors inside If/Loop/Scan bodies readable for calibration. onnxruntime returns only
 * main-graph outputs, so each wanted tensor is routed outwards one level at a time on a copy of the
 * model: an Identity copies it to a new output of its graph, and the owner node gets a matching
 * output. A Loop or Scan body adds it as a scan output, which stacks the value of every iteration
 * (all of them calibrate). An If needs the same outputs in both branches: the branch that does not
 * hold the tensor outputs an empty float tensor, so a branch that never runs yields no values, and
 * its tensors come back empty instead of with a made-up range.
 */
import { clone, create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from '../../gen/onnx-ml_pb.js';
import { nameAllocator } from '../model/graph.js';
import { makeNode } from '../model/attributes.js';
import { modelScopes, type Scope } from '../model/subgraph-scope.js';
import { floatTensor } from '../model/tensor-data.js';

/** One tensor to read out: `tensor` as named inside the graph with scope id `scopeId`. */
export interface ExposeRequest {
  key: string;
  scopeId: string;
  tensor: string;
}

export interface ExposedModel {
  model: ModelProto;
  /** Request key → the main-graph output that carries its values. */
  outputs: Map<string, string>;
  /** Request key → why it cannot be read out (inside an op whose body we cannot route from). */
  unreachable: Map<string, string>;
}

const ROUTABLE = new Set(['If', 'Loop', 'Scan']);

function floatOutput(name: string) {
  // Element type only: onnxruntime infers the shape, which differs between If branches anyway.
  const tensorType = create(TypeProto_TensorSchema, { elemType: 1 });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

/** A copy of the model whose main graph outputs every requested tensor, wherever it lives. */
export function exposeForCalibration(model: ModelProto, requests: ExposeRequest[]): ExposedModel {
  const m = clone(ModelProtoSchema, model);
  const scopes = modelScopes(m);
  const fresh = nameAllocator(m);
  const wanted = new Map<string, ExposeRequest[]>();
  for (const r of requests) wanted.set(r.scopeId, [...(wanted.get(r.scopeId) ?? []), r]);
  const unreachable = new Map<string, string>();
  const children = new Map<NodeProto, Scope[]>();
  for (const s of scopes) if (s.owner) children.set(s.owner, [...(children.get(s.owner) ?? []), s]);

  // Key → the name holding its values in `scope`'s graph, after routing everything below it.
  const route = (scope: Scope): Map<string, string> => {
    const names = new Map<string, string>((wanted.get(scope.id) ?? []).map((r) => [r.key, r.tensor]));
    for (const n of [...scope.graph.node]) {
      const subs = (children.get(n) ?? []).map((s) => ({ s, names: route(s) }));
      const keys = [...new Set(subs.flatMap((x) => [...x.names.keys()]))];
      if (keys.length === 0) continue;
      if (!ROUTABLE.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx')) {
        for (const k of keys)
          unreachable.set(k, `inside ${n.opType} "${n.name}", whose body calibration cannot read (only If/Loop/Scan)`);
        continue;
      }
      for (const { s, names: inner } of subs)
        for (const k of keys) addSubgraphOutput(s.graph, inner.get(k), fresh, n.opType === 'If');
      for (const k of keys) {
        const out = fresh(`${n.name || n.opType}_calib_out`);
        n.output.push(out);
        names.set(k, out);
      }
      if (n.opType === 'Scan') for (const a of ['scan_output_axes', 'scan_output_directions']) appendZeros(n, a, keys);
    }
    return names;
  };

  const main = scopes[0]!;
  const names = route(main);
  const have = new Set(main.graph.output.map((v) => v.name));
  for (const name of names.values()) if (!have.has(name)) main.graph.output.push(floatOutput(name));
  const outputs = new Map([...names].filter(([k]) => !unreachable.has(k)));
  return { model: m, outputs, unreachable };
}

// Copy `name` to a new graph output through an Identity (a graph input or an existing output cannot
// simply be listed again); an If branch without the tensor outputs an empty float tensor instead.
function addSubgraphOutput(g: GraphProto, name: string | undefined, fresh: (b: string) => string, isIf: boolean): void {
  const out = fresh(`${name ?? 'absent'}_calib`);
  if (name !== undefined) g.node.push(makeNode('Identity', [name], [out], fresh(`${out}_Identity`)));
  else if (isIf) {
    const t = floatTensor('', [0], new Float32Array(0));
    const value = create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t });
    const c = makeNode('Constant', [], [out], fresh(`${out}_Constant`));
    c.attribute.push(value);
    g.node.push(c);
  } else throw new Error(`internal: a Loop/Scan body lacks requested tensor for ${out}`);
  g.output.push(floatOutput(out));
}

// Scan lists one axis/direction per scan output when the attribute is present: extend it.
function appendZeros(n: NodeProto, attr: string, keys: string[]): void {
  const a = n.attribute.find((x) => x.name === attr);
  if (a && a.type === AttributeProto_AttributeType.INTS) for (const _ of keys) a.ints.push(0n);
}
