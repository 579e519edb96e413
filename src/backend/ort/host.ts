/**
 * Where an instance's session lives: its own worker thread (`DedicatedHost`, here) or a slot in a
 * shared worker (pool.ts). An instance (instance.ts) only talks to this interface, so its crash,
 * hang, restart and watchdog logic is the same for both.
 *
 * Who calls what: the instance opens a host per start (the backend's `open`), posts runs to it,
 * receives the thread's answers and its unexpected end through `HostEvents`, and ends it with
 * `stop()` (orderly) or `abandon()` (hung). After either, the host reports nothing more.
 */
import type { Worker } from 'node:worker_threads';
import type { FromWorker, InstanceWorkerData, ToWorker } from './messages.js';
import { cleanReason, messageOf } from './reasons.js';
import { startWorker } from './spawn.js';

/** How long a thread asked to stop may take before it is terminated. */
export const STOP_GRACE_MS = 5_000;

/**
 * Asks a worker to exit and waits for it. Messages are handled only between onnxruntime's
 * synchronous native calls, so the exit never lands inside one; Worker.terminate() can (e.g. in
 * session creation or warm-up) and that aborts the whole process. terminate() stays the fallback
 * for a worker that does not answer in time.
 */
export async function stopWorker(w: Worker): Promise<void> {
  if (w.threadId < 0) return; // already gone
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  w.postMessage({ type: 'stop' } satisfies ToWorker);
  const force = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
  await exited;
  clearTimeout(force);
}

/** What a host reports to its instance. */
export interface HostEvents {
  /** An answer of the session's thread ('ready', 'init-error', results…). */
  message(m: FromWorker): void;
  /** The session is gone without being asked to go (its thread crashed, or a shared one was retired). */
  exit(reason: string): void;
}

/** One session's thread, as its instance sees it. */
export interface SessionHost {
  /** Sends a message (a run) to the session; `transfer` moves those buffers. */
  post(m: ToWorker, transfer?: ArrayBuffer[]): void;
  /**
   * performance.now() of the thread's last answer to anyone: a shared thread that answers other
   * sessions is not hung, only busy, so the watchdog measures from here (never earlier than a run's post).
   */
  readonly progressAt: number;
  /** Ends the session after what it is running; resolves once it is gone (forced after a grace). */
  stop(): Promise<void>;
  /** The thread did not answer: let go of it now, never terminate() it (see OrtInstance#onHung). */
  abandon(): void;
  /** Test-only: makes the thread exit now (honoured only with test hooks). */
  crash(): void;
}

/** Opens a host for an instance's session (the backend decides dedicated or shared). */
export type OpenHost = (data: InstanceWorkerData, events: HostEvents) => SessionHost;

/** A worker thread owned by one session. */
export class DedicatedHost implements SessionHost {
  readonly #worker: Worker;
  #progressAt = performance.now();
  /** stop() or abandon() was called: nothing more is reported. */
  #done = false;

  constructor(url: URL, data: InstanceWorkerData, events: HostEvents, track: (delta: number) => void) {
    const w = startWorker(data, url);
    this.#worker = w;
    track(1);
    let lastError = '';
    w.on('message', (m: FromWorker) => {
      this.#progressAt = performance.now();
      if (!this.#done) events.message(m);
    });
    w.on('error', (err) => {
      lastError = cleanReason(messageOf(err));
    });
    w.on('exit', (code) => {
      track(-1);
      if (!this.#done) events.exit(lastError || `worker exited with code ${code}`);
    });
  }

  get progressAt(): number {
    return this.#progressAt;
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  stop(): Promise<void> {
    this.#done = true;
    return stopWorker(this.#worker);
  }

  abandon(): void {
    this.#done = true;
    this.#worker.postMessage({ type: 'stop' } satisfies ToWorker);
    // A thread stuck for good stays until the process ends; it must not keep the process alive.
    this.#worker.unref();
  }

  crash(): void {
    this.#worker.postMessage({ type: '__crash__' } satisfies ToWorker);
  }
}
