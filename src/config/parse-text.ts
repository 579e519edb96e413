import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { LineCounter, parseDocument } from 'yaml';
import { type ModelConfig, ModelConfigSchema } from '../gen/model_config_pb.js';
import { configError, messageOf } from './errors.js';
import { locateTxtError } from './txtpb-locate.js';
import { scanTxt } from './txtpb-scan.js';
import { locateJsonError } from './yaml-locate.js';

/** Config file syntaxes we accept; YAML and JSON use the same (snake_case) field names. */
export type ConfigFormat = 'pbtxt' | 'yaml' | 'json';

/** The format implied by a config file name (config.pbtxt, config.yaml, config.yml, config.json). */
export function formatOf(fileName: string): ConfigFormat {
  if (fileName.endsWith('.json')) return 'json';
  if (fileName.endsWith('.yaml') || fileName.endsWith('.yml')) return 'yaml';
  return 'pbtxt';
}

/** Parses a model config in any accepted format; `file` (repo-relative) is used in error messages. */
export function parseModelConfig(text: string, format: ConfigFormat, file: string): ModelConfig {
  return format === 'pbtxt' ? parsePbtxt(text, file) : parseYamlOrJson(text, file);
}

/** Parses protobuf text format; errors name file, line and field. */
export function parsePbtxt(text: string, file: string): ModelConfig {
  try {
    return fromText(ModelConfigSchema, text);
  } catch (err) {
    const detail = messageOf(err);
    const scanned = scanTxt(text);
    if (!Array.isArray(scanned)) throw configError({ file, ...scanned }, detail, err);
    const loc = locateTxtError(ModelConfigSchema, scanned, text) ?? guessLine(text, detail);
    throw configError({ file, ...loc }, detail, err);
  }
}

/** When the structural search finds nothing, the quoted token in the message still names a line. */
function guessLine(text: string, detail: string): { line?: number; field?: string } {
  const token = /"([^"]+)"/.exec(detail)?.[1];
  if (!token) return {};
  const idx = text.split('\n').findIndex((l) => l.replace(/#.*/, '').includes(token));
  return idx < 0 ? { field: token } : { line: idx + 1, field: token };
}

/** Parses YAML (JSON is YAML) into a ModelConfig via protobuf JSON; errors name file, line and field. */
export function parseYamlOrJson(text: string, file: string): ModelConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line;
    throw configError({ file, line }, first.message.split('\n')[0] ?? 'invalid YAML', first);
  }
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (value === null || value === undefined) return create(ModelConfigSchema);
  if (typeof value !== 'object' || Array.isArray(value))
    throw configError({ file, line: 1 }, 'a model config must be a mapping of field names to values');
  try {
    return fromJson(ModelConfigSchema, value as JsonValue);
  } catch (err) {
    const loc = locateJsonError(ModelConfigSchema, doc.contents, lineCounter);
    throw configError({ file, ...loc }, messageOf(err), err);
  }
}
