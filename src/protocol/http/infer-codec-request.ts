/**
 * KServe v2 infer request body → InferRequest (protocol.md §A.4, §A.5, §B.1).
 * Pure: takes the (already decompressed) body and the header-length header, returns plain data.
 * Every tensor's data is copied at most once into memory it owns (tensor-wire.ts tensorFromWire).
 * Tensors in shared memory are only recorded (a ShmPlan): reading them is async (common/shm-call.ts).
 */
import {
  elementCount,
  type InferRequest,
  invalidArg,
  type ParamValue,
  type RequestedOutput,
  type Tensor,
} from '../../core/index.js';
import { checkParameterCount, splitReservedParameters } from '../common/reserved-params.js';
import { emptyShmPlan, type ShmPlan, shmPlaceholder } from '../common/shm-call.js';
import { checkBytesCount, parseDatatype, parseShape, tensorFromWire } from '../common/tensor-wire.js';
import { BinaryCursor } from './binary.js';
import { NeedsExactIntegers, parseWithExactIntegers } from './json-bigint.js';
import { decodeJsonData } from './json-data.js';
import { isPlainObject, parseJsonBuffer } from './json.js';
import { httpOutputShmRef, httpShmRef, isShmParam } from './shm-params.js';

/** Size limits of infer requests (and, for the JSON outputs, of their responses). */
export interface InferDecodeLimits {
  maxJsonDepth: number;
  /** Total JSON `data` elements a request may carry across its inputs. */
  maxJsonElements: number;
  /** BYTES elements one input may carry (tensor-wire.ts DEFAULT_MAX_BYTES_ELEMENTS). */
  maxBytesElements: number;
  /** Bytes of JSON one request may carry (whole body, or a binary request's JSON header). */
  maxJsonBytes: number;
  /** Elements the JSON outputs of one response may carry. */
  maxJsonResponseElements: number;
}

/** A decoded request plus the HTTP-only default output format. */
export interface DecodedInfer {
  request: InferRequest;
  /** Request-level binary_data_output: the format of outputs that do not choose one. */
  binaryOutput: boolean;
  /** The tensors in shared memory, when any (their inputs are placeholders until read). */
  shm?: ShmPlan;
}

interface InputContext {
  model: string;
  cursor: BinaryCursor | undefined;
  limits: InferDecodeLimits;
  elementsLeft: number;
  /** What is in shared memory, created by the first tensor there. */
  shm?: ShmPlan;
  /** Parsed with exact long integers (json-bigint.ts). */
  exact: boolean;
}

/**
 * Decodes an infer body. `headerLength` is the parsed Inference-Header-Content-Length
 * (undefined = the whole body is JSON); 0 (raw binary) is handled by raw-binary.ts instead.
 * `binary` is the binary section when it was read apart from the body (default: the body's bytes
 * after the header).
 */
export function decodeInferRequest(
  body: Uint8Array,
  headerLength: number | undefined,
  model: string,
  version: string | undefined,
  limits: InferDecodeLimits,
  binary: Uint8Array | undefined = headerLength === undefined ? undefined : body.subarray(headerLength),
): DecodedInfer {
  const jsonEnd = headerLength ?? body.byteLength;
  const doc = parseJsonBuffer(body, 0, jsonEnd, limits.maxJsonDepth);
  try {
    return decodeDocument(doc, model, version, limits, binary, false);
  } catch (err) {
    if (!(err instanceof NeedsExactIntegers)) throw err;
    // A 64-bit integer past 2^53 was rounded by JSON.parse: decode again from the digits (json-bigint.ts).
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8', 0, jsonEnd);
    return decodeDocument(parseWithExactIntegers(text), model, version, limits, binary, true);
  }
}

function decodeDocument(
  doc: unknown,
  model: string,
  version: string | undefined,
  limits: InferDecodeLimits,
  binary: Uint8Array | undefined,
  exact: boolean,
): DecodedInfer {
  if (!isPlainObject(doc)) throw invalidArg('the inference request must be a JSON object');
  if (doc.id !== undefined && typeof doc.id !== 'string') throw invalidArg("the request 'id' must be a string");
  const split = splitReservedParameters(parseParameters(doc.parameters, 'the request'));
  if (!Array.isArray(doc.inputs)) throw invalidArg("the request must have an 'inputs' array");
  const ctx: InputContext = {
    model,
    cursor: binary === undefined ? undefined : new BinaryCursor(binary),
    limits,
    elementsLeft: limits.maxJsonElements,
    exact,
  };
  const inputs = doc.inputs.map((raw: unknown, i: number) => decodeInput(raw, i, ctx));
  ctx.cursor?.finish(model);
  const request: InferRequest = {
    model,
    inputs,
    parameters: split.parameters,
  };
  if (version !== undefined) request.version = version;
  if (typeof doc.id === 'string' && doc.id !== '') request.id = doc.id;
  if (split.priority !== undefined) request.priority = split.priority;
  if (split.timeoutUs !== undefined) request.timeoutUs = split.timeoutUs;
  const outputs = parseOutputs(doc.outputs, ctx);
  if (outputs !== undefined) request.outputs = outputs;
  const decoded: DecodedInfer = { request, binaryOutput: split.binaryDataOutput ?? false };
  if (ctx.shm !== undefined) decoded.shm = ctx.shm;
  return decoded;
}

/** One input: exactly one of data / binary_data_size / shared_memory_region. */
function decodeInput(raw: unknown, index: number, ctx: InputContext): Tensor {
  if (!isPlainObject(raw)) throw invalidArg(`input #${index} must be a JSON object`);
  if (typeof raw.name !== 'string' || raw.name === '') throw invalidArg(`input #${index} must have a string 'name'`);
  const name = raw.name;
  const datatype = parseDatatype(raw.datatype, name);
  const shape = parseShape(raw.shape, name);
  const params = raw.parameters === undefined ? {} : parseParameters(raw.parameters, `input '${name}'`);
  const binarySize = params.binary_data_size;
  const region = params.shared_memory_region;
  const sources = Number(raw.data !== undefined) + Number(binarySize !== undefined) + Number(region !== undefined);
  if (sources !== 1)
    throw invalidArg(
      `Input '${name}' must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', ` +
        `'shared_memory_region' in 'parameters'`,
    );
  const count = elementCount(shape);
  if (datatype === 'BYTES') checkBytesCount(name, count, ctx.limits.maxBytesElements);
  const ref = httpShmRef(params);
  if (ref !== undefined) {
    ctx.shm ??= emptyShmPlan();
    ctx.shm.inputs.push({ index, name, datatype, shape, ref });
    return shmPlaceholder(name, datatype, shape);
  }
  if (binarySize !== undefined) return binaryInput(name, datatype, shape, binarySize, ctx);
  const limits = { maxDepth: ctx.limits.maxJsonDepth, maxElements: ctx.elementsLeft, exact: ctx.exact };
  const data = decodeJsonData(name, datatype, count, raw.data, limits);
  ctx.elementsLeft -= count;
  return { name, datatype, shape, data };
}

function binaryInput(
  name: string,
  datatype: Tensor['datatype'],
  shape: number[],
  size: ParamValue,
  ctx: InputContext,
): Tensor {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw invalidArg(`'binary_data_size' of input '${name}' must be a non-negative integer`);
  if (ctx.cursor === undefined)
    throw invalidArg(
      `input '${name}' is in binary data format: must specify valid 'Inference-Header-Content-Length' in request ` +
        `header and 'binary_data_size' when passing inputs in binary data format`,
    );
  return tensorFromWire(name, datatype, shape, ctx.cursor.take(name, size, ctx.model));
}

/** A `parameters` object: string, number or boolean values only. */
function parseParameters(value: unknown, where: string): Record<string, ParamValue> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw invalidArg(`'parameters' of ${where} must be a JSON object`);
  const keys = Object.keys(value);
  checkParameterCount(keys.length, where);
  for (const key of keys) {
    const v = value[key];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw invalidArg(`parameter '${key}' of ${where} must be a string, number or boolean`);
  }
  return value as Record<string, ParamValue>;
}

/** The optional `outputs` array with binary_data / classification / shared memory per output. */
function parseOutputs(value: unknown, ctx: InputContext): RequestedOutput[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidArg("'outputs' must be an array");
  return value.map((raw: unknown, i: number) => {
    if (!isPlainObject(raw) || typeof raw.name !== 'string') throw invalidArg(`output #${i} must have a string 'name'`);
    const out: RequestedOutput = { name: raw.name };
    const params = parseParameters(raw.parameters, `output '${raw.name}'`);
    const shm = httpOutputShmRef(params);
    if (shm !== undefined) {
      ctx.shm ??= emptyShmPlan();
      ctx.shm.outputs.set(raw.name, shm);
    }
    const rest: Record<string, ParamValue> = {};
    for (const [key, v] of Object.entries(params)) {
      if (key === 'binary_data') {
        if (typeof v !== 'boolean') throw invalidArg(`'binary_data' of output '${raw.name}' must be a boolean`);
        out.binary = v;
      } else if (key === 'classification') {
        // The count's range is checked once, by the router (router/validate.ts), for every protocol.
        if (typeof v !== 'number') throw invalidArg(`'classification' of output '${raw.name}' must be a number`);
        out.classification = v;
      } else if (!isShmParam(key)) rest[key] = v;
    }
    if (Object.keys(rest).length > 0) out.parameters = rest;
    return out;
  });
}
