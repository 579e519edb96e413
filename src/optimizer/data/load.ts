/**
 * Validation data readers: .npy (any numeric dtype, C order; first axis = samples; npy.ts) with an
 * optional labels .npy, .npz archives of them (inputs under the model input's name, "x" or the first
 * array; labels under "labels", "label" or "y"), JSON lines ({"input": [...], "label": 3} per line),
 * and folders of images with a preprocessing spec (image-folder.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import type { ValidationSet } from './validation-set.js';
import { imageFolderSet } from './image-folder.js';
import { parseNpyFloat64, readNpyFloat64 } from './npy.js';
import { openZip } from './zip.js';

/** A validation set from an inputs .npy and an optional labels .npy. */
export function npySet(input: string, path: string, labelsPath?: string): ValidationSet {
  const x = readNpyFloat64(path);
  const rowShape = x.shape.slice(1);
  const len = rowShape.reduce((a, b) => a * b, 1);
  const rows = Array.from({ length: x.shape[0] ?? 0 }, (_, i) =>
    Float32Array.from(x.data.subarray(i * len, (i + 1) * len)),
  );
  const set: ValidationSet = { input, rowShape, rows };
  if (labelsPath) set.labels = Array.from(readNpyFloat64(labelsPath).data);
  return set;
}

/** A validation set from JSON lines with "input" (flat or nested array) and optional "label". */
export function jsonlSet(input: string, path: string, rowShape: number[]): ValidationSet {
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  const len = rowShape.reduce((a, b) => a * b, 1);
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const obj = JSON.parse(line) as { input?: unknown; label?: number };
      const flat = Float32Array.from((Array.isArray(obj.input) ? obj.input.flat(8) : []) as number[]);
      if (flat.length !== len)
        throw new Error(
          `${path}:${i + 1}: input has ${flat.length} values, the model row needs ${len} ([${rowShape}])`,
        );
      rows.push(flat);
      if (typeof obj.label === 'number') labels.push(obj.label);
    });
  const set: ValidationSet = { input, rowShape, rows };
  if (labels.length === rows.length && rows.length > 0) set.labels = labels;
  return set;
}

export interface DataOptions {
  /** Model input the rows feed (default: the first non-initializer input). */
  input?: string;
  /** Labels .npy for an inputs .npy. */
  labels?: string;
  /** Row shape for .jsonl data (default: the model input's dims after the batch dim). */
  rowShape?: number[];
  /** Preprocessing spec file for an image folder (default: <folder>/preprocess.json). */
  preprocess?: string;
}

/**
 * Load a validation/calibration set (.npy, .npz, .jsonl or an image folder) for a model's input;
 * async because the .npz reader is.
 */
export async function loadDataFor(model: ModelProto, path: string, o: DataOptions = {}): Promise<ValidationSet> {
  const g = model.graph!;
  const init = new Set(g.initializer.map((t) => t.name));
  const first = g.input.find((v) => !init.has(v.name));
  const input = o.input ?? first?.name ?? 'input';
  if (extname(path) === '.npy') return npySet(input, path, o.labels);
  if (extname(path) === '.npz') return npzSet(input, path);
  if (statSync(path).isDirectory()) return imageFolderSet(input, path, o.preprocess);
  const target = g.input.find((v) => v.name === input);
  const tt = target?.type?.value.case === 'tensorType' ? target.type.value.value : undefined;
  const dims = (tt?.shape?.dim ?? []).slice(1);
  const rowShape = o.rowShape ?? dims.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : Number.NaN));
  if (rowShape.some((d) => !Number.isFinite(d)))
    throw new Error(`input "${input}" has dynamic dims: pass --row-shape for ${basename(path)}`);
  return jsonlSet(input, path, rowShape);
}

const LABEL_NAMES = ['labels', 'label', 'y'];

/** A validation set from an .npz: inputs and optional labels as arrays inside one zip. */
export async function npzSet(input: string, path: string): Promise<ValidationSet> {
  const zip = await openZip(readFileSync(path), path);
  const arrays = zip.names.filter((n) => n.endsWith('.npy')).map((n) => n.slice(0, -4));
  const has = (name: string) => arrays.includes(name);
  const xName = [input, 'x', 'arr_0'].find(has) ?? arrays.find((n) => !LABEL_NAMES.includes(n));
  if (xName === undefined) throw new Error(`${path}: no input array (looked for "${input}", "x", "arr_0")`);
  const x = parseNpyFloat64(await zip.read(`${xName}.npy`), `${path}:${xName}.npy`);
  const rowShape = x.shape.slice(1);
  const len = rowShape.reduce((a, b) => a * b, 1);
  const rows = Array.from({ length: x.shape[0] ?? 0 }, (_, i) =>
    Float32Array.from(x.data.subarray(i * len, (i + 1) * len)),
  );
  const set: ValidationSet = { input, rowShape, rows };
  const yName = LABEL_NAMES.find(has);
  if (yName !== undefined) {
    const y = parseNpyFloat64(await zip.read(`${yName}.npy`), `${path}:${yName}.npy`);
    if (y.data.length !== rows.length)
      throw new Error(`${path}: ${yName}.npy has ${y.data.length} labels for ${rows.length} rows`);
    set.labels = Array.from(y.data);
  }
  return set;
}
