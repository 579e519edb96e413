import { join } from 'node:path';
import type { WarmupSample } from '../core/model.js';
import type { ModelConfig } from '../gen/model_config_pb.js';
import { dimsOf, protocolType } from './datatypes.js';
import { loadError } from './errors.js';

/** True for a relative path that stays inside its directory (no '..', not absolute, no NUL). */
export function isContainedRelativePath(p: string): boolean {
  if (!p || p.includes('\0') || p.startsWith('/') || p.includes('\\') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '..' && seg !== '');
}

/**
 * Warm-up samples from `model_warmup` (protocol.md D.8); data files live under `<model>/warmup/`.
 * Empty when none is configured: the backend then generates its own.
 */
export function warmupSamples(cfg: ModelConfig, modelDir: string): WarmupSample[] {
  return cfg.modelWarmup.map((w, i) => {
    const name = w.name || `warmup_${i}`;
    if (cfg.maxBatchSize > 0 && w.batchSize > cfg.maxBatchSize)
      throw loadError(
        cfg.name,
        `warmup '${name}' batch_size ${w.batchSize} exceeds max_batch_size ${cfg.maxBatchSize}`,
      );
    const inputs = Object.entries(w.inputs).map(([input, spec]) => {
      const datatype = protocolType(spec.dataType);
      if (!datatype) throw loadError(cfg.name, `warmup '${name}' input '${input}' must specify a valid data_type`);
      if (!cfg.input.some((t) => t.name === input))
        throw loadError(cfg.name, `warmup '${name}' names input '${input}' that the model does not have`);
      const choice = spec.inputDataType;
      const base = { name: input, datatype, dims: dimsOf(spec.dims) };
      if (choice.case === 'zeroData') return { ...base, kind: 'zero' as const };
      if (choice.case === 'randomData') return { ...base, kind: 'random' as const };
      if (choice.case === 'inputDataFile' && isContainedRelativePath(choice.value))
        return { ...base, kind: 'file' as const, file: join(modelDir, 'warmup', choice.value) };
      throw loadError(
        cfg.name,
        `warmup '${name}' input '${input}' needs zero_data, random_data or an input_data_file inside warmup/`,
      );
    });
    // For non-batching models the batch size is meaningless; one request is one sample.
    const batchSize = cfg.maxBatchSize > 0 ? Math.max(1, w.batchSize) : 1;
    return { name, batchSize, count: Math.max(1, w.count), inputs };
  });
}
