/** ModelProto assembly and serialisation: a GraphBuilder plus opset imports and metadata. */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  type ModelProto,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
} from '../gen/onnx-ml_pb.js';
import type { GraphBuilder } from './graph-builder.js';

/** Model-level settings; every field has a default that onnxruntime-node 1.30 accepts. */
export interface ModelOptions {
  /** Default-domain (ai.onnx) opset version; default 17. */
  opset?: number;
  /** ONNX IR version; default 8 (the IR of opset 17's release era). */
  irVersion?: number;
  /** Opsets of other domains, e.g. `{ 'ai.onnx.ml': 3 }`; known domains used by nodes get defaults. */
  domainOpsets?: Record<string, number>;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  modelVersion?: number;
  /** Free-form metadata_props (shown by ORT as custom metadata). */
  metadata?: Record<string, string>;
}

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

// Versions for non-default domains a node may use without the caller naming one.
const KNOWN_DOMAIN_OPSETS: Record<string, number> = { 'ai.onnx.ml': 3, 'com.microsoft': 1 };

/** Builds the ModelProto message for a graph (for callers that want to inspect or tweak it). */
export function buildModelProto(graph: GraphBuilder, opts: ModelOptions = {}): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: BigInt(opts.irVersion ?? DEFAULT_IR_VERSION),
    opsetImport: opsetImports(graph, opts),
    producerName: opts.producerName ?? 'infergate',
    producerVersion: opts.producerVersion ?? '0.1.0',
    docString: opts.docString ?? '',
    modelVersion: BigInt(opts.modelVersion ?? 1),
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) =>
      create(StringStringEntryProtoSchema, { key, value }),
    ),
    graph: graph.toProto(),
  });
}

/** Builds and serialises a model: the bytes of a `model.onnx` file. */
export function buildModel(graph: GraphBuilder, opts: ModelOptions = {}): Uint8Array {
  return toBinary(ModelProtoSchema, buildModelProto(graph, opts));
}

function opsetImports(graph: GraphBuilder, opts: ModelOptions) {
  const versions = new Map<string, number>([['', opts.opset ?? DEFAULT_OPSET]]);
  for (const d of graph.domains) {
    if (versions.has(d)) continue;
    const v = opts.domainOpsets?.[d] ?? KNOWN_DOMAIN_OPSETS[d];
    if (v === undefined) throw new Error(`nodes use domain '${d}': give its version in domainOpsets`);
    versions.set(d, v);
  }
  for (const [d, v] of Object.entries(opts.domainOpsets ?? {})) versions.set(d, v);
  return [...versions].map(([domain, version]) =>
    create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }),
  );
}
