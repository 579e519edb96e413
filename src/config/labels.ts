import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../gen/model_config_pb.js';
import { loadError } from './errors.js';
import { isContainedRelativePath } from './warmup.js';

/** Splits a label file: one label per line, line i = class i; a trailing newline adds no class. */
export function splitLabels(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Reads every output's `label_filename` (relative to the model directory) into output name → labels. */
export async function readLabels(cfg: ModelConfig, modelDir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const o of cfg.output) {
    if (!o.labelFilename) continue;
    if (!isContainedRelativePath(o.labelFilename))
      throw loadError(cfg.name, `output '${o.name}' label_filename must be a path inside the model directory`);
    try {
      out.set(o.name, splitLabels(await readFile(join(modelDir, o.labelFilename), 'utf8')));
    } catch (err) {
      throw loadError(cfg.name, `cannot read label file '${o.labelFilename}' of output '${o.name}'`, err);
    }
  }
  return out;
}
