/**
 * The messages between a TypeScript model's instance (event-loop thread) and its worker thread.
 * Plain data; tensors travel as the ORT backend's wire tensors (../ort/messages.ts), their buffers
 * in the transfer list.
 */
import type { ErrorCode } from '../../core/index.js';
import type { WarmupPlan, WireRows, WireTensor } from '../ort/messages.js';
import type { ExecTiming } from '../types.js';
import type { DeclaredTensor } from './api.js';

/** workerData of a model's worker thread. */
export interface TsWorkerData {
  /** file: URL of the model's bundle (bundle.ts). */
  bundle: string;
  model: string;
  version: number;
  instance: number;
  parameters: Record<string, string>;
  modelDir: string;
  versionDir: string;
  maxBatchSize: number;
  inputs: DeclaredTensor[];
  outputs: DeclaredTensor[];
  /** Nice value the thread sets on itself first (0 = leave). */
  niceness: number;
  /** Bound of one execution when its batch has no deadline (`execute_timeout_ms`). */
  executeTimeoutMs: number;
  /** The config's `model_warmup` samples (never generated ones: made-up data may well fail user code). */
  warmup: WarmupPlan[];
}

/** Level of a model's log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Why the worker failed a run: the model threw ('user'; `code` is the error's own, when a string),
 * returned outputs its config does not allow ('output'), or the worker gave up on it ('deadline' /
 * 'timeout': the run's bound passed while it ran).
 */
export type RunFailure = 'user' | 'output' | 'deadline' | 'timeout';

/** Event-loop thread → worker. */
export type ToTsWorker =
  | { type: 'run'; id: number; inputs: Array<WireTensor | WireRows>; outputs?: string[]; deadline?: number }
  | { type: 'call-result'; cid: number; outputs: WireTensor[] }
  | { type: 'call-error'; cid: number; code: ErrorCode; message: string }
  /** Runs the model's `finalize`, then the thread exits. */
  | { type: 'stop' };

/** Worker → event-loop thread. */
export type FromTsWorker =
  /** `memoryBytes`: the thread's heap and external memory once initialized and warm. */
  | { type: 'ready'; memoryBytes: number }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[]; timing: ExecTiming }
  | { type: 'error'; id: number; failure: RunFailure; message: string; code?: string; stack?: string }
  /** The run's deadline had passed when its turn came: it was not executed. */
  | { type: 'expired'; id: number }
  | { type: 'log'; level: LogLevel; message: string; fields?: Record<string, unknown> }
  /** `client.infer`; `run`: the run it was made from (absent: from initialize or warm-up). */
  | {
      type: 'call';
      cid: number;
      run?: number;
      model: string;
      version?: number;
      inputs: WireTensor[];
      outputs?: string[];
    };
