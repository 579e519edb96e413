/**
 * The real services for protocol tests: Router + AdminApi over a real ModelRepository (explicit
 * control mode, in a temp directory) with the deterministic fake backend of src/backend/fake and
 * the real schedulers (createScheduler), wired as the composition root (src/server/server.ts)
 * wires them. Protocol tests therefore exercise real version resolution, validation, scheduling,
 * deadlines and Triton's texts; nothing here answers a call by itself.
 *
 * Models are described by files: each `<model>/<version>/model.onnx` holds `{"def": "<key>"}`,
 * and the backend below learns the FakeModelDef of that key when it reads the file, so models
 * loaded through the repository API (in-memory files) work too. A version whose def has
 * `failLoad` fails to load: the repository records it UNAVAILABLE with its reason.
 *
 * What the tests observe: `calls` (every call that entered the router, with its request and
 * call context, from the router's own lifecycle hooks) and `backend.executions` (what actually
 * ran on an instance).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { FakeBackend, type FakeInstance, type FakeModelDef } from '../../../src/backend/fake/index.js';
import { BackendRegistry } from '../../../src/backend/registry.js';
import type { LoadedModel, LoadOptions } from '../../../src/backend/types.js';
import {
  type CallContext,
  type DataType,
  type InferError,
  type InferRequest,
  isBytesData,
  type ModelIO,
  type ModelVersionSpec,
  systemClock,
  type Tensor,
} from '../../../src/core/index.js';
import { LogControl } from '../../../src/observability/log-settings.js';
import type { DropReason } from '../../../src/observability/stats.js';
import { StatsRegistry } from '../../../src/observability/stats-registry.js';
import { TraceControl } from '../../../src/observability/trace-control.js';
import { ModelRepository } from '../../../src/repository/repository.js';
import { AdminApi } from '../../../src/router/admin.js';
import type { Exchange } from '../../../src/router/pipeline.js';
import { Router } from '../../../src/router/router.js';
import type { Services } from '../../../src/router/types.js';
import { createScheduler } from '../../../src/scheduler/create-scheduler.js';

/** Scheduler drop reasons → statistics drop reasons (as src/server/server.ts maps them). */
const DROPS: Record<'queue-full' | 'timeout' | 'shed' | 'deadline', DropReason> = {
  'queue-full': 'queue_full',
  timeout: 'queue_timeout',
  shed: 'shed',
  deadline: 'deadline',
};

/** One tensor of a model signature: config dims (without the batch dim when the model batches). */
export interface TensorDef {
  name: string;
  datatype: DataType;
  dims: number[];
}

/** A model the harness writes to the repository. */
export interface ModelDef {
  name: string;
  inputs: TensorDef[];
  outputs: TensorDef[];
  /** Default 0 (no batching). */
  maxBatchSize?: number;
  /** Versions on disk; 'broken' ones fail to load (default: version 1, ok). */
  versions?: Record<number, 'ok' | 'broken'>;
  /** Per-execution delay of the fake backend. */
  delayMs?: number;
  /** Instances (instance_group count); default 1. */
  instances?: number;
  /** Default: output j is a copy of input j of the signature (matched by name, in any request order). */
  compute?: (inputs: Tensor[]) => Tensor[];
  /** Extra Triton config JSON (e.g. dynamic_batching). */
  config?: Record<string, unknown>;
  /** Loaded at start (default true); false = on disk only, for load tests and the index. */
  load?: boolean;
  /** Not written to disk at all: only its file (modelFileFor) describes it, for in-memory loads. */
  memoryOnly?: boolean;
}

/** One call that entered the router: the decoded request, the transport's call context, its failure. */
export interface RecordedCall {
  request: InferRequest;
  ctx: CallContext;
  /** Set when the call failed (the router's `failed` hook). */
  error?: InferError;
}

/** Copies input j of the signature to output j (by name, so request order and subsets do not matter). */
export function echoBySignature(def: Pick<ModelDef, 'inputs' | 'outputs'>): (inputs: Tensor[]) => Tensor[] {
  return (inputs) => {
    const out: Tensor[] = [];
    def.outputs.forEach((o, j) => {
      const t = inputs.find((x) => x.name === def.inputs[j]?.name);
      if (t === undefined) return;
      const data = isBytesData(t.data) ? t.data.map((e) => e.slice()) : t.data.slice();
      out.push({ name: o.name, datatype: t.datatype, shape: [...t.shape], data });
    });
    return out;
  };
}

/** The name the test suites give the echo model of a datatype ('echo_fp32'). */
export const echoName = (datatype: string) => `echo_${datatype.toLowerCase()}`;

/** `INPUT0 → OUTPUT0` of one datatype: the shape every echo test model has. */
export function echoModel(name: string, datatype: DataType, dims: number[], extra: Partial<ModelDef> = {}): ModelDef {
  return {
    name,
    inputs: [{ name: 'INPUT0', datatype, dims }],
    outputs: [{ name: 'OUTPUT0', datatype, dims }],
    ...extra,
  };
}

/** The Triton config type name of a datatype (BYTES is TYPE_STRING). */
function configTypeName(dt: DataType): string {
  return dt === 'BYTES' ? 'TYPE_STRING' : `TYPE_${dt}`;
}

function ioOf(def: ModelDef): ModelIO {
  const batched = (def.maxBatchSize ?? 0) > 0;
  const shape = (t: TensorDef) => (batched ? [-1, ...t.dims] : [...t.dims]);
  return {
    inputs: def.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: shape(t) })),
    outputs: def.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: shape(t) })),
  };
}

/** The config.json of a model: the full signature, so nothing is auto-completed behind the test's back. */
export function configOf(def: ModelDef): Record<string, unknown> {
  const tensor = (t: TensorDef) => ({ name: t.name, data_type: configTypeName(t.datatype), dims: t.dims });
  return {
    name: def.name,
    backend: 'onnxruntime',
    max_batch_size: def.maxBatchSize ?? 0,
    input: def.inputs.map(tensor),
    output: def.outputs.map(tensor),
    version_policy: { all: {} },
    instance_group: [{ count: def.instances ?? 1, kind: 'KIND_CPU' }],
    ...def.config,
  };
}

/** The FakeModelDef key a version's model file names. */
function defKey(model: string, version: number | 'any'): string {
  return `${model}@${version}`;
}

/** The bytes of a model file that describes `model` (for in-memory loads through the repository API). */
export function modelFileFor(model: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ def: defKey(model, 'any') }));
}

/**
 * The fake backend, reading model files: a file `{"def": key}` is served with the catalogue's def
 * of that key. Everything else is src/backend/fake's (delays, failures, crashes, `executions`).
 */
export class FileFakeBackend extends FakeBackend {
  /** Every loaded version's instances, for the tests' knobs (failNextExecute, crash). */
  readonly instancesByModel = new Map<string, FakeInstance[]>();

  constructor(private readonly catalogue: Map<string, FakeModelDef>) {
    super();
  }

  override async inspect(path: string): Promise<ModelIO> {
    await this.learn(path);
    return super.inspect(path);
  }

  override async load(spec: ModelVersionSpec, options?: LoadOptions): Promise<LoadedModel> {
    await this.learn(spec.path);
    const loaded = await super.load(spec, options);
    this.instancesByModel.set(`${spec.model}@${spec.version}`, loaded.instances as FakeInstance[]);
    return loaded;
  }

  /** The instances of a loaded version. */
  instances(model: string, version = 1): FakeInstance[] {
    const found = this.instancesByModel.get(`${model}@${version}`);
    if (found === undefined) throw new Error(`no loaded version ${version} of '${model}'`);
    return found;
  }

  private async learn(path: string): Promise<void> {
    let key: unknown;
    try {
      key = (JSON.parse(await readFile(path, 'utf8')) as { def?: unknown }).def;
    } catch {
      return; // not a description: the fake backend answers "model file not found"
    }
    const def = typeof key === 'string' ? this.catalogue.get(key) : undefined;
    if (def !== undefined) this.register(path, def);
  }
}

/** A pino logger that writes nowhere (level info, so the log settings read as Triton's defaults). */
function quietLogger() {
  const sink = new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

export interface RealServices {
  services: Services;
  router: Router;
  admin: AdminApi;
  repository: ModelRepository;
  backend: FileFakeBackend;
  stats: StatsRegistry;
  root: string;
  /** Every call that entered the router, in order. */
  calls: RecordedCall[];
  /** Resolves with the next call that enters the router. */
  nextCall(): Promise<RecordedCall>;
  /** Resolves once `n` calls have entered the router (rejects after 5 s). */
  waitForCalls(n: number): Promise<void>;
  /** Errors the schedulers survived (reported through their onError). */
  schedulerErrors: unknown[];
  /** Readiness follows this, as the server's shutdown flag (RouterOptions.serving). */
  setServing(serving: boolean): void;
  /** Cuts executions still running (crash), stops the repository, removes the directory. */
  cleanup(): Promise<void>;
}

/** Writes the models, starts the repository (explicit mode, every model with load !== false). */
export async function startRealServices(
  models: ModelDef[],
  options: { unload?: string[] } = {},
): Promise<RealServices> {
  const root = await mkdtemp(join(tmpdir(), 'ig-protocol-'));
  const catalogue = new Map<string, FakeModelDef>();
  for (const def of models) {
    const io = ioOf(def);
    const good: FakeModelDef = { io, compute: def.compute ?? echoBySignature(def), delayMs: def.delayMs };
    catalogue.set(defKey(def.name, 'any'), good);
    if (def.memoryOnly) continue;
    const dir = join(root, def.name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify(configOf(def)));
    for (const [v, kind] of Object.entries(def.versions ?? { 1: 'ok' })) {
      const key = defKey(def.name, Number(v));
      catalogue.set(key, kind === 'ok' ? good : { io, failLoad: `version ${v} is broken on purpose` });
      await mkdir(join(dir, v), { recursive: true });
      await writeFile(join(dir, v, 'model.onnx'), JSON.stringify({ def: key }));
    }
  }

  const backend = new FileFakeBackend(catalogue);
  const backends = new BackendRegistry([backend]);
  const stats = new StatsRegistry();
  const logger = quietLogger();
  const schedulerErrors: unknown[] = [];
  let serving = true;
  const repository = new ModelRepository({
    root,
    controlMode: 'explicit',
    startupModels: models.filter((m) => m.load !== false && !m.memoryOnly).map((m) => m.name),
    backends,
    clock: systemClock,
    // As the composition root does: statistics of executions and drops, the queue gauges.
    createScheduler: (spec, loaded) => {
      const versionStats = () => stats.get(spec.model, spec.version);
      const scheduler = createScheduler(spec, loaded, {
        onExecution: (batch, timing) => versionStats().execution(batch, timing),
        onRejected: (reason) => versionStats().dropped(DROPS[reason]),
        onCancelled: () => versionStats().dropped('cancelled'),
        onError: (err) => schedulerErrors.push(err),
      });
      versionStats().queue = scheduler;
      return scheduler;
    },
  });
  const router = new Router({
    repository,
    stats,
    logger,
    serverName: 'infergate',
    serverVersion: '0.1.0',
    extensions: ['binary_tensor_data', 'statistics', 'model_repository'],
    serving: () => serving,
  });
  const admin = new AdminApi({
    allowLoadFiles: true,
    repository,
    stats,
    logControl: new LogControl(logger),
    traceControl: new TraceControl(),
  });

  const calls: RecordedCall[] = [];
  const byExchange = new WeakMap<Exchange, RecordedCall>();
  const waiters: Array<() => void> = [];
  const record = (x: Exchange, error?: InferError) => {
    const call: RecordedCall = { request: x.request, ctx: x.ctx, error };
    byExchange.set(x, call);
    calls.push(call);
    for (const w of waiters.splice(0)) w();
  };
  // Every call is `resolved` once, or `failed` without a target when it never resolved.
  router.hooks.add('resolved', (x) => record(x), { label: 'test recorder' });
  router.hooks.add(
    'failed',
    (x, e) => {
      const call = byExchange.get(x);
      if (call === undefined) record(x, e);
      else call.error = e;
    },
    { label: 'test recorder' },
  );
  const waitForCalls = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} calls (got ${calls.length})`)), 5000);
      const check = () => {
        if (calls.length >= n) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });

  await repository.start();
  for (const m of options.unload ?? []) await admin.unloadModel(m, false);

  let cleaned: Promise<void> | undefined;
  return {
    services: { inference: router, admin },
    router,
    admin,
    repository,
    backend,
    stats,
    root,
    calls,
    nextCall: () => {
      const n = calls.length + 1;
      return waitForCalls(n).then(() => calls[n - 1]!);
    },
    waitForCalls,
    schedulerErrors,
    setServing: (a) => {
      serving = a;
    },
    cleanup: () => {
      cleaned ??= (async () => {
        for (const list of backend.instancesByModel.values())
          for (const i of list) if (i.inflight > 0) i.crash('test over');
        await repository.stop();
        await backends.close();
        await rm(root, { recursive: true, force: true });
      })();
      return cleaned;
    },
  };
}

/** Input values of every execution of `model` (first input, as numbers), in order. */
export function executedValues(real: RealServices, model: string): number[][] {
  return real.backend.executions
    .filter((e) => {
      const label = e.instance;
      return label.startsWith(`${model}_`) && /^\d+_\d+$/.test(label.slice(model.length + 1));
    })
    .map((e) => {
      const d = e.inputs[0]?.data;
      return d === undefined || isBytesData(d) ? [] : Array.from(d as ArrayLike<number | bigint>, Number);
    });
}

/**
 * A view of `target` with some members replaced, every other member the target's own (bound).
 * Only for what a real service cannot be made to do; each use says why.
 */
export function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (Object.hasOwn(overrides, key)) return (overrides as Record<PropertyKey, unknown>)[key];
      const v = Reflect.get(t, key, receiver);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}
