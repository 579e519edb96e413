// The server process of the history runs: `infergate serve` started exactly as bin/infergate.js
// starts it, plus a test-only fault control over the IPC channel. Run as
//   node --import tsx test/history/child-entry.ts serve <repo> ...   (with an 'ipc' stdio slot)
//
// Why a control in the child rather than the request hooks: the input hooks (`__test_crash__`,
// `__test_hang__`) cannot reach a worker through the front door. router/validate.ts refuses an input
// the model config does not declare, the config check refuses a declared input the ONNX file lacks,
// and onnxruntime-node refuses to run without a feed for every input the file declares; so a model
// whose normal requests succeed can never receive one of those inputs. The control below delivers the
// same hooks straight to the instance worker: the documented `__crash__` message (what
// OrtInstance.crashForTest posts) and a run message carrying the `__test_hang__` input, which the
// worker honours only under INFERGATE_TEST_HOOKS=1. Nothing in src/ changes.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { WorkerOptions } from 'node:worker_threads';

/** Parent → child. `model`: the instance workers whose model file lies under `<repo>/<model>/`. */
export type HookCommand = { cmd: 'crash' | 'hang'; model: string };

/** Child → parent. `inflight`: runs posted to that worker and not yet answered. */
export type HookEvent =
  | { event: 'worker-ready'; model: string; path: string }
  | { event: 'worker-exit'; model: string; path: string; code: number }
  | { event: 'crash-posted' | 'hang-posted'; model: string; path: string; inflight: number }
  | { event: 'no-worker'; cmd: HookCommand['cmd']; model: string };

const workerThreads = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
const Original = workerThreads.Worker;

const send = (e: HookEvent): void => {
  process.send?.(e);
};

/** The model folder name of an instance worker's model file (`<repo>/<model>/<version>/model.onnx`). */
function modelOf(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts.at(-3) ?? '';
}

type RunLike = { type?: unknown; id?: unknown };
type PostArgs = Parameters<InstanceType<typeof Original>['postMessage']>;

class TrackedWorker extends Original {
  readonly model: string = '';
  readonly path: string = '';
  /** Runs posted and not answered yet ('result', 'error' and 'expired' answer one each). */
  inflight = 0;
  /** A command waiting for the next run, so that it lands while that run is in flight. */
  armed: HookCommand['cmd'] | undefined;
  ready = false;

  constructor(file: string | URL, options?: WorkerOptions) {
    super(file, options);
    const data = options?.workerData as { mode?: unknown; path?: unknown } | undefined;
    if (data?.mode !== 'instance' || typeof data.path !== 'string') return;
    this.path = data.path;
    this.model = modelOf(data.path);
    live.add(this);
    this.on('message', (m: RunLike) => {
      if (m?.type === 'ready') {
        this.ready = true;
        send({ event: 'worker-ready', model: this.model, path: this.path });
      } else if (m?.type === 'result' || m?.type === 'error' || m?.type === 'expired') this.inflight--;
    });
    this.once('exit', (code) => {
      live.delete(this);
      send({ event: 'worker-exit', model: this.model, path: this.path, code });
    });
  }

  override postMessage(value: unknown, transferList?: PostArgs[1]): void {
    const run = (value as RunLike)?.type === 'run';
    const cmd = run ? this.armed : undefined;
    if (run) {
      this.armed = undefined;
      this.inflight++;
    }
    // A hang goes first, so this run waits behind the wedged worker; a crash right after it, so the
    // worker exits with this run taken and unanswered (the message is handled before ORT runs it).
    if (cmd === 'hang') this.fire(cmd);
    super.postMessage(value, transferList);
    if (cmd === 'crash') this.fire(cmd);
  }

  /** Delivers the hook now, to a worker with runs in flight (see postMessage for the order). */
  fire(cmd: HookCommand['cmd']): void {
    if (cmd === 'crash') super.postMessage({ type: '__crash__' });
    else
      super.postMessage({
        type: 'run',
        id: -1,
        inputs: [{ name: '__test_hang__', datatype: 'BOOL', shape: [1], data: new Uint8Array([1]) }],
      });
    // A wedged or dead worker takes no more commands.
    live.delete(this);
    send({
      event: cmd === 'crash' ? 'crash-posted' : 'hang-posted',
      model: this.model,
      path: this.path,
      inflight: this.inflight,
    });
  }
}

const live = new Set<TrackedWorker>();

workerThreads.Worker = TrackedWorker as typeof Original;
// Updates the named ESM exports of node:worker_threads, which src/backend/ort/spawn.ts imports.
syncBuiltinESMExports();

process.on('message', (m: HookCommand) => {
  // The newest ready worker of the model (the serving version's, during a swap).
  const target = [...live].reverse().find((w) => w.ready && w.model === m.model);
  if (target === undefined) {
    send({ event: 'no-worker', cmd: m.cmd, model: m.model });
    return;
  }
  if (target.inflight > 0) target.fire(m.cmd);
  else target.armed = m.cmd;
});
// The IPC channel must not keep the server alive after its own shutdown.
process.channel?.unref();

const { main } = await import('../../src/cli/main.js');
await main(process.argv);
