/**
 * Triton's ensembles (`platform: "ensemble"`) as a backend: a version has no model file (its
 * signature is the config's), loading waits for the step models to be READY and checks the DAG
 * (graph.ts), and its one instance runs any number of calls at once (`concurrent`: the scheduler
 * in front neither queues nor batches — each step meets its own model's batcher instead).
 * Every step is a call through the router (ModelCaller) in the ensemble call's context: its
 * deadline, cancellation, trace and request id.
 */
import type { Backend, BackendInstance, ExecOptions, ExecResult, LoadedModel } from '../backend/types.js';
import { loadError } from '../config/errors.js';
import {
  type CallContext,
  callContext,
  InferError,
  type ModelCaller,
  type ModelIO,
  type ModelVersionSpec,
  type Tensor,
  toInferError,
} from '../core/index.js';
import { type EnsemblePlan, planEnsemble, stepName } from './graph.js';
import { runEnsemble, StepFailure } from './run.js';

/** How the backend learns about its step models (the composition root reads the repository). */
export interface StepModels {
  /**
   * Resolves with the spec of the version `(model, version)` serves once it is READY (-1: the
   * model's default version), waiting while the model loads; rejects with an Error saying why it
   * will not be (unknown model, load failed, `signal` aborted).
   */
  whenReady(model: string, version: number, signal: AbortSignal): Promise<ModelVersionSpec>;
}

export class EnsembleBackend implements Backend {
  readonly name = 'ensemble';
  readonly platforms = ['ensemble'];
  readonly signature = 'config' as const;
  readonly needsFile = false;

  constructor(
    private readonly caller: ModelCaller,
    private readonly steps: StepModels,
    /** How long a load waits for its step models to become READY. */
    private readonly waitMs = 120_000,
  ) {}

  inspect(): Promise<ModelIO> {
    return Promise.reject(new Error('an ensemble has no model file: its signature is its config'));
  }

  async load(spec: ModelVersionSpec): Promise<LoadedModel> {
    const steps = spec.ensemble ?? [];
    const wait = AbortSignal.timeout(this.waitMs);
    const signatures = await Promise.all(
      steps.map((s, index) =>
        this.steps.whenReady(s.model, s.version, wait).catch((err: unknown) => {
          const why = err instanceof Error ? err.message : String(err);
          throw loadError(spec.model, `${stepName({ index, model: s.model })}: ${why}`, err);
        }),
      ),
    );
    let plan: EnsemblePlan;
    try {
      plan = planEnsemble(spec, steps, signatures);
    } catch (err) {
      throw loadError(spec.model, err instanceof Error ? err.message : String(err), err);
    }
    const instance = new EnsembleInstance(`${spec.model}:${spec.version}`, spec, plan, this.caller);
    return {
      instances: [instance],
      memoryBytes: 0,
      concurrent: true,
      dispose: () => instance.dispose(),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A step model that is gone or not ready is the ensemble's unavailability, not an unknown model. */
const STEP_UNAVAILABLE = new Set(['IG_ERR_MODEL_NOT_FOUND', 'IG_ERR_MODEL_NOT_READY']);

/** The error a failed step gives the ensemble's caller: its code kept, the step named. */
function stepError(ensemble: string, failure: StepFailure): InferError {
  const err = toInferError(failure.error);
  const code = STEP_UNAVAILABLE.has(err.code) ? 'IG_ERR_UNAVAILABLE' : err.code;
  return new InferError(code, `in ensemble '${ensemble}', ${stepName(failure.step)}: ${err.message}`, {
    cause: failure.error,
    headers: err.headers,
  });
}

class EnsembleInstance implements BackendInstance {
  readonly alive = true;
  #inflight = 0;

  constructor(
    readonly id: string,
    private readonly spec: ModelVersionSpec,
    private readonly plan: EnsemblePlan,
    private readonly caller: ModelCaller,
  ) {}

  get inflight(): number {
    return this.#inflight;
  }

  async execute(inputs: Tensor[], outputs?: string[], options?: ExecOptions): Promise<ExecResult> {
    const started = process.hrtime.bigint();
    const parent = callOf(options);
    const byName = new Map(inputs.map((t) => [t.name, t]));
    const wanted = outputs ?? this.spec.outputs.map((o) => o.name);
    this.#inflight++;
    try {
      const out = await runEnsemble(
        this.plan,
        byName,
        wanted,
        async (step, stepInputs, stepOutputs, signal) => {
          const answer = await this.caller.infer(
            {
              model: step.model,
              version: step.version < 0 ? undefined : String(step.version),
              inputs: stepInputs,
              outputs: stepOutputs.map((name) => ({ name, parameters: {} })),
              parameters: {},
            },
            { ...parent, signal },
          );
          return answer.outputs;
        },
        parent.signal,
      );
      return { outputs: out, timing: { inputNs: 0, inferNs: Number(process.hrtime.bigint() - started), outputNs: 0 } };
    } catch (err) {
      throw err instanceof StepFailure ? stepError(this.spec.model, err) : err;
    } finally {
      this.#inflight--;
    }
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** The call an execution serves; the scheduler always gives one to a concurrent model, a test may not. */
function callOf(options: ExecOptions | undefined): CallContext {
  const call = options?.call ?? callContext({ protocol: 'http' });
  const deadline = options?.deadline;
  return deadline !== undefined && deadline < call.deadline ? { ...call, deadline } : call;
}
