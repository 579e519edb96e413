import type { ModelIO } from '../core/model.js';
import type { ModelConfig, ModelInput, ModelOutput } from '../gen/model_config_pb.js';
import { supportsBatching } from './autocomplete.js';
import { configTypeName, dimsOf, protocolType } from './datatypes.js';
import { loadError } from './errors.js';
import { sequenceSpec, serverFedInputs } from './sequence.js';
import type { DataType } from '../core/datatype.js';

type IoTensor = ModelIO['inputs'][number];

function mismatch(model: string, detail: string): Error {
  return loadError(model, `model signature not matching its config: ${detail}`);
}

/** True when two shapes have the same rank and every dim is equal or variable (-1) on either side. */
export function shapesCompatible(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === -1 || b[i] === -1 || d === b[i]);
}

/**
 * The signature a config declares, for backends whose signature is the config (Backend.signature
 * 'config': ensembles, TypeScript models, configured steps): each tensor with the batch dim first
 * when the model batches, and the dims the model sees (after reshape). Throws IG_ERR_MODEL_LOAD
 * when the config declares no input or no output, since nothing else could say what they are.
 */
export function declaredSignature(cfg: ModelConfig): ModelIO {
  const model = cfg.name;
  if (cfg.input.length === 0)
    throw loadError(model, 'the config must declare its inputs (this backend cannot read them from a file)');
  if (cfg.output.length === 0)
    throw loadError(model, 'the config must declare its outputs (this backend cannot read them from a file)');
  const tensor = (t: ModelInput | ModelOutput) => {
    const dims = dimsOf(t.reshape ? t.reshape.shape : t.dims);
    return { name: t.name, datatype: protocolType(t.dataType), shape: cfg.maxBatchSize > 0 ? [-1, ...dims] : dims };
  };
  return { inputs: cfg.input.map(tensor), outputs: cfg.output.map(tensor) };
}

/**
 * Checks a normalized config against the signature of one version's model file: every declared
 * tensor exists with the same datatype and compatible dims, and every model input is declared.
 * Throws IG_ERR_MODEL_LOAD naming the tensor.
 */
export function validateSignature(cfg: ModelConfig, io: ModelIO): void {
  const model = cfg.name;
  if (cfg.maxBatchSize > 0 && !supportsBatching(io))
    throw loadError(model, 'model does not support batching while non-zero max_batch_size is specified');
  checkList(cfg, 'input', cfg.input, io.inputs);
  checkList(cfg, 'output', cfg.output, io.outputs);
  checkSequenceSignature(cfg, io);
  const declared = new Set([...cfg.input.map((i) => i.name), ...serverFedInputs(cfg)]);
  const missing = io.inputs.filter((t) => !declared.has(t.name)).map((t) => `'${t.name}'`);
  if (missing.length > 0) throw mismatch(model, `model input(s) ${missing.join(', ')} missing from the config`);
}

function checkList(cfg: ModelConfig, kind: string, declared: Array<ModelInput | ModelOutput>, actual: IoTensor[]) {
  const model = cfg.name;
  const seen = new Set<string>();
  for (const d of declared) {
    if (!d.name) throw loadError(model, `an ${kind} in the config has no name`);
    if (seen.has(d.name)) throw loadError(model, `${kind} '${d.name}' is declared twice`);
    seen.add(d.name);
    const t = actual.find((a) => a.name === d.name);
    if (!t) {
      const names = actual.map((a) => a.name).join(', ');
      throw mismatch(model, `${kind} '${d.name}' is not in the model (model ${kind}s: ${names})`);
    }
    checkTensor(cfg, kind, d, t);
  }
}

function checkTensor(cfg: ModelConfig, kind: string, d: ModelInput | ModelOutput, t: IoTensor): void {
  const model = cfg.name;
  const dt = protocolType(d.dataType);
  if (!dt) throw loadError(model, `${kind} '${d.name}' must specify a valid data_type`);
  if (t.datatype !== dt)
    throw mismatch(
      model,
      `${kind} '${d.name}' is ${configTypeName(d.dataType)} in the config but ${t.datatype ?? 'an unsupported type'} in the model`,
    );
  if (d.dims.length === 0) throw loadError(model, `${kind} '${d.name}' must specify dims`);
  const seenByModel = dimsOf(d.reshape ? d.reshape.shape : d.dims);
  const full = cfg.maxBatchSize > 0 ? [-1, ...seenByModel] : seenByModel;
  if (!shapesCompatible(full, t.shape))
    throw mismatch(
      model,
      `${kind} '${d.name}' has shape [${full.join(',')}] in the config but [${t.shape.join(',')}] in the model`,
    );
}

/**
 * Checks control and state tensors against the model file: present, same datatype, and the
 * shape the server feeds ([1] per row for controls, the state's dims for states).
 */
function checkSequenceSignature(cfg: ModelConfig, io: ModelIO): void {
  const spec = sequenceSpec(cfg);
  if (!spec) return;
  const model = cfg.name;
  const batch = cfg.maxBatchSize > 0 ? [-1] : [];
  const check = (kind: string, name: string, datatype: DataType, dims: number[], list: ModelIO['inputs']) => {
    const t = list.find((x) => x.name === name);
    if (!t) throw loadError(model, `sequence batching ${kind} '${name}' is not in the model`);
    if (t.datatype !== datatype)
      throw loadError(
        model,
        `sequence batching ${kind} '${name}' is ${datatype} in the config but ${t.datatype ?? 'an unsupported type'} in the model`,
      );
    const full = [...batch, ...dims];
    if (!shapesCompatible(full, t.shape))
      throw loadError(
        model,
        `sequence batching ${kind} '${name}' is fed as [${full.join(',')}] but the model has [${t.shape.join(',')}]`,
      );
  };
  for (const c of spec.controls) check('control input', c.input, c.datatype, [1], io.inputs);
  for (const s of spec.states) {
    check('state input', s.input, s.datatype, s.initialDims, io.inputs);
    check('state output', s.output, s.datatype, s.initialDims, io.outputs);
  }
}
