import type { Tensor } from './tensor.js';

/** A parameter value as it arrives from either protocol. */
export type ParamValue = string | number | boolean | bigint;

/** One output the client asked for, with its per-output options. */
export interface RequestedOutput {
  name: string;
  /** HTTP only: return this output as binary (undefined = request default). */
  binary?: boolean;
  /** Classification extension: replace the output by its top-K "value:index[:label]" strings. */
  classification?: number;
  parameters?: Record<string, ParamValue>;
}

/**
 * What every protocol decodes to and hands to the router. Plain data, never mutated after decoding;
 * everything about the call itself (deadline, signal, trace, protocol) is in its CallContext.
 */
export interface InferRequest {
  /** Client's request id, echoed in the response; '' or undefined = none. */
  id?: string;
  model: string;
  /** Requested version as written by the client; undefined or '' = version policy default. */
  version?: string;
  inputs: Tensor[];
  /** Outputs to return; undefined = all of the model's outputs. */
  outputs?: RequestedOutput[];
  /** Request-level parameters (Triton-reserved ones already validated by the protocol layer). */
  parameters: Record<string, ParamValue>;
  /** 0/undefined = model default; 1 = highest. */
  priority?: number;
  /** Queue timeout in microseconds (schedule_policy extension; Triton's `timeout` parameter). */
  timeoutUs?: number;
}

/** Tracing hooks of one sampled request; the router and scheduler report stages through it. */
export interface RequestTrace {
  /** W3C trace id (32 hex digits), for log lines. */
  readonly traceId: string;
  /** The model version serving the request is known (span attributes). */
  resolved(model: string, version: string): void;
  /** The request waited in the scheduler queue from `startMs` to `endMs` (Clock.now() ms). */
  queued(startMs: number, endMs: number): void;
}

/** The router's answer; the protocol layer encodes it. */
export interface InferResponse {
  id?: string;
  model: string;
  version: string;
  outputs: Tensor[];
  parameters?: Record<string, ParamValue>;
}
