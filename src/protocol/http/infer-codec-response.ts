/**
 * InferResponse → HTTP body (protocol.md §A.4, §B.1). Triton's key order: id (only when
 * non-empty), model_name, model_version (string), parameters (when any), outputs. Binary outputs
 * carry parameters.binary_data_size and their bytes follow the JSON in the order of `outputs`.
 * An output written to shared memory has no `data` (Triton's rule), only its shared-memory parameters.
 */
import {
  elementCount,
  InferError,
  type InferResponse,
  isBytesData,
  type RequestedOutput,
  type Tensor,
  wireByteSize,
} from '../../core/index.js';
import type { ShmOutputParams } from '../common/shm-call.js';
import { writeBytesElements, writeNumeric } from './binary.js';
import { encodeJsonData } from './json-data.js';
import { stringifyJson } from './json.js';

/** How the client asked for outputs: per-output choice, else the request default. */
export interface OutputFormat {
  binaryDefault: boolean;
  requested?: readonly RequestedOutput[];
  /**
   * Elements the JSON outputs of one response may carry in all: JSON costs the event loop ~4x
   * binary per element (a 1 GiB JSON output took 16 s and 2.9 GB, then failed). Default: no bound.
   */
  maxJsonElements?: number;
  /** Outputs that went to shared memory, with their response parameters (common/shm-call.ts). */
  sharedMemory?: ShmOutputParams;
}

/** An encoded body; `headerLength` is set only when binary bytes follow the JSON. */
export interface EncodedInfer {
  body: Buffer;
  headerLength?: number;
}

/** Encodes a response; throws IG_ERR_INVALID_ARG when an FP16/BF16 output was asked for as JSON. */
export function encodeInferResponse(resp: InferResponse, format: OutputFormat): EncodedInfer {
  const binary: Tensor[] = [];
  const parts: string[] = [];
  const shm = format.sharedMemory;
  const asBinary = resp.outputs.map(
    (t) => format.requested?.find((o) => o.name === t.name)?.binary ?? format.binaryDefault,
  );
  checkJsonElements(
    resp.outputs.filter((t, i) => !asBinary[i] && !shm?.has(t.name)),
    format.maxJsonElements ?? Number.POSITIVE_INFINITY,
  );
  for (let i = 0; i < resp.outputs.length; i++) {
    const t = resp.outputs[i]!;
    const inShm = shm?.get(t.name);
    if (inShm !== undefined) parts.push(outputJson(t, `"parameters":${stringifyJson(inShm)}`));
    else parts.push(asBinary[i] ? binaryOutputJson(t, binary) : outputJson(t, `"data":${encodeJsonData(t)}`));
  }
  const json = Buffer.from(envelope(resp, parts.join(',')), 'utf8');
  let binaryBytes = 0;
  for (const t of binary) binaryBytes += wireByteSize(t);
  if (binaryBytes === 0) return { body: json };
  const body = Buffer.allocUnsafe(json.byteLength + binaryBytes);
  json.copy(body, 0);
  let off = json.byteLength;
  for (const t of binary)
    off = isBytesData(t.data) ? writeBytesElements(body, off, t.data) : writeNumeric(body, off, t.data);
  return { body, headerLength: json.byteLength };
}

/** Refuses, before any encoding, JSON outputs with more than `max` elements in all. */
function checkJsonElements(outputs: readonly Tensor[], max: number): void {
  let n = 0;
  for (const t of outputs) n += elementCount(t.shape);
  if (n > max)
    throw new InferError(
      'IG_ERR_PAYLOAD_TOO_LARGE',
      `the response would carry ${n} output elements as JSON, over the limit of ${max}; ask for binary outputs ` +
        `(the 'binary_data_output' request parameter, or 'binary_data' per output)`,
    );
}

function envelope(resp: InferResponse, outputs: string): string {
  let s = '{';
  if (resp.id !== undefined && resp.id !== '') s += `"id":${JSON.stringify(resp.id)},`;
  s += `"model_name":${JSON.stringify(resp.model)},"model_version":${JSON.stringify(String(resp.version))}`;
  if (resp.parameters !== undefined && Object.keys(resp.parameters).length > 0)
    s += `,"parameters":${stringifyJson(resp.parameters)}`;
  return `${s},"outputs":[${outputs}]}`;
}

function outputJson(t: Tensor, tail: string): string {
  return `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}],${tail}}`;
}

function binaryOutputJson(t: Tensor, binary: Tensor[]): string {
  binary.push(t);
  return outputJson(t, `"parameters":{"binary_data_size":${wireByteSize(t)}}`);
}
