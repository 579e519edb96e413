/**
 * The messages exchanged between an instance (event-loop thread) and its worker thread.
 * Plain data only; tensor buffers travel in the transfer list, never copied by structured clone.
 */
import type { DataType, ErrorCode, ModelBytes, ModelIO, NumericArray, WarmupSample } from '../../core/index.js';
import type { ExecTiming } from '../types.js';

/**
 * A tensor on the wire between threads. Numeric data is a typed array that owns its whole
 * buffer; BYTES data is packed: all element bytes back to back plus n+1 offsets.
 */
export interface WireTensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: NumericArray | PackedBytes;
}

/**
 * One input of a batch sent as each request's own rows (batch dim first), joined along dim 0 by
 * the worker: the copy that forms the batch happens off the event loop. `shape` is the batch's.
 */
export interface WireRows {
  name: string;
  datatype: DataType;
  shape: number[];
  rows: Array<NumericArray | PackedBytes>;
}

/** BYTES elements packed into one buffer (element i = bytes[offsets[i] .. offsets[i+1])). */
export interface PackedBytes {
  bytes: Uint8Array;
  offsets: Uint32Array;
}

/** onnxruntime session options as plain data (the subset this server sets). */
export interface OrtSessionOptions {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  enableCpuMemArena: boolean;
  enableMemPattern: boolean;
  executionProviders: string[];
  extra: Record<string, string>;
}

/** One input the worker generates for warm-up (batch dim already prepended). */
export interface WarmupInputPlan {
  name: string;
  datatype: DataType;
  shape: number[];
  kind: WarmupSample['inputs'][number]['kind'];
  file?: string;
}

/** One warm-up sample the worker runs `count` times. */
export interface WarmupPlan {
  name: string;
  count: number;
  inputs: WarmupInputPlan[];
  /**
   * Made up by infergate (no `model_warmup` in the config): it must never fail a valid model, so
   * its strings are "0" (a graph may cast them to numbers) and a failure is only a warning.
   */
  generated?: boolean;
}

/** Test-only behaviour, present only when INFERGATE_TEST_HOOKS=1 (see hooks.ts). */
export interface WorkerHooks {
  /** Extra synchronous sleep before every execution, ms. */
  sleepMs: number;
}

/** workerData of an instance worker. */
export interface InstanceWorkerData {
  mode: 'instance';
  path: string;
  options: OrtSessionOptions;
  /** Nice value the worker sets on its own thread before creating the session (0 = leave). */
  niceness: number;
  /** Empty = generate one sample from the session's own input metadata. */
  warmup: WarmupPlan[];
  hooks?: WorkerHooks;
  /** The model as bytes (spec.source): loaded from these, never from `path` (see worker-model.ts). */
  source?: ModelBytes;
}

/** workerData of a short-lived signature-reading worker. */
export interface InspectWorkerData {
  mode: 'inspect';
  path: string;
  source?: ModelBytes;
}

/**
 * workerData of a shared worker (pool.ts): it hosts many sessions, opened and closed by message,
 * each addressed by a slot id (`sid`) the pool assigns. `niceness` applies to the whole thread.
 */
export interface SharedWorkerData {
  mode: 'shared';
  niceness: number;
}

export type WorkerData = InstanceWorkerData | InspectWorkerData | SharedWorkerData;

/** Event-loop thread → worker. `sid` addresses one slot of a shared worker (absent: dedicated). */
export type ToWorker =
  /** `deadline`: epoch ms after which the worker answers 'expired' instead of running (ExecOptions). */
  | {
      type: 'run';
      id: number;
      inputs: Array<WireTensor | WireRows>;
      outputs?: string[];
      deadline?: number;
      sid?: number;
    }
  /** Exit between native calls (see OrtInstance's stop); a shared worker exits with all its slots. */
  | { type: 'stop' }
  | { type: '__crash__'; sid?: number }
  /** Shared worker: create a slot's session ('ready' / 'init-error'), or read a signature ('inspected'). */
  | { type: 'open'; sid: number; data: InstanceWorkerData | InspectWorkerData }
  /** Shared worker: release a slot's session after its queued runs; answered 'closed'. */
  | { type: 'close'; sid: number };

/** Worker → event-loop thread. A shared worker's answers carry the slot's `sid`. */
export type FromWorker =
  /** `memoryBytes`: what the session holds, measured in the worker (see worker-memory.ts). */
  (
    | { type: 'ready'; ms: number; warnings: string[]; memoryBytes: number }
    | { type: 'init-error'; message: string }
    | { type: 'inspected'; io: ModelIO }
    | { type: 'result'; id: number; outputs: WireTensor[]; timing: ExecTiming }
    /** `code`: set when the worker refused the run itself (e.g. IG_ERR_INVALID_ARG), else the model failed. */
    | { type: 'error'; id: number; message: string; code?: ErrorCode }
    /** The run's deadline had passed when its turn came: it was not executed. */
    | { type: 'expired'; id: number }
    /** Shared worker: the slot's session is released. */
    | { type: 'closed' }
  ) & { sid?: number };
