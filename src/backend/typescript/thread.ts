/**
 * One TypeScript model instance's worker thread, as its instance sees it: post messages, hear
 * answers and an unexpected end, stop it (the model's `finalize` runs) or kill it. Killing is
 * `Worker.terminate()`, which is safe for these threads as long as the model loads no native
 * addon (the ORT backend must never terminate: see ort/instance.ts); after stop() or kill() the
 * thread reports nothing more.
 */
import { Worker } from 'node:worker_threads';
import { stopWorker } from '../ort/host.js';
import { cleanReason, messageOf } from '../ort/reasons.js';
import { tsxBootstrap, workerEntry } from '../ort/spawn.js';
import type { FromTsWorker, ToTsWorker, TsWorkerData } from './messages.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRY = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/** The URL threads start from: the entry itself in a build, its bundle under tsx (once per process). */
export function threadEntry(): Promise<URL> {
  return workerEntry(ENTRY);
}

/** What a thread reports to its instance. */
export interface ThreadEvents {
  message(m: FromTsWorker): void;
  /** The thread ended without being asked to (a crash, `process.exit` in the model…). */
  exit(reason: string): void;
}

export class ModelThread {
  readonly #worker: Worker;
  /** stop() or kill() was called: nothing more is reported. */
  #quiet = false;

  constructor(url: URL, data: TsWorkerData, events: ThreadEvents) {
    this.#worker = url.pathname.endsWith('.ts')
      ? new Worker(tsxBootstrap(url), { eval: true, workerData: data })
      : new Worker(url, { workerData: data });
    let lastError = '';
    this.#worker.on('message', (m: FromTsWorker) => {
      if (!this.#quiet) events.message(m);
    });
    this.#worker.on('error', (err) => {
      lastError = cleanReason(messageOf(err));
    });
    this.#worker.on('exit', (code) => {
      if (!this.#quiet) events.exit(lastError || `worker exited with code ${code}`);
    });
  }

  post(m: ToTsWorker, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  /** Asks the thread to finalize and exit; resolves once it is gone (terminated after a grace). */
  stop(): Promise<void> {
    this.#quiet = true;
    return stopWorker(this.#worker);
  }

  /** Ends the thread now, wherever it is (a run stuck in synchronous code). */
  kill(): void {
    this.#quiet = true;
    void this.#worker.terminate();
  }

  /** Test-only: ends the thread now, reported through `exit` as a crash. */
  crash(): void {
    void this.#worker.terminate();
  }
}
