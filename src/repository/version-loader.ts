import { join } from 'node:path';
import { clone, create } from '@bufbuild/protobuf';
import type { Backend, BackendLookup, LoadedModel, LoadOptions } from '../backend/types.js';
import {
  applyBaseDefaults,
  configWarnings,
  loadError,
  normalizeConfig,
  type RawConfig,
  readLabels,
  selectVersions,
  toTritonJson,
  toVersionSpec,
  validateSignature,
} from '../config/index.js';
import { declaredSignature } from '../config/signature.js';
import type { ModelBytes, ModelIO, ModelVersionSpec } from '../core/model.js';
import { type ModelConfig, ModelConfigSchema, ModelVersionPolicySchema } from '../gen/model_config_pb.js';
import type { Scheduler, SchedulerFactory } from '../scheduler/types.js';
import { fileStamp, resolveModelFile } from './discovery.js';
import { withModelFile } from './model-files.js';
import type { ModelSource } from './types.js';

/** The raw config with its version policy replaced by exactly `versions` (registry sync, on-demand loads). */
export function withVersions(raw: RawConfig, versions: readonly number[]): RawConfig {
  const config = clone(ModelConfigSchema, raw.config);
  config.versionPolicy = create(ModelVersionPolicySchema, {
    policyChoice: { case: 'specific', value: { versions: versions.map((v) => BigInt(v)) } },
  });
  return { ...raw, config };
}

/** A model's config, normalized once per (re)load and shared by the versions it loads. */
export interface PreparedModel {
  model: string;
  modelDir: string;
  config: ModelConfig;
  /** The backend the config's platform/backend names, which loads every version. */
  backend: Backend;
  configJson: Record<string, unknown>;
  labels: Map<string, string[]>;
  /** Versions the policy selects from those on disk, highest first. */
  desired: number[];
  warnings: string[];
  /** Signatures already read while preparing, by version. */
  io: Map<number, ModelIO>;
  /** The supply policy (absent: files load from their paths, unchecked). */
  source?: ModelSource;
  /** Model bytes the policy returned while preparing, by version: loaded as they are, never re-read. */
  opened: Map<number, ModelBytes | undefined>;
}

/** One loaded version: what serves it and what must be released when it goes. */
export interface Live {
  spec: ModelVersionSpec;
  configJson: Record<string, unknown>;
  loaded: LoadedModel;
  scheduler: Scheduler;
  /** Private directory of an in-memory model, released with the last version using it. */
  tempDir?: string;
  /** The model file's signature, and the file's stamp when it was read (see discovery.ts fileStamp). */
  io: ModelIO;
  stamp?: string;
}

/** A failure after the version policy was applied: the selected versions carry the reason. */
export class PrepareFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly desired: number[],
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** The version's model file; with a supply policy, `<file>.enc` (encrypted at rest) when `<file>` is absent. */
async function findModelFile(modelDir: string, version: number, file: string, source: ModelSource | undefined) {
  const path = await resolveModelFile(modelDir, version, file);
  return path ?? (source ? await resolveModelFile(modelDir, version, `${file}.enc`) : undefined);
}

/** Asks the supply policy for the bytes to load (undefined: load from the path). */
function openModel(source: ModelSource | undefined, cfg: ModelConfig, modelDir: string, version: number, path: string) {
  if (source === undefined) return Promise.resolve(undefined);
  const parameters: Record<string, string> = {};
  for (const [k, p] of Object.entries(cfg.parameters)) parameters[k] = p.stringValue;
  const versionDir = join(modelDir, String(version));
  return source.open({ model: cfg.name, version, backend: cfg.backend, versionDir, path, parameters });
}

/** Reads the highest selected version's signature that can be read (a broken new one falls back to older). */
async function inspectLatest(
  backend: Backend,
  base: ModelConfig,
  modelDir: string,
  desired: number[],
  source: ModelSource | undefined,
) {
  const io = new Map<number, ModelIO>();
  const opened = new Map<number, ModelBytes | undefined>();
  let firstError: unknown;
  for (const v of desired) {
    const path = await findModelFile(modelDir, v, base.defaultModelFilename, source);
    if (!path) {
      firstError ??= loadError(base.name, `model file '${base.name}/${v}/${base.defaultModelFilename}' not found`);
      continue;
    }
    try {
      const bytes = await openModel(source, base, modelDir, v, path);
      io.set(v, await backend.inspect(path, bytes));
      opened.set(v, bytes);
      return { io, opened, latest: io.get(v)! };
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

/**
 * Parses nothing itself: takes a raw config and the versions on disk, picks the backend the config
 * names, applies the version policy, reads one signature for auto-complete, normalizes and
 * validates. Throws IG_ERR_MODEL_LOAD (a platform/backend this server lacks included).
 */
export async function prepareModel(
  backends: BackendLookup,
  model: string,
  modelDir: string,
  raw: RawConfig,
  available: number[],
  source?: ModelSource,
  /** Signatures read by an earlier load of unchanged files: inspecting again would only cost a worker. */
  known?: ReadonlyMap<number, ModelIO>,
): Promise<PreparedModel> {
  const config0 = await withModelFile(raw.config, modelDir, available, backends.list());
  const base = applyBaseDefaults(config0, model, backends.list());
  const backend = backends.byName(base.backend);
  const desired = selectVersions(base.versionPolicy, available);
  if (desired.length === 0)
    throw loadError(model, 'at least one version must be available under the version policy of the model');
  let io: Map<number, ModelIO>;
  let opened: Map<number, ModelBytes | undefined>;
  let config: ModelConfig;
  let labels: Map<string, string[]>;
  try {
    const reuse =
      desired[0] === undefined
        ? undefined
        : backend.signature === 'config'
          ? declaredSignature(base)
          : known?.get(desired[0]);
    const inspected = reuse
      ? { io: new Map([[desired[0] as number, reuse]]), opened: new Map(), latest: reuse }
      : await inspectLatest(backend, base, modelDir, desired, source);
    io = inspected.io;
    opened = inspected.opened;
    config = normalizeConfig(base, model, inspected.latest, backends.list());
    labels = await readLabels(config, modelDir);
  } catch (err) {
    throw new PrepareFailure(err, desired);
  }
  return {
    model,
    modelDir,
    config,
    backend,
    configJson: toTritonJson(config),
    labels,
    desired,
    warnings: configWarnings(config),
    io,
    source,
    opened,
  };
}

/**
 * Loads one version on the model's backend: signature check, spec, backend load (with warm-up),
 * scheduler. `admit` runs right before the backend loads (the memory budget makes room there: after
 * every check, so a broken version never evicts anything); it rejects to refuse the load.
 */
export async function loadVersion(
  schedulerFactory: SchedulerFactory,
  prepared: PreparedModel,
  version: number,
  options?: LoadOptions,
  admit?: (spec: ModelVersionSpec) => Promise<void>,
): Promise<Live> {
  const { model, modelDir, config, backend, source } = prepared;
  const file = config.defaultModelFilename;
  // A backend without model files (an ensemble) loads a version from its directory, which exists:
  // the version was found by listing them.
  const path =
    backend.needsFile === false
      ? join(modelDir, String(version))
      : await findModelFile(modelDir, version, file, source);
  if (!path) throw loadError(model, `model file '${model}/${version}/${file}' not found`);
  // Bytes opened while preparing are used once, then dropped here (the spec holds them while loaded).
  const bytes = prepared.opened.has(version)
    ? prepared.opened.get(version)
    : backend.needsFile === false
      ? undefined
      : await openModel(source, config, modelDir, version, path);
  prepared.opened.delete(version);
  const io =
    prepared.io.get(version) ??
    (backend.signature === 'config' ? declaredSignature(config) : await backend.inspect(path, bytes));
  const stamp = await fileStamp(path);
  validateSignature(config, io);
  const spec = toVersionSpec(config, { version, path, modelDir, labels: prepared.labels });
  if (bytes !== undefined) spec.source = bytes;
  if (backend.bytesAsText) spec.bytesAsText = true;
  await admit?.(spec);
  const loaded = await backend.load(spec, options);
  try {
    return { spec, configJson: prepared.configJson, loaded, scheduler: schedulerFactory(spec, loaded), io, stamp };
  } catch (err) {
    await loaded.dispose().catch(() => undefined);
    throw err;
  }
}

/** Waits for in-flight work, then frees the instances; never throws (returns the failure text). */
export async function disposeLive(live: Live): Promise<string | undefined> {
  try {
    await live.scheduler.drain();
    await live.loaded.dispose();
    return undefined;
  } catch (err) {
    await live.loaded.dispose().catch(() => undefined);
    return err instanceof Error ? err.message : String(err);
  }
}
