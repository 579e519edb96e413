import { clone, create } from '@bufbuild/protobuf';
import {
  type ModelConfig,
  ModelConfigSchema,
  ModelInstanceGroup_Kind,
  ModelInstanceGroupSchema,
  ModelVersionPolicy_LatestSchema,
  ModelVersionPolicySchema,
} from '../gen/model_config_pb.js';
import { loadError } from './errors.js';

/** Triton's ONNX names, which a config naming neither platform nor backend gets (as its model.onnx file). */
export const ORT_PLATFORM = 'onnxruntime_onnx';
export const ORT_BACKEND = 'onnxruntime';
export const DEFAULT_MODEL_FILENAME = 'model.onnx';
/** onnxruntime's default instance count for KIND_CPU groups in Triton. */
export const DEFAULT_CPU_INSTANCES = 2;

/**
 * A backend this server has, by its Triton names (the server's backend registry passes its
 * backends; config code never imports them).
 */
export interface KnownBackend {
  readonly name: string;
  readonly platforms: readonly string[];
  /** Its model file names, preferred first: the first is its default_model_filename (else model.onnx). */
  readonly modelFiles?: readonly string[];
}

/**
 * The normalisations that need no model file (protocol.md D.1, D.3, D.8): name, platform/backend
 * (checked against `backends`), default_model_filename, version_policy, instance_group. Returns a new message.
 */
export function applyBaseDefaults(input: ModelConfig, model: string, backends: readonly KnownBackend[]): ModelConfig {
  const cfg = clone(ModelConfigSchema, input);
  if (cfg.name && cfg.name !== model)
    throw loadError(model, `config name '${cfg.name}' does not match the model directory name '${model}'`);
  cfg.name = model;
  const serving = fillPlatform(cfg, model, backends);
  if (!cfg.defaultModelFilename) cfg.defaultModelFilename = serving.modelFiles?.[0] ?? DEFAULT_MODEL_FILENAME;
  if (/[/\\]|^\.\.?$/.test(cfg.defaultModelFilename))
    throw loadError(model, `default_model_filename '${cfg.defaultModelFilename}' must be a plain file name`);
  fillVersionPolicy(cfg, model);
  fillInstanceGroups(cfg, model);
  return cfg;
}

function describe(backends: readonly KnownBackend[]): string {
  if (backends.length === 0) return 'none';
  return backends.map((b) => (b.platforms.length > 0 ? `${b.name} (${b.platforms.join(', ')})` : b.name)).join(', ');
}

/**
 * Fills the other of platform/backend from the backend serving the one given; refuses names no
 * backend of this server serves, and a platform its named backend does not serve. Returns that backend.
 */
function fillPlatform(cfg: ModelConfig, model: string, backends: readonly KnownBackend[]): KnownBackend {
  const named = cfg.platform || cfg.backend;
  const platform = named ? cfg.platform : ORT_PLATFORM;
  const backend = named ? cfg.backend : ORT_BACKEND;
  const available = `available: ${describe(backends)}`;
  const serving = backend
    ? backends.find((b) => b.name === backend)
    : backends.find((b) => b.platforms.includes(platform));
  if (serving === undefined) {
    const what = backend ? `backend '${backend}' is not available` : `platform '${platform}' has no backend`;
    throw loadError(model, `${what} in this server; ${available}`);
  }
  if (platform && !serving.platforms.includes(platform))
    throw loadError(model, `platform '${platform}' is not served by backend '${serving.name}'; ${available}`);
  cfg.backend = serving.name;
  cfg.platform = platform || (serving.platforms[0] ?? '');
  return serving;
}

function fillVersionPolicy(cfg: ModelConfig, model: string): void {
  const choice = cfg.versionPolicy?.policyChoice;
  if (!choice?.case) {
    cfg.versionPolicy = create(ModelVersionPolicySchema, {
      policyChoice: { case: 'latest', value: create(ModelVersionPolicy_LatestSchema, { numVersions: 1 }) },
    });
  } else if (choice.case === 'latest' && choice.value.numVersions < 1) {
    throw loadError(model, 'version_policy latest must have num_versions >= 1');
  } else if (choice.case === 'specific' && choice.value.versions.some((v) => v < 1n)) {
    throw loadError(model, 'version_policy specific versions must be positive integers');
  }
}

function fillInstanceGroups(cfg: ModelConfig, model: string): void {
  if (cfg.instanceGroup.length === 0) cfg.instanceGroup.push(create(ModelInstanceGroupSchema, {}));
  cfg.instanceGroup.forEach((g, i) => {
    if (!g.name) g.name = `${model}_${i}`;
    if (g.kind === ModelInstanceGroup_Kind.GPU || g.gpus.length > 0)
      throw loadError(
        model,
        `instance group '${g.name}' asks for KIND_GPU, but this server has no GPU support; use KIND_CPU`,
      );
    // KIND_AUTO and KIND_MODEL resolve to CPU on a CPU-only host.
    g.kind = ModelInstanceGroup_Kind.CPU;
    if (g.count < 0) throw loadError(model, `instance group '${g.name}' has a negative count`);
    if (g.count === 0) g.count = DEFAULT_CPU_INSTANCES;
  });
}
