/**
 * What every `optimize` command shares: option value parsers, the checked number readers (each
 * error names the flag and the value), the output and validation-data options of the commands that
 * make a variant, and loading their data.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { loadDataFor } from '../../optimizer/data/load.js';
import type { ValidationSet } from '../../optimizer/data/validation-set.js';
import { type LoadedModel, loadModel } from '../../optimizer/model/io.js';

/** `--shape NAME=DxD…` (repeatable) into a map of shapes. */
export function parseShape(v: string, prev: Record<string, number[]> = {}): Record<string, number[]> {
  const m = /^([^=]+)=(\d+(?:[x,]\d+)*)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected NAME=DxDxD, e.g. x=1x3x48x320 (got "${v}")`);
  return { ...prev, [m[1]!]: m[2]!.split(/[x,]/).map(Number) };
}

/** A repeatable option's values, in order. */
export const repeat = (v: string, prev: string[]) => [...prev, v];

/** A comma-separated list, blanks dropped. */
export const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A whole number >= min. */
export function wholeNumber(text: string, flag: string, min: number): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} "${text}": expected a whole number >= ${min}`);
  return n;
}

/** A finite number in [min, max]. */
export function numberIn(text: string, flag: string, min: number, max: number): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${flag} "${text}": expected a number from ${min} to ${max}`);
  return n;
}

/** A finite number above 0 (a learning rate or a temperature). */
export function positiveNumber(text: string, flag: string): number {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} "${text}": expected a number above 0`);
  return n;
}

/** Options every variant-making command shares. */
export interface OutputOpts {
  out?: string;
  modelDir?: string;
  data?: string;
  labels?: string;
  input?: string;
  rowShape?: string;
  report?: string;
  threads: string;
  batches: string;
}

/** Add the shared output, data and measurement options to a variant-making command. */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--out <file>', 'write the variant to this file')
    .option('--model-dir <dir>', 'write the variant as the next version <dir>/<n>/model.onnx with lineage.json')
    .option(
      '--data <file>',
      'validation inputs (.npy, first axis = samples; or .jsonl with {"input": [...], "label": n})',
    )
    .option('--labels <file>', 'labels .npy for --data .npy (classifier top-1)')
    .option('--input <name>', 'model input the data feeds (default: the first input)')
    .option('--row-shape <DxD>', 'row shape for .jsonl data (default: from the model input)')
    .option('--report <file>', 'report JSON path (default: beside the variant); an HTML page is written beside it')
    .option('--threads <n>', 'intra-op threads for measurements', '1')
    .option('--batches <list>', 'batch sizes for latency', '1,32');
}

/** --threads, checked. */
export const threadsOf = (o: OutputOpts): number => wholeNumber(o.threads, '--threads', 1);

/** --batches as numbers. */
export const batchesOf = (o: OutputOpts): number[] => o.batches.split(',').map(Number);

export function requireOutput(o: OutputOpts): void {
  if (!o.out && !o.modelDir) throw new Error('give --out FILE or --model-dir DIR for the variant');
}

/** Rows from a data file or folder for the model's input, with the shared --input/--labels/--row-shape. */
export function loadSet(src: LoadedModel, path: string, o: OutputOpts): Promise<ValidationSet> {
  const opts = { input: o.input, labels: o.labels, rowShape: o.rowShape?.split(/[x,]/).map(Number) };
  return loadDataFor(src.model, path, opts);
}

/** The model and its --data rows, for a command that cannot run without them (`missing` says so). */
export async function modelWithData(
  path: string,
  o: OutputOpts,
  missing: string,
): Promise<{ src: LoadedModel; set: ValidationSet }> {
  requireOutput(o);
  if (!o.data) throw new Error(missing);
  const src = loadModel(path);
  return { src, set: await loadSet(src, o.data, o) };
}
