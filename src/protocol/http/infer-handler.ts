/**
 * POST /v2/models/{m}[/versions/{v}]/infer: decode, (read the inputs in shared memory,) call the
 * service, (write the outputs to shared memory,) encode, compress.
 */
import { callContext, type InferRequest, requestIdHeader, SUBJECT_HEADER, subjectId } from '../../core/index.js';
import { ShmCall } from '../common/shm-call.js';
import { chooseEncoding, compress, jsonTooLarge } from './compression.js';
import { deadlineFromHeader, TIMEOUT_HEADER } from './deadline.js';
import { HEADER_LENGTH, parseHeaderLength } from './binary.js';
import { type DecodedInfer, decodeInferRequest } from './infer-codec-request.js';
import { encodeInferResponse } from './infer-codec-response.js';
import { decodeRawBinaryRequest } from './raw-binary.js';
import { CLAMPED_PARAM, FALLBACK_PARAM } from '../../router/types.js';
import type { Handler, HandlerDeps, HttpRequestData, HttpResult } from './types.js';

const EMPTY = Buffer.alloc(0);

/** Which version answered (the body has it too, as model_version; proxies and logs read headers). */
export const MODEL_VERSION_HEADER = 'infergate-model-version';

/** Response parameters the resilience stages set, also sent as headers for proxies and logs. */
const NOTE_HEADERS = [
  [FALLBACK_PARAM, 'infergate-fallback-step'],
  [CLAMPED_PARAM, 'infergate-deadline-clamped-ms'],
] as const;

/** The infer endpoint. */
export const infer: Handler = async (deps, { params }, req) => {
  const model = params.model as string;
  const body = req.body ?? EMPTY;
  const headerLength = parseHeaderLength(req.headers[HEADER_LENGTH], body.byteLength + (req.binary?.byteLength ?? 0));
  // A compressed binary request's JSON header is only measurable here, once decompressed.
  if (headerLength !== undefined && headerLength > deps.limits.maxJsonBytes)
    throw jsonTooLarge(deps.limits.maxJsonBytes);
  // Without a split read, the binary section is the rest of the body.
  const binary = req.binary ?? (headerLength === undefined ? undefined : body.subarray(headerLength));
  const decoded =
    headerLength === 0
      ? decodeRawBinaryRequest(binary!, deps.inference.modelMetadata(model, params.version), model, params.version)
      : decodeInferRequest(body, headerLength, model, params.version, deps.limits, binary);
  if (decoded.shm === undefined) return run(deps, req, decoded, decoded.request);
  // Holds its regions until the answer is encoded: an unregister meanwhile waits for this call.
  const shm = await ShmCall.open(deps.sharedMemory, decoded.shm, decoded.request);
  try {
    return await run(deps, req, decoded, shm.request, shm);
  } finally {
    shm.release();
  }
};

async function run(
  deps: HandlerDeps,
  req: HttpRequestData,
  decoded: DecodedInfer,
  request: InferRequest,
  shm?: ShmCall,
): Promise<HttpResult> {
  const ctx = callContext({
    protocol: 'http',
    id: decoded.request.id,
    principal: req.principal,
    header: (name) => headerValue(req.headers[name]),
    deadline: deadlineFromHeader(req.headers[TIMEOUT_HEADER], req.receivedAt),
    signal: req.signal,
    trace: req.trace,
    written: req.written,
    subject: subjectId(req.headers[SUBJECT_HEADER]),
  });
  const response = await deps.inference.infer(request, ctx);
  const inShm = await shm?.writeOutputs(response);
  const encodeStart = req.trace ? performance.now() : 0;
  const encoded = encodeInferResponse(response, {
    binaryDefault: decoded.binaryOutput,
    requested: decoded.request.outputs,
    maxJsonElements: deps.limits.maxJsonResponseElements,
    sharedMemory: inShm,
  });
  const headers: Record<string, string | number> = {
    [MODEL_VERSION_HEADER]: response.version,
    ...requestIdHeader(ctx.requestId),
  };
  const p = response.parameters;
  if (p !== undefined)
    for (const [param, header] of NOTE_HEADERS) if (p[param] !== undefined) headers[header] = String(p[param]);
  const result: HttpResult = { status: 200, body: encoded.body, headers };
  if (encoded.headerLength === undefined) headers['content-type'] = 'application/json';
  else {
    headers['content-type'] = 'application/octet-stream';
    // Stays the uncompressed JSON length: clients decompress first, then split.
    headers['inference-header-content-length'] = encoded.headerLength;
  }
  const encoding = chooseEncoding(headerValue(req.headers['accept-encoding']));
  if (encoding !== undefined) {
    result.body = await compress(encoded.body, encoding);
    headers['content-encoding'] = encoding;
  }
  req.trace?.encoded(encodeStart, performance.now());
  return result;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
