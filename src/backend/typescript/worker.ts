/**
 * Worker-thread entry of one TypeScript model instance: imports the model's bundle (bundle.ts),
 * runs its `initialize` and the config's warm-up, answers 'ready' (or 'init-error' with the
 * reason), then runs batches (worker-runs.ts) and relays `ctx.client` calls and `ctx.log` lines
 * to the event-loop thread. On 'stop' it runs `finalize` (at most FINALIZE_MS) and exits.
 * Everything here may block: it is not the event loop.
 */
import { setPriority } from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LogFields, ModelContext, ModelLog, TypeScriptModel } from './api.js';
import type { FromTsWorker, LogLevel, ToTsWorker, TsWorkerData } from './messages.js';
import { WorkerClient } from './worker-client.js';
import { batchOf, RunQueue } from './worker-runs.js';
import { checkedOutputs } from './worker-tensors.js';
import { warmupInputs } from './worker-warmup.js';

/** How long `finalize` may take when the instance stops. */
const FINALIZE_MS = 5_000;

const data = workerData as TsWorkerData;
const port = parentPort as MessagePort;

function post(m: FromTsWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

/** A startup failure whose message is the whole reason. */
class InitFailure extends Error {}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function modelLog(): ModelLog {
  const line = (level: LogLevel) => (message: string, fields?: LogFields) => {
    const text = String(message);
    try {
      post(
        fields === undefined ? { type: 'log', level, message: text } : { type: 'log', level, message: text, fields },
      );
    } catch {
      post({ type: 'log', level, message: text, fields: { fields: 'not serialisable (plain data only)' } });
    }
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

const log = modelLog();
const client = new WorkerClient(post);
const context: ModelContext = Object.freeze({
  model: data.model,
  version: data.version,
  instance: data.instance,
  parameters: Object.freeze({ ...data.parameters }),
  modelDir: data.modelDir,
  versionDir: data.versionDir,
  maxBatchSize: data.maxBatchSize,
  inputs: Object.freeze(data.inputs.map((t) => Object.freeze(t))),
  outputs: Object.freeze(data.outputs.map((t) => Object.freeze(t))),
  client,
  log,
});
const outputs = new Map(data.outputs.map((t) => [t.name, t]));
let model: TypeScriptModel | undefined;
let queue: RunQueue | undefined;

/** The module's execute/initialize/finalize: named exports, or its default export's. */
function modelOf(ns: Record<string, unknown>): TypeScriptModel {
  const own = ns as Partial<TypeScriptModel>;
  const fallback = ns['default'] as Partial<TypeScriptModel> | undefined;
  const source = typeof own.execute === 'function' ? own : fallback;
  if (typeof source?.execute !== 'function')
    throw new InitFailure(
      'the module exports no execute function (export function execute(inputs, ctx) { … }, or a default export with one)',
    );
  const bind = <K extends keyof TypeScriptModel>(k: K) =>
    typeof source[k] === 'function' ? (source[k] as (...a: unknown[]) => unknown).bind(source) : undefined;
  return {
    execute: bind('execute') as TypeScriptModel['execute'],
    initialize: bind('initialize') as TypeScriptModel['initialize'],
    finalize: bind('finalize') as TypeScriptModel['finalize'],
  };
}

/** Runs every `model_warmup` sample `count` times; a failure fails the load, naming the sample. */
async function warmUp(m: TypeScriptModel): Promise<void> {
  const batching = data.maxBatchSize > 0;
  for (const plan of data.warmup) {
    try {
      for (let i = 0; i < plan.count; i++) {
        const inputs = warmupInputs(plan.inputs);
        const batchSize = batchOf(inputs, batching);
        const requested = [...outputs.keys()];
        const signal = new AbortController().signal;
        const result = await m.execute(inputs, {
          ...context,
          requestedOutputs: requested,
          batchSize,
          deadline: undefined,
          signal,
        });
        checkedOutputs(result, { requested, declared: outputs, batch: batching ? batchSize : undefined });
      }
    } catch (err) {
      throw new InitFailure(`warm-up sample '${plan.name}' failed: ${messageOf(err)}`);
    }
  }
}

async function boot(): Promise<void> {
  try {
    let ns: Record<string, unknown>;
    try {
      ns = (await import(data.bundle)) as Record<string, unknown>;
    } catch (err) {
      throw new InitFailure(`the module failed to import: ${messageOf(err)}`);
    }
    const m = modelOf(ns);
    try {
      await m.initialize?.(context);
    } catch (err) {
      throw new InitFailure(`initialize() failed: ${messageOf(err)}`);
    }
    await warmUp(m);
    model = m;
    queue = new RunQueue({ model: m, context, outputs, executeTimeoutMs: data.executeTimeoutMs, post });
    const mem = process.memoryUsage();
    post({ type: 'ready', memoryBytes: mem.heapTotal + mem.external });
  } catch (err) {
    if (!(err instanceof InitFailure) && err instanceof Error && err.stack)
      log.error('startup failed', { stack: err.stack });
    post({ type: 'init-error', message: messageOf(err) });
  }
}

/** Runs `finalize` (bounded), then ends the thread. */
async function stop(): Promise<void> {
  try {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FINALIZE_MS);
    });
    await Promise.race([Promise.resolve(model?.finalize?.()), late]);
    clearTimeout(timer);
  } catch (err) {
    log.warn(`finalize() failed: ${messageOf(err)}`);
  }
  process.exit(0);
}

port.on('message', (m: ToTsWorker) => {
  if (m.type === 'run') queue?.enqueue(m);
  else if (m.type === 'stop') void stop();
  else client.answer(m);
});
// A stray rejection in the model's own callbacks is its bug, logged; it does not end the instance.
process.on('unhandledRejection', (reason) => {
  log.error(
    `unhandled promise rejection: ${messageOf(reason)}`,
    reason instanceof Error ? { stack: reason.stack } : {},
  );
});
if (data.niceness > 0) {
  try {
    setPriority(0, data.niceness);
  } catch {
    // e.g. a sandbox without setpriority: only less responsive under load
  }
}
process.setSourceMapsEnabled(true);
void boot();
