/**
 * The validation gate's runner: measures a registered version on the serving runtime, so the
 * numbers the gate (registry/gate.ts) judges are the ones production would see. The candidate
 * (and the baseline, the version `production` names now) are laid out as two models in a temp
 * repository and served by the same pieces server.ts composes (OrtBackend workers, schedulers,
 * Router) without a listener. Each row is one request; candidate and baseline alternate row by
 * row (and which goes first), so machine noise lands on both alike.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OrtBackend } from '../backend/ort/backend.js';
import { BackendRegistry } from '../backend/registry.js';
import {
  callContext,
  type DataType,
  InferError,
  invalidArg,
  type ModelVersionSpec,
  systemClock,
  type Tensor,
  type TensorSpec,
} from '../core/index.js';
import { layoutModel } from '../manager/layout.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { StatsRegistry } from '../observability/stats-registry.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import type { Measurements } from '../registry/gate.js';
import type { VersionRecord } from '../registry/types.js';
import { ModelRepository } from '../repository/repository.js';
import { Router } from '../router/router.js';
import { createScheduler } from '../scheduler/create-scheduler.js';
import { convertRow, type DataRows, mustExist, readData } from './data.js';
import { type Answer, agrees, answerOf, latencies } from './score.js';

export interface ValidateInput {
  artifacts: ArtifactStore;
  candidate: VersionRecord;
  /** The version `production` names now, if any (and not the candidate). */
  baseline?: VersionRecord;
  /** .npy / .npz / .jsonl path (optimizer/data/ readers). */
  data: string;
  /** .npy of integer labels (optional; an .npz may carry them). */
  labels?: string;
  /** Which model input the rows feed (default: the model's only input). */
  input?: string;
  /** Default 1000. */
  maxRows?: number;
  /** Default 10; these calls are not timed. */
  warmupRows?: number;
  signal?: AbortSignal;
  /** Where the serving pieces log (default: nowhere; failures surface as errors). */
  logger?: Logger;
}

/** One served model of the A/B run and what was measured of it. */
interface Side {
  model: 'candidate' | 'baseline';
  label: string;
  input: TensorSpec;
  /** The request shape of one row (a leading 1 where the model batches or has a batch dim). */
  shape: number[];
  output: string;
  latencies: number[];
  hits: number;
  /** Rows whose answer was a class (argmax of scores, or an integer label output). */
  classified: number;
}

const DEFAULT_MAX_ROWS = 1000;
const DEFAULT_WARMUP_ROWS = 10;
const UNSUPPORTED_INPUTS: ReadonlySet<DataType> = new Set(['BYTES', 'FP16', 'BF16']);

export async function measureVersion(
  input: ValidateInput,
): Promise<{ measurements: Measurements; context: Record<string, string> }> {
  // Missing files are refused before any model is laid out or loaded.
  await mustExist(input.data, 'validation data');
  if (input.labels !== undefined) await mustExist(input.labels, 'labels');
  const maxRows = positiveInt(input.maxRows ?? DEFAULT_MAX_ROWS, 'maxRows', 1);
  const warmupRows = positiveInt(input.warmupRows ?? DEFAULT_WARMUP_ROWS, 'warmupRows', 0);
  // .npy rows need no model to be read: bad data is refused before anything loads.
  const early = extname(input.data).toLowerCase() === '.npy' ? await readData(input) : undefined;
  const root = await mkdtemp(join(tmpdir(), 'infergate-validate-'));
  const rig = serving(root, input.logger ?? createLogger({ level: 'silent' }));
  try {
    const sides = await loadSides(rig, root, input);
    const [candidate, baseline] = sides;
    const data = early ?? (await readData(input, candidate.input));
    const n = Math.min(data.rows.length, maxRows);
    for (const side of [candidate, baseline]) if (side) side.shape = fitRow(data.rowShape, side, rig.spec(side.model));
    const run: Run = { router: rig.router, sides, data, signal: input.signal };
    await runRows(run, Math.min(warmupRows, n), false);
    const agree = await runRows(run, n, true);
    const m: Measurements = { samples: n, ...latencies(candidate.latencies, '') };
    const context = contextOf(input, n, candidate, baseline);
    if (data.labels) {
      if (candidate.classified === n) m.accuracy = candidate.hits / n;
      else context.accuracy = `not measured: output '${candidate.output}' is not class scores or a class label`;
      if (baseline?.classified === n) m.baseline_accuracy = baseline.hits / n;
    }
    if (baseline) Object.assign(m, { agreement: agree / n, ...latencies(baseline.latencies, 'baseline_') });
    return { measurements: m, context };
  } finally {
    // A failing stop must not hide the run's own error; closing the backend ends every worker anyway.
    await rig.repository.stop().catch(() => undefined);
    await rig.backends.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

/** The serving pieces as server.ts composes them, minus listeners, metrics and tracing. */
function serving(root: string, logger: Logger) {
  const backends = new BackendRegistry([new OrtBackend()]);
  const stats = new StatsRegistry();
  const repository = new ModelRepository({
    root,
    controlMode: 'explicit',
    startupModels: [],
    backends,
    clock: systemClock,
    createScheduler: (spec, loaded) => createScheduler(spec, loaded, { clock: systemClock }),
  });
  const router = new Router({
    repository,
    stats,
    logger,
    serverName: 'infergate-validate',
    serverVersion: '0',
    extensions: [],
    serving: () => true,
  });
  const spec = (model: string): ModelVersionSpec => {
    const ready = repository.readyVersions(model)[0];
    if (!ready) throw new InferError('IG_ERR_MODEL_NOT_READY', `${model} is not ready`);
    return ready.spec;
  };
  return { backends, repository, router, spec };
}

type Rig = ReturnType<typeof serving>;

/** Lays out and loads candidate (and baseline); picks each one's input and first output. */
async function loadSides(rig: Rig, root: string, input: ValidateInput): Promise<[Side, Side?]> {
  const records: Array<[Side['model'], VersionRecord]> = [['candidate', input.candidate]];
  if (input.baseline) records.push(['baseline', input.baseline]);
  await rig.repository.start();
  const sides = await Promise.all(
    records.map(async ([model, record]): Promise<Side> => {
      const label = `${record.model} v${record.version}`;
      try {
        await layoutModel(input.artifacts, root, model, [record]);
        await rig.repository.load(model);
      } catch (err) {
        const e = err instanceof InferError ? err : new InferError('IG_ERR_MODEL_LOAD', String(err));
        throw new InferError(e.code, `${label} could not be loaded: ${e.message}`, { cause: err });
      }
      const spec = rig.spec(model);
      const first = spec.outputs[0];
      if (!first) throw invalidArg(`${label} has no outputs`);
      const chosen = pickInput(spec, model === 'candidate' ? input.input : undefined, input.input, label);
      const side = { model, label, input: chosen, shape: [], output: first.name, latencies: [], hits: 0 };
      return { ...side, classified: 0 };
    }),
  );
  return [sides[0]!, sides[1]];
}

/** The input the rows feed: the named one (the candidate must have it), else the only required one. */
function pickInput(spec: ModelVersionSpec, required: string | undefined, hint: string | undefined, label: string) {
  const names = spec.inputs.map((i) => `'${i.name}'`).join(', ');
  const named = hint === undefined ? undefined : spec.inputs.find((i) => i.name === hint);
  if (required !== undefined && !named) throw invalidArg(`${label} has no input '${required}' (inputs: ${names})`);
  const needed = spec.inputs.filter((i) => !i.optional);
  const chosen = named ?? (needed.length === 1 ? needed[0] : undefined);
  if (!chosen) throw invalidArg(`${label} has ${spec.inputs.length} inputs (${names}): name the one the rows feed`);
  if (UNSUPPORTED_INPUTS.has(chosen.datatype))
    throw invalidArg(
      `${label}'s input '${chosen.name}' is ${chosen.datatype}: validation rows feed numeric inputs only`,
    );
  return chosen;
}

function positiveInt(n: number, name: string, min: number): number {
  if (!Number.isInteger(n) || n < min) throw invalidArg(`${name} must be an integer ≥ ${min}, not ${n}`);
  return n;
}

/**
 * The request shape of one row: [1, ...row] where the model batches, else the row itself or
 * [1, ...row] (a model with a fixed leading batch dim of 1), whichever the input's dims accept.
 */
function fitRow(rowShape: number[], side: Side, spec: ModelVersionSpec): number[] {
  const dims = side.input.dims;
  const fits = (shape: number[]) =>
    shape.length === dims.length && shape.every((d, i) => dims[i]! < 0 || dims[i] === d);
  if (spec.maxBatchSize > 0 && fits(rowShape)) return [1, ...rowShape];
  if (spec.maxBatchSize <= 0 && fits(rowShape)) return rowShape;
  if (spec.maxBatchSize <= 0 && fits([1, ...rowShape])) return [1, ...rowShape];
  const takes = spec.maxBatchSize > 0 ? `rows of shape [${dims}]` : `shape [${dims}]`;
  throw invalidArg(
    `validation rows have shape [${rowShape}] but input '${side.input.name}' of ${side.label} takes ${takes}`,
  );
}

/** One A/B run: where calls go, who is measured, on which rows. */
interface Run {
  router: Router;
  sides: [Side, Side?];
  data: DataRows;
  signal?: AbortSignal;
}

/**
 * Sends the first `rows` rows through every side, alternating which side goes first; times each
 * call when `timed`. Returns how many rows the candidate and the baseline answered alike.
 */
async function runRows(run: Run, rows: number, timed: boolean): Promise<number> {
  const [candidate, baseline] = run.sides;
  let agree = 0;
  for (let i = 0; i < rows; i++) {
    if (run.signal?.aborted) throw new InferError('IG_ERR_CANCELLED', 'validation was cancelled');
    const order = baseline ? (i % 2 === 0 ? [candidate, baseline] : [baseline, candidate]) : [candidate];
    const answers = new Map<Side, Answer>();
    for (const side of order) answers.set(side, await callRow(run, side, i, timed));
    if (!timed) continue;
    const label = run.data.labels?.[i];
    for (const [side, a] of answers) {
      if (a.cls === undefined) continue;
      side.classified++;
      if (a.cls === label) side.hits++;
    }
    if (baseline && agrees(answers.get(candidate)!, answers.get(baseline)!)) agree++;
  }
  return agree;
}

/** One row as one request through the router's whole pipeline, as a protocol would send it. */
async function callRow(run: Run, side: Side, i: number, timed: boolean): Promise<Answer> {
  const { name, datatype } = side.input;
  const data = convertRow(run.data.rows[i]!, datatype, () => `row ${i} for input '${name}' of ${side.label}`);
  const tensor: Tensor = { name, datatype, shape: side.shape, data };
  const request = { model: side.model, inputs: [tensor], outputs: [{ name: side.output }], parameters: {} };
  // 'http' only because CallContext knows two transports; nothing here reads it.
  const ctx = callContext({ protocol: 'http', id: `validate-${side.model}-${i}`, signal: run.signal });
  const start = performance.now();
  let response: Awaited<ReturnType<Router['infer']>>;
  try {
    response = await run.router.infer(request, ctx);
  } catch (err) {
    const e = err instanceof InferError ? err : new InferError('IG_ERR_INTERNAL', String(err));
    throw new InferError(e.code, `${side.label} failed on row ${i}: ${e.message}`, { cause: err });
  }
  if (timed) side.latencies.push(performance.now() - start);
  const out = response.outputs.find((o) => o.name === side.output) ?? response.outputs[0];
  if (!out) throw new InferError('IG_ERR_INTERNAL', `${side.label} answered row ${i} without outputs`);
  return answerOf(out, side.label);
}

function contextOf(input: ValidateInput, rows: number, candidate: Side, baseline?: Side): Record<string, string> {
  const context: Record<string, string> = {
    data: basename(input.data),
    rows: String(rows),
    input: candidate.input.name,
    output: candidate.output,
    runtime: runtimeName(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
  };
  if (input.labels !== undefined) context.labels = basename(input.labels);
  if (baseline) context.baseline = baseline.label;
  return context;
}

/** The onnxruntime-node that runs the workers, from its package file (no native load here). */
function runtimeName(): string {
  try {
    const pkg = createRequire(import.meta.url)('onnxruntime-node/package.json') as { version?: string };
    return `onnxruntime-node ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'onnxruntime-node';
  }
}
