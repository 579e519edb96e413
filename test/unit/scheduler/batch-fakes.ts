// Test doubles for the schedulers: a hand-driven instance, clock and timer.
import type { BackendInstance, ExecOptions, ExecResult, LoadedModel } from '../../../src/backend/types.js';
import { type Clock, InferError, type Tensor } from '../../../src/core/index.js';
import type { Timers } from '../../../src/scheduler/timers.js';

/** One execution the test finishes by hand. */
export interface Started {
  inputs: Tensor[];
  outputs: string[] | undefined;
  /** What the scheduler passed as execute's last argument. */
  options: ExecOptions | undefined;
  /** Resolves with `outputs` (default: the inputs echoed back), or rejects with IG_ERR_MODEL_EXECUTION. */
  finish(outcome?: 'ok' | 'fail', outputs?: Tensor[]): void;
  /** Rejects with exactly `err`. */
  fail(err: unknown): void;
  done: boolean;
}

/** An instance whose executions finish when the test says so; it echoes inputs as outputs. */
export class HandInstance implements BackendInstance {
  alive = true;
  inflight = 0;
  readonly started: Started[] = [];
  constructor(readonly id: string) {}

  execute(inputs: Tensor[], outputs?: string[], options?: ExecOptions): Promise<ExecResult> {
    this.inflight++;
    return new Promise((resolve, reject) => {
      const end = () => {
        if (s.done) throw new Error('finished twice');
        s.done = true;
        this.inflight--;
      };
      const s: Started = {
        inputs,
        outputs,
        options,
        done: false,
        finish: (outcome = 'ok', outs = inputs) => {
          end();
          if (outcome === 'ok') resolve({ outputs: outs, timing: { inputNs: 1, inferNs: 2, outputNs: 3 } });
          else reject(new InferError('IG_ERR_MODEL_EXECUTION', 'boom'));
        },
        fail: (err) => {
          end();
          reject(err);
        },
      };
      this.started.push(s);
    });
  }

  async dispose(): Promise<void> {}

  /** Executions not finished yet. */
  get running(): Started[] {
    return this.started.filter((s) => !s.done);
  }
}

/** A model with `n` hand-driven instances. */
export function handModel(n: number): { loaded: LoadedModel; inst: HandInstance[] } {
  const inst = Array.from({ length: n }, (_, i) => new HandInstance(`i${i}`));
  return { loaded: { instances: inst, memoryBytes: 0, dispose: async () => {} }, inst };
}

/** A clock and a timer queue that move only when the test advances them. */
export class FakeTime implements Clock, Timers {
  t = 0;
  private seq = 0;
  private readonly due = new Map<number, { fn: () => void; at: number }>();

  /** `epochMs`: what wallMs() reads when now() reads 0, so tests can tell the two clocks apart. */
  constructor(readonly epochMs = 0) {}

  now(): number {
    return this.t;
  }
  wallMs(): number {
    return this.epochMs + this.t;
  }
  set(fn: () => void, ms: number): unknown {
    const id = this.seq++;
    this.due.set(id, { fn, at: this.t + Math.max(0, ms) });
    return id;
  }
  clear(handle: unknown): void {
    this.due.delete(handle as number);
  }
  /** Number of armed timers (the driver keeps at most one). */
  get armed(): number {
    return this.due.size;
  }
  /** Moves time forward, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { fn: () => void; at: number }] | undefined;
      for (const e of this.due) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.due.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}

/** A one-row FP32 input [rows, 1] holding `v` in every row. */
export function row(v: number, rows = 1): Tensor {
  return { name: 'x', datatype: 'FP32', shape: [rows, 1], data: new Float32Array(rows).fill(v) };
}

/** Lets queued microtasks and promise callbacks run. */
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
