/**
 * `ctx.client` inside a TypeScript model's worker: a call is posted to the event-loop thread,
 * which runs it through the server's ModelCaller and posts the answer back (calls.ts). Each call
 * carries the run it was made from (AsyncLocalStorage follows the model's awaits), so the server
 * gives it that run's context: its deadline, cancellation, trace and request id.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ModelCallError, ModelCallOptions, ModelClient, OutputTensor, Tensors } from './api.js';
import type { FromTsWorker, ToTsWorker } from './messages.js';
import { callInputsToWire, tensorsFromWire } from './worker-tensors.js';

/** The id of the run whose code is executing (undefined in initialize and warm-up). */
export const currentRun = new AsyncLocalStorage<number>();

type Answer = Extract<ToTsWorker, { type: 'call-result' | 'call-error' }>;

interface Waiting {
  model: string;
  resolve: (t: Tensors) => void;
  reject: (e: Error) => void;
}

/** The error a failed call rejects with (see api.ts ModelCallError). */
function callError(model: string, code: string, message: string): ModelCallError {
  return Object.assign(new Error(message), { name: 'ModelCallError' as const, code, model });
}

/** The worker's ModelClient: calls by id, answered in any order. */
export class WorkerClient implements ModelClient {
  #next = 1;
  readonly #waiting = new Map<number, Waiting>();

  constructor(private readonly post: (m: FromTsWorker) => void) {}

  infer(model: string, inputs: Record<string, OutputTensor>, options: ModelCallOptions = {}): Promise<Tensors> {
    return new Promise<Tensors>((resolve, reject) => {
      if (typeof model !== 'string' || model === '')
        throw callError(String(model), 'IG_ERR_INVALID_ARG', 'client.infer needs a model name');
      let wire: ReturnType<typeof callInputsToWire>;
      try {
        wire = callInputsToWire(inputs);
      } catch (err) {
        throw callError(model, 'IG_ERR_INVALID_ARG', `client.infer('${model}'): ${(err as Error).message}`);
      }
      const cid = this.#next++;
      const m: Extract<FromTsWorker, { type: 'call' }> = { type: 'call', cid, model, inputs: wire };
      const run = currentRun.getStore();
      if (run !== undefined) m.run = run;
      if (options.version !== undefined) m.version = options.version;
      if (options.outputs !== undefined) m.outputs = [...options.outputs];
      this.#waiting.set(cid, { model, resolve, reject });
      // Not transferred: the model keeps its buffers (structured clone copies them).
      this.post(m);
    });
  }

  /** Settles the call an answer is for (an answer for no waiting call is dropped). */
  answer(a: Answer): void {
    const w = this.#waiting.get(a.cid);
    if (w === undefined) return;
    this.#waiting.delete(a.cid);
    if (a.type === 'call-result') w.resolve(tensorsFromWire(a.outputs));
    else w.reject(callError(w.model, a.code, a.message));
  }
}
