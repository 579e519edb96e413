/**
 * An ensemble's steps as a checked DAG (Triton's `ensemble_scheduling`): pure, from the ensemble's
 * declared inputs/outputs, its steps and each step model's signature, to the plan the runner
 * follows, or an Error whose message names the step and the tensor that is wrong. Called once per
 * load (ensemble/backend.ts), never per request.
 *
 * Vocabulary: an *ensemble tensor* is a name in the ensemble's namespace (an ensemble input, or
 * what a step's output_map produces); a step's input_map says which ensemble tensor feeds each of
 * the step model's inputs, its output_map which ensemble tensor each of its outputs becomes.
 */
import type { EnsembleStepSpec, TensorSpec } from '../core/index.js';

/** What the graph check needs of a model: the ensemble itself or a step's model. */
export interface Signature {
  maxBatchSize: number;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

/** One step as the runner sees it: 0-based index, the model to call, what goes in and comes out. */
export interface PlannedStep {
  index: number;
  model: string;
  /** -1: the model's default version. */
  version: number;
  /** The step model's input → the ensemble tensor feeding it. */
  inputs: Array<{ input: string; tensor: string }>;
  /** The step model's output → the ensemble tensor it produces. */
  outputs: Array<{ output: string; tensor: string }>;
}

/** The checked graph: steps in a topological order (a step only after every step it reads from). */
export interface EnsemblePlan {
  steps: PlannedStep[];
  /** The ensemble's input names. */
  inputs: string[];
  /** Every ensemble output → the index of the step producing it. */
  outputs: Map<string, number>;
}

/** Who produces a tensor: an ensemble input (step -1) or a step's output. */
interface Producer {
  step: number;
  spec: TensorSpec;
  /** The producer's max_batch_size (the batch dim is first when > 0). */
  batched: boolean;
  what: string;
}

/** `step 2 (model 'det')`, as every message names a step (1-based, as people count config entries). */
export function stepName(step: { index: number; model: string }): string {
  return `step ${step.index + 1} (model '${step.model}')`;
}

/** The full shape a tensor has on the wire: the batch dim first when its model batches. */
function fullShape(spec: TensorSpec, batched: boolean): number[] {
  return batched ? [-1, ...spec.dims] : [...spec.dims];
}

function compatible(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === -1 || b[i] === -1 || d === b[i]);
}

/**
 * Checks the ensemble and returns its plan. `signatures[i]` is step i's model signature (the
 * caller resolved the step models; an unknown one never reaches here). Throws an Error naming the
 * step and tensor: an unmapped or unknown step input/output, a tensor produced twice, a tensor
 * nobody produces, an unused ensemble input, a datatype or shape mismatch between producer and
 * consumer, a step model whose max_batch_size is below the ensemble's, a cycle.
 */
export function planEnsemble(
  ensemble: Signature,
  steps: readonly EnsembleStepSpec[],
  signatures: readonly Signature[],
): EnsemblePlan {
  if (steps.length === 0) throw new Error('ensemble_scheduling must have at least one step');
  const producers = new Map<string, Producer>();
  const batched = ensemble.maxBatchSize > 0;
  for (const t of ensemble.inputs)
    producers.set(t.name, { step: -1, spec: t, batched, what: `ensemble input '${t.name}'` });
  const planned = steps.map((s, index) => planStep(s, index, signatures[index]!, ensemble, producers));
  const consumed = new Set<string>();
  for (const step of planned) {
    const sig = signatures[step.index]!;
    for (const { input, tensor } of step.inputs) {
      consumed.add(tensor);
      const from = producers.get(tensor);
      const spec = sig.inputs.find((t) => t.name === input)!;
      const to = `input '${input}' of ${stepName(step)}`;
      if (from === undefined)
        throw new Error(`tensor '${tensor}' feeding ${to} is produced by no step and is not an ensemble input`);
      checkEdge(tensor, from, spec, sig.maxBatchSize > 0, to);
    }
  }
  const outputs = new Map<string, number>();
  for (const t of ensemble.outputs) {
    const from = producers.get(t.name);
    if (from === undefined || from.step < 0)
      throw new Error(`ensemble output '${t.name}' is produced by no step (no step's output_map names it)`);
    checkEdge(t.name, from, t, batched, `ensemble output '${t.name}'`);
    outputs.set(t.name, from.step);
  }
  for (const t of ensemble.inputs)
    if (!consumed.has(t.name)) throw new Error(`ensemble input '${t.name}' is not used by any step`);
  return { steps: topological(planned, producers), inputs: ensemble.inputs.map((t) => t.name), outputs };
}

/** One step's maps against its model's signature; records what it produces. */
function planStep(
  s: EnsembleStepSpec,
  index: number,
  sig: Signature,
  ensemble: Signature,
  producers: Map<string, Producer>,
): PlannedStep {
  const step = { index, model: s.model };
  const name = stepName(step);
  if (ensemble.maxBatchSize > 0 && sig.maxBatchSize < ensemble.maxBatchSize)
    throw new Error(
      `${name} has max_batch_size ${sig.maxBatchSize}, below the ensemble's ${ensemble.maxBatchSize}: every step must take the ensemble's whole batch`,
    );
  const inputs = Object.entries(s.inputMap).map(([input, tensor]) => {
    if (!sig.inputs.some((t) => t.name === input))
      throw new Error(`${name}: input_map names '${input}', which is not an input of the model (${names(sig.inputs)})`);
    return { input, tensor };
  });
  for (const t of sig.inputs)
    if (!t.optional && s.inputMap[t.name] === undefined)
      throw new Error(`${name}: the model's input '${t.name}' is not mapped (add it to input_map)`);
  const outputs = Object.entries(s.outputMap).map(([output, tensor]) => {
    const spec = sig.outputs.find((t) => t.name === output);
    if (spec === undefined)
      throw new Error(
        `${name}: output_map names '${output}', which is not an output of the model (${names(sig.outputs)})`,
      );
    const other = producers.get(tensor);
    if (other !== undefined)
      throw new Error(`tensor '${tensor}' is produced twice: by ${other.what} and by output '${output}' of ${name}`);
    producers.set(tensor, { step: index, spec, batched: sig.maxBatchSize > 0, what: `output '${output}' of ${name}` });
    return { output, tensor };
  });
  if (outputs.length === 0) throw new Error(`${name}: output_map is empty, so the step produces nothing`);
  return { index, model: s.model, version: s.version, inputs, outputs };
}

function names(ts: readonly TensorSpec[]): string {
  return ts.map((t) => `'${t.name}'`).join(', ') || 'none';
}

/** The producer's datatype and shape must be what the consumer declares. */
function checkEdge(tensor: string, from: Producer, to: TensorSpec, toBatched: boolean, what: string): void {
  if (from.spec.datatype !== to.datatype)
    throw new Error(
      `type mismatch on tensor '${tensor}': ${from.what} is ${from.spec.datatype} but ${what} expects ${to.datatype}`,
    );
  const a = fullShape(from.spec, from.batched);
  const b = fullShape(to, toBatched);
  if (!compatible(a, b))
    throw new Error(
      `shape mismatch on tensor '${tensor}': ${from.what} has shape [${a.join(',')}] but ${what} expects [${b.join(',')}]`,
    );
}

/** Kahn's order over the steps; what is left over lies on a cycle, which the error lists. */
function topological(steps: PlannedStep[], producers: Map<string, Producer>): PlannedStep[] {
  const order: PlannedStep[] = [];
  const done = new Set<number>();
  let left = steps;
  while (left.length > 0) {
    const ready = left.filter((s) =>
      s.inputs.every(({ tensor }) => {
        const p = producers.get(tensor)!.step;
        return p < 0 || done.has(p);
      }),
    );
    if (ready.length === 0) {
      const cycle = left.map((s) => `${stepName(s)} reads ${s.inputs.map((i) => `'${i.tensor}'`).join(', ')}`);
      throw new Error(`the steps form a cycle: ${cycle.join('; ')}`);
    }
    for (const s of ready) {
      done.add(s.index);
      order.push(s);
    }
    left = left.filter((s) => !done.has(s.index));
  }
  return order;
}
