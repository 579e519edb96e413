import type { ExecResult, LoadedModel } from '../backend/types.js';
import type { CallContext, InferError, ModelVersionSpec, RequestTrace, Tensor } from '../core/index.js';

/** One request as the scheduler sees it: inputs already in the model's shapes. */
export interface Job {
  inputs: Tensor[];
  /** Outputs to fetch; undefined = all. */
  outputs?: string[];
  /**
   * Batch size this request carries (first dim; 1 when the model does not batch). At most the
   * model's max_batch_size: the router validates it (router/validate.ts), so schedulers do not.
   */
  batchSize: number;
  priority?: number;
  timeoutUs?: number;
  /**
   * Clock.now() ms after which the job must not start (the call's deadline); Infinity/absent =
   * none. A job found past it while queued or at dispatch is rejected with IG_ERR_DEADLINE_EXCEEDED
   * and never reaches an instance; the batch's latest deadline goes to the backend (ExecOptions).
   */
  deadline?: number;
  signal?: AbortSignal;
  /** Present when tracing sampled the request: its batch is reported through onTracedBatch. */
  trace?: RequestTrace;
  /** The request's sequence_* parameters (read only by the sequence scheduler). */
  sequence?: SequenceFlags;
  /** The call this job serves; a batch of one hands it to the backend (ExecOptions.call). */
  ctx?: CallContext;
}

/** A request's place in a sequence (Triton's `sequence_id`, `sequence_start`, `sequence_end`). */
export interface SequenceFlags {
  /** Correlation id: unsigned integer or string; 0 / '' = in no sequence. */
  id: string | number | bigint;
  start: boolean;
  end: boolean;
}

/** What the scheduler reports back with each result, for statistics. Times in ns. */
export interface JobResult extends ExecResult {
  queueNs: number;
  /** Size of the batch this job executed in (>= its own batchSize). */
  executedBatchSize: number;
}

/**
 * Per model version: queues jobs and runs them on the version's instances.
 * Rejects with an InferError (queue full, timeout, cancelled, deadline exceeded, execution failure).
 */
export interface Scheduler {
  submit(job: Job): Promise<JobResult>;
  /** Jobs accepted but not yet executing. */
  readonly pending: number;
  /** Jobs executing now. */
  readonly inflight: number;
  /** Stops accepting new jobs and resolves when everything queued or running has finished. */
  drain(): Promise<void>;
  /**
   * Answers every job still queued with `err` at once (shutdown past its timeout: a retryable
   * 503 rather than an answer that never comes); jobs already executing finish as they will.
   */
  abandon(err: InferError): void;
}

/** Builds the scheduler for a freshly loaded version (injected into the repository). */
export type SchedulerFactory = (spec: ModelVersionSpec, loaded: LoadedModel) => Scheduler;
