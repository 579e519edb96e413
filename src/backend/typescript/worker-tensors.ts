/**
 * Tensors inside a TypeScript model's worker: wire tensors (and a batch's rows, joined here, off
 * the event loop) → the model's `Tensors`; what the model returns → wire tensors, checked against
 * the config first. Every refusal is a TensorRefusal whose message names the tensor.
 */
import {
  arrayCtor,
  type DataType,
  elementCount,
  isBigIntType,
  isDataType,
  type NumericArray,
  type Tensor as CoreTensor,
} from '../../core/index.js';
import type { PackedBytes, WireRows, WireTensor } from '../ort/messages.js';
import { isPacked, packBytes, tensorToWire, unpackBytes } from '../ort/wire.js';
import type { DeclaredTensor, OutputTensor, Tensor, Tensors } from './api.js';

/** A tensor the model returned (or passed to `client.infer`) that cannot be used as it is. */
export class TensorRefusal extends Error {}

const encoder = new TextEncoder();

/** One wire input (a batch's rows joined along dim 0) as the model sees it. */
function fromWire(w: WireTensor | WireRows): Tensor {
  const { datatype, shape } = w;
  if (!('rows' in w)) return { datatype, shape, data: isPacked(w.data) ? unpackBytes(w.data) : w.data };
  if (datatype === 'BYTES') return { datatype, shape, data: (w.rows as PackedBytes[]).flatMap(unpackBytes) };
  const parts = w.rows as NumericArray[];
  const joined = new (arrayCtor(datatype))(parts.reduce((n, p) => n + p.length, 0)) as Uint8Array;
  // Same typed array type for every row (one datatype), so each set() is a plain copy.
  parts.reduce((at, p) => {
    joined.set(p as Uint8Array, at);
    return at + p.length;
  }, 0);
  return { datatype, shape, data: joined as NumericArray };
}

/** The inputs of a run, by name. */
export function inputsFromWire(wire: ReadonlyArray<WireTensor | WireRows>): Tensors {
  const out: Tensors = {};
  for (const w of wire) out[w.name] = fromWire(w);
  return out;
}

/** A call's answer, by output name. */
export function tensorsFromWire(wire: readonly WireTensor[]): Tensors {
  return inputsFromWire(wire);
}

/** Plain numbers, bigints or booleans as the typed array of `dt`; undefined when they cannot be. */
function fromPlainArray(dt: Exclude<DataType, 'BYTES'>, values: readonly unknown[]): NumericArray | undefined {
  const out = new (arrayCtor(dt))(values.length);
  const big = isBigIntType(dt);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (big && (typeof v === 'bigint' || Number.isInteger(v))) out[i] = BigInt(v as number | bigint);
    else if (!big && (typeof v === 'number' || typeof v === 'boolean')) out[i] = Number(v);
    else return undefined;
  }
  return out;
}

/** The data of `t` in the layout the server carries: typed array of its datatype, or Uint8Array per element. */
function normalisedData(label: string, t: OutputTensor): NumericArray | Uint8Array[] {
  const { datatype, data } = t;
  if (datatype === 'BYTES') {
    if (Array.isArray(data) && data.every((e) => typeof e === 'string' || e instanceof Uint8Array))
      return data.map((e: string | Uint8Array) => (typeof e === 'string' ? encoder.encode(e) : e));
    throw new TensorRefusal(`${label} is BYTES: its data must be an array of strings or Uint8Arrays`);
  }
  const Ctor = arrayCtor(datatype);
  const typed =
    data instanceof Ctor ? (data as NumericArray) : Array.isArray(data) ? fromPlainArray(datatype, data) : undefined;
  if (typed === undefined)
    throw new TensorRefusal(`${label} is ${datatype}: its data must be a ${Ctor.name} or an array of its values`);
  return typed;
}

/**
 * Checks a tensor's own consistency (datatype, shape, element count) and returns it as a core
 * tensor named `name`; `label` names it in refusals ("output 'y'").
 */
function coreTensor(label: string, name: string, value: unknown, declared?: DataType): CoreTensor {
  const t = value as OutputTensor | undefined;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.shape))
    throw new TensorRefusal(`${label} is not a tensor ({ datatype, shape, data })`);
  if (!isDataType(t.datatype)) throw new TensorRefusal(`${label} has an unknown datatype '${String(t.datatype)}'`);
  if (declared !== undefined && t.datatype !== declared)
    throw new TensorRefusal(`${label} has datatype ${t.datatype}, but the config declares ${declared}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new TensorRefusal(`${label} has an invalid shape [${t.shape.join(',')}]`);
  const data = normalisedData(label, t);
  const need = elementCount(t.shape);
  if (data.length !== need)
    throw new TensorRefusal(
      `${label} holds ${data.length} elements, but its shape [${t.shape.join(',')}] needs ${need}`,
    );
  return { name, datatype: t.datatype, shape: [...t.shape], data };
}

/** Tensors for `client.infer`: checked for consistency, in the wire layout (buffers copied when posted). */
export function callInputsToWire(inputs: Record<string, OutputTensor>): WireTensor[] {
  if (typeof inputs !== 'object' || inputs === null) throw new TensorRefusal('the inputs must be an object of tensors');
  return Object.entries(inputs).map(([name, t]) => {
    const core = coreTensor(`input '${name}'`, name, t);
    return { ...core, data: Array.isArray(core.data) ? packBytes(core.data) : core.data };
  });
}

/** What an execution's outputs must be: the requested ones, as declared, with the batch's rows. */
export interface OutputRules {
  requested: readonly string[];
  declared: ReadonlyMap<string, DeclaredTensor>;
  /** The inputs' batch dim when the model batches, else undefined (no batch dim). */
  batch: number | undefined;
}

/** The shape an output must fit: the declared dims, after the batch dim when the model batches. */
function expectedShape(d: DeclaredTensor, batch: number | undefined): number[] {
  return batch === undefined ? [...d.dims] : [batch, ...d.dims];
}

/**
 * The requested outputs of `result` as wire tensors whose buffers may be transferred; throws a
 * TensorRefusal naming the first output that is missing or does not fit its declaration.
 */
export function checkedOutputs(result: unknown, rules: OutputRules): WireTensor[] {
  if (typeof result !== 'object' || result === null)
    throw new TensorRefusal(
      `execute() returned ${result === null ? 'null' : typeof result}, not an object of output tensors`,
    );
  const record = result as Record<string, unknown>;
  return rules.requested.map((name) => {
    const d = rules.declared.get(name);
    if (d === undefined) throw new TensorRefusal(`output '${name}' is not declared in the config`);
    if (!(name in record) || record[name] === undefined)
      throw new TensorRefusal(`execute() returned no output '${name}'`);
    const t = coreTensor(`output '${name}'`, name, record[name], d.datatype);
    const want = expectedShape(d, rules.batch);
    if (t.shape.length !== want.length || want.some((w, i) => w !== -1 && w !== t.shape[i])) {
      const batch = rules.batch === undefined ? '' : ` for a batch of ${rules.batch}`;
      throw new TensorRefusal(
        `output '${name}' has shape [${t.shape.join(',')}], but the config allows [${want.join(',')}]${batch}`,
      );
    }
    return tensorToWire(t);
  });
}
