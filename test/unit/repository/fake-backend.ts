/**
 * A fake Backend for repository tests. A "model file" is JSON: {"inputs":[…],"outputs":[…]}
 * (ModelIO), optionally with "failLoad": true, "loadMs": N or "memoryBytes": N (what the loaded
 * version reports holding; default the file's size). Anything else fails inspect with a message
 * that contains the absolute path (to check it never reaches clients).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Backend, LoadedModel } from '../../../src/backend/types.js';
import type { ModelIO, ModelVersionSpec } from '../../../src/core/model.js';
import type { Job, JobResult, Scheduler } from '../../../src/scheduler/types.js';

export interface FakeFile extends ModelIO {
  failLoad?: boolean;
  loadMs?: number;
  memoryBytes?: number;
}

/** A batchable FP32 signature x:[-1,3] → y:[-1,2]. */
export const SIMPLE: ModelIO = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};

/** Writes a fake model file. */
export async function writeModelFile(path: string, content: FakeFile | string = SIMPLE): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
}

export class FakeBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly platforms = ['onnxruntime_onnx'];
  readonly loads: ModelVersionSpec[] = [];
  /** Every load call, failed ones included. */
  attempts = 0;
  /** Every inspect call. */
  inspects = 0;
  disposed = 0;
  live = 0;

  async inspect(path: string): Promise<ModelIO> {
    this.inspects++;
    return (await this.read(path)) as ModelIO;
  }

  async load(spec: ModelVersionSpec): Promise<LoadedModel> {
    this.attempts++;
    const file = await this.read(spec.path);
    if (file.loadMs) await new Promise((r) => setTimeout(r, file.loadMs));
    if (file.failLoad) throw new Error(`onnxruntime could not create a session for ${spec.path}`);
    this.loads.push(spec);
    this.live++;
    let done = false;
    return {
      instances: [],
      memoryBytes: file.memoryBytes ?? (await readFile(spec.path)).byteLength,
      dispose: async () => {
        if (done) return;
        done = true;
        this.disposed++;
        this.live--;
      },
    };
  }

  async close(): Promise<void> {}

  private async read(path: string): Promise<FakeFile> {
    const text = await readFile(path, 'utf8');
    try {
      return JSON.parse(text) as FakeFile;
    } catch (err) {
      throw new Error(`failed to parse ONNX model ${path}`, { cause: err });
    }
  }
}

/** A scheduler whose jobs stay in flight until the test releases them. */
export class FakeScheduler implements Scheduler {
  pending = 0;
  inflight = 0;
  draining = false;
  private readonly waiting: Array<() => void> = [];
  private readonly idle: Array<() => void> = [];

  constructor(readonly spec: ModelVersionSpec) {}

  submit(_job: Job): Promise<JobResult> {
    if (this.draining) return Promise.reject(new Error('draining'));
    this.inflight++;
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.inflight--;
        resolve({ outputs: [], timing: { inputNs: 0, inferNs: 0, outputNs: 0 }, queueNs: 0, executedBatchSize: 1 });
        if (this.inflight === 0) for (const f of this.idle.splice(0)) f();
      });
    });
  }

  /** Every job here counts as executing: none is queued, so there is nothing to abandon. */
  abandon(): void {}

  /** Finishes every job in flight. */
  releaseAll(): void {
    for (const f of this.waiting.splice(0)) f();
  }

  drain(): Promise<void> {
    this.draining = true;
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }
}
