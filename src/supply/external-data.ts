/**
 * The ONNX external-data pre-validator (reliability.md S10). A tensor may keep its bytes in
 * another file (`external_data`: location, offset, length); crafted locations have read files
 * outside the model folder (ONNX CVE-2022-25882, CVE-2024-27318, onnx#3991). Every such tensor is
 * checked here, before onnxruntime sees the model: the location must be relative, without `..`,
 * inside the model directory after resolving symlinks, a regular file with one link (a hardlink
 * could be any outside file), and offset/length must lie inside that file and below 2^40.
 *
 * onnxruntime 1.30 (pinned) refuses the escapes itself (its ValidateExternalDataPath, also for
 * models loaded from bytes) but not hardlinks; this check keeps the rule ours and names the
 * tensor. Nothing here reads an external file's contents, so no error can carry its bytes.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { InferError } from '../core/errors.js';
import {
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type SparseTensorProto,
  type TensorProto,
  TensorProto_DataLocation,
} from '../gen/onnx-ml_pb.js';
import { quoted } from './files.js';

/** Offsets and lengths at or above this are refused (no tensor file is a terabyte). */
export const MAX_EXTERNAL_BYTES = 2 ** 40;

/** One tensor's external-data reference, as written in the model. */
export interface ExternalRef {
  tensor: string;
  location: string;
  offset: string | undefined;
  length: string | undefined;
}

// Every external reference needs the key "location" in a StringStringEntryProto, which protobuf
// stores as those literal bytes: a model without them has no external data and is not decoded.
const LOCATION_KEY = Buffer.from('location', 'latin1');

function refused(ref: ExternalRef | undefined, detail: string): InferError {
  const what = ref === undefined ? 'external data' : `external data of tensor ${quoted(ref.tensor)}`;
  return new InferError('IG_ERR_MODEL_LOAD', `${what} refused: ${detail}`);
}

function tensorRefs(t: TensorProto | undefined, out: ExternalRef[]): void {
  if (t === undefined) return;
  if (t.externalData.length === 0 && t.dataLocation !== TensorProto_DataLocation.EXTERNAL) return;
  const get = (k: string) => t.externalData.find((e) => e.key === k)?.value;
  out.push({ tensor: t.name, location: get('location') ?? '', offset: get('offset'), length: get('length') });
}

function sparseRefs(s: SparseTensorProto | undefined, out: ExternalRef[]): void {
  tensorRefs(s?.values, out);
  tensorRefs(s?.indices, out);
}

function attributeRefs(a: AttributeProto, out: ExternalRef[]): void {
  tensorRefs(a.t, out);
  for (const t of a.tensors) tensorRefs(t, out);
  sparseRefs(a.sparseTensor, out);
  for (const s of a.sparseTensors) sparseRefs(s, out);
  graphRefs(a.g, out);
  for (const g of a.graphs) graphRefs(g, out);
}

function graphRefs(g: GraphProto | undefined, out: ExternalRef[]): void {
  if (g === undefined) return;
  for (const t of g.initializer) tensorRefs(t, out);
  for (const s of g.sparseInitializer) sparseRefs(s, out);
  for (const n of g.node) for (const a of n.attribute) attributeRefs(a, out);
}

/** Every external-data reference of a model: graph, subgraphs, attributes, training graphs, functions. */
export function externalDataRefs(model: Uint8Array): ExternalRef[] {
  if (Buffer.from(model.buffer, model.byteOffset, model.byteLength).indexOf(LOCATION_KEY) < 0) return [];
  let m: ModelProto;
  try {
    m = fromBinary(ModelProtoSchema, model);
  } catch (err) {
    // Refused rather than skipped: a model our decoder cannot read but onnxruntime can would
    // otherwise carry unchecked references past this check.
    throw new InferError('IG_ERR_MODEL_LOAD', 'the model file is not a valid ONNX model', { cause: err });
  }
  const out: ExternalRef[] = [];
  graphRefs(m.graph, out);
  for (const ti of m.trainingInfo) {
    graphRefs(ti.initialization, out);
    graphRefs(ti.algorithm, out);
  }
  for (const f of m.functions) for (const n of f.node) for (const a of n.attribute) attributeRefs(a, out);
  return out;
}

/** A non-negative decimal below 2^40; undefined stays undefined (offset 0 / to the end). */
function bounded(ref: ExternalRef, key: 'offset' | 'length'): bigint | undefined {
  const v = ref[key];
  if (v === undefined) return undefined;
  if (!/^\d{1,20}$/.test(v)) throw refused(ref, `${key} ${quoted(v)} is not a non-negative integer`);
  const n = BigInt(v);
  if (n >= BigInt(MAX_EXTERNAL_BYTES)) throw refused(ref, `${key} ${v} exceeds 2^40`);
  return n;
}

/** The location's syntax: relative, no `..`, no backslash, no NUL (checked before any file access). */
function checkLocationText(ref: ExternalRef): void {
  const loc = ref.location;
  if (loc === '') throw refused(ref, 'it has no location');
  if (loc.includes('\0')) throw refused(ref, 'the location contains a NUL byte');
  if (loc.startsWith('/') || loc.startsWith('\\') || /^[A-Za-z]:/.test(loc) || isAbsolute(loc))
    throw refused(ref, `location ${quoted(loc)} is an absolute path`);
  if (loc.includes('\\')) throw refused(ref, `location ${quoted(loc)} contains a backslash`);
  if (loc.split('/').includes('..')) throw refused(ref, `location ${quoted(loc)} has a '..' segment`);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** Options of checkExternalData. */
export interface ExternalDataOptions {
  /**
   * Accept files with several links. Only for a version whose every file was just verified
   * against a signed manifest: a hardlink then holds exactly the signed bytes, whatever else it is
   * linked from (the registry lays versions out as hardlinks to its blobs).
   */
  contentVerified?: boolean;
}

/**
 * Checks every external-data reference of `model` against `modelDir` (the directory the model
 * file is in). Returns the external files as relative POSIX paths (sorted, unique) so a caller can
 * check they are covered by the manifest; throws IG_ERR_MODEL_LOAD naming the tensor otherwise.
 */
export async function checkExternalData(
  model: Uint8Array,
  modelDir: string,
  options: ExternalDataOptions = {},
): Promise<string[]> {
  const refs = externalDataRefs(model);
  if (refs.length === 0) return [];
  const root = await realpath(modelDir);
  const files = new Set<string>();
  for (const ref of refs) {
    checkLocationText(ref);
    const offset = bounded(ref, 'offset') ?? 0n;
    const length = bounded(ref, 'length');
    const target = resolve(modelDir, ref.location);
    if (!inside(resolve(modelDir), target))
      throw refused(ref, `location ${quoted(ref.location)} escapes the model directory`);
    const real = await realpath(target).catch(() => undefined);
    if (real === undefined) throw refused(ref, `location ${quoted(ref.location)} does not exist`);
    if (!inside(root, real))
      throw refused(ref, `location ${quoted(ref.location)} goes through a symlink to outside the model directory`);
    const st = await stat(real);
    if (!st.isFile()) throw refused(ref, `location ${quoted(ref.location)} is not a regular file`);
    if (st.nlink > 1 && options.contentVerified !== true)
      throw refused(
        ref,
        `location ${quoted(ref.location)} is a hardlink (it may be a file outside the model directory)`,
      );
    const end = offset + (length ?? 0n);
    if (offset > BigInt(st.size) || end > BigInt(st.size))
      throw refused(ref, `offset/length of ${quoted(ref.location)} run past the end of the file`);
    files.add(relative(root, real).split(sep).join('/'));
  }
  return [...files].sort();
}
