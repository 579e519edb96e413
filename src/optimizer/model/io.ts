/**
 * Loading and saving ONNX models with protobuf-es: unknown fields survive decode→encode, tensors
 * stored as external data stay external (copied beside the output in chunks, never as one buffer),
 * and every file is written to a temporary name then renamed so no partial output is ever left.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  type ModelProto,
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProto_DataLocation,
} from '../../gen/onnx-ml_pb.js';
import { allTensors } from './graph.js';
import { externalInfo, externalPath, isExternal, onnxTypeBytes, tensorNumel } from './tensor-data.js';

/** A decoded model and the folder its external data is read from. */
export interface LoadedModel {
  model: ModelProto;
  path: string;
  baseDir: string;
}

export interface SaveOptions {
  /** Folder the model's existing external data files are read from (the source model's folder). */
  sourceDir?: string;
  /** Move inline tensors of at least this many bytes to external data. */
  externalizeAbove?: number;
  /** File name (beside the model) for tensors newly moved to external data. */
  externalFile?: string;
}

// protobuf messages cannot exceed 2 GiB; stay clear of the limit.
const MAX_INLINE = 2 ** 31 - 2 ** 24;
const CHUNK = 64 * 2 ** 20;

/** Decode ONNX bytes, with a clear message for files that are not ONNX or are truncated. */
export function decodeModel(bytes: Uint8Array, source = '<buffer>'): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new Error(
      `${source}: not a valid ONNX model (protobuf decode failed: ${(e as Error).message}); truncated or not ONNX?`,
      {
        cause: e,
      },
    );
  }
  if (!model.graph || model.irVersion === 0n) {
    throw new Error(`${source}: not an ONNX model (no graph or IR version found)`);
  }
  return model;
}

/** Encode a model; throws when it would exceed protobuf's 2 GiB limit (use externalizeAbove then). */
export function encodeModel(model: ModelProto): Uint8Array {
  const bytes = toBinary(ModelProtoSchema, model);
  if (bytes.length > MAX_INLINE) throw new Error('model exceeds 2 GiB when encoded: save it with external data');
  return bytes;
}

/** Load a model file; external data stays on disk and is read on demand through baseDir. */
export function loadModel(path: string): LoadedModel {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Error(`${path}: no such file`);
  const size = statSync(abs).size;
  if (size > MAX_INLINE)
    throw new Error(`${path}: ${size} bytes; ONNX files over 2 GiB must keep weights as external data`);
  // A plain Uint8Array view: Buffer.slice() does not copy, and tensors are views into this data.
  const buf = readFileSync(abs);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return { model: decodeModel(bytes, path), path: abs, baseDir: dirname(abs) };
}

/** Write bytes atomically: a temporary file in the same folder, then rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** Save a model (atomic), copying external data beside it and externalizing large tensors on request. */
export function saveModel(model: ModelProto, path: string, opts: SaveOptions = {}): void {
  const out = resolve(path);
  const outDir = dirname(out);
  const files = new Map<string, number>(); // temp fd per external data file
  const restore: (() => void)[] = [];
  try {
    const tensors = allTensors(model);
    const extFile = opts.externalFile ?? `${basename(out)}.data`;
    let appendAt = 0;
    for (const t of tensors) {
      if (!isExternal(t)) continue;
      const info = externalInfo(t);
      appendAt = info.location === extFile ? Math.max(appendAt, info.offset + externalLength(t)) : appendAt;
      if (opts.sourceDir === undefined)
        throw new Error(`tensor "${t.name}" is external; SaveOptions.sourceDir is required`);
      copyExternal(t, opts.sourceDir, outDir, files);
    }
    const limit = opts.externalizeAbove ?? autoThreshold(tensors);
    if (limit !== undefined) {
      for (const t of tensors) {
        if (isExternal(t) || t.rawData.length < limit) continue;
        appendAt = align(appendAt);
        const size = t.rawData.length;
        writeAt(fdFor(outDir, extFile, files), t.rawData, appendAt);
        restore.push(externalize(t, extFile, appendAt));
        appendAt += size;
      }
    }
    const bytes = encodeModel(model);
    for (const [file, fd] of files) {
      closeSync(fd);
      files.delete(file);
      renameSync(`${externalPath(outDir, file)}.tmp-${process.pid}`, externalPath(outDir, file));
    }
    writeFileAtomic(out, bytes);
  } finally {
    for (const [file, fd] of files) {
      closeSync(fd);
      rmSync(`${externalPath(outDir, file)}.tmp-${process.pid}`, { force: true });
    }
    for (const undo of restore) undo();
  }
}

function externalLength(t: TensorProto): number {
  return externalInfo(t).length ?? tensorNumel(t) * onnxTypeBytes(t.dataType);
}

function align(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

// Externalize automatically only when the inline model would not fit in one protobuf message.
function autoThreshold(tensors: TensorProto[]): number | undefined {
  let total = 0;
  for (const t of tensors) total += t.rawData.length;
  return total > MAX_INLINE / 2 ? 1024 : undefined;
}

function fdFor(outDir: string, file: string, files: Map<string, number>): number {
  let fd = files.get(file);
  if (fd === undefined) {
    const p = `${externalPath(outDir, file)}.tmp-${process.pid}`;
    mkdirSync(dirname(p), { recursive: true });
    fd = openSync(p, 'w');
    files.set(file, fd);
  }
  return fd;
}

function writeAt(fd: number, data: Uint8Array, offset: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
}

// Same location and offset in the output keeps the model bytes identical to the source.
function copyExternal(t: TensorProto, sourceDir: string, outDir: string, files: Map<string, number>): void {
  const info = externalInfo(t);
  const length = externalLength(t);
  const dst = fdFor(outDir, info.location, files);
  const src = openSync(externalPath(sourceDir, info.location), 'r');
  try {
    const buf = new Uint8Array(Math.min(CHUNK, Math.max(length, 1)));
    for (let done = 0; done < length; ) {
      const n = readSync(src, buf, 0, Math.min(buf.length, length - done), info.offset + done);
      if (n === 0) throw new Error(`external data for "${t.name}" is truncated in ${info.location}`);
      writeAt(dst, buf.subarray(0, n), info.offset + done);
      done += n;
    }
  } finally {
    closeSync(src);
  }
}

function externalize(t: TensorProto, file: string, offset: number): () => void {
  const raw = t.rawData;
  t.rawData = new Uint8Array(0);
  t.dataLocation = TensorProto_DataLocation.EXTERNAL;
  t.externalData = [
    create(StringStringEntryProtoSchema, { key: 'location', value: file }),
    create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
    create(StringStringEntryProtoSchema, { key: 'length', value: String(raw.length) }),
  ];
  return () => {
    t.rawData = raw;
    t.dataLocation = TensorProto_DataLocation.DEFAULT;
    t.externalData = [];
  };
}
