/**
 * A feature store model's configuration (docs/feature-store.md): its config's `parameters`,
 * inputs and outputs checked once at load and turned into a plain `FeatureStoreSpec`. Pure: every
 * problem is an IG_ERR_MODEL_LOAD naming the parameter or tensor, so the repository index shows
 * why the model did not load.
 */
import { type DataType, InferError, type ModelVersionSpec, type TensorSpec } from '../../core/index.js';
import { parseFeatureValue } from './values.js';

/** Datatypes the entity id input may have. */
export const ID_TYPES: readonly DataType[] = ['BYTES', 'INT64', 'INT32'];
/** Datatypes the feature output may have. */
export const FEATURE_TYPES: readonly DataType[] = ['FP32', 'FP64', 'INT64', 'INT32'];
/** The placeholder of `key_template` the entity id replaces. */
export const ID_PLACEHOLDER = '{id}';
/** `latency_budget_ms` when the config names none. */
export const DEFAULT_LATENCY_BUDGET_MS = 100;

/** What a feature store does with an entity none of whose features are stored. */
export type OnMissingEntity = 'error' | 'default';

/** A feature value as the output tensor holds it. */
export type FeatureValue = number | bigint;

/** Everything a feature store version needs, checked and plain. */
export interface FeatureStoreSpec {
  model: string;
  /** The key template's text before and after `{id}`. */
  keyPrefix: string;
  keySuffix: string;
  /** Hash fields read for each entity, in the output's column order. */
  features: string[];
  /** Per feature (same order): its default, or undefined when a missing value is an error. */
  defaults: Array<FeatureValue | undefined>;
  onMissingEntity: OnMissingEntity;
  latencyBudgetMs: number;
  /** The model's own Redis (parameter `redis_url`), overriding the server's. Never logged. */
  redisUrl?: string;
  input: { name: string; datatype: DataType };
  output: { name: string; datatype: DataType };
}

/** Parameters this backend reads; others (server-wide ones like `pinned`) are left alone. */
const KEY_TEMPLATE = 'key_template';
const FEATURES = 'features';
const DEFAULT_VALUE = 'default_value';
const DEFAULT_PREFIX = 'default.';
const ON_MISSING_ENTITY = 'on_missing_entity';
const LATENCY_BUDGET = 'latency_budget_ms';
const REDIS_URL = 'redis_url';
const LAYOUT = 'layout';

/** A load error about this model, as the repository index shows it. */
export function featureStoreLoadError(model: string, detail: string, cause?: unknown): InferError {
  return new InferError('IG_ERR_MODEL_LOAD', `failed to load '${model}': feature store: ${detail}`, { cause });
}

/** Checks a version's config and parameters; throws IG_ERR_MODEL_LOAD naming what is wrong. */
export function parseFeatureStoreSpec(spec: ModelVersionSpec): FeatureStoreSpec {
  const model = spec.model;
  const fail = (detail: string): never => {
    throw featureStoreLoadError(model, detail);
  };
  const params = spec.execution.parameters;
  const layout = (params[LAYOUT] ?? 'hash').trim();
  if (layout === 'feast')
    fail(
      `parameter '${LAYOUT}': 'feast' is not supported (Feast's Redis keys and values are its own binary encodings; ` +
        'write plain hashes, see docs/feature-store.md)',
    );
  if (layout !== 'hash') fail(`parameter '${LAYOUT}' must be 'hash', not '${layout}'`);
  const { keyPrefix, keySuffix } = keyTemplate(params[KEY_TEMPLATE], fail);
  const features = featureList(params[FEATURES], fail);
  const { input, output } = tensors(spec, features.length, fail);
  const defaults = featureDefaults(params, features, output.datatype, fail);
  const onMissingEntity = (params[ON_MISSING_ENTITY] ?? 'error').trim();
  if (onMissingEntity !== 'error' && onMissingEntity !== 'default')
    fail(`parameter '${ON_MISSING_ENTITY}' must be 'error' or 'default', not '${onMissingEntity}'`);
  if (onMissingEntity === 'default') {
    const without = features.filter((_, i) => defaults[i] === undefined);
    if (without.length > 0)
      fail(
        `parameter '${ON_MISSING_ENTITY}' is 'default' but feature(s) ${quoteList(without)} have no default ` +
          `(set '${DEFAULT_VALUE}' or '${DEFAULT_PREFIX}<feature>')`,
      );
  }
  const out: FeatureStoreSpec = {
    model,
    keyPrefix,
    keySuffix,
    features,
    defaults,
    onMissingEntity: onMissingEntity as OnMissingEntity,
    latencyBudgetMs: latencyBudget(params[LATENCY_BUDGET], fail),
    input,
    output,
  };
  const url = params[REDIS_URL]?.trim();
  if (url) out.redisUrl = url;
  return out;
}

type Fail = (detail: string) => never;

function keyTemplate(raw: string | undefined, fail: Fail): { keyPrefix: string; keySuffix: string } {
  if (raw === undefined || raw === '')
    fail(`parameter '${KEY_TEMPLATE}' is required (the Redis key of an entity, e.g. 'user:${ID_PLACEHOLDER}')`);
  const template = raw as string;
  const at = template.indexOf(ID_PLACEHOLDER);
  if (at < 0 || template.indexOf(ID_PLACEHOLDER, at + 1) >= 0)
    fail(`parameter '${KEY_TEMPLATE}' must contain '${ID_PLACEHOLDER}' exactly once, not '${template}'`);
  return { keyPrefix: template.slice(0, at), keySuffix: template.slice(at + ID_PLACEHOLDER.length) };
}

function featureList(raw: string | undefined, fail: Fail): string[] {
  const features = (raw ?? '').split(',').map((f) => f.trim());
  if (raw === undefined || features.every((f) => f === ''))
    fail(`parameter '${FEATURES}' is required (the hash fields to read, comma-separated, in output order)`);
  if (features.some((f) => f === '')) fail(`parameter '${FEATURES}' has an empty name in '${raw}'`);
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f)) fail(`parameter '${FEATURES}' names '${f}' twice`);
    seen.add(f);
  }
  return features;
}

function tensors(
  spec: ModelVersionSpec,
  nFeatures: number,
  fail: Fail,
): { input: FeatureStoreSpec['input']; output: FeatureStoreSpec['output'] } {
  if (spec.inputs.length !== 1)
    fail(`the config must declare exactly one input (the entity ids), not ${spec.inputs.length}`);
  if (spec.outputs.length !== 1)
    fail(`the config must declare exactly one output (the features), not ${spec.outputs.length}`);
  const input = spec.inputs[0] as TensorSpec;
  const output = spec.outputs[0] as TensorSpec;
  if (!ID_TYPES.includes(input.datatype))
    fail(`input '${input.name}' must be ${ID_TYPES.join(', ')} (entity ids), not ${input.datatype}`);
  if (!FEATURE_TYPES.includes(output.datatype))
    fail(`output '${output.name}' must be ${FEATURE_TYPES.join(', ')}, not ${output.datatype}`);
  const inDims = input.reshape ?? input.dims;
  const outDims = output.reshape ?? output.dims;
  const batched = spec.maxBatchSize > 0;
  // Batched: one id per row ([1]); not batched: a vector of ids, one output row each.
  const idsOk = batched ? inDims.length === 1 && inDims[0] === 1 : inDims.length === 1;
  if (!idsOk)
    fail(
      `input '${input.name}' must have dims ${batched ? '[ 1 ] (one entity id per batch row)' : '[ -1 ] (a vector of entity ids)'}, not [${inDims.join(', ')}]`,
    );
  const last = outDims[outDims.length - 1];
  const outOk = outDims.length === (batched ? 1 : 2) && (last === nFeatures || last === -1);
  if (!outOk)
    fail(
      `output '${output.name}' must have dims ${batched ? `[ ${nFeatures} ]` : `[ -1, ${nFeatures} ]`} (one column per feature), not [${outDims.join(', ')}]`,
    );
  return {
    input: { name: input.name, datatype: input.datatype },
    output: { name: output.name, datatype: output.datatype },
  };
}

function featureDefaults(
  params: Readonly<Record<string, string>>,
  features: readonly string[],
  datatype: DataType,
  fail: Fail,
): Array<FeatureValue | undefined> {
  const parse = (name: string, text: string): FeatureValue => {
    const v = parseFeatureValue(text, datatype);
    if (typeof v === 'string') fail(`parameter '${name}': '${text}' ${v}`);
    return v as FeatureValue;
  };
  const common = params[DEFAULT_VALUE] === undefined ? undefined : parse(DEFAULT_VALUE, params[DEFAULT_VALUE]);
  for (const key of Object.keys(params)) {
    if (!key.startsWith(DEFAULT_PREFIX)) continue;
    const f = key.slice(DEFAULT_PREFIX.length);
    if (!features.includes(f))
      fail(`parameter '${key}' names a feature that is not in '${FEATURES}' (${quoteList(features)})`);
  }
  return features.map((f) => {
    const key = DEFAULT_PREFIX + f;
    const own = params[key];
    return own === undefined ? common : parse(key, own);
  });
}

function latencyBudget(raw: string | undefined, fail: Fail): number {
  if (raw === undefined) return DEFAULT_LATENCY_BUDGET_MS;
  const ms = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(ms) || ms <= 0)
    fail(`parameter '${LATENCY_BUDGET}' must be a positive number of milliseconds, not '${raw}'`);
  return ms;
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}
