import type { DataType } from './datatype.js';
import type { Tensor } from './tensor.js';

/** Lifecycle states of a model version (Triton's names). */
export type ModelState = 'UNKNOWN' | 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

/** One input or output as the API shows it. `dims` exclude the batch dim; -1 = variable. */
export interface TensorSpec {
  name: string;
  datatype: DataType;
  dims: number[];
  /** Shape the model itself sees (excluding batch), when it differs from `dims`. */
  reshape?: number[];
  /** Inputs only: the request may omit it. */
  optional?: boolean;
  /** Outputs only: class labels (line i = class i), for the classification extension. */
  labels?: string[];
}

/**
 * How the config asks a version to execute, as plain data every backend reads the same way; each
 * backend derives its own runtime options from it (onnxruntime: backend/ort/execution-settings.ts).
 */
/**
 * The nice value of worker threads when a config sets none (`worker_nice`): the event loop, which
 * only does I/O, gets a core first. The shared pool's threads run at it too.
 */
export const DEFAULT_NICENESS = 10;

export interface ExecutionSpec {
  /**
   * Nice value (0–19) of the instance's worker thread and the threads its runtime starts: above 0
   * the event loop preempts model compute, so I/O, rejections and health checks stay prompt when
   * every core is busy computing.
   */
  niceness: number;
  /** The config's `parameters`, key → string_value as written (backends validate their own keys). */
  parameters: Record<string, string>;
  /** `optimization.graph.level` (Triton: 0 = the backend's default). */
  graphLevel: number;
  /** Names in `optimization.execution_accelerators.cpu_execution_accelerator`, in order. */
  cpuAccelerators: string[];
}

/** One warm-up sample (config model_warmup, or generated). */
export interface WarmupSample {
  name: string;
  batchSize: number;
  count: number;
  /**
   * Made up by infergate, not the config's `model_warmup`: it must never fail a valid model (its
   * strings are "0", and a failure only warns; backend/ort/worker-warmup.ts).
   */
  generated?: boolean;
  inputs: Array<{
    name: string;
    datatype: DataType;
    /** Shape excluding the batch dim. */
    dims: number[];
    kind: 'zero' | 'random' | 'file';
    /** Absolute path when kind = 'file'. */
    file?: string;
  }>;
}

/** Queue policy of one priority level (Triton's ModelQueuePolicy). */
export interface QueuePolicySpec {
  timeoutAction: 'REJECT' | 'DELAY';
  /** 0 = no timeout. */
  defaultTimeoutUs: number;
  allowTimeoutOverride: boolean;
  /** 0 = unbounded. */
  maxQueueSize: number;
}

/** Dynamic batching settings (Triton's ModelDynamicBatching), plain and defaulted. */
export interface DynamicBatchingSpec {
  preferredBatchSizes: number[];
  maxQueueDelayUs: number;
  preserveOrdering: boolean;
  /** 0 = a single level. */
  priorityLevels: number;
  defaultPriorityLevel: number;
  defaultQueuePolicy: QueuePolicySpec;
  /** Per-level overrides, keyed by level (1..priorityLevels). */
  priorityQueuePolicy: Record<number, QueuePolicySpec>;
  /** infergate's `batch_size_tuning: throughput` parameter: the cap is measured online (batch-tuner.ts). */
  throughputTuning?: boolean;
}

/** infergate's latency-objective batching (our own config section `latency_objective`). */
export interface LatencyObjectiveSpec {
  p99Us: number;
  windowRequests: number;
}

/** What a sequence control input carries (Triton's ModelSequenceBatching.Control.Kind). */
export type SequenceControlKind = 'start' | 'end' | 'ready' | 'corrid';

/** One control input the sequence batcher feeds (never the client): a model input absent from `inputs`. */
export interface SequenceControlSpec {
  /** The model input's name. */
  input: string;
  kind: SequenceControlKind;
  datatype: DataType;
  /** start/end/ready: the [false, true] values of `*_false_true`; absent for corrid. */
  falseTrue?: [number, number];
}

/** One implicit state: output `output` of request n feeds input `input` of request n+1 of a sequence. */
export interface SequenceStateSpec {
  input: string;
  output: string;
  datatype: DataType;
  /** Shape of the state at a sequence's start (no batch dim): initial_state's dims, else the state's. */
  initialDims: number[];
}

/** Triton's sequence_batching, plain and defaulted (config/sequence.ts). */
export interface SequenceBatchingSpec {
  strategy: 'direct' | 'oldest';
  /** A sequence with nothing to do for this long releases its slot (default 1 s, as Triton). */
  maxIdleUs: number;
  /** Sequence slots per instance: max(1, max_batch_size), or oldest's max_candidate_sequences. */
  slotsPerInstance: number;
  /** oldest: how long the oldest waiting request may wait for a fuller batch. */
  maxQueueDelayUs: number;
  /** oldest: preferred batch sizes (empty: max_batch_size). */
  preferredBatchSizes: number[];
  controls: SequenceControlSpec[];
  states: SequenceStateSpec[];
}

/** A circuit breaker's settings (our config section `resilience.circuit_breaker`), defaulted. */
export interface BreakerSpec {
  /** Opens when at least this share of the window's calls failed (0 < rate ≤ 1). */
  failureRate: number;
  /** Opens after this many failures in a row, whatever the window says. */
  consecutiveFailures: number;
  /** A call slower than this counts as a failure (0: latency never does). */
  slowCallMs: number;
  /** The sliding window the failure rate is measured over. */
  windowMs: number;
  /** The rate is not judged on fewer calls than this in the window. */
  minimumCalls: number;
  /** How long it stays open before it lets probes through (half-open). */
  openMs: number;
  /** Share of calls let through as probes while half-open (the rest are refused). */
  halfOpenShare: number;
  /** Probe successes in a row that close it again. */
  halfOpenSuccesses: number;
}

/** One step of a model's fallback chain. */
export type FallbackStepSpec =
  | { kind: 'version'; version: number }
  | { kind: 'model'; model: string; version?: number }
  | { kind: 'default'; outputs: Tensor[] }
  /** A cached answer of this model (any READY version) for the same inputs (router/stages/fallback.ts). */
  | { kind: 'cache' };

/** infergate's `resilience` config section, defaulted (config/resilience.ts). */
export interface ResilienceSpec {
  /** Deadline for calls that bring none; absent: none. */
  defaultTimeoutMs?: number;
  breaker?: BreakerSpec;
  /** Empty: no chain. */
  fallback: FallbackStepSpec[];
  /** Share of the remaining deadline kept for the chain while the primary runs (0 ≤ r < 1). */
  fallbackReserve: number;
}

/**
 * A model file read once into memory by the supply policy (supply/policy.ts): the backend loads
 * these bytes, never the path, so the bytes that were verified are the bytes that run (S11).
 */
export interface ModelBytes {
  /** The file as read and hashed; shared and read-only (every instance and restart loads this copy). */
  readonly bytes: Uint8Array;
  /** sha256 (hex) of `bytes`, checked again where they are handed to the runtime. */
  readonly sha256: string;
  /**
   * Set when `bytes` are an encrypted envelope (IGENC1): the key that opens them, as an opaque
   * handle (a node:crypto secret KeyObject, which never prints its bytes); decrypted where the model runs.
   */
  readonly key?: object;
  /** Set when the model has (checked) external data: the directory its locations are relative to. */
  readonly externalDataDir?: string;
}

/** Everything a backend needs to load one model version. Plain data, built by the repository. */
export interface ModelVersionSpec {
  model: string;
  version: number;
  /** Absolute path of the model file (e.g. <repo>/<m>/<v>/model.onnx). */
  path: string;
  /** 0 = no implicit batch dim. */
  maxBatchSize: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Number of parallel instances (sessions, each in its own worker thread). */
  instances: number;
  execution: ExecutionSpec;
  warmup: WarmupSample[];
  /** Present when the config has a dynamic_batching section; absent = request at a time. */
  batching?: DynamicBatchingSpec;
  /** Present when the config has a sequence_batching section (scheduler/sequence-scheduler.ts). */
  sequence?: SequenceBatchingSpec;
  /** Present when the config has a latency_objective section. */
  latencyObjective?: LatencyObjectiveSpec;
  /** Present when the config has a resilience section (deadline default, breaker, fallback chain). */
  resilience?: ResilienceSpec;
  /** Triton's `response_cache { enable: true }`: answers may be served from the response cache (cache/). */
  responseCache?: boolean;
  /** infergate's `pinned` parameter: the model memory budget never evicts this version (docs/memory.md). */
  pinned?: boolean;
  /** Present when the supply policy read the model: load these bytes instead of `path`. */
  source?: ModelBytes;
  /**
   * The backend holds BYTES as text (Backend.bytesAsText): the router refuses an element with a
   * NUL byte or invalid UTF-8 per request, before batching (router/text-bytes.ts).
   */
  bytesAsText?: boolean;
  /** Present for `platform: "ensemble"`: its steps, in config order (ensemble/ runs them as a DAG). */
  ensemble?: EnsembleStepSpec[];
}

/** One step of an ensemble (Triton's `ensemble_scheduling.step`), as plain data. */
export interface EnsembleStepSpec {
  model: string;
  /** -1 = the version policy's default (Triton's model_version -1). */
  version: number;
  /** The step model's input name → the ensemble tensor that feeds it. */
  inputMap: Record<string, string>;
  /** The step model's output name → the ensemble tensor it produces. */
  outputMap: Record<string, string>;
}

/** Tensor signature read from a model file; shape includes every dim, -1 for symbolic ones. */
export interface ModelIO {
  inputs: Array<{ name: string; datatype: DataType | undefined; shape: number[] }>;
  outputs: Array<{ name: string; datatype: DataType | undefined; shape: number[] }>;
}

/** One version's model file, as the repository asks the supply policy about it (plain data). */
export interface ModelFileRef {
  model: string;
  version: number;
  /** The backend that will load it (`onnxruntime`, …). */
  backend: string;
  /** Absolute path of `<model>/<version>`, where a signed manifest lives. */
  versionDir: string;
  /** Absolute path of the model file inside it. */
  path: string;
  /** The config's `parameters` (e.g. `require_signed`, `model_encrypted`). */
  parameters: Readonly<Record<string, string>>;
}
