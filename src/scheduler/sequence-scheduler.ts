/**
 * Triton's sequence batcher (config `sequence_batching`), a thin driver over the shared core:
 * every request of a sequence (one correlation id, START … END) runs on the same instance and
 * slot, in order, one at a time; a new sequence takes a free slot or waits in the backlog; a slot
 * idle for max_sequence_idle_microseconds is released (its next request must START again). Each
 * row gets its control tensors and implicit state (sequence-controls.ts); an instance runs one
 * batch at a time, so a sequence's state output is saved before its next request is built. The
 * decisions are sequence-table.ts's; this file applies them.
 */
import type { LoadedModel } from '../backend/types.js';
import {
  copyTensor,
  type InferError,
  invalidArg,
  type ModelVersionSpec,
  type SequenceBatchingSpec,
  type Tensor,
} from '../core/index.js';
import { SchedulerCore, type SchedulerOptions, type Ticket } from './scheduler-core.js';
import { correlationKey, paddingRow, refuseSequenceJob, savedState, sequenceRow } from './sequence-controls.js';
import { admit, directRows, type HeadView, idleSequences, oldestBatch, pickFreeSlot } from './sequence-table.js';
import { shapeKeyOf } from './shape-key.js';
import type { Job, JobResult, Scheduler } from './types.js';

/** One sequence from its START to its END (or until it went idle). */
interface Run {
  readonly id: number;
  readonly key: string;
  /** Index into `slots`; undefined while in the backlog. */
  slot?: number;
  readonly queue: Ticket[];
  running: boolean;
  lastMs: number;
  /** The last state outputs, keyed by the state input they feed. */
  state?: Map<string, Tensor>;
}

interface Slot {
  instance: number;
  index: number;
  run?: Run;
}

export type SequenceSchedulerSpec = Pick<ModelVersionSpec, 'model' | 'maxBatchSize'> & {
  sequence: SequenceBatchingSpec;
  /** The config's outputs: a state output also answered to the client is copied before it is fed back. */
  outputs?: ModelVersionSpec['outputs'];
};

export class SequenceScheduler implements Scheduler {
  private readonly core: SchedulerCore;
  private readonly seq: SequenceBatchingSpec;
  private readonly slots: Slot[] = [];
  /** Runs that still take requests (no END seen), by correlation key. */
  private readonly open = new Map<string, Run>();
  /** Every run with a slot, a backlog place or work left. */
  private readonly runs = new Set<Run>();
  private readonly backlog: Run[] = [];
  private nextRun = 0;
  private nextPad = -1;

  constructor(
    private readonly spec: SequenceSchedulerSpec,
    loaded: LoadedModel,
    options: SchedulerOptions = {},
  ) {
    this.seq = spec.sequence;
    loaded.instances.forEach((_, instance) => {
      for (let index = 0; index < this.seq.slotsPerInstance; index++) this.slots.push({ instance, index });
    });
    this.core = new SchedulerCore(loaded, options, {
      queued: () => this.pending,
      tickets: () => this.allQueued(),
      take: (t) => this.take(t),
      step: (now) => this.step(now),
    });
  }

  get pending(): number {
    let n = 0;
    for (const r of this.runs) n += r.queue.length;
    return n;
  }

  get inflight(): number {
    return this.core.inflight;
  }

  submit(job: Job): Promise<JobResult> {
    const refused = this.core.refuse(job) ?? refuseSequenceJob(this.spec.model, this.seq, job);
    if (refused) return Promise.reject(refused);
    const key = correlationKey(job.sequence)!;
    const flags = job.sequence!;
    const existing = this.open.get(key);
    const free = existing ? undefined : pickFreeSlot(this.slots.map((s) => ({ ...s, taken: s.run !== undefined })));
    const route = admit(existing !== undefined, flags.start, free);
    if (route.kind === 'refuse-no-start')
      return Promise.reject(
        invalidArg(
          `inference request for sequence ${String(flags.id)} to model '${this.spec.model}' must specify the START flag on the first request of the sequence`,
        ),
      );
    let run = existing;
    if (!run) {
      run = { id: this.nextRun++, key, queue: [], running: false, lastMs: this.core.clock.now() };
      this.runs.add(run);
      this.open.set(key, run);
      if (route.kind === 'slot') this.assign(run, route.slot);
      else this.backlog.push(run);
    }
    // Triton forgets the id at its END: a later START with the same id is a new sequence.
    if (flags.end) this.open.delete(key);
    const target = run;
    target.lastMs = this.core.clock.now();
    return this.core.accept(job, (t) => {
      target.queue.push(t);
      this.core.wake();
    });
  }

  drain(): Promise<void> {
    return this.core.drain();
  }

  abandon(err: InferError): void {
    this.core.abandon(err);
  }

  private *allQueued(): Iterable<Ticket> {
    for (const r of this.runs) yield* r.queue;
  }

  private take(t: Ticket): boolean {
    for (const r of this.runs) {
      const i = r.queue.indexOf(t);
      if (i < 0) continue;
      r.queue.splice(i, 1);
      return true;
    }
    return false;
  }

  private assign(run: Run, slot: number): void {
    run.slot = slot;
    this.slots[slot]!.run = run;
  }

  /** Ends a run: its state goes, its slot passes to the oldest backlogged sequence (or is freed). */
  private end(run: Run): void {
    this.runs.delete(run);
    if (this.open.get(run.key) === run) this.open.delete(run.key);
    run.state = undefined;
    const slot = run.slot;
    if (slot === undefined) return;
    this.slots[slot]!.run = undefined;
    const next = this.backlog.shift();
    if (next) this.assign(next, slot);
  }

  private step(now: number): number {
    this.core.failIfAllDead();
    const idle = idleSequences(this.idleViews(), now, this.seq.maxIdleUs / 1000);
    for (const id of idle.expired) {
      const run = [...this.runs].find((r) => r.id === id);
      if (run) this.end(run);
    }
    let wakeAt = idle.wakeAt;
    const loads = this.core.loads();
    loads.forEach((load, instance) => {
      if (!load.alive || load.inflight > 0) return;
      const slotIdx = this.slots.flatMap((s, i) => (s.instance === instance ? [i] : []));
      const heads: HeadView[] = slotIdx.map((i) => {
        const head = this.slots[i]!.run?.queue[0];
        return head ? { at: head.enqueuedAt, shapeKey: shapeKeyOf({ inputs: head.job.inputs }) } : { at: undefined };
      });
      let rows: Array<number | null> | undefined;
      if (this.seq.strategy === 'direct') rows = directRows(heads);
      else {
        const d = oldestBatch(
          heads,
          this.spec.maxBatchSize,
          this.seq.preferredBatchSizes,
          this.seq.maxQueueDelayUs / 1000,
          now,
        );
        if (d.kind === 'wait') wakeAt = Math.min(wakeAt, d.wakeAt);
        if (d.kind === 'run') rows = d.slots;
      }
      if (rows)
        this.run(
          instance,
          rows.map((r) => (r === null ? null : slotIdx[r]!)),
          now,
        );
    });
    return wakeAt;
  }

  private *idleViews() {
    for (const r of this.runs)
      if (r.slot !== undefined) yield { id: r.id, busy: r.running || r.queue.length > 0, lastMs: r.lastMs };
  }

  /** Runs one batch on `instance`: one row per slot (null: padding), each request wrapped to save state. */
  private run(instance: number, rows: Array<number | null>, now: number): void {
    const batched = this.spec.maxBatchSize > 0;
    const real: Ticket[] = [];
    for (const r of rows) {
      if (r === null) continue;
      const run = this.slots[r]!.run!;
      const t = run.queue.shift()!;
      run.running = true;
      const flags = t.job.sequence!;
      const inputs = sequenceRow(this.seq, batched, t.job.inputs, flags, run.state);
      real.push(this.wrap(t, run, inputs));
    }
    const like = real[0]!.job.inputs;
    let k = 0;
    const tickets = rows.map((r) => (r === null ? this.padding(paddingRow(this.seq, batched, like)) : real[k++]!));
    this.core.execute(instance, tickets, now);
  }

  /** The ticket the core runs for `t`: the row's full inputs, every output fetched, state saved on its answer. */
  private wrap(t: Ticket, run: Run, inputs: Tensor[]): Ticket {
    const settled = () => {
      run.running = false;
      run.lastMs = this.core.clock.now();
      if (t.job.sequence!.end) this.end(run);
    };
    return {
      id: t.id,
      enqueuedAt: t.enqueuedAt,
      place: t.place,
      onAbort: t.onAbort,
      job: { ...t.job, inputs, outputs: undefined },
      resolve: (r) => {
        if (this.seq.states.length > 0) run.state = this.keep(savedState(this.seq, r.outputs));
        settled();
        t.resolve(r);
      },
      reject: (e) => {
        settled();
        t.reject(e);
      },
    };
  }

  /**
   * Saved state is fed back by transfer to the worker; a state output the client also receives
   * is copied first, so feeding it never detaches an answer still being encoded.
   */
  private keep(state: Map<string, Tensor>): Map<string, Tensor> {
    const answered = new Set(this.spec.outputs?.map((o) => o.name));
    for (const [input, t] of state) if (answered.has(t.name)) state.set(input, copyTensor(t));
    return state;
  }

  private padding(inputs: Tensor[]): Ticket {
    const id = this.nextPad--;
    return {
      id,
      enqueuedAt: this.core.clock.now(),
      place: 0,
      job: { inputs, batchSize: 1 },
      resolve: () => {},
      reject: () => {},
    };
  }
}
