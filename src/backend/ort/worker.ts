/**
 * Worker-thread entry, in one of three modes (workerData.mode):
 * - 'instance': owns one onnxruntime session (a dedicated worker, one per instance);
 * - 'inspect': reads one model's signature and exits;
 * - 'shared': hosts many sessions, opened and closed by message and addressed by slot id (pool.ts);
 *   signatures are read here too, without starting a thread per model.
 * Everything here may block: it is not the event loop. Results go back with their buffers transferred.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { ModelIO } from '../../core/index.js';
import type {
  FromWorker,
  InspectWorkerData,
  InstanceWorkerData,
  SharedWorkerData,
  ToWorker,
  WorkerData,
} from './messages.js';
import { modelForOrt } from './worker-model.js';
import { createSession, signatureOf } from './worker-session.js';
import { lowerPriority, reasonOf, SessionSlot } from './worker-slot.js';

const port = parentPort as MessagePort;

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

/** Reads a model's signature with a minimal session, released before the answer. */
async function inspectModel(d: InspectWorkerData): Promise<ModelIO> {
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
  // Release before answering: the answer makes a dedicated inspection's main thread terminate
  // this worker, and a termination inside a native onnxruntime call aborts the whole process.
  await session.release();
  return io;
}

function runInstance(d: InstanceWorkerData): void {
  const slot = new SessionSlot(d, post);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'run') slot.enqueue(m);
    else if (m.type === 'stop') process.exit(0);
    else if (m.type === '__crash__' && d.hooks) process.exit(70);
  });
  lowerPriority(d.niceness);
  void slot.open();
}

async function runInspect(d: InspectWorkerData): Promise<void> {
  try {
    post({ type: 'inspected', io: await inspectModel(d) });
  } catch (err) {
    post({ type: 'init-error', message: reasonOf(err) });
  }
}

/** A shared worker: slots by id; a message for a slot that is gone is dropped (its instance left). */
function runShared(d: SharedWorkerData): void {
  const slots = new Map<number, SessionSlot>();
  lowerPriority(d.niceness);
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'run':
        slots.get(m.sid ?? -1)?.enqueue(m);
        return;
      case 'open': {
        const sid = m.sid;
        const data = m.data;
        if (data.mode === 'inspect') {
          inspectModel(data).then(
            (io) => post({ type: 'inspected', io, sid }),
            (err) => post({ type: 'init-error', message: reasonOf(err), sid }),
          );
          return;
        }
        const slot = new SessionSlot(data, (r, transfer = []) => port.postMessage({ ...r, sid }, transfer));
        slots.set(sid, slot);
        void slot.open();
        return;
      }
      case 'close': {
        const slot = slots.get(m.sid);
        slots.delete(m.sid);
        void (slot?.close() ?? Promise.resolve()).finally(() => post({ type: 'closed', sid: m.sid }));
        return;
      }
      case 'stop':
        process.exit(0);
        return;
      case '__crash__':
        if (slots.get(m.sid ?? -1)?.data.hooks) process.exit(70);
        return;
    }
  });
}

const data = workerData as WorkerData;
if (data.mode === 'inspect') void runInspect(data);
else if (data.mode === 'shared') runShared(data);
else runInstance(data);
