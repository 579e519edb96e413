/**
 * ModelInferRequest → InferRequest (protocol.md C.2 "raw_input_contents semantics", A.5, B.6, B.8).
 * Every violation is an INVALID_ARGUMENT InferError naming the tensor and the problem.
 */
import { type InferRequest, invalidArg, type RequestedOutput, type Tensor } from '../../core/index.js';
import type {
  ModelInferRequest,
  ModelInferRequest_InferInputTensor,
  ModelInferRequest_InferRequestedOutputTensor,
} from '../../gen/grpc_service_pb.js';
import { checkBytesCount, DEFAULT_MAX_BYTES_ELEMENTS, parseDatatype, tensorFromWire } from '../common/index.js';
import { decodeOutputParams, decodeRequestParams, rejectSharedMemory } from './params.js';
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
  // Triton's text, matched by its QA tests.
  if (input.contents !== undefined)
    throw invalidArg(
      `contents field must not be specified when using raw_input_contents for '${input.name}' for model '${model}'`,
    );
  return tensorFromWire(input.name, datatype, shape, raw);
}

function decodeOutputs(outputs: ModelInferRequest_InferRequestedOutputTensor[]): RequestedOutput[] | undefined {
  // No outputs listed = all of the model's outputs.
  if (outputs.length === 0) return undefined;
  return outputs.map((o) => ({ name: o.name, ...decodeOutputParams(o.name, o.parameters) }));
}

/** Decodes and checks a ModelInferRequest at the wire level (the model-level checks are the router's). */
export function decodeInferRequest(msg: ModelInferRequest, limits: GrpcDecodeLimits = DEFAULT_LIMITS): InferRequest {
  const model = msg.modelName;
  // Shared memory first: a client using it sends no raw entry for those inputs, so the raw
  // count check below would otherwise hide the real reason.
  for (const input of msg.inputs) rejectSharedMemory(input.parameters);
  const raw = msg.rawInputContents;
  if (raw.length > 0 && raw.length !== msg.inputs.length)
    throw invalidArg(
      `expected ${msg.inputs.length} raw_input_contents entries (one per input) but got ${raw.length} for model '${model}'`,
    );
  // Duplicate names are the router's to refuse (router/validate.ts), with one text for every protocol.
  const inputs = msg.inputs.map((input, i) => decodeInput(input, raw.length > 0 ? raw[i] : undefined, model, limits));
  const { parameters, priority, timeoutUs } = decodeRequestParams(msg.parameters);
  return {
    id: msg.id === '' ? undefined : msg.id,
    model,
    version: msg.modelVersion === '' ? undefined : msg.modelVersion,
    inputs,
    outputs: decodeOutputs(msg.outputs),
    parameters,
    priority,
    timeoutUs,
  };
}
