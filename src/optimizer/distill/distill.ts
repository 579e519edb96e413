/**
 * Knowledge distillation into a small MLP student: the teacher (any ONNX classifier) labels the
 * transfer rows with onnxruntime, the student learns its softened logits (plus hard labels where
 * given) in plain TypeScript, and a baseline student with the same architecture, seed and schedule
 * learns the hard labels only — distillation does not always win, so both are always reported.
 */
import { createSession, Tensor } from '../measure/ort.js';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { distillRowGrad, type LossConfig } from './loss.js';
import type { ValidationSet } from '../data/validation-set.js';
import { Adam, type DenseLayer, forward, backward, initMlp, seededRandom } from './mlp-student.js';
import { exportStudent } from './student-export.js';

export interface DistillOptions extends LossConfig {
  hidden: number[];
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  threads?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface TeacherOutputs {
  logits: Float32Array;
  classes: number;
  /** The teacher's output was probabilities (its log is used as logits). */
  probabilities: boolean;
  output: string;
}

export interface DistillResult {
  student: ModelProto;
  baseline: ModelProto;
  /** Rows labelled by hand vs by the teacher only. */
  labelledRows: number;
  transferRows: number;
  /** Where the baseline's hard labels came from. */
  baselineLabels: 'given labels' | "teacher's argmax";
  losses: { student: number[]; baseline: number[] };
}

/** Run the teacher over every row (batches of 256) and return its logits. */
export async function teacherLogits(teacher: ModelProto, set: ValidationSet, threads = 1): Promise<TeacherOutputs> {
  const s = await createSession(teacher, { threads });
  const len = set.rowShape.reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  let classes = 0;
  try {
    for (let i = 0; i < set.rows.length; i += 256) {
      const rows = set.rows.slice(i, i + 256);
      const x = new Float32Array(rows.length * len);
      for (const [j, r] of rows.entries()) x.set(r, j * len);
      const out = (await s.run({ [set.input]: new Tensor('float32', x, [rows.length, ...set.rowShape]) }))[
        s.outputNames[0]!
      ]!;
      if (out.dims.length !== 2)
        throw new Error(`teacher output "${s.outputNames[0]}" is [${out.dims}], not [N, classes]`);
      classes = Number(out.dims[1]);
      parts.push(out.data as Float32Array);
    }
  } finally {
    await s.release();
  }
  const logits = new Float32Array(set.rows.length * classes);
  let off = 0;
  for (const p of parts) {
    logits.set(p, off);
    off += p.length;
  }
  const probabilities = looksLikeProbabilities(logits, classes);
  if (probabilities) for (let i = 0; i < logits.length; i++) logits[i] = Math.log(Math.max(logits[i]!, 1e-12));
  return { logits, classes, probabilities, output: s.outputNames[0]! };
}

// Non-negative rows that sum to 1: softmax outputs, whose log are logits up to a constant.
function looksLikeProbabilities(y: Float32Array, classes: number): boolean {
  for (let r = 0; r * classes < y.length; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = y[r * classes + c]!;
      if (v < 0) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return y.length > 0;
}

/** Train one student on the transfer rows; teacher undefined trains on hard labels only. */
export function trainStudent(
  set: ValidationSet,
  labels: (number | undefined)[],
  teacher: TeacherOutputs | undefined,
  classes: number,
  o: DistillOptions,
  stage: string,
): { layers: DenseLayer[]; losses: number[] } {
  const len = set.rowShape.reduce((a, b) => a * b, 1);
  const layers = initMlp([len, ...o.hidden, classes], o.seed);
  const adam = new Adam(layers, o.lr);
  const next = seededRandom(o.seed + 1);
  // The baseline sees only rows with a label; the student sees every row.
  const rows = set.rows.map((_, i) => i).filter((i) => teacher || labels[i] !== undefined);
  const losses: number[] = [];
  for (let e = 0; e < o.epochs; e++) {
    shuffle(rows, next);
    let total = 0;
    for (let s = 0; s < rows.length; s += o.batchSize) {
      const idx = rows.slice(s, s + o.batchSize);
      const x = new Float32Array(idx.length * len);
      for (const [j, r] of idx.entries()) x.set(set.rows[r]!, j * len);
      const acts = forward(layers, x, idx.length);
      const z = acts[acts.length - 1]!;
      const dz = new Float32Array(z.length);
      const t = teacher ? gatherRows(teacher.logits, idx, classes) : undefined;
      idx.forEach((r, j) => {
        total += distillRowGrad(z, j, classes, t, labels[r], o, idx.length, dz);
      });
      adam.step(layers, backward(layers, acts, dz, idx.length));
    }
    losses.push(total / Math.max(rows.length, 1));
    o.onProgress?.(stage, e + 1, o.epochs);
  }
  return { layers, losses };
}

function gatherRows(a: Float32Array, idx: number[], width: number): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (const [j, r] of idx.entries()) out.set(a.subarray(r * width, (r + 1) * width), j * width);
  return out;
}

function shuffle(a: number[], next: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

/** Distil `teacher` into an MLP student and train the hard-label baseline beside it. */
export async function distill(teacher: ModelProto, transfer: ValidationSet, o: DistillOptions): Promise<DistillResult> {
  if (transfer.rows.length === 0) throw new Error('distill: no transfer rows');
  const t = await teacherLogits(teacher, transfer, o.threads);
  const given = transfer.labels;
  const labels: (number | undefined)[] = transfer.rows.map((_, i) => {
    const v = given?.[i];
    return v === undefined || v < 0 ? undefined : v;
  });
  const labelledRows = labels.filter((v) => v !== undefined).length;
  // Without any label the baseline learns the teacher's argmax as hard labels (pseudo-labels).
  const baselineLabels = labelledRows > 0 ? labels : transfer.rows.map((_, i) => argmaxRow(t.logits, i, t.classes));
  const s = trainStudent(transfer, labels, t, t.classes, o, 'distill student');
  const b = trainStudent(transfer, baselineLabels, undefined, t.classes, o, 'baseline student');
  const io = { input: transfer.input, rowShape: transfer.rowShape, output: t.output, probabilities: t.probabilities };
  const arch = [transfer.rowShape.reduce((a, c) => a * c, 1), ...o.hidden, t.classes].join('-');
  return {
    student: exportStudent(s.layers, io, `student MLP ${arch} distilled (T=${o.temperature}, alpha=${o.alpha})`),
    baseline: exportStudent(b.layers, io, `student MLP ${arch} trained on hard labels only (baseline)`),
    labelledRows,
    transferRows: transfer.rows.length,
    baselineLabels: labelledRows > 0 ? 'given labels' : "teacher's argmax",
    losses: { student: s.losses, baseline: b.losses },
  };
}

function argmaxRow(a: Float32Array, r: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (a[r * n + c]! > a[r * n + best]!) best = c;
  return best;
}
