/** The IO signature of a staged ONNX file, read by the CLI before a push registers it. */
import { readFile } from 'node:fs/promises';
import { fromOnnxType } from '../../core/index.js';
import type { ValueInfoProto } from '../../gen/onnx-ml_pb.js';
import { decodeModel } from '../../optimizer/model/io.js';
import type { Signature, SignatureTensor } from '../../registry/types.js';

function tensor(v: ValueInfoProto): SignatureTensor | undefined {
  const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  const datatype = tt ? fromOnnxType(tt.elemType) : undefined;
  if (!tt || !datatype) return undefined;
  const shape = (tt.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : -1));
  return { name: v.name, datatype, shape };
}

export async function onnxSignature(path: string): Promise<Signature | undefined> {
  const model = decodeModel(await readFile(path), 'the pushed model');
  const graph = model.graph;
  if (!graph) return undefined;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const pick = (vs: ValueInfoProto[]) => vs.flatMap((v) => (initializers.has(v.name) ? [] : (tensor(v) ?? [])));
  return { inputs: pick(graph.input), outputs: pick(graph.output) };
}
