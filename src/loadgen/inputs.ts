/**
 * The inputs a benchmark sends: from the model's metadata (batch dim and any other variable dim
 * filled in) or from explicit `name:d0,d1,…` shapes given by the user.
 */
import { create } from '@bufbuild/protobuf';
import { request } from 'undici';
import { GrpcClient } from '../client/grpc-client.js';
import { type DataType, isDataType } from '../core/index.js';
import { type ModelMetadataResponse, ModelMetadataRequestSchema } from '../gen/grpc_service_pb.js';
import type { InputSpec } from './bodies.js';

/** A tensor as model metadata describes it (-1 = variable). */
export interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** Parses `name:1,784` (or `1,784` for a model with one input) into name → shape. */
export function parseShapeOverrides(items: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const item of items) {
    const i = item.lastIndexOf(':');
    const name = i < 0 ? '' : item.slice(0, i);
    const dims = (i < 0 ? item : item.slice(i + 1)).split(/[,x]/).map((d) => Number(d.trim()));
    if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 0))
      throw new Error(`--input-shape '${item}': expected name:d0,d1,… with non-negative integers`);
    out.set(name, dims);
  }
  return out;
}

/**
 * Concrete input specs: an override wins (a nameless one applies to a single-input model);
 * otherwise the metadata shape with a leading -1 as `batch` and any other -1 as `fill`.
 */
export function resolveInputs(
  meta: readonly MetadataTensor[],
  batch: number,
  overrides: Map<string, number[]> = new Map(),
  fill = 1,
): InputSpec[] {
  if (meta.length === 0) throw new Error('the model declares no inputs');
  return meta.map((t) => {
    if (!isDataType(t.datatype)) throw new Error(`input '${t.name}': unsupported datatype '${t.datatype}'`);
    const given = overrides.get(t.name) ?? (meta.length === 1 ? overrides.get('') : undefined);
    if (given) return { name: t.name, datatype: t.datatype as DataType, shape: [...given] };
    const shape = t.shape.map((d, i) => (d >= 0 ? d : i === 0 ? batch : fill));
    return { name: t.name, datatype: t.datatype as DataType, shape };
  });
}

/** The model's inputs from KServe v2 metadata over HTTP (`http://…`) or gRPC (`host:port`). */
export async function fetchModelInputs(url: string, model: string, version?: string): Promise<MetadataTensor[]> {
  if (/^https?:\/\//.test(url)) {
    const v = version ? `/versions/${encodeURIComponent(version)}` : '';
    const res = await request(`${url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(model)}${v}`);
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`model metadata: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
    return (JSON.parse(text) as { inputs: MetadataTensor[] }).inputs;
  }
  const client = new GrpcClient(url);
  try {
    const req = create(ModelMetadataRequestSchema, { name: model, version: version ?? '' });
    const res = await client.call<ModelMetadataResponse>('modelMetadata', req);
    return res.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) }));
  } finally {
    client.close();
  }
}
