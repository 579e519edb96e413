/**
 * onnxruntime's reading of a version's ExecutionSpec: the `parameters` Triton's onnxruntime
 * backend understands, `optimization.graph.level` and the CPU accelerators as execution providers.
 * Checked when a version loads, so a malformed value fails that load naming the parameter.
 */
import { type ExecutionSpec, InferError } from '../../core/index.js';

/** onnxruntime session settings of one version. */
export interface OrtExecutionSettings {
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  /** ORT thread-pool spinning; off by default (spinning threads slow down on a shared machine). */
  spinning: boolean;
  enableMemArena: boolean;
  enableMemPattern: boolean;
  /** Requested execution providers in order; the worker falls back to 'cpu'. */
  executionProviders: string[];
  /**
   * Where the sessions live (pool.ts): 'shared' threads of the pool, a 'dedicated' thread per
   * instance, or 'auto' (shared when the model file is at most the backend's size threshold).
   */
  workerPool: 'auto' | 'shared' | 'dedicated';
}

/** Defaults for a small shared machine: one thread each, no spinning (protocol.md D.3 `parameters`). */
export const DEFAULT_ORT_EXECUTION: OrtExecutionSettings = {
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  spinning: false,
  enableMemArena: true,
  enableMemPattern: true,
  executionProviders: [],
  workerPool: 'auto',
};

/** Reads typed parameters of one model; failures are IG_ERR_MODEL_LOAD naming the parameter. */
class Params {
  constructor(
    private readonly model: string,
    private readonly values: Readonly<Record<string, string>>,
  ) {}

  fail(detail: string): InferError {
    return new InferError('IG_ERR_MODEL_LOAD', `failed to load '${this.model}': ${detail}`);
  }

  text(key: string): string | undefined {
    const v = this.values[key]?.trim();
    return v === '' ? undefined : v;
  }

  int(key: string, fallback: number): number {
    const v = this.text(key);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw this.fail(`parameter '${key}' must be a non-negative integer, got '${v}'`);
    return Number(v);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.text(key)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw this.fail(`parameter '${key}' must be a boolean (true/false/1/0), got '${v}'`);
  }
}

function executionMode(p: Params): OrtExecutionSettings['executionMode'] {
  const v = p.text('execution_mode')?.toLowerCase();
  if (v === undefined || v === '0' || v === 'sequential') return 'sequential';
  if (v === '1' || v === 'parallel') return 'parallel';
  throw p.fail(`parameter 'execution_mode' must be 0 (sequential) or 1 (parallel), got '${v}'`);
}

function workerPool(p: Params): OrtExecutionSettings['workerPool'] {
  const v = p.text('worker_pool')?.toLowerCase();
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'shared' || v === 'dedicated') return v;
  throw p.fail(`parameter 'worker_pool' must be auto, shared or dedicated, got '${v}'`);
}

/** Triton's ORT mapping of optimization.graph.level: -1 basic, 1 extended, 2 disable all, else all. */
function graphLevel(level: number): OrtExecutionSettings['graphOptimizationLevel'] {
  if (level === -1) return 'basic';
  if (level === 1) return 'extended';
  if (level === 2) return 'disabled';
  return 'all';
}

/** onnxruntime settings of a version; throws IG_ERR_MODEL_LOAD on a malformed parameter. */
export function ortExecutionSettings(model: string, e: ExecutionSpec): OrtExecutionSettings {
  const p = new Params(model, e.parameters);
  const d = DEFAULT_ORT_EXECUTION;
  return {
    intraOpThreads: p.int('intra_op_thread_count', d.intraOpThreads),
    interOpThreads: p.int('inter_op_thread_count', d.interOpThreads),
    graphOptimizationLevel: graphLevel(e.graphLevel),
    executionMode: executionMode(p),
    spinning: p.bool('spinning', d.spinning),
    enableMemArena: p.bool('enable_mem_arena', d.enableMemArena),
    enableMemPattern: p.bool('enable_mem_pattern', d.enableMemPattern),
    executionProviders: e.cpuAccelerators.map((a) => a.toLowerCase()).filter((n) => n.length > 0),
    workerPool: workerPool(p),
  };
}
