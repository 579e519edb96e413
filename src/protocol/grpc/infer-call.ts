/**
 * The one gRPC inference path, shared by ModelInfer and ModelStreamInfer: decode → (read the
 * inputs in shared memory) → infer → (write the outputs to shared memory) → encode, with the call
 * context built once here. When tracing samples the call, a request span continuing the caller's
 * `traceparent` wraps the same path (no separate traced copy).
 */
import type { Metadata } from '@grpc/grpc-js';
import {
  callContext,
  InferError,
  type InferRequest,
  type Principal,
  type ResponseWritten,
  SUBJECT_HEADER,
  subjectId,
} from '../../core/index.js';
import type { ModelInferRequest, ModelInferResponse } from '../../gen/grpc_service_pb.js';
import type { RequestSpan, Tracing } from '../../observability/tracing.js';
import type { InferenceService } from '../../router/types.js';
import { ShmCall, type SystemSharedMemory } from '../common/index.js';
import { decodeInferCall, type GrpcDecodeLimits } from './infer-decode.js';
import { encodeInferResponse } from './infer-encode.js';

/** What a call brings besides its message. */
export interface GrpcCall {
  /** Aborted on cancel or deadline (call-signal.ts). */
  readonly signal: AbortSignal;
  /** Absolute deadline, epoch ms; Infinity when none. */
  readonly deadline: number;
  readonly metadata: Metadata;
  readonly written?: ResponseWritten;
  /** Who is calling (protocol/grpc/auth.ts decided it when the call or stream opened). */
  readonly principal: Principal;
}

/** One call's answer, and the decoded request (the stream reads its parameters). */
export interface InferOutcome {
  request: InferRequest;
  response: ModelInferResponse;
}

/** Runs one ModelInferRequest through the service. Rejects with what the service threw. */
export type InferPath = (msg: ModelInferRequest, call: GrpcCall) => Promise<InferOutcome>;

/**
 * The inference path over `service`, traced when `tracing` is given and samples the call; tensors
 * in shared memory name regions of `regions`.
 */
export function inferPath(
  service: InferenceService,
  regions: SystemSharedMemory,
  limits?: GrpcDecodeLimits,
  tracing?: Tracing,
): InferPath {
  const plain = (msg: ModelInferRequest, call: GrpcCall, span?: RequestSpan) =>
    run(service, msg, call, span, limits, regions);
  if (!tracing) return plain;
  return (msg, call) => {
    if (!tracing.on) return plain(msg, call);
    const md = call.metadata;
    const span = tracing.startRequest('grpc', msg.modelName, entry(md, 'traceparent'), entry(md, 'tracestate'));
    return span === undefined ? plain(msg, call) : traced(span, plain(msg, call, span));
  };
}

async function run(
  service: InferenceService,
  msg: ModelInferRequest,
  call: GrpcCall,
  span: RequestSpan | undefined,
  limits: GrpcDecodeLimits | undefined,
  regions: SystemSharedMemory,
): Promise<InferOutcome> {
  const decoded = decodeInferCall(msg, limits);
  // A call cancelled while its message was being decoded never enters the router.
  if (call.signal.aborted) throw call.signal.reason;
  if (decoded.shm === undefined) return infer(service, decoded.request, msg, call, span);
  // Holds its regions until the answer is encoded: an unregister meanwhile waits for this call.
  const shm = await ShmCall.open(regions, decoded.shm, decoded.request);
  try {
    return await infer(service, shm.request, msg, call, span, shm);
  } finally {
    shm.release();
  }
}

async function infer(
  service: InferenceService,
  request: InferRequest,
  msg: ModelInferRequest,
  call: GrpcCall,
  span: RequestSpan | undefined,
  shm?: ShmCall,
): Promise<InferOutcome> {
  const ctx = callContext({
    protocol: 'grpc',
    id: request.id,
    principal: call.principal,
    header: (name) => {
      const v = call.metadata.get(name)[0];
      return typeof v === 'string' ? v : undefined;
    },
    deadline: call.deadline,
    signal: call.signal,
    trace: span,
    written: call.written,
    subject: subjectId(call.metadata.get(SUBJECT_HEADER)),
  });
  const result = await service.infer(request, ctx);
  const inShm = await shm?.writeOutputs(result);
  const t0 = span ? performance.now() : 0;
  const response = encodeInferResponse(result, msg.id, inShm);
  span?.encoded(t0, performance.now());
  return { request, response };
}

async function traced(span: RequestSpan, outcome: Promise<InferOutcome>): Promise<InferOutcome> {
  try {
    const out = await outcome;
    span.end(0);
    return out;
  } catch (err) {
    const code = err instanceof InferError ? err.grpcStatus : 2;
    span.end(code, err instanceof Error ? err.message : 'error');
    throw err;
  }
}

function entry(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
}
