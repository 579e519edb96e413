/**
 * Feeding the model inputs that calibration rows do not cover: a stateful model (Silero VAD: audio
 * frames plus `sr` and a recurrent `state`) needs values for every input, and its state should come
 * from running on the audio before rather than zeros, or the ranges after the recurrent layer are
 * those of a cold start. `inputs` gives starting values; `carry` feeds an output back into an input
 * on the next run, so consecutive batches continue their streams.
 */
import { Tensor } from '../measure/ort.js';
import type { ModelProto, ValueInfoProto } from '../../gen/onnx-ml_pb.js';
import { TensorProto_DataType as DT } from '../../gen/onnx-ml_pb.js';

/** A fixed tensor, or one built for the batch size of the run. */
export type FeedValue = Tensor | ((batch: number) => Tensor);

export interface CalibrationFeeds {
  /** Values of the model's other inputs (by input name). */
  inputs?: Record<string, FeedValue>;
  /** Output name → the input it feeds on the next run (recurrent state). */
  carry?: Record<string, string>;
}

/** The extra feeds of one calibration run, with carried state kept between runs. */
export class FeedState {
  private carried = new Map<string, Tensor>();
  private lastBatch = -1;

  constructor(private readonly feeds: CalibrationFeeds = {}) {}

  /** Outputs the run must fetch so state can be carried. */
  get carryOutputs(): string[] {
    return Object.keys(this.feeds.carry ?? {});
  }

  /** Feeds besides the data input for a run of `batch` rows. */
  next(batch: number): Record<string, Tensor> {
    // A batch of another size (the last, partial one) cannot continue the carried streams.
    if (batch !== this.lastBatch) this.carried.clear();
    this.lastBatch = batch;
    const out: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(this.feeds.inputs ?? {}))
      out[name] = this.carried.get(name) ?? (typeof v === 'function' ? v(batch) : v);
    return out;
  }

  /** Keep the carried outputs of a finished run. */
  update(outputs: Record<string, Tensor>): void {
    for (const [from, to] of Object.entries(this.feeds.carry ?? {})) {
      const t = outputs[from];
      if (t) this.carried.set(to, t);
    }
  }
}

function tensorTypeOf(v: ValueInfoProto) {
  return v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
}

/**
 * Parse "name=value" for a model input: every element gets `value`; unknown and symbolic dims take the
 * batch size of the run (so "state=0" makes a zero state of the right shape), fixed dims stay.
 */
export function parseFeed(model: ModelProto, text: string): [string, FeedValue] {
  const m = /^([^=]+)=(-?\d+(?:\.\d+)?(?:e-?\d+)?)$/i.exec(text.trim());
  if (!m) throw new Error(`--feed "${text}": expected NAME=NUMBER, e.g. sr=16000 or state=0`);
  const [name, value] = [m[1]!, Number(m[2])];
  const v = model.graph!.input.find((x) => x.name === name);
  if (!v) throw new Error(`--feed "${text}": the model has no input "${name}"`);
  const tt = tensorTypeOf(v);
  const dims = (tt?.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : undefined));
  const make = (batch: number): Tensor => {
    const shape = dims.map((d) => d ?? batch);
    const n = shape.reduce((a, b) => a * b, 1);
    switch (tt?.elemType) {
      case DT.INT64:
        return new Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.round(value))), shape);
      case DT.INT32:
        return new Tensor('int32', new Int32Array(n).fill(Math.round(value)), shape);
      case DT.BOOL:
        return new Tensor('bool', new Uint8Array(n).fill(value ? 1 : 0), shape);
      case DT.FLOAT:
      case undefined:
        return new Tensor('float32', new Float32Array(n).fill(value), shape);
      default:
        throw new Error(
          `--feed "${text}": input "${name}" has element type ${tt?.elemType}; only float, int32, int64, bool`,
        );
    }
  };
  return [name, make];
}

/** Parse "output=input" pairs of --carry. */
export function parseCarry(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of items) {
    const m = /^([^=]+)=([^=]+)$/.exec(i.trim());
    if (!m) throw new Error(`--carry "${i}": expected OUTPUT=INPUT, e.g. stateN=state`);
    out[m[1]!] = m[2]!;
  }
  return out;
}
