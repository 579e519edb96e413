/**
 * Triton's `sequence_batching` section: defaults, load-time validation (Triton's texts where it has
 * them) and the plain SequenceBatchingSpec the sequence scheduler runs with. Control inputs and
 * state inputs are model inputs the server feeds, so they are absent from the config's `input`
 * list; the signature check (signature.ts) accepts them through `serverFedInputs`.
 */
import { create } from '@bufbuild/protobuf';
import type { DataType } from '../core/datatype.js';
import type {
  SequenceBatchingSpec,
  SequenceControlKind,
  SequenceControlSpec,
  SequenceStateSpec,
  WarmupSample,
} from '../core/model.js';
import {
  type ModelConfig,
  type ModelSequenceBatching,
  type ModelSequenceBatching_Control,
  ModelSequenceBatching_Control_Kind as Kind,
  ModelSequenceBatching_StrategyDirectSchema,
  type ModelSequenceBatching_State,
} from '../gen/model_config_pb.js';
import { dimsOf, protocolType } from './datatypes.js';
import { loadError } from './errors.js';

/** Triton's default max_sequence_idle_microseconds. */
export const DEFAULT_SEQUENCE_IDLE_US = 1_000_000n;

const KIND: Record<Kind, { kind: SequenceControlKind; name: string }> = {
  [Kind.CONTROL_SEQUENCE_START]: { kind: 'start', name: 'CONTROL_SEQUENCE_START' },
  [Kind.CONTROL_SEQUENCE_READY]: { kind: 'ready', name: 'CONTROL_SEQUENCE_READY' },
  [Kind.CONTROL_SEQUENCE_END]: { kind: 'end', name: 'CONTROL_SEQUENCE_END' },
  [Kind.CONTROL_SEQUENCE_CORRID]: { kind: 'corrid', name: 'CONTROL_SEQUENCE_CORRID' },
};

const CORRID_TYPES: readonly DataType[] = ['UINT64', 'INT64', 'UINT32', 'INT32', 'BYTES'];

/** The section of a config, or undefined. */
function section(cfg: ModelConfig): ModelSequenceBatching | undefined {
  return cfg.schedulingChoice.case === 'sequenceBatching' ? cfg.schedulingChoice.value : undefined;
}

/** Triton's normalisation: direct {} when no strategy is named, idle 1 s when 0. Mutates `cfg`. */
export function normalizeSequenceBatching(cfg: ModelConfig): void {
  const sb = section(cfg);
  if (!sb) return;
  if (!sb.strategyChoice.case)
    sb.strategyChoice = { case: 'direct', value: create(ModelSequenceBatching_StrategyDirectSchema) };
  if (sb.maxSequenceIdleMicroseconds === 0n) sb.maxSequenceIdleMicroseconds = DEFAULT_SEQUENCE_IDLE_US;
  sequenceSpec(cfg);
}

function control(model: string, name: string, c: ModelSequenceBatching_Control): SequenceControlSpec {
  const k = KIND[c.kind];
  if (!k) throw loadError(model, `sequence batching control input '${name}' has an unknown kind ${c.kind}`);
  if (k.kind === 'corrid') {
    const datatype = protocolType(c.dataType);
    if (!datatype || !CORRID_TYPES.includes(datatype))
      throw loadError(
        model,
        `sequence batching control tensor must have data-type TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 or TYPE_STRING for ${k.name} for ${model}`,
      );
    return { input: name, kind: k.kind, datatype };
  }
  const given = [
    ['int32_false_true', c.int32FalseTrue, 'INT32'],
    ['fp32_false_true', c.fp32FalseTrue, 'FP32'],
    ['bool_false_true', c.boolFalseTrue, 'BOOL'],
  ] as const;
  const set = given.filter(([, v]) => v.length > 0);
  if (set.length !== 1)
    throw loadError(
      model,
      `sequence batching must specify either 'int32_false_true', 'fp32_false_true' or 'bool_false_true' for ${k.name} for ${model}`,
    );
  const [field, values, datatype] = set[0]!;
  if (values.length !== 2)
    throw loadError(
      model,
      `sequence batching control '${field}' must have exactly 2 entries for ${k.name} for ${model}`,
    );
  const falseTrue = values.map((v) => Number(v)) as [number, number];
  return { input: name, kind: k.kind, datatype, falseTrue };
}

function state(model: string, s: ModelSequenceBatching_State): SequenceStateSpec {
  if (!s.inputName || !s.outputName)
    throw loadError(model, 'sequence batching state must specify both input_name and output_name');
  const datatype = protocolType(s.dataType);
  if (!datatype) throw loadError(model, `state '${s.inputName}' must specify a valid data_type`);
  const dims = dimsOf(s.dims);
  if (dims.length === 0) throw loadError(model, `state '${s.inputName}' must specify dims`);
  if (s.initialState.length > 1)
    throw loadError(
      model,
      `initial_state field for state input '${s.inputName}' must contain exactly one or zero element. Found '${s.initialState.length}' elements.`,
    );
  const init = s.initialState[0];
  if (!init) {
    // Zeros need a shape: a variable dim has no size to start from.
    if (dims.includes(-1))
      throw loadError(model, `state '${s.inputName}' has variable dims; give it an initial_state with fixed dims`);
    return { input: s.inputName, output: s.outputName, datatype, initialDims: dims };
  }
  if (init.dataType !== s.dataType)
    throw loadError(
      model,
      `The data type used for 'initial_state' field of state '${s.inputName}' does not match the state data type.`,
    );
  if (!init.name)
    throw loadError(model, `Field 'name' must be set when using initial_state for state input '${s.inputName}'.`);
  const initDims = dimsOf(init.dims);
  if (initDims.length !== dims.length)
    throw loadError(
      model,
      `Number of dimensions in 'initial_state' doesn't match the size of 'state' dimensions for state input '${s.inputName}'. ${initDims.length} != ${dims.length}`,
    );
  initDims.forEach((d, i) => {
    if (d === -1)
      throw loadError(
        model,
        `'initial_state' field for state input name '${s.inputName}' contains variable dimensions.`,
      );
    if (dims[i] !== -1 && d !== dims[i])
      throw loadError(
        model,
        `'initial_state' dim for input name '${s.inputName}' doesn't match 'state' dim description. ${d} != ${dims[i]}`,
      );
  });
  if (init.stateData.case !== 'zeroData')
    throw loadError(
      model,
      `initial_state '${init.name}' for state input '${s.inputName}': only zero_data is supported`,
    );
  return { input: s.inputName, output: s.outputName, datatype, initialDims: initDims };
}

/** Refuses two uses of one name, and server-fed inputs the config also lists as client inputs. */
function checkNames(cfg: ModelConfig, controls: SequenceControlSpec[], states: SequenceStateSpec[]): void {
  const model = cfg.name;
  const declared = new Set(cfg.input.map((i) => i.name));
  const seen = new Set<string>();
  for (const name of [...controls.map((c) => c.input), ...states.map((s) => s.input)]) {
    if (declared.has(name))
      throw loadError(
        model,
        `sequence batching input '${name}' is fed by the server and must not be in the config's input list`,
      );
    if (seen.has(name)) throw loadError(model, `sequence batching input '${name}' is specified more than once`);
    seen.add(name);
  }
  const outputs = new Set<string>();
  for (const s of states) {
    if (outputs.has(s.output)) throw loadError(model, `State output name '${s.output}' specified more than once.`);
    outputs.add(s.output);
  }
  for (const k of ['start', 'end', 'ready', 'corrid'] as const)
    if (controls.filter((c) => c.kind === k).length > 1) {
      const name = Object.values(KIND).find((v) => v.kind === k)!.name;
      throw loadError(model, `sequence batching specifies multiple ${name} tensors for ${model}`);
    }
}

/** The plain sequence batching settings of a normalized config (validated), or undefined when it has none. */
export function sequenceSpec(cfg: ModelConfig): SequenceBatchingSpec | undefined {
  const sb = section(cfg);
  if (!sb) return undefined;
  const model = cfg.name;
  if (sb.iterativeSequence)
    throw loadError(model, 'sequence batching iterative_sequence is not supported by this server');
  const controls = sb.controlInput.map((ci) => {
    if (!ci.name) throw loadError(model, `sequence batching control tensor must have a name for ${model}`);
    if (ci.control.length !== 1)
      throw loadError(model, `sequence batching control input '${ci.name}' must specify exactly one control`);
    return control(model, ci.name, ci.control[0]!);
  });
  const states = sb.state.map((s) => state(model, s));
  checkNames(cfg, controls, states);
  const maxBatch = cfg.maxBatchSize;
  let slots = Math.max(1, maxBatch);
  let delayUs = 0n;
  let preferred: number[] = [];
  if (sb.strategyChoice.case === 'oldest') {
    const o = sb.strategyChoice.value;
    if (o.maxCandidateSequences < 0)
      throw loadError(model, 'sequence batching max_candidate_sequences must not be negative');
    if (o.maxCandidateSequences > 0) slots = o.maxCandidateSequences;
    for (const p of o.preferredBatchSize)
      if (p < 1 || p > Math.max(1, maxBatch))
        throw loadError(
          model,
          `sequence batching preferred size ${p} must be between 1 and max_batch_size ${maxBatch}`,
        );
    preferred = [...o.preferredBatchSize];
    delayUs = o.maxQueueDelayMicroseconds;
  } else if (sb.strategyChoice.case === 'direct') {
    delayUs = sb.strategyChoice.value.maxQueueDelayMicroseconds;
  }
  const idle = sb.maxSequenceIdleMicroseconds === 0n ? DEFAULT_SEQUENCE_IDLE_US : sb.maxSequenceIdleMicroseconds;
  return {
    strategy: sb.strategyChoice.case === 'oldest' ? 'oldest' : 'direct',
    maxIdleUs: Number(idle),
    slotsPerInstance: slots,
    maxQueueDelayUs: Number(delayUs),
    preferredBatchSizes: preferred,
    controls,
    states,
  };
}

/** Names of the model inputs the server feeds (controls, states): the signature check's "declared" extras. */
export function serverFedInputs(cfg: ModelConfig): string[] {
  const sb = section(cfg);
  if (!sb) return [];
  return [...sb.controlInput.map((c) => c.name), ...sb.state.map((s) => s.inputName)];
}

/** Names of the model outputs the server reads back as state. */
export function stateOutputs(cfg: ModelConfig): string[] {
  return section(cfg)?.state.map((s) => s.outputName) ?? [];
}

/**
 * Warm-up samples that also feed the server-fed inputs (zeros): onnxruntime refuses a run missing
 * any model input, so a generated or configured sample without them would fail the load.
 */
export function withSequenceWarmup(
  cfg: ModelConfig,
  samples: WarmupSample[],
  spec: SequenceBatchingSpec,
): WarmupSample[] {
  const extra: WarmupSample['inputs'] = [
    ...spec.controls.map((c) => ({ name: c.input, datatype: c.datatype, dims: [1], kind: 'zero' as const })),
    ...spec.states.map((s) => ({ name: s.input, datatype: s.datatype, dims: s.initialDims, kind: 'zero' as const })),
  ];
  if (samples.length > 0) return samples.map((s) => ({ ...s, inputs: [...s.inputs, ...extra] }));
  const inputs: WarmupSample['inputs'] = cfg.input
    .filter((i) => !i.optional)
    .map((i) => ({
      name: i.name,
      datatype: protocolType(i.dataType) ?? 'FP32',
      dims: dimsOf(i.reshape ? i.reshape.shape : i.dims).map((d) => (d < 0 ? 1 : d)),
      kind: 'zero' as const,
    }));
  return [{ name: 'sequence_warmup', batchSize: 1, count: 1, inputs: [...inputs, ...extra], generated: true }];
}
