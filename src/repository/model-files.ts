/**
 * Which model file a config means when it does not say (no `default_model_filename`), for the
 * backends whose files are not model.onnx (Backend.modelFiles, e.g. the TypeScript backend's
 * model.ts / model.js / model.mjs), looked up in the version folders, highest version first:
 * - a config naming that backend gets the first of its file names the version holds;
 * - a config naming no platform or backend is that backend's when the version holds one of its
 *   files and no model.onnx (otherwise it stays onnxruntime's, as before).
 * Everything else is left as it is, for the config defaults (config/defaults.ts) to fill.
 */
import { clone } from '@bufbuild/protobuf';
import type { KnownBackend } from '../config/index.js';
import { type ModelConfig, ModelConfigSchema } from '../gen/model_config_pb.js';
import { resolveModelFile } from './discovery.js';

const ONNX_FILE = 'model.onnx';

/** The config with `backend` and `default_model_filename` filled from the files present (a new message when changed). */
export async function withModelFile(
  config: ModelConfig,
  modelDir: string,
  versions: readonly number[],
  backends: readonly KnownBackend[],
): Promise<ModelConfig> {
  if (config.defaultModelFilename || (config.platform && !config.backend)) return config;
  const candidates = backends.filter(
    (b) => (b.modelFiles?.length ?? 0) > 0 && (!config.backend || b.name === config.backend),
  );
  if (candidates.length === 0) return config;
  for (const v of [...versions].sort((a, b) => b - a)) {
    if (!config.backend && (await resolveModelFile(modelDir, v, ONNX_FILE))) return config;
    for (const b of candidates)
      for (const file of b.modelFiles ?? []) {
        if (!(await resolveModelFile(modelDir, v, file))) continue;
        const cfg = clone(ModelConfigSchema, config);
        cfg.backend = b.name;
        cfg.defaultModelFilename = file;
        return cfg;
      }
  }
  return config;
}
