/**
 * ModelInferRequest → InferRequest (protocol.md C.2 "raw_input_contents semantics", A.5, B.6, B.8).
 * Every violation is an INVALID_ARGUMENT InferError naming the tensor and the problem. Tensors in
 * shared memory are only recorded here (a ShmPlan): reading them is async (common/shm-call.ts).
 */
import { type InferRequest, invalidArg, type RequestedOutput, type Tensor } from '../../core/index.js';
import type {
  ModelInferRequest,
  ModelInferRequest_InferInputTensor,
  ModelInferRequest_InferRequestedOutputTensor,
} from '../../gen/grpc_service_pb.js';
import {
  checkBytesCount,
  DEFAULT_MAX_BYTES_ELEMENTS,
  emptyShmPlan,
  parseDatatype,
  refuseShmPlan,
  type ShmPlan,
  type ShmRef,
  shmPlaceholder,
  tensorFromWire,
} from '../common/index.js';
import { decodeOutputParams, decodeRequestParams, shmRef } from './params.js';
import { dataFromContents, decodeShape } from './tensor-decode.js';

/** One input; `raw` is its raw_input_contents entry when the request uses raw contents. */
/** Wire-level limits of gRPC infer requests. */
export interface GrpcDecodeLimits {
  /** BYTES elements one input may carry (tensor-wire.ts DEFAULT_MAX_BYTES_ELEMENTS). */
  maxBytesElements: number;
}

const DEFAULT_LIMITS: GrpcDecodeLimits = { maxBytesElements: DEFAULT_MAX_BYTES_ELEMENTS };

function decodeInput(
  input: ModelInferRequest_InferInputTensor,
  raw: Uint8Array | undefined,
  model: string,
  limits: GrpcDecodeLimits,
): Tensor {
  const w = { input: input.name, model };
  const datatype = parseDatatype(input.datatype, input.name);
  const { shape, count } = decodeShape(input.shape, w);
  if (datatype === 'BYTES') checkBytesCount(input.name, count, limits.maxBytesElements);
  if (raw === undefined)
    return { name: input.name, datatype, shape, data: dataFromContents(datatype, count, input, w) };
  // Typed contents beside raw ones were refused before anything else (decodeInferCall).
  return tensorFromWire(input.name, datatype, shape, raw);
}

/** An input whose data is in a region: checked like the others, read later (ShmCall). */
function shmInput(
  input: ModelInferRequest_InferInputTensor,
  ref: ShmRef,
  index: number,
  model: string,
  limits: GrpcDecodeLimits,
  plan: ShmPlan,
): Tensor {
  // Triton's text.
  if (input.contents !== undefined)
    throw invalidArg(
      `unexpected 'content' provided when using shared memory for input tensor '${input.name}' for model '${model}'`,
    );
  const datatype = parseDatatype(input.datatype, input.name);
  const { shape, count } = decodeShape(input.shape, { input: input.name, model });
  if (datatype === 'BYTES') checkBytesCount(input.name, count, limits.maxBytesElements);
  plan.inputs.push({ index, name: input.name, datatype, shape, ref });
  return shmPlaceholder(input.name, datatype, shape);
}

function decodeOutputs(
  outputs: ModelInferRequest_InferRequestedOutputTensor[],
  plan: () => ShmPlan,
): RequestedOutput[] | undefined {
  // No outputs listed = all of the model's outputs.
  if (outputs.length === 0) return undefined;
  return outputs.map((o) => {
    const { shm, ...rest } = decodeOutputParams(o.name, o.parameters);
    if (shm !== undefined) plan().outputs.set(o.name, shm);
    return { name: o.name, ...rest };
  });
}

/** A decoded call: the request, and which of its tensors are in shared memory (when any). */
export interface DecodedGrpcInfer {
  /** Inputs in shared memory are placeholders until ShmCall.open reads them. */
  request: InferRequest;
  shm?: ShmPlan;
}

/** Decodes and checks a ModelInferRequest at the wire level (the model-level checks are the router's). */
export function decodeInferCall(msg: ModelInferRequest, limits: GrpcDecodeLimits = DEFAULT_LIMITS): DecodedGrpcInfer {
  const model = msg.modelName;
  // Shared memory first, as Triton parses it: an input in a region has no raw entry (the raw
  // entries belong, in order, to the other inputs), so the count check needs to know them.
  const refs = msg.inputs.map((input) => shmRef(input.parameters, input.name));
  const rawCount = refs.filter((r) => r === undefined).length;
  const raw = msg.rawInputContents;
  // Triton's text (its QA tests match it), and before any count check, as Triton orders them.
  // (An input in shared memory with contents has its own text, in shmInput.)
  const mixed =
    raw.length > 0 ? msg.inputs.find((input, i) => refs[i] === undefined && input.contents !== undefined) : undefined;
  if (mixed !== undefined)
    throw invalidArg(
      `contents field must not be specified when using raw_input_contents for '${mixed.name}' for model '${model}'`,
    );
  if (raw.length > 0 && raw.length !== rawCount) {
    const each = rawCount === msg.inputs.length ? 'one per input' : 'one per input not in shared memory';
    throw invalidArg(
      `expected ${rawCount} raw_input_contents entries (${each}) but got ${raw.length} for model '${model}'`,
    );
  }
  let plan: ShmPlan | undefined;
  const shm = () => {
    plan ??= emptyShmPlan();
    return plan;
  };
  let next = 0;
  // Duplicate names are the router's to refuse (router/validate.ts), with one text for every protocol.
  const inputs = msg.inputs.map((input, i) => {
    const ref = refs[i];
    if (ref !== undefined) return shmInput(input, ref, i, model, limits, shm());
    return decodeInput(input, raw.length > 0 ? raw[next++] : undefined, model, limits);
  });
  const outputs = decodeOutputs(msg.outputs, shm);
  const { parameters, priority, timeoutUs } = decodeRequestParams(msg.parameters);
  const request: InferRequest = {
    id: msg.id === '' ? undefined : msg.id,
    model,
    version: msg.modelVersion === '' ? undefined : msg.modelVersion,
    inputs,
    outputs,
    parameters,
    priority,
    timeoutUs,
  };
  return plan === undefined ? { request } : { request, shm: plan };
}

/** decodeInferCall without a region table (tests, fuzzing): a tensor naming a region is NOT_FOUND. */
export function decodeInferRequest(msg: ModelInferRequest, limits: GrpcDecodeLimits = DEFAULT_LIMITS): InferRequest {
  const { request, shm } = decodeInferCall(msg, limits);
  refuseShmPlan(shm);
  return request;
}
