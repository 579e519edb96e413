/**
 * Calibration ("augment, run, reduce"): a copy of the fp32 model gets the tensors we need ranges for
 * as extra graph outputs, onnxruntime runs it over the calibration rows in batches, and the values are
 * reduced per tensor to min/max (pass 1) and, for Percentile/Entropy, a |x| histogram (pass 2, once
 * the absolute range is known, so bins never need re-merging).
 */
import { clone, create } from '@bufbuild/protobuf';
import { createSession, Tensor } from '../measure/ort.js';
import {
  type ModelProto,
  ModelProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from '../../gen/onnx-ml_pb.js';
import {
  type CalibrationMethod,
  calibratedRange,
  type Range,
  startHistogram,
  type TensorStats,
  updateHistogram,
  updateMinMax,
} from './range.js';
import { type CalibrationFeeds, FeedState } from './feeds.js';
import type { ValidationSet } from '../data/validation-set.js';

export interface CalibrationOptions {
  method: CalibrationMethod;
  percentile?: number;
  /** Entropy threshold floor as a percentile of |x| (default 99.9; 0 = pure KL). */
  entropyCoverage?: number;
  /** Histogram bins for Percentile/Entropy (default 2048; 128 would collapse Entropy to MinMax). */
  bins?: number;
  /** Rows per onnxruntime run (default 32; a model with a fixed batch dim uses that). */
  batchSize?: number;
  threads?: number;
  /** Values for the model's other inputs and recurrent state carried between runs. */
  feeds?: CalibrationFeeds;
  onProgress?: (done: number, total: number) => void;
}

/** Calibrated ranges by tensor name, plus the raw statistics for reports. */
export interface CalibrationResult {
  ranges: Map<string, Range>;
  stats: Map<string, TensorStats>;
  rows: number;
}

function dimsOf(v: ValueInfoProto): (number | string)[] {
  const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  return (tt?.shape?.dim ?? []).map((d) =>
    d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?',
  );
}

/** Check that the rows fit the model input they feed; throws naming the input and both shapes. */
export function checkDataShape(model: ModelProto, set: ValidationSet, provided: string[] = []): void {
  const g = model.graph!;
  const init = new Set(g.initializer.map((t) => t.name));
  const inputs = g.input.filter((v) => !init.has(v.name));
  const target = inputs.find((v) => v.name === set.input);
  if (!target)
    throw new Error(
      `data feeds input "${set.input}", but the model's inputs are ${inputs.map((v) => `"${v.name}"`).join(', ')}`,
    );
  const others = inputs.filter((v) => v !== target && !provided.includes(v.name)).map((v) => v.name);
  if (others.length)
    throw new Error(
      `the model also needs inputs ${others.join(', ')}; data can feed only "${set.input}" (give the others with --feed NAME=VALUE)`,
    );
  const dims = dimsOf(target);
  const rowDims = dims.slice(1);
  const fits =
    dims.length === 0 ||
    (rowDims.length === set.rowShape.length && rowDims.every((d, i) => typeof d !== 'number' || d === set.rowShape[i]));
  if (!fits)
    throw new Error(
      `data does not match input "${set.input}": rows are [N,${set.rowShape.join(',')}] but the model expects [${dims.join(',')}]`,
    );
}

// A fixed batch dim forces whole batches of that size; a dynamic one takes a partial last batch.
function batchSizeFor(model: ModelProto, set: ValidationSet, wanted: number): { batch: number; fixed: boolean } {
  const v = model.graph!.input.find((x) => x.name === set.input);
  const d0 = v ? dimsOf(v)[0] : undefined;
  return typeof d0 === 'number' && d0 > 0 ? { batch: d0, fixed: true } : { batch: wanted, fixed: false };
}

/** A copy of the model with `tensors` added as float graph outputs. */
export function augmentOutputs(model: ModelProto, tensors: string[]): ModelProto {
  const out = clone(ModelProtoSchema, model);
  const g = out.graph!;
  const have = new Set(g.output.map((v) => v.name));
  for (const t of tensors) {
    if (have.has(t)) continue;
    // Element type only: onnxruntime infers the shape of an output it produces.
    const tensorType = create(TypeProto_TensorSchema, { elemType: 1 });
    const type = create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } });
    g.output.push(create(ValueInfoProtoSchema, { name: t, type }));
  }
  return out;
}

/** Run the augmented model over the rows and reduce each tensor to its calibrated range. */
export async function calibrate(
  model: ModelProto,
  set: ValidationSet,
  tensors: string[],
  o: CalibrationOptions,
): Promise<CalibrationResult> {
  checkDataShape(model, set, Object.keys(o.feeds?.inputs ?? {}));
  const stats = new Map<string, TensorStats>(
    tensors.map((t) => [t, { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY }]),
  );
  const { batch, fixed } = batchSizeFor(model, set, o.batchSize ?? 32);
  const usable = fixed ? set.rows.length - (set.rows.length % batch) : set.rows.length;
  if (usable === 0)
    throw new Error(`calibration needs at least ${batch} rows (the model's batch size); got ${set.rows.length}`);
  const passes = o.method === 'minmax' ? 1 : 2;
  // Level 'basic' only folds constants: every requested tensor survives as an output.
  const session = await createSession(augmentOutputs(model, tensors), { threads: o.threads ?? 1, level: 'basic' });
  try {
    const steps = Math.ceil(usable / batch) * passes;
    let done = 0;
    const fetch = [...new Set([...tensors, ...new FeedState(o.feeds).carryOutputs])];
    for (let pass = 0; pass < passes; pass++) {
      if (pass === 1) for (const s of stats.values()) startHistogram(s, o.bins ?? 2048);
      // Each pass replays the rows from the starting state, so both see the same values.
      const extra = new FeedState(o.feeds);
      for (let start = 0; start < usable; start += batch) {
        const rows = Math.min(batch, usable - start);
        const outs = await session.run({ ...extra.next(rows), ...feedsFor(set, start, rows) }, fetch);
        extra.update(outs);
        for (const t of tensors) {
          const data = outs[t]!.data as Float32Array;
          if (pass === 0) updateMinMax(stats.get(t)!, data);
          else updateHistogram(stats.get(t)!, data);
        }
        o.onProgress?.(++done, steps);
      }
    }
  } finally {
    await session.release();
  }
  const ranges = new Map<string, Range>();
  for (const [t, s] of stats)
    ranges.set(
      t,
      calibratedRange(s, { method: o.method, percentile: o.percentile, entropyCoverage: o.entropyCoverage }),
    );
  return { ranges, stats, rows: usable };
}

function feedsFor(set: ValidationSet, start: number, batch: number): Record<string, Tensor> {
  const len = set.rowShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * len);
  for (let i = 0; i < batch; i++) data.set(set.rows[start + i]!, i * len);
  return { [set.input]: new Tensor('float32', data, [batch, ...set.rowShape]) };
}
