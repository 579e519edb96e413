import { clone, create } from '@bufbuild/protobuf';
import type { ModelIO } from '../core/model.js';
import {
  type ModelConfig,
  ModelConfigSchema,
  ModelDynamicBatchingSchema,
  type ModelInput,
  ModelInputSchema,
  type ModelOutput,
  ModelOutputSchema,
  ModelTensorReshapeSchema,
} from '../gen/model_config_pb.js';
import { configType } from './datatypes.js';
import { loadError } from './errors.js';
import { serverFedInputs, stateOutputs } from './sequence.js';

/** Triton's `default-max-batch-size` backend setting. */
export const DEFAULT_MAX_BATCH_SIZE = 4;

type IoTensor = ModelIO['inputs'][number];

/** Batching capability (D.11): every input and output has rank >= 1 and a variable first dim. */
export function supportsBatching(io: ModelIO): boolean {
  return [...io.inputs, ...io.outputs].every((t) => t.shape.length >= 1 && t.shape[0] === -1);
}

/**
 * ONNX auto-complete (protocol.md D.11): max_batch_size, `dynamic_batching {}`, and the input /
 * output lists generated from the model signature when the config has none. Returns a new message.
 */
export function autoComplete(input: ModelConfig, io: ModelIO, defaultMaxBatch = DEFAULT_MAX_BATCH_SIZE): ModelConfig {
  const cfg = clone(ModelConfigSchema, input);
  const model = cfg.name;
  if (cfg.maxBatchSize < 0) throw loadError(model, 'max_batch_size must not be negative');
  const capable = supportsBatching(io);
  if (cfg.maxBatchSize === 0 && capable && !declaresFullShapes(cfg, io)) cfg.maxBatchSize = defaultMaxBatch;
  if (!capable && cfg.maxBatchSize > 0)
    throw loadError(model, 'model does not support batching while non-zero max_batch_size is specified');
  // Triton adds a dynamic batcher only when it auto-completes the signature (D.11 rule 2): a config
  // that lists its inputs and outputs and no scheduler asked for request-at-a-time scheduling.
  const completesIo = cfg.input.length === 0 || cfg.output.length === 0;
  if (completesIo && cfg.maxBatchSize > 1 && !cfg.schedulingChoice.case)
    cfg.schedulingChoice = { case: 'dynamicBatching', value: create(ModelDynamicBatchingSchema) };
  const batched = cfg.maxBatchSize > 0;
  // Control and state tensors are fed and read by the sequence batcher, never by clients.
  const fedIn = new Set(serverFedInputs(cfg));
  const fedOut = new Set(stateOutputs(cfg));
  if (cfg.input.length === 0)
    cfg.input = io.inputs
      .filter((t) => !fedIn.has(t.name))
      .map((t) => create(ModelInputSchema, generated(model, 'input', t, batched)) as ModelInput);
  if (cfg.output.length === 0)
    cfg.output = io.outputs
      .filter((t) => !fedOut.has(t.name))
      .map((t) => create(ModelOutputSchema, generated(model, 'output', t, batched)) as ModelOutput);
  return cfg;
}

/**
 * A declared tensor whose dims have the model's full rank means the author wrote the batch dim
 * into `dims` on purpose (max_batch_size 0); auto-completing max_batch_size would break it.
 */
function declaresFullShapes(cfg: ModelConfig, io: ModelIO): boolean {
  const check = (declared: Array<ModelInput | ModelOutput>, actual: IoTensor[]) =>
    declared.some((d) => {
      const t = actual.find((a) => a.name === d.name);
      return t !== undefined && !d.reshape && d.dims.length === t.shape.length;
    });
  return check(cfg.input, io.inputs) || check(cfg.output, io.outputs);
}

function generated(model: string, kind: string, t: IoTensor, batched: boolean) {
  if (t.datatype === undefined)
    throw loadError(model, `${kind} '${t.name}' has an ONNX element type this server cannot carry`);
  const dims = (batched ? t.shape.slice(1) : t.shape).map((d) => BigInt(d < 0 ? -1 : d));
  // Per-item scalars: the API shape is [1] (plus batch), the model sees [] (plus batch).
  if (dims.length === 0)
    return { name: t.name, dataType: configType(t.datatype), dims: [1n], reshape: create(ModelTensorReshapeSchema) };
  return { name: t.name, dataType: configType(t.datatype), dims };
}
