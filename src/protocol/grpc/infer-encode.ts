/**
 * InferResponse → ModelInferResponse. Outputs always travel in raw_output_contents (one entry per
 * output, same index, present even when empty) because tritonclient's as_numpy() reads only those.
 * An output written to shared memory keeps its entry, empty, as Triton's does.
 */
import { create } from '@bufbuild/protobuf';
import { bytesOf, encodeBytesElements, type InferResponse, isBytesData, type Tensor } from '../../core/index.js';
import {
  type ModelInferResponse,
  ModelInferResponse_InferOutputTensorSchema,
  ModelInferResponseSchema,
} from '../../gen/grpc_service_pb.js';
import type { ShmOutputParams } from '../common/index.js';
import { toParamMap } from './params.js';

/** The raw wire bytes of a tensor (numeric: a view of its data, no copy; BYTES: length-prefixed). */
export function rawBytes(t: Tensor): Uint8Array {
  return isBytesData(t.data) ? encodeBytesElements(t.data) : bytesOf(t.data);
}

const EMPTY = new Uint8Array(0);

/**
 * Encodes a router response; `requestId` is echoed when the response carries no id of its own.
 * Outputs in `inShm` went to shared memory: no data, their shared-memory parameters instead.
 */
export function encodeInferResponse(res: InferResponse, requestId = '', inShm?: ShmOutputParams): ModelInferResponse {
  const outputs = new Array(res.outputs.length);
  const raw = new Array<Uint8Array>(res.outputs.length);
  for (let i = 0; i < res.outputs.length; i++) {
    const t = res.outputs[i] as Tensor;
    const shm = inShm?.get(t.name);
    outputs[i] = create(ModelInferResponse_InferOutputTensorSchema, {
      name: t.name,
      datatype: t.datatype,
      shape: t.shape.map((d) => BigInt(d)),
      parameters: shm === undefined ? {} : toParamMap(shm),
    });
    raw[i] = shm === undefined ? rawBytes(t) : EMPTY;
  }
  return create(ModelInferResponseSchema, {
    modelName: res.model,
    modelVersion: res.version,
    id: res.id || requestId,
    parameters: res.parameters ? toParamMap(res.parameters) : {},
    outputs,
    rawOutputContents: raw,
  });
}
