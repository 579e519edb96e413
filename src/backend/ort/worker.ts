/**
 * Worker-thread entry: owns one onnxruntime session (mode 'instance') or reads one model's
 * signature and exits (mode 'inspect'). Everything here may block: it is not the event loop.
 * Runs are queued and executed one at a time; results go back with their buffers transferred.
 * A run whose deadline has passed when its turn comes is answered 'expired' without executing.
 */
import { setPriority } from 'node:os';
import { hrtime } from 'node:process';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { InferError } from '../../core/index.js';
import { CRASH_INPUT, HANG_INPUT, SLEEP_INPUT } from './hooks.js';
import type {
  FromWorker,
  InspectWorkerData,
  InstanceWorkerData,
  ToWorker,
  WireTensor,
  WorkerData,
} from './messages.js';
import { cleanReason, messageOf } from './reasons.js';
import { isPacked, transferList } from './wire.js';
import { residentBytes, sessionMemoryBytes } from './worker-memory.js';
import { ModelBytesFailure, modelForOrt } from './worker-model.js';
import { createSession, LoadFailure, signatureOf } from './worker-session.js';
import { joinRows, ortToWire, wireToOrt } from './worker-tensors.js';
import { runWarmup } from './worker-warmup.js';

type RunMessage = Extract<ToWorker, { type: 'run' }>;

const port = parentPort as MessagePort;

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function reasonOf(err: unknown): string {
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

async function execute(session: ort.InferenceSession, d: InstanceWorkerData, m: RunMessage): Promise<void> {
  try {
    const t0 = hrtime.bigint();
    const joined = m.inputs.map((w) => ('rows' in w ? joinRows(w) : w));
    const inputs = d.hooks ? applyHookInputs(joined) : joined;
    const feeds: Record<string, ort.Tensor> = {};
    for (const w of inputs) feeds[w.name] = wireToOrt(w);
    // The last moment to give up on a run nobody waits for any more: it has not executed yet.
    if (m.deadline !== undefined && Date.now() > m.deadline) {
      post({ type: 'expired', id: m.id });
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
    post({ type: 'result', id: m.id, outputs, timing }, transferList(outputs));
  } catch (err) {
    // Our own refusals (BYTES onnxruntime cannot carry) keep their code; anything else is ORT's.
    if (err instanceof InferError) post({ type: 'error', id: m.id, message: err.message, code: err.code });
    else post({ type: 'error', id: m.id, message: cleanReason(messageOf(err)) });
  }
}

/**
 * Lowers this thread's scheduling priority (Linux: setpriority on pid 0 is per thread, and threads
 * ORT starts later inherit it). Best effort: a platform that refuses keeps normal priority.
 */
function lowerPriority(niceness: number): void {
  if (niceness <= 0) return;
  try {
    setPriority(0, niceness);
  } catch {
    // e.g. a sandbox without setpriority: the server still works, only less responsive under load
  }
}

async function runInstance(d: InstanceWorkerData): Promise<void> {
  const queue: RunMessage[] = [];
  let session: ort.InferenceSession | undefined;
  let draining = false;
  const drain = async () => {
    if (draining || session === undefined) return;
    draining = true;
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) await execute(session, d, m);
    draining = false;
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'run') {
      queue.push(m);
      void drain();
    } else if (m.type === 'stop') process.exit(0);
    else if (m.type === '__crash__' && d.hooks) process.exit(70);
  });
  const started = performance.now();
  lowerPriority(d.niceness);
  try {
    const created = await createSession(
      d.source ? modelForOrt(d.source) : d.path,
      d.options,
      d.source?.externalDataDir,
    );
    const rssAfterCreate = residentBytes();
    await runWarmup(created.session, d.warmup);
    const memoryBytes = sessionMemoryBytes(created.fileBytes, rssAfterCreate, residentBytes());
    session = created.session;
    post({ type: 'ready', ms: performance.now() - started, warnings: created.warnings, memoryBytes });
    void drain();
  } catch (err) {
    post({ type: 'init-error', message: reasonOf(err) });
  }
}

async function runInspect(d: InspectWorkerData): Promise<void> {
  try {
    const model = d.source ? modelForOrt(d.source) : d.path;
    const { session } = await createSession(
      model,
      {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'disabled',
        executionMode: 'sequential',
        enableCpuMemArena: false,
        enableMemPattern: false,
        executionProviders: ['cpu'],
        extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' },
      },
      d.source?.externalDataDir,
    );
    const io = signatureOf(session);
    // Release before answering: the answer makes the main thread terminate this worker, and a
    // termination that lands inside a native onnxruntime call aborts the whole process.
    await session.release();
    post({ type: 'inspected', io });
  } catch (err) {
    post({ type: 'init-error', message: reasonOf(err) });
  }
}

const data = workerData as WorkerData;
void (data.mode === 'inspect' ? runInspect(data) : runInstance(data));
