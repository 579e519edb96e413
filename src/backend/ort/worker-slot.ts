/**
 * One onnxruntime session inside a worker thread, with its own run queue. A dedicated worker holds
 * one slot; a shared worker (pool.ts) holds many, one per instance it hosts. Runs of one slot are
 * executed in order; `session.run` is synchronous on this thread, so a shared worker's slots
 * take turns on it. Everything here may block: it is not the event loop.
 */
import { setPriority } from 'node:os';
import { hrtime } from 'node:process';
import type * as ort from 'onnxruntime-node';
import { InferError } from '../../core/index.js';
import { CRASH_INPUT, HANG_INPUT, SLEEP_INPUT } from './hooks.js';
import type { FromWorker, InstanceWorkerData, ToWorker, WireTensor } from './messages.js';
import { cleanReason, messageOf } from './reasons.js';
import { isPacked, transferList } from './wire.js';
import { residentBytes, sessionMemoryBytes } from './worker-memory.js';
import { ModelBytesFailure, modelForOrt } from './worker-model.js';
import { createSession, LoadFailure } from './worker-session.js';
import { joinRows, ortToWire, wireToOrt } from './worker-tensors.js';
import { runWarmup } from './worker-warmup.js';

export type RunMessage = Extract<ToWorker, { type: 'run' }>;

/** Sends one message to the event-loop thread (a shared worker adds the slot's id). */
export type Post = (m: FromWorker, transfer?: ArrayBuffer[]) => void;

/** A load failure's client-safe reason. */
export function reasonOf(err: unknown): string {
  return err instanceof LoadFailure || err instanceof ModelBytesFailure ? err.message : cleanReason(messageOf(err));
}

/** Blocks this thread (a stand-in for a slow model in tests). */
function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Blocks this thread for good (a wedged model in tests; hooks.ts). */
function hangForever(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** Applies test-hook inputs (only called when hooks are enabled) and returns the remaining inputs. */
function applyHookInputs(inputs: WireTensor[]): WireTensor[] {
  const rest: WireTensor[] = [];
  for (const w of inputs) {
    if (w.name === CRASH_INPUT) process.exit(70);
    if (w.name === HANG_INPUT && !isPacked(w.data) && Number(w.data[0] ?? 0) !== 0) hangForever();
    if (w.name === SLEEP_INPUT && !isPacked(w.data)) sleepSync(Number(w.data[0] ?? 0));
    else rest.push(w);
  }
  return rest;
}

/**
 * Lowers this thread's scheduling priority (Linux: setpriority on pid 0 is per thread, and threads
 * ORT starts later inherit it). Best effort: a platform that refuses keeps normal priority.
 */
export function lowerPriority(niceness: number): void {
  if (niceness <= 0) return;
  try {
    setPriority(0, niceness);
  } catch {
    // e.g. a sandbox without setpriority: the server still works, only less responsive under load
  }
}

/** A session and its queue: `open` creates and warms it, `enqueue` runs requests in order. */
export class SessionSlot {
  readonly #queue: RunMessage[] = [];
  #session: ort.InferenceSession | undefined;
  #draining = false;
  #closed = false;

  constructor(
    readonly data: InstanceWorkerData,
    private readonly post: Post,
  ) {}

  /** Creates the session, runs warm-up, answers 'ready' (or 'init-error'); queued runs start then. */
  async open(): Promise<void> {
    const d = this.data;
    const started = performance.now();
    try {
      const created = await createSession(
        d.source ? modelForOrt(d.source) : d.path,
        d.options,
        d.source?.externalDataDir,
      );
      const rssAfterCreate = residentBytes();
      const warmupWarnings = await runWarmup(created.session, d.warmup);
      const memoryBytes = sessionMemoryBytes(created.fileBytes, rssAfterCreate, residentBytes());
      if (this.#closed) {
        await created.session.release();
        return;
      }
      this.#session = created.session;
      const warnings = [...created.warnings, ...warmupWarnings];
      this.post({ type: 'ready', ms: performance.now() - started, warnings, memoryBytes });
      void this.#drain();
    } catch (err) {
      this.post({ type: 'init-error', message: reasonOf(err) });
    }
  }

  enqueue(m: RunMessage): void {
    this.#queue.push(m);
    void this.#drain();
  }

  /** Releases the session once the runs already queued have answered. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await new Promise((r) => setImmediate(r));
    for (let m = this.#queue.shift(); m !== undefined; m = this.#queue.shift())
      this.post({ type: 'error', id: m.id, message: 'the model instance is closing', code: 'IG_ERR_UNAVAILABLE' });
    await this.#session?.release();
    this.#session = undefined;
  }

  async #drain(): Promise<void> {
    const session = this.#session;
    if (this.#draining || session === undefined) return;
    this.#draining = true;
    for (let m = this.#queue.shift(); m !== undefined && !this.#closed; m = this.#queue.shift())
      await this.#execute(session, m);
    this.#draining = false;
  }

  async #execute(session: ort.InferenceSession, m: RunMessage): Promise<void> {
    const d = this.data;
    try {
      const t0 = hrtime.bigint();
      const joined = m.inputs.map((w) => ('rows' in w ? joinRows(w) : w));
      const inputs = d.hooks ? applyHookInputs(joined) : joined;
      const feeds: Record<string, ort.Tensor> = {};
      for (const w of inputs) feeds[w.name] = wireToOrt(w);
      // The last moment to give up on a run nobody waits for any more: it has not executed yet.
      if (m.deadline !== undefined && Date.now() > m.deadline) {
        this.post({ type: 'expired', id: m.id });
        return;
      }
      const t1 = hrtime.bigint();
      if (d.hooks) sleepSync(d.hooks.sleepMs);
      const names = m.outputs ?? session.outputNames;
      const result = await session.run(feeds, names);
      const t2 = hrtime.bigint();
      const outputs = names.map((n) => ortToWire(n, result[n] as ort.Tensor));
      const t3 = hrtime.bigint();
      const timing = { inputNs: Number(t1 - t0), inferNs: Number(t2 - t1), outputNs: Number(t3 - t2) };
      this.post({ type: 'result', id: m.id, outputs, timing }, transferList(outputs));
    } catch (err) {
      // Our own refusals (BYTES onnxruntime cannot carry) keep their code; anything else is ORT's.
      if (err instanceof InferError) this.post({ type: 'error', id: m.id, message: err.message, code: err.code });
      else this.post({ type: 'error', id: m.id, message: cleanReason(messageOf(err)) });
    }
  }
}
