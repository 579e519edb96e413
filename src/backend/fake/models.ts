/** Ready-made fake model definitions: signatures plus a pure compute function. */
import {
  type DataType,
  InferError,
  isBytesData,
  type ModelIO,
  type NumericArray,
  type Tensor,
} from '../../core/index.js';

/** A fake model: what inspect reports and what execute computes. */
export interface FakeModelDef {
  io: ModelIO;
  /** Outputs for the given inputs (already in the model's shapes). Default: identity, input i → output i. */
  compute?: (inputs: Tensor[]) => Tensor[];
  /** Per-execution delay (setTimeout, so fake timers can drive it). */
  delayMs?: number;
  /** When set, load rejects with IG_ERR_MODEL_LOAD and this reason. */
  failLoad?: string;
  /** What each instance reports holding (LoadedModel.memoryBytes sums them). Default 1 MiB. */
  memoryBytes?: number;
}

/** Copies inputs to outputs by position, renaming to the signature's output names. */
export function identityCompute(io: ModelIO): (inputs: Tensor[]) => Tensor[] {
  return (inputs) =>
    inputs.map((t, i) => {
      const name = io.outputs[i]?.name;
      if (name === undefined) throw new InferError('IG_ERR_MODEL_EXECUTION', `unexpected input '${t.name}'`);
      const data = isBytesData(t.data) ? t.data.map((e) => e.slice()) : t.data.slice();
      return { name, datatype: t.datatype, shape: [...t.shape], data };
    });
}

function plusOne(a: NumericArray): NumericArray {
  const out = a.slice();
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) for (let i = 0; i < out.length; i++) out[i]! += 1n;
  else for (let i = 0; i < out.length; i++) out[i]! += 1;
  return out;
}

/** y = Identity(x) for one datatype; shape [-1, ...dims]. */
export function identityModel(datatype: DataType = 'FP32', dims: number[] = [4]): FakeModelDef {
  const shape = [-1, ...dims];
  const io: ModelIO = { inputs: [{ name: 'x', datatype, shape }], outputs: [{ name: 'y', datatype, shape }] };
  return { io, compute: identityCompute(io) };
}

/** y = x + 1 (numeric datatypes); shape [-1, ...dims]. */
export function addOneModel(datatype: DataType = 'FP32', dims: number[] = [4]): FakeModelDef {
  const shape = [-1, ...dims];
  const io: ModelIO = { inputs: [{ name: 'x', datatype, shape }], outputs: [{ name: 'y', datatype, shape }] };
  const compute = (inputs: Tensor[]): Tensor[] => {
    const x = inputs.find((t) => t.name === 'x');
    if (x === undefined || isBytesData(x.data))
      throw new InferError('IG_ERR_MODEL_EXECUTION', "input 'x' missing or not numeric");
    return [{ name: 'y', datatype: x.datatype, shape: [...x.shape], data: plusOne(x.data) }];
  };
  return { io, compute };
}
