/**
 * Per-channel activation statistics for Conv channel pruning, measured on validation rows: the mean
 * and variance of every channel where a consumer Conv reads it. Weight norms alone rank channels
 * badly when a bias or BatchNormalization shift makes a channel mostly constant, and removing such a
 * channel shifts the next layer; with these numbers conv.ts ranks channels by the variance the
 * consumer really sees and folds the mean of each removed channel into the consumer's bias.
 */
import { clone, create } from '@bufbuild/protobuf';
import { createSession, Tensor } from '../measure/ort.js';
import {
  type ModelProto,
  ModelProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from '../../gen/onnx-ml_pb.js';
import type { ValidationSet } from '../data/validation-set.js';
import { liftConstants } from '../model/lift-constants.js';
import { findChannelGroups } from './conv-groups.js';

/** Mean and variance of each channel of one tensor over samples and positions. */
export interface ChannelStat {
  mean: Float64Array;
  variance: Float64Array;
}

/** Statistics by tensor name (the data input of each consumer Conv). */
export type ChannelStats = Map<string, ChannelStat>;

/** Measure every consumer Conv input of every prunable channel group on up to `maxRows` rows (default 64). */
export async function convChannelStats(
  model: ModelProto,
  set: ValidationSet,
  o: { threads?: number; maxRows?: number; batch?: number } = {},
): Promise<ChannelStats> {
  const lifted = liftConstants(clone(ModelProtoSchema, model)).model;
  const names = [
    ...new Set(findChannelGroups(lifted.graph!).groups.flatMap((g) => g.consumers.map((c) => c.input[0]!))),
  ];
  const stats: ChannelStats = new Map();
  if (!names.length || !set.rows.length) return stats;
  const exposed = clone(ModelProtoSchema, model);
  // Element type only: onnxruntime fills in the shape.
  const tensorType = create(TypeProto_TensorSchema, { elemType: 1 });
  for (const name of names)
    exposed.graph!.output.push(
      create(ValueInfoProtoSchema, {
        name,
        type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
      }),
    );
  const session = await createSession(exposed, { threads: o.threads ?? 1 });
  const acc = new Map<string, { sum: Float64Array; sumSq: Float64Array; count: number }>();
  const rows = set.rows.slice(0, o.maxRows ?? 64);
  const batch = o.batch ?? 4;
  const rowLen = set.rowShape.reduce((a, b) => a * b, 1);
  try {
    for (let start = 0; start < rows.length; start += batch) {
      const part = rows.slice(start, start + batch);
      const data = new Float32Array(part.length * rowLen);
      part.forEach((r, i) => {
        data.set(r, i * rowLen);
      });
      const out = await session.run({ [set.input]: new Tensor('float32', data, [part.length, ...set.rowShape]) });
      for (const name of names) accumulate(acc, name, out[name]!);
    }
  } finally {
    await session.release();
  }
  for (const [name, a] of acc) {
    const mean = a.sum.map((s) => s / a.count);
    stats.set(name, { mean, variance: a.sumSq.map((s, c) => Math.max(0, s / a.count - mean[c]! ** 2)) });
  }
  return stats;
}

// Add one [N, C, spatial…] tensor's per-channel sums.
function accumulate(
  acc: Map<string, { sum: Float64Array; sumSq: Float64Array; count: number }>,
  name: string,
  t: Tensor,
): void {
  const dims = t.dims.map(Number);
  const [n, c] = [dims[0]!, dims[1]!];
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  let a = acc.get(name);
  if (!a) {
    a = { sum: new Float64Array(c), sumSq: new Float64Array(c), count: 0 };
    acc.set(name, a);
  }
  const d = t.data as Float32Array;
  for (let s = 0; s < n; s++)
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      let sq = 0;
      const base = (s * c + ch) * inner;
      for (let i = 0; i < inner; i++) {
        const v = d[base + i]!;
        sum += v;
        sq += v * v;
      }
      a.sum[ch]! += sum;
      a.sumSq[ch]! += sq;
    }
  a.count += n * inner;
}
