import { DEFAULT_NICENESS, type ExecutionSpec } from '../core/model.js';
import type { ModelConfig } from '../gen/model_config_pb.js';
import { loadError } from './errors.js';

/**
 * What a config without `parameters` or `optimization` asks for. Worker threads run at nice 10 by
 * default so the event loop, which only does I/O, gets a core first (protocol.md D.3 `parameters`).
 */
export const DEFAULT_EXECUTION: ExecutionSpec = {
  niceness: DEFAULT_NICENESS,
  parameters: {},
  graphLevel: 0,
  cpuAccelerators: [],
};

// Linux nice range; negative values would need privileges and would starve the event loop.
function niceness(cfg: ModelConfig): number {
  const v = cfg.parameters['worker_nice']?.stringValue.trim();
  if (v === undefined || v === '') return DEFAULT_EXECUTION.niceness;
  if (!/^\d+$/.test(v)) throw loadError(cfg.name, `parameter 'worker_nice' must be a non-negative integer, got '${v}'`);
  const n = Number(v);
  if (n > 19) throw loadError(cfg.name, `parameter 'worker_nice' must be between 0 and 19, got '${n}'`);
  return n;
}

/**
 * The execution part of a normalized config as plain data. Only the backend-neutral `worker_nice`
 * is checked here; each backend validates the parameters it reads when it loads the version.
 */
export function executionSpec(cfg: ModelConfig): ExecutionSpec {
  const parameters: Record<string, string> = {};
  for (const [key, p] of Object.entries(cfg.parameters)) parameters[key] = p.stringValue;
  const accelerators = cfg.optimization?.executionAccelerators?.cpuExecutionAccelerator ?? [];
  return {
    niceness: niceness(cfg),
    parameters,
    graphLevel: cfg.optimization?.graph?.level ?? 0,
    cpuAccelerators: accelerators.map((a) => a.name),
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
  const sb = cfg.schedulingChoice.case === 'sequenceBatching' ? cfg.schedulingChoice.value : undefined;
  if (sb?.strategyChoice.case === 'direct' && sb.strategyChoice.value.minimumSlotUtilization > 0)
    out.push('sequence_batching direct minimum_slot_utilization ignored: every ready slot runs at once');
  return out;
}
