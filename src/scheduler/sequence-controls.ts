/**
 * The tensors the sequence batcher adds to each row of a batch, pure: the control inputs (START,
 * END, READY, CORRID; shape [1], [1,1] when the model batches, as Triton feeds them), the state
 * inputs (the sequence's last state output, or zeros at its START), and the zero rows that pad a
 * direct batch (READY = 0). Also the checks a sequence request gets before it queues.
 */
import {
  arrayCtor,
  type InferError,
  invalidArg,
  type SequenceBatchingSpec,
  type SequenceControlSpec,
  type Tensor,
} from '../core/index.js';
import type { Job, SequenceFlags } from './types.js';

/** A correlation id as a map key ('u:<n>' or 's:<text>'); undefined when the request is in no sequence. */
export function correlationKey(flags: SequenceFlags | undefined): string | undefined {
  if (!flags) return undefined;
  const { id } = flags;
  if (typeof id === 'string') return id === '' ? undefined : `s:${id}`;
  const n = BigInt(id);
  return n === 0n ? undefined : `u:${n}`;
}

const RANGES: Partial<Record<string, [bigint, bigint]>> = {
  INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  UINT32: [0n, 2n ** 32n - 1n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

/**
 * Why a job cannot join a sequence (Triton's texts where it has them), or undefined. `model`
 * names the model in the message.
 */
export function refuseSequenceJob(model: string, spec: SequenceBatchingSpec, job: Job): InferError | undefined {
  if (correlationKey(job.sequence) === undefined)
    return invalidArg(`inference request to model '${model}' must specify a non-zero or non-empty correlation ID`);
  if (job.batchSize > 1)
    return invalidArg(
      `inference request to model '${model}' must specify batch-size 1 due to requirements of sequence batcher`,
    );
  const corrid = spec.controls.find((c) => c.kind === 'corrid');
  const id = job.sequence!.id;
  if (corrid && corrid.datatype !== 'BYTES') {
    if (typeof id === 'string')
      return invalidArg(
        `sequence id '${id}' is a string, but model '${model}' takes its correlation ID as ${corrid.datatype}`,
      );
    const [lo, hi] = RANGES[corrid.datatype]!;
    const n = BigInt(id);
    if (n < lo || n > hi)
      return invalidArg(`sequence id ${n} does not fit the ${corrid.datatype} correlation ID of model '${model}'`);
  }
  return undefined;
}

/** What one row of a batch is: a request of a sequence, or padding (no request). */
export interface RowControl {
  flags?: SequenceFlags;
}

function controlTensor(c: SequenceControlSpec, row: RowControl, batched: boolean): Tensor {
  const shape = batched ? [1, 1] : [1];
  if (c.kind === 'corrid') {
    const id = row.flags?.id ?? 0;
    if (c.datatype === 'BYTES')
      return { name: c.input, datatype: 'BYTES', shape, data: [new TextEncoder().encode(String(id))] };
    const Ctor = arrayCtor(c.datatype as Exclude<typeof c.datatype, 'BYTES'>);
    const big = c.datatype === 'INT64' || c.datatype === 'UINT64';
    const data = new Ctor(1) as Int32Array | BigInt64Array;
    data[0] = (big ? BigInt(id) : Number(id)) as never;
    return { name: c.input, datatype: c.datatype, shape, data };
  }
  const on = row.flags !== undefined && (c.kind === 'ready' || (c.kind === 'start' ? row.flags.start : row.flags.end));
  const Ctor = arrayCtor(c.datatype as Exclude<typeof c.datatype, 'BYTES'>);
  const data = new Ctor(1) as Float32Array;
  data[0] = c.falseTrue![on ? 1 : 0]!;
  return { name: c.input, datatype: c.datatype, shape, data };
}

/** Zeros of `t`'s datatype and shape (BYTES: empty elements). */
export function zerosLike(t: Pick<Tensor, 'name' | 'datatype' | 'shape'>): Tensor {
  const count = t.shape.reduce((a, d) => a * d, 1);
  if (t.datatype === 'BYTES')
    return {
      name: t.name,
      datatype: t.datatype,
      shape: [...t.shape],
      data: Array.from({ length: count }, () => new Uint8Array(0)),
    };
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data: new (arrayCtor(t.datatype))(count) };
}

/**
 * A request's inputs as the model runs them: its own, the control tensors, and each state input
 * (the sequence's saved state unless this request STARTs it, else zeros of the initial shape).
 */
export function sequenceRow(
  spec: SequenceBatchingSpec,
  batched: boolean,
  inputs: readonly Tensor[],
  flags: SequenceFlags,
  saved: ReadonlyMap<string, Tensor> | undefined,
): Tensor[] {
  const out = [...inputs, ...spec.controls.map((c) => controlTensor(c, { flags }, batched))];
  for (const s of spec.states) {
    const kept = flags.start ? undefined : saved?.get(s.input);
    const shape = batched ? [1, ...s.initialDims] : [...s.initialDims];
    out.push(kept ? { ...kept, name: s.input } : zerosLike({ name: s.input, datatype: s.datatype, shape }));
  }
  return out;
}

/** A padding row shaped like `like` (a real row of the same batch): zeros, every control false. */
export function paddingRow(spec: SequenceBatchingSpec, batched: boolean, like: readonly Tensor[]): Tensor[] {
  const controls = new Set(spec.controls.map((c) => c.input));
  const data = like.filter((t) => !controls.has(t.name)).map(zerosLike);
  return [...data, ...spec.controls.map((c) => controlTensor(c, {}, batched))];
}

/** The state outputs of one request's answer, keyed by the state input they feed next. */
export function savedState(spec: SequenceBatchingSpec, outputs: readonly Tensor[]): Map<string, Tensor> {
  const saved = new Map<string, Tensor>();
  for (const s of spec.states) {
    const t = outputs.find((o) => o.name === s.output);
    if (t) saved.set(s.input, t);
  }
  return saved;
}
