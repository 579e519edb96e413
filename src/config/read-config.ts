import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { type ModelConfig, ModelConfigSchema } from '../gen/model_config_pb.js';
import { loadError, messageOf } from './errors.js';
import { formatOf, parseModelConfig } from './parse-text.js';

/** Config file names looked up in a model directory, first found wins. */
export const CONFIG_FILES = ['config.pbtxt', 'config.yaml', 'config.yml', 'config.json'] as const;

/** A parsed config and the repo-relative file it came from (undefined: none, all defaults). */
export interface RawConfig {
  config: ModelConfig;
  file?: string;
}

/** Reads and parses `<modelDir>/config.{pbtxt,yaml,yml,json}`; a missing file yields an empty config. */
export async function readModelConfig(modelDir: string, model: string): Promise<RawConfig> {
  for (const name of CONFIG_FILES) {
    let text: string;
    try {
      text = await readFile(join(modelDir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw loadError(model, `cannot read ${model}/${name}`, err);
    }
    const file = `${model}/${name}`;
    return { config: parseModelConfig(text, formatOf(name), file), file };
  }
  return { config: create(ModelConfigSchema) };
}

/** Parses the `config` parameter of a repository load call (ModelConfig JSON). */
export function parseConfigOverride(json: string, model: string): RawConfig {
  const file = `${model} (load parameter 'config')`;
  // JSON only, as Triton reads it: a broken JSON fragment must not pass as YAML. Refusals say
  // "failed to load", which Triton's model-control examples check for.
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw loadError(model, `the 'config' parameter is not valid JSON: ${messageOf(err)}`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw loadError(model, "the 'config' parameter must be a JSON object (a model configuration)");
  try {
    return { config: parseModelConfig(json, 'json', file), file };
  } catch (err) {
    throw loadError(model, messageOf(err), err);
  }
}
