/**
 * The runs of one TypeScript model instance, inside its worker, one at a time in arrival order.
 * A run whose deadline passed before its turn is answered 'expired' without running. A run that
 * outlives its bound (its deadline, else `execute_timeout_ms`) is given up here when the thread's
 * event loop is free (an `execute` awaiting something that never comes): its signal is aborted,
 * it is answered 'deadline' / 'timeout' and the next run starts; whatever it returns later is
 * dropped. One stuck in synchronous code cannot be given up from here: the event-loop thread sees
 * no answer and terminates the thread (instance.ts).
 */
import { performance } from 'node:perf_hooks';
import type { DeclaredTensor, ExecuteContext, ModelContext, Tensors, TypeScriptModel } from './api.js';
import type { FromTsWorker, RunFailure, ToTsWorker } from './messages.js';
import { currentRun } from './worker-client.js';
import { checkedOutputs, inputsFromWire, TensorRefusal } from './worker-tensors.js';
import { transferList } from '../ort/wire.js';

type RunMessage = Extract<ToTsWorker, { type: 'run' }>;

/** What the runs need from the worker. */
export interface RunEnv {
  model: TypeScriptModel;
  context: ModelContext;
  /** The declared outputs by name. */
  outputs: ReadonlyMap<string, DeclaredTensor>;
  executeTimeoutMs: number;
  post(m: FromTsWorker, transfer?: ArrayBuffer[]): void;
}

interface Current {
  id: number;
  abort: AbortController;
  timer: NodeJS.Timeout;
}

/** The batch dim of a run's inputs (1 for a model without one). */
export function batchOf(inputs: Tensors, batching: boolean): number {
  if (!batching) return 1;
  for (const t of Object.values(inputs)) return t.shape[0] ?? 1;
  return 1;
}

/** A thrown value as the 'error' answer of run `id`. */
export function failureOf(id: number, err: unknown, failure: RunFailure): FromTsWorker {
  const e = err instanceof Error ? err : undefined;
  const code = (e as { code?: unknown } | undefined)?.code;
  return {
    type: 'error',
    id,
    failure: err instanceof TensorRefusal ? 'output' : failure,
    message: e ? e.message : String(err),
    ...(typeof code === 'string' ? { code } : {}),
    ...(e?.stack ? { stack: e.stack } : {}),
  };
}

/** The queue of runs and the one executing. */
export class RunQueue {
  readonly #queue: RunMessage[] = [];
  #current: Current | undefined;

  constructor(private readonly env: RunEnv) {}

  enqueue(m: RunMessage): void {
    this.#queue.push(m);
    if (this.#current === undefined) this.#next();
  }

  #next(): void {
    for (let m = this.#queue.shift(); m !== undefined; m = this.#queue.shift()) {
      if (m.deadline === undefined || Date.now() < m.deadline) {
        this.#start(m);
        return;
      }
      this.env.post({ type: 'expired', id: m.id });
    }
  }

  #start(m: RunMessage): void {
    const { env } = this;
    const t0 = performance.now();
    const inputs = inputsFromWire(m.inputs);
    const left = m.deadline === undefined ? Number.POSITIVE_INFINITY : m.deadline - Date.now();
    const kind: RunFailure = left <= env.executeTimeoutMs ? 'deadline' : 'timeout';
    const abort = new AbortController();
    const current: Current = {
      id: m.id,
      abort,
      timer: setTimeout(() => this.#abandon(current, kind), Math.min(left, env.executeTimeoutMs)),
    };
    this.#current = current;
    const requested = m.outputs ?? [...env.outputs.keys()];
    const batching = env.context.maxBatchSize > 0;
    const batchSize = batchOf(inputs, batching);
    const ctx: ExecuteContext = {
      ...env.context,
      requestedOutputs: requested,
      batchSize,
      deadline: m.deadline,
      signal: abort.signal,
    };
    const t1 = performance.now();
    currentRun
      .run(m.id, () => Promise.resolve().then(() => env.model.execute(inputs, ctx)))
      .then(
        (result) =>
          this.#finish(current, () => {
            const t2 = performance.now();
            const rules = { requested, declared: env.outputs, batch: batching ? batchSize : undefined };
            const outputs = checkedOutputs(result, rules);
            const timing = {
              inputNs: (t1 - t0) * 1e6,
              inferNs: (t2 - t1) * 1e6,
              outputNs: (performance.now() - t2) * 1e6,
            };
            env.post({ type: 'result', id: m.id, outputs, timing }, transferList(outputs));
          }),
        (err: unknown) => this.#finish(current, () => env.post(failureOf(m.id, err, 'user'))),
      );
  }

  /** Answers the current run (unless it was given up) and starts the next. */
  #finish(current: Current, answer: () => void): void {
    if (this.#current !== current) return;
    clearTimeout(current.timer);
    this.#current = undefined;
    try {
      answer();
    } catch (err) {
      this.env.post(failureOf(current.id, err, 'output'));
    }
    this.#next();
  }

  /** The run outlived its bound: abort its signal, answer it, move on. */
  #abandon(current: Current, kind: RunFailure): void {
    if (this.#current !== current) return;
    this.#current = undefined;
    current.abort.abort(new Error(kind === 'deadline' ? 'the request deadline passed' : 'execute_timeout_ms passed'));
    this.env.post({ type: 'error', id: current.id, failure: kind, message: kind });
    this.#next();
  }
}
