import type { ExecutionSettings } from '../core/model.js';
import type { ModelConfig } from '../gen/model_config_pb.js';
import { loadError } from './errors.js';

/** Defaults for a small shared machine: one thread each, no spinning (protocol.md D.3 `parameters`). */
export const DEFAULT_EXECUTION: ExecutionSettings = {
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  spinning: false,
  enableMemArena: true,
  enableMemPattern: true,
  executionProviders: [],
  niceness: 10,
};

function param(cfg: ModelConfig, key: string): string | undefined {
  return cfg.parameters[key]?.stringValue.trim();
}

function intParam(cfg: ModelConfig, key: string, fallback: number): number {
  const v = param(cfg, key);
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw loadError(cfg.name, `parameter '${key}' must be a non-negative integer, got '${v}'`);
  return Number(v);
}

function boolParam(cfg: ModelConfig, key: string, fallback: boolean): boolean {
  const v = param(cfg, key)?.toLowerCase();
  if (v === undefined || v === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw loadError(cfg.name, `parameter '${key}' must be a boolean (true/false/1/0), got '${v}'`);
}

function executionMode(cfg: ModelConfig): ExecutionSettings['executionMode'] {
  const v = param(cfg, 'execution_mode')?.toLowerCase();
  if (v === undefined || v === '' || v === '0' || v === 'sequential') return 'sequential';
  if (v === '1' || v === 'parallel') return 'parallel';
  throw loadError(cfg.name, `parameter 'execution_mode' must be 0 (sequential) or 1 (parallel), got '${v}'`);
}

// Linux nice range; negative values would need privileges and would starve the event loop.
function niceness(cfg: ModelConfig): number {
  const n = intParam(cfg, 'worker_nice', DEFAULT_EXECUTION.niceness);
  if (n > 19) throw loadError(cfg.name, `parameter 'worker_nice' must be between 0 and 19, got '${n}'`);
  return n;
}

/** Triton's ORT mapping of optimization.graph.level: -1 basic, 1 extended, 2 disable all, else all. */
function graphLevel(cfg: ModelConfig): ExecutionSettings['graphOptimizationLevel'] {
  const level = cfg.optimization?.graph?.level ?? 0;
  if (level === -1) return 'basic';
  if (level === 1) return 'extended';
  if (level === 2) return 'disabled';
  return 'all';
}

/** onnxruntime session settings from `parameters` and `optimization` of a normalized config. */
export function executionSettings(cfg: ModelConfig): ExecutionSettings {
  const accelerators = cfg.optimization?.executionAccelerators?.cpuExecutionAccelerator ?? [];
  return {
    intraOpThreads: intParam(cfg, 'intra_op_thread_count', DEFAULT_EXECUTION.intraOpThreads),
    interOpThreads: intParam(cfg, 'inter_op_thread_count', DEFAULT_EXECUTION.interOpThreads),
    graphOptimizationLevel: graphLevel(cfg),
    executionMode: executionMode(cfg),
    spinning: boolParam(cfg, 'spinning', DEFAULT_EXECUTION.spinning),
    enableMemArena: boolParam(cfg, 'enable_mem_arena', DEFAULT_EXECUTION.enableMemArena),
    enableMemPattern: boolParam(cfg, 'enable_mem_pattern', DEFAULT_EXECUTION.enableMemPattern),
    executionProviders: accelerators.map((a) => a.name.toLowerCase()).filter((n) => n.length > 0),
    niceness: niceness(cfg),
  };
}

/** Things the config asks for that this CPU server accepts but ignores, for the load log. */
export function configWarnings(cfg: ModelConfig): string[] {
  const out: string[] = [];
  const gpu = cfg.optimization?.executionAccelerators?.gpuExecutionAccelerator ?? [];
  if (gpu.length > 0)
    out.push(`gpu_execution_accelerator (${gpu.map((a) => a.name).join(', ')}) ignored: no GPU on this server`);
  if (cfg.modelOperations && cfg.modelOperations.opLibraryFilename.length > 0)
    out.push('model_operations ignored: custom op libraries are not loaded');
  if (cfg.schedulingChoice.case === 'sequenceBatching')
    out.push('sequence_batching: sequences are scheduled without implicit state support');
  return out;
}
