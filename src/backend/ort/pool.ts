/**
 * Dense hosting: a pool of shared worker threads, each hosting many small models' sessions.
 *
 * A dedicated worker costs a V8 isolate, a module graph and onnxruntime's per-thread state — about
 * 58 MB and 4 threads measured per trivial model — so a hundred small models cost gigabytes. The
 * pool keeps at most `size` threads (the cores, by default) and places each session on one of
 * them (`place`, a pure decision): instances of one version are spread over different threads
 * first, then the thread with the fewest sessions wins, and a new thread starts while fewer than
 * `size` exist and every one is in use. A thread runs one session at a time.
 *
 * Faults stay inside one thread: a crash ends that thread, every session on it gets `exit` (their
 * in-flight requests fail, their instances restart and are placed again, on a new thread); a
 * session declared hung retires its whole thread, because its co-tenants' runs wait behind the
 * stuck one: they get `exit` too and move. Signatures are read on the pool as well, so loading a
 * small model starts no thread at all once the pool runs.
 */
import type { Worker } from 'node:worker_threads';
import type { ModelIO } from '../../core/index.js';
import { type HostEvents, STOP_GRACE_MS, type SessionHost, stopWorker } from './host.js';
import type { FromWorker, InspectWorkerData, InstanceWorkerData, ToWorker } from './messages.js';
import { cleanReason, messageOf } from './reasons.js';
import { startWorker } from './spawn.js';

/** A thread as `place` sees it. */
export interface ThreadLoad {
  /** Sessions it hosts. */
  sessions: number;
  /** Of those, instances of the version being placed. */
  siblings: number;
}

/**
 * Where the next session goes: an index into `threads`, or 'spawn' for a new thread. Fewest
 * siblings first (instances of one version run in parallel only on different threads), then fewest
 * sessions; a new thread while fewer than `size` exist and the best one is not empty.
 */
export function place(threads: readonly ThreadLoad[], size: number): number | 'spawn' {
  let best = -1;
  for (let i = 0; i < threads.length; i++) {
    const t = threads[i]!;
    const b = threads[best];
    if (b === undefined || t.siblings < b.siblings || (t.siblings === b.siblings && t.sessions < b.sessions)) best = i;
  }
  const b = threads[best];
  if (b === undefined || (threads.length < size && (b.sessions > 0 || b.siblings > 0))) return 'spawn';
  return best;
}

/** Construction options of a pool. */
export interface SharedPoolOptions {
  /** Most threads the pool runs (≥ 1). */
  size: number;
  /** The worker entry (spawn.ts's workerEntry). */
  url: URL;
  /** Nice value of every shared thread (a per-model `niceness` cannot apply to a shared thread). */
  niceness: number;
  /** Counts live threads (the backend's activeWorkers). */
  track: (delta: number) => void;
}

/** One session on a thread: its instance's events and the version it belongs to. */
interface Tenant {
  events: HostEvents;
  group: string;
}

/** One shared thread and the sessions it hosts. */
class Thread {
  readonly tenants = new Map<number, Tenant>();
  /** Sessions asked to close, waiting for 'closed' (or the thread's end). */
  readonly closing = new Map<number, () => void>();
  progressAt = performance.now();
  retired = false;
  lastError = '';
  constructor(readonly worker: Worker) {}
}

/** A pool of shared worker threads (see the module comment). */
export class SharedPool {
  readonly #threads: Thread[] = [];
  #nextSid = 1;

  constructor(private readonly o: SharedPoolOptions) {}

  /** Threads running now (retired ones that have not exited are not counted). */
  get threads(): number {
    return this.#threads.length;
  }

  /** Sessions (and signature readings) the pool's threads hold now. */
  get sessions(): number {
    return this.#threads.reduce((n, t) => n + t.tenants.size, 0);
  }

  /** Opens a session for an instance of `group` (model:version): see SessionHost. */
  open(data: InstanceWorkerData, events: HostEvents, group: string): SessionHost {
    const thread = this.#pick(group);
    const sid = this.#nextSid++;
    thread.tenants.set(sid, { events, group });
    thread.worker.postMessage({ type: 'open', sid, data } satisfies ToWorker);
    return this.#host(thread, sid);
  }

  /** Reads a model's signature on a shared thread. */
  inspect(data: InspectWorkerData): Promise<ModelIO> {
    return new Promise<ModelIO>((resolve, reject) => {
      const thread = this.#pick('');
      const sid = this.#nextSid++;
      const done = () => thread.tenants.delete(sid);
      thread.tenants.set(sid, {
        group: '',
        events: {
          message: (m) => {
            done();
            if (m.type === 'inspected') resolve(m.io);
            else reject(new Error(m.type === 'init-error' ? m.message : 'unexpected reply'));
          },
          exit: (reason) => reject(new Error(reason)),
        },
      });
      thread.worker.postMessage({ type: 'open', sid, data } satisfies ToWorker);
    });
  }

  /** Stops every thread (each session's instance has been disposed first). */
  async close(): Promise<void> {
    const threads = this.#threads.splice(0);
    for (const t of threads) t.retired = true;
    await Promise.all(threads.map((t) => stopWorker(t.worker)));
  }

  #pick(group: string): Thread {
    const loads = this.#threads.map((t) => {
      let siblings = 0;
      if (group !== '') for (const x of t.tenants.values()) if (x.group === group) siblings++;
      return { sessions: t.tenants.size, siblings };
    });
    const at = place(loads, Math.max(1, this.o.size));
    return at === 'spawn' ? this.#spawn() : this.#threads[at]!;
  }

  #spawn(): Thread {
    const t = new Thread(startWorker({ mode: 'shared', niceness: this.o.niceness }, this.o.url));
    this.#threads.push(t);
    this.o.track(1);
    t.worker.on('message', (m: FromWorker) => {
      t.progressAt = performance.now();
      const sid = m.sid ?? -1;
      if (m.type === 'closed') {
        t.closing.get(sid)?.();
        t.closing.delete(sid);
      } else t.tenants.get(sid)?.events.message(m);
    });
    t.worker.on('error', (err) => {
      t.lastError = cleanReason(messageOf(err));
    });
    t.worker.on('exit', (code) => {
      this.o.track(-1);
      this.#drop(t, t.lastError || `shared worker exited with code ${code}`);
    });
    return t;
  }

  /** Takes a thread out of service and tells every session still on it that it is gone. */
  #drop(t: Thread, reason: string): void {
    t.retired = true;
    const i = this.#threads.indexOf(t);
    if (i >= 0) this.#threads.splice(i, 1);
    const tenants = [...t.tenants.values()];
    t.tenants.clear();
    for (const close of t.closing.values()) close();
    t.closing.clear();
    for (const x of tenants) x.events.exit(reason);
  }

  /**
   * Retires a thread that stopped answering: no new sessions, asked to exit (it does once the stuck
   * call returns, if ever), never terminate()d, not keeping the process alive.
   */
  #retire(t: Thread, reason: string): void {
    if (t.retired) return;
    t.worker.postMessage({ type: 'stop' } satisfies ToWorker);
    t.worker.unref();
    this.#drop(t, reason);
  }

  #host(t: Thread, sid: number): SessionHost {
    const pool = this;
    const leave = () => t.tenants.delete(sid);
    return {
      get progressAt() {
        return t.progressAt;
      },
      post(m: ToWorker, transfer: ArrayBuffer[] = []) {
        if (m.type === 'run') m.sid = sid;
        t.worker.postMessage(m, transfer);
      },
      stop() {
        const wasHere = t.tenants.has(sid);
        leave();
        if (!wasHere || t.retired) return Promise.resolve();
        return new Promise<void>((resolve) => {
          // A session that does not close in time has a wedged thread: retire it, never wait forever.
          const force = setTimeout(() => pool.#retire(t, 'a session did not close in time'), STOP_GRACE_MS);
          t.closing.set(sid, () => {
            clearTimeout(force);
            resolve();
          });
          t.worker.postMessage({ type: 'close', sid } satisfies ToWorker);
        });
      },
      abandon() {
        leave();
        pool.#retire(t, 'another model on its shared worker did not answer; the worker is being replaced');
      },
      crash() {
        t.worker.postMessage({ type: '__crash__', sid } satisfies ToWorker);
      },
    };
  }
}
