/**
 * Measure an original model and its variants side by side: size, interleaved latency, accuracy on
 * the validation set, and the int8 kernels onnxruntime fused. Produces the OptimizeReport.
 */
import * as ort from 'onnxruntime-node';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { cpuInfo } from './cpu.js';
import { compareOnSet } from './evaluate.js';
import type { ValidationSet } from '../data/validation-set.js';
import { encodeModel } from '../model/io.js';
import { measureLatency } from './latency.js';
import { createSession, fusionCheck } from './ort.js';
import type { OptimizeReport, VariantReport } from './report-types.js';

export interface Candidate {
  name: string;
  model: ModelProto;
  /** Whether to list fused int8 kernels (quantized variants). */
  checkFusion?: boolean;
  notes?: string[];
}

export interface CompareOptions {
  batches?: number[];
  threads?: number;
  rounds?: number;
  itersPerRound?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

// Latency feeds: validation rows repeated to fill the batch.
function feedsFrom(set: ValidationSet): (batch: number) => Record<string, ort.Tensor> {
  const len = set.rowShape.reduce((a, b) => a * b, 1);
  return (batch) => {
    const data = new Float32Array(batch * len);
    for (let i = 0; i < batch; i++) data.set(set.rows[i % set.rows.length]!, i * len);
    return { [set.input]: new ort.Tensor('float32', data, [batch, ...set.rowShape]) };
  };
}

/** Compare `original` (first row) with each candidate on `set`. */
export async function compareVariants(
  name: string,
  original: ModelProto,
  candidates: Candidate[],
  set: ValidationSet,
  o: CompareOptions = {},
): Promise<OptimizeReport> {
  const threads = o.threads ?? 1;
  const all: Candidate[] = [{ name: 'fp32 (original)', model: original }, ...candidates];
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const c of all) sessions[c.name] = await createSession(c.model, { threads });
  try {
    const reports: VariantReport[] = [];
    for (const [i, c] of all.entries()) {
      const v: VariantReport = { name: c.name, sizeBytes: encodeModel(c.model).length, latency: [] };
      if (i > 0) v.accuracy = await compareOnSet(sessions[all[0]!.name]!, sessions[c.name]!, set);
      if (c.checkFusion) v.fusion = await fusionCheck(c.model);
      if (c.notes) v.notes = c.notes;
      reports.push(v);
      o.onProgress?.('accuracy', i + 1, all.length);
    }
    // The original's own top-1 on the labels, for the first row.
    if (set.labels && reports[1]?.accuracy?.top1Original !== undefined) {
      reports[0]!.accuracy = {
        samples: set.rows.length,
        maxAbsErr: 0,
        meanAbsErr: 0,
        agreement: 1,
        top1: reports[1].accuracy.top1Original,
        top1Original: reports[1].accuracy.top1Original,
      };
    }
    const lat = await measureLatency(sessions, feedsFrom(set), {
      batches: o.batches ?? [1, 32],
      rounds: o.rounds ?? 5,
      itersPerRound: o.itersPerRound ?? 30,
      onRound: (d, t) => o.onProgress?.('latency', d, t),
    });
    for (const v of reports) v.latency = lat[v.name] ?? [];
    return {
      model: name,
      created: new Date().toISOString(),
      machine: { ...cpuInfo(), threads, onnxruntime: ort.env.versions.common },
      variants: reports,
    };
  } finally {
    for (const s of Object.values(sessions)) await s.release();
  }
}
