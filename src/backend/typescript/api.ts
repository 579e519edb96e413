/**
 * What a TypeScript model sees: the types of `1/model.ts` (or model.js / model.mjs) and the one
 * runtime helper, ModelInputError. docs/typescript-models.md explains them with examples.
 *
 * A model module exports `execute` (and optionally `initialize` and `finalize`), as named exports
 * or as the properties of its default export:
 *
 *   import type { ExecuteContext, OutputTensors, Tensors } from 'infergate/model';
 *   export function execute(inputs: Tensors, ctx: ExecuteContext): OutputTensors {
 *     const x = inputs['x']!;
 *     return { y: { datatype: 'FP32', shape: x.shape, data: (x.data as Float32Array).map((v) => v * 2) } };
 *   }
 *
 * It runs in a worker thread of its own per instance (`instance_group count`), never on the
 * server's event loop, so it may compute synchronously. `infergate/model` resolves to this file
 * when the server bundles the model; a model inside this repository imports it relatively.
 *
 * Only type imports reach this file from the server's side: it must stay free of runtime imports
 * (it is bundled into every model that imports ModelInputError).
 */
import type { DataType, NumericArray } from '../../core/datatype.js';

export type { DataType, NumericArray };

/**
 * One tensor as a model receives it. `shape` includes the batch dimension first when the config's
 * `max_batch_size` > 0. Numeric data is the typed array of its datatype (FP32 Float32Array, INT64
 * BigInt64Array, BOOL Uint8Array of 0/1, FP16/BF16 Uint16Array of raw bits…), row-major; BYTES
 * data is one Uint8Array per element (decode text with `new TextDecoder().decode(element)`).
 * The model owns what it receives: it may modify it or return it as an output.
 */
export interface Tensor {
  datatype: DataType;
  shape: number[];
  data: NumericArray | Uint8Array[];
}

/** The inputs of one execution, by input name (an optional input the request left out is absent). */
export type Tensors = Record<string, Tensor>;

/**
 * One tensor as a model returns it (or passes to `client.infer`). Besides the typed array of its
 * datatype, numeric data may be a plain array (numbers; bigints or numbers for INT64/UINT64;
 * booleans or numbers for BOOL); BYTES data may mix strings (sent as UTF-8) and Uint8Arrays.
 */
export interface OutputTensor {
  datatype: DataType;
  shape: number[];
  data: NumericArray | ReadonlyArray<Uint8Array | string> | readonly number[] | readonly bigint[] | readonly boolean[];
}

/** What `execute` returns: at least every output the request asked for, by output name. */
export type OutputTensors = Record<string, OutputTensor>;

/** An input or output as the model's config declares it. */
export interface DeclaredTensor {
  name: string;
  datatype: DataType;
  /** The dims the model sees (the config's `reshape` when it has one), without the batch dim; -1 = any. */
  dims: readonly number[];
  /** Inputs only: a request may leave it out. */
  optional?: boolean;
}

/** Options of a call to another model. */
export interface ModelCallOptions {
  /** The version to call (default: the model's version policy, as for any client). */
  version?: number;
  /** The outputs to return (default: all of them). */
  outputs?: readonly string[];
}

/**
 * Another model of the same server, called through its whole request pipeline (version policy,
 * batching, statistics…) but without authentication: the call that reached this model was
 * admitted already. A call made while executing a batch of exactly one request shares that
 * request's deadline, cancellation, trace and request id; in a batch of several it gets the
 * batch's deadline. Input buffers are copied, never taken from the caller.
 * Rejects with a ModelCallError when the called model fails.
 */
export interface ModelClient {
  infer(model: string, inputs: Record<string, OutputTensor>, options?: ModelCallOptions): Promise<Tensors>;
}

/** How a failed `client.infer` rejects: `code` is the server's error code (e.g. 'IG_ERR_MODEL_NOT_FOUND'). */
export interface ModelCallError extends Error {
  readonly name: 'ModelCallError';
  readonly code: string;
  /** The model that was called. */
  readonly model: string;
}

/** Fields of a log line: plain data (it crosses threads by structured clone). */
export type LogFields = Record<string, unknown>;

/** Lines in the server's log, tagged with the model, version and instance. */
export interface ModelLog {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** What a model instance knows about itself; `initialize` receives it, `execute` an extension of it. */
export interface ModelContext {
  readonly model: string;
  readonly version: number;
  /** 0-based index of this instance among the version's instances (one worker thread each). */
  readonly instance: number;
  /** The config's `parameters`, as their string values. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Absolute path of `<repository>/<model>`. */
  readonly modelDir: string;
  /** Absolute path of `<repository>/<model>/<version>`: read weights and data files from here. */
  readonly versionDir: string;
  /** The config's `max_batch_size`: 0 = tensors have no batch dimension. */
  readonly maxBatchSize: number;
  readonly inputs: readonly DeclaredTensor[];
  readonly outputs: readonly DeclaredTensor[];
  readonly client: ModelClient;
  readonly log: ModelLog;
}

/** What `execute` receives beside the inputs: the instance's context and this execution's facts. */
export interface ExecuteContext extends ModelContext {
  /** The outputs to return (all declared ones unless the request named some). */
  readonly requestedOutputs: readonly string[];
  /** Rows in this execution (the batch dim of every input), or 1 when the model does not batch. */
  readonly batchSize: number;
  /** Epoch ms (Date.now()) by which the answer is due, when the requests have deadlines. */
  readonly deadline: number | undefined;
  /**
   * Aborted when the server gives up on this execution (its deadline or `execute_timeout_ms`
   * passed): stop working and return. Whatever it returns then is ignored.
   */
  readonly signal: AbortSignal;
}

/** The shape of a model module. */
export interface TypeScriptModel {
  /** Runs once per instance before the first execution (load weights, open files); a throw fails the load. */
  initialize?(ctx: ModelContext): void | Promise<void>;
  /**
   * Runs one batch: returns every requested output with the same batch dim as the inputs, the
   * datatype its config declares and a shape its dims allow. A throw fails the batch's requests
   * (IG_ERR_MODEL_EXECUTION, or IG_ERR_INVALID_ARG for a ModelInputError).
   */
  execute(inputs: Tensors, ctx: ExecuteContext): OutputTensors | Promise<OutputTensors>;
  /** Runs when the instance stops (unload, shutdown), after its last execution; bounded to 5 s. */
  finalize?(): void | Promise<void>;
}

/** The error code that marks a thrown error as the client's fault (HTTP 400, gRPC INVALID_ARGUMENT). */
export const INVALID_INPUT_CODE = 'IG_ERR_INVALID_ARG';

/**
 * Throw this from `execute` when the request itself is wrong (an image that cannot be decoded, a
 * value out of range): the client gets 400 IG_ERR_INVALID_ARG with the message, not a server error.
 * Any error whose `code` is 'IG_ERR_INVALID_ARG' counts the same.
 */
export class ModelInputError extends Error {
  readonly code = INVALID_INPUT_CODE;

  constructor(message: string) {
    super(message);
    this.name = 'ModelInputError';
  }
}
