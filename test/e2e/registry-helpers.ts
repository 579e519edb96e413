// Shared by the registry end-to-end tests: a registry with const models pushed into it, a raw
// JSON admin-API caller, and a load loop that counts every failed call.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { HttpClient } from '../../src/client/http-client.js';
import { ArtifactStore } from '../../src/registry/artifacts.js';
import { RegistryService } from '../../src/registry/service.js';
import { createSourceResolver, operatorFetch } from '../../src/registry/sources/index.js';
import type { RegistryStore } from '../../src/registry/types.js';
import { addConstModel } from './models.js';
import { startTestServer, type TestServer } from './server.js';

export const CONST_CONFIG = 'max_batch_size: 8\ninstance_group [{ count: 1 }]\n';

/** A folder with `<name>/config.pbtxt` and `<name>/1/model.onnx` computing y = x + c. */
/** A one-version model folder `name` (CONST_CONFIG) holding `onnx`, to push into a registry. */
export function modelDir(name: string, onnx: Uint8Array): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ig-src-')), name);
  mkdirSync(join(dir, '1'), { recursive: true });
  writeFileSync(join(dir, 'config.pbtxt'), CONST_CONFIG);
  writeFileSync(join(dir, '1', 'model.onnx'), onnx);
  return dir;
}

export function constModelDir(name: string, c: number): string {
  return modelDir(name, addConstModel(c));
}

/** A service over a store whose pushes may read local paths (what the CLI does). */
export function cliService(store: RegistryStore, artifacts: string): RegistryService {
  return new RegistryService({
    store,
    artifacts: new ArtifactStore(artifacts),
    resolveSource: createSourceResolver({ allowLocal: true, fetch: operatorFetch }),
  });
}

/** Pushes `count` const models (version n answers x + n) and records a passing validation for each. */
export async function pushConstVersions(service: RegistryService, model: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    const v = await service.push(constModelDir(model, n), { model }, 'test');
    await service.recordValidation(
      model,
      v.version,
      {
        at: new Date().toISOString(),
        by: 'test',
        passed: true,
        checks: [{ name: 'accuracy', value: 1, kind: 'min', threshold: 0.9, passed: true }],
        measurements: { accuracy: 1, samples: 10 },
      },
      'test',
    );
  }
}

/** One admin API call: status and parsed JSON body (undefined when empty). */
export async function api(
  base: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the endpoint answers
): Promise<{ status: number; body: any }> {
  const res = await request(`${base}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

/** y[0] of one const-model call: the version that answered. */
export async function answer(http: HttpClient, model: string, version?: string): Promise<number> {
  const r = await http.infer(model, [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }], {
    version,
  });
  return (r.outputs[0]!.data as Float32Array)[0]!;
}

/** Loads still running: a test that fails mid-way leaves its load to `stopLoads` (afterEach), not to the timeout. */
const runningLoads = new Set<{ stop(): Promise<void> }>();

/** Stops every load a test left running (call from afterEach). */
export async function stopLoads(): Promise<void> {
  await Promise.all([...runningLoads].map((l) => l.stop()));
}

/** Calls in a closed loop until stopped; counts answers by value and every failure. */
export function loadLoop(calls: Array<() => Promise<number>>, concurrency = 4) {
  const seen = new Map<number, number>();
  const failures: string[] = [];
  let stop = false;
  let total = 0;
  const worker = async (i: number) => {
    while (!stop) {
      try {
        const v = await calls[i % calls.length]!();
        seen.set(v, (seen.get(v) ?? 0) + 1);
      } catch (err) {
        failures.push((err as Error).message);
      }
      total++;
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  const load = {
    seen,
    failures,
    total: () => total,
    async stop() {
      stop = true;
      runningLoads.delete(load);
      await done;
    },
  };
  runningLoads.add(load);
  return load;
}

/**
 * Polls `fn` until it returns true (or fails after `ms`). `what` names the condition; a function
 * is asked only on failure, so it can describe the state that was reached instead.
 */
export async function until(
  fn: () => Promise<boolean> | boolean,
  ms = 5000,
  what: string | (() => Promise<string> | string) = 'condition',
): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${typeof what === 'string' ? what : await what()} not reached within ${ms} ms`);
}

/** A registry-mode server on `registryDir`, polling fast and with a fast rollout controller. */
export function startRegistryServer(registryDir: string): Promise<TestServer> {
  return startTestServer({
    repository: mkdtempSync(join(tmpdir(), 'ig-serving-')),
    controlMode: 'registry',
    registry: registryDir,
    registryPollSeconds: 0.1,
    rolloutTickMs: 100,
  });
}
