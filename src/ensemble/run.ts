/**
 * Runs one ensemble call over its plan: each step starts as soon as every tensor it reads exists
 * (steps without a path between them run at once), only the steps the requested outputs need run,
 * and the first step that fails fails the call (the others are cancelled through the signal).
 * Each step is one call through the server's pipeline (`StepCall`), so it meets its model's own
 * version policy, breaker, validation and scheduler: batching applies per step.
 *
 * Ownership: a step call transfers its input buffers to a worker, so a tensor read by more than
 * one consumer (two steps, or a step and the answer) is copied for all but its last consumer.
 */
import { copyTensor, type Tensor } from '../core/index.js';
import type { EnsemblePlan, PlannedStep } from './graph.js';

/** Calls one step's model with `inputs` (named as the model names them); resolves with `outputs`' tensors. */
export type StepCall = (
  step: PlannedStep,
  inputs: Tensor[],
  outputs: string[],
  signal: AbortSignal,
) => Promise<Tensor[]>;

/** Why a step failed: the step and what its call threw (the backend keeps the error's code). */
export class StepFailure extends Error {
  constructor(
    readonly step: PlannedStep,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** The steps that lead to `wanted` (the plan's order kept), and how often each tensor is read by them. */
export function neededSteps(
  plan: EnsemblePlan,
  wanted: readonly string[],
): { steps: PlannedStep[]; reads: Map<string, number> } {
  const needed = new Set<string>(wanted);
  const steps: PlannedStep[] = [];
  for (let i = plan.steps.length - 1; i >= 0; i--) {
    const s = plan.steps[i]!;
    if (!s.outputs.some((o) => needed.has(o.tensor))) continue;
    steps.unshift(s);
    for (const { tensor } of s.inputs) needed.add(tensor);
  }
  const reads = new Map<string, number>();
  const read = (t: string) => reads.set(t, (reads.get(t) ?? 0) + 1);
  for (const s of steps) for (const { tensor } of s.inputs) read(tensor);
  for (const t of wanted) read(t);
  return { steps, reads };
}

/**
 * Runs the steps `wanted` needs from the ensemble `inputs` (by ensemble tensor name) and resolves
 * with the wanted tensors in the order asked. Rejects with a StepFailure; once one step failed,
 * `signal` (which the step calls get) is aborted so queued steps never run.
 */
export function runEnsemble(
  plan: EnsemblePlan,
  inputs: ReadonlyMap<string, Tensor>,
  wanted: readonly string[],
  call: StepCall,
  parent?: AbortSignal,
): Promise<Tensor[]> {
  const { steps, reads } = neededSteps(plan, wanted);
  const tensors = new Map(inputs);
  const abort = new AbortController();
  const onParent = () => abort.abort(parent?.reason);
  if (parent?.aborted) abort.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  // Takes one read of a tensor: the last read gets the tensor itself, earlier ones a copy.
  const take = (name: string): Tensor => {
    const t = tensors.get(name)!;
    const left = (reads.get(name) ?? 1) - 1;
    reads.set(name, left);
    return left > 0 ? copyTensor(t) : t;
  };
  return new Promise<Tensor[]>((resolve, reject) => {
    const pending = new Set(steps);
    let running = 0;
    let failed = false;
    const finish = () => parent?.removeEventListener('abort', onParent);
    const fail = (err: StepFailure) => {
      if (failed) return;
      failed = true;
      abort.abort(err);
      finish();
      reject(err);
    };
    const launch = () => {
      for (const s of [...pending]) {
        if (!s.inputs.every(({ tensor }) => tensors.has(tensor))) continue;
        pending.delete(s);
        running++;
        const stepInputs = s.inputs.map(({ input, tensor }) => ({ ...take(tensor), name: input }));
        const names = s.outputs.map((o) => o.output);
        call(s, stepInputs, names, abort.signal).then(
          (out) => {
            running--;
            if (failed) return;
            for (const { output, tensor } of s.outputs) {
              const t = out.find((x) => x.name === output);
              if (t === undefined) return fail(new StepFailure(s, new Error(`the answer has no output '${output}'`)));
              tensors.set(tensor, { ...t, name: tensor });
            }
            launch();
          },
          (err) => {
            running--;
            fail(new StepFailure(s, err));
          },
        );
      }
      if (failed || running > 0) return;
      if (pending.size === 0) {
        finish();
        resolve(wanted.map((name) => ({ ...take(name), name })));
        return;
      }
      // Nothing runs and something waits: it reads an optional ensemble input the call left out.
      const s = [...pending][0]!;
      const missing = s.inputs.find(({ tensor }) => !tensors.has(tensor))!;
      fail(
        new StepFailure(
          s,
          new Error(
            `its input '${missing.input}' needs ensemble tensor '${missing.tensor}', which the request did not give`,
          ),
        ),
      );
    };
    launch();
  });
}
