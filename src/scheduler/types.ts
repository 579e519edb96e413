import type { ExecResult, LoadedModel } from '../backend/types.js';
import type { ModelVersionSpec, RequestTrace, Tensor } from '../core/index.js';

/** One request as the scheduler sees it: inputs already in the model's shapes. */
export interface Job {
  inputs: Tensor[];
  /** Outputs to fetch; undefined = all. */
  outputs?: string[];
  /** Batch size this request carries (first dim; 1 when the model does not batch). */
  batchSize: number;
  priority?: number;
  timeoutUs?: number;
  signal?: AbortSignal;
  /** Present when tracing sampled the request: its batch is reported through onTracedBatch. */
  trace?: RequestTrace;
}

/** What the scheduler reports back with each result, for statistics. Times in ns. */
export interface JobResult extends ExecResult {
  queueNs: number;
  /** Size of the batch this job executed in (>= its own batchSize). */
  executedBatchSize: number;
}

/**
 * Per model version: queues jobs and runs them on the version's instances.
 * Rejects with an InferError (queue full, timeout, cancelled, execution failure).
 */
export interface Scheduler {
  submit(job: Job): Promise<JobResult>;
  /** Jobs accepted but not yet executing. */
  readonly pending: number;
  /** Jobs executing now. */
  readonly inflight: number;
  /** Stops accepting new jobs and resolves when everything queued or running has finished. */
  drain(): Promise<void>;
}

/** Builds the scheduler for a freshly loaded version (injected into the repository). */
export type SchedulerFactory = (spec: ModelVersionSpec, loaded: LoadedModel) => Scheduler;
