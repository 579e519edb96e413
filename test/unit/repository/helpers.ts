import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendRegistry } from '../../../src/backend/registry.js';
import { type Clock, systemClock } from '../../../src/core/clock.js';
import { ModelRepository } from '../../../src/repository/repository.js';
import type {
  ControlMode,
  MemoryBudgetOptions,
  RepositoryEvent,
  VersionHandle,
} from '../../../src/repository/types.js';
import { LatestReadyPolicy } from '../../../src/router/policy.js';
import { FakeBackend, FakeScheduler, SIMPLE, writeModelFile } from './fake-backend.js';

/** A temp repository directory and a writer for models in it. */
export async function tempRepo(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'ig-repo-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Writes `<root>/<name>/` with an optional config.pbtxt and version files (content per fake-backend). */
export async function writeModel(
  root: string,
  name: string,
  versions: Record<number, Parameters<typeof writeModelFile>[1]>,
  config?: string,
): Promise<void> {
  await mkdir(join(root, name), { recursive: true });
  if (config !== undefined) await writeFile(join(root, name, 'config.pbtxt'), config);
  for (const [v, content] of Object.entries(versions))
    await writeModelFile(join(root, name, v, 'model.onnx'), content ?? SIMPLE);
}

/** A repository over fake backend and schedulers, recording events and letting tests await them. */
export function makeRepo(
  root: string,
  mode: ControlMode,
  extra: { startupModels?: string[]; pollIntervalMs?: number; memoryBudget?: MemoryBudgetOptions; clock?: Clock } = {},
) {
  const backend = new FakeBackend();
  const events: RepositoryEvent[] = [];
  const waiters: Array<{ pred: (e: RepositoryEvent) => boolean; resolve: () => void }> = [];
  const schedulers: FakeScheduler[] = [];
  const repo = new ModelRepository({
    root,
    controlMode: mode,
    pollIntervalMs: extra.pollIntervalMs ?? 30,
    startupModels: extra.startupModels,
    backends: new BackendRegistry([backend]),
    createScheduler: (spec) => {
      const s = new FakeScheduler(spec);
      schedulers.push(s);
      return s;
    },
    clock: extra.clock ?? systemClock,
    memoryBudget: extra.memoryBudget,
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.splice(0))
        if (w.pred(e)) w.resolve();
        else waiters.push(w);
    },
  });
  /** Resolves on the next event matching `pred` (rejects after 5 s so a test never hangs). */
  const waitFor = (pred: (e: RepositoryEvent) => boolean, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a repository event')), ms);
      waiters.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return { repo, backend, events, schedulers, waitFor };
}

/** The version a call to `model` (at `version`) goes to, through the router's default policy. */
export function resolve(repo: ModelRepository, model: string, version?: string | number): VersionHandle {
  return new LatestReadyPolicy(repo).resolve(model, version === undefined ? undefined : String(version)).primary;
}
