/**
 * One partition's records, from fetched to committed, in offset order (docs/kafka.md):
 *
 *   fetched ─▶ queue ─▶ window (up to `inFlight` calls in the model at once) ─▶ produce ─▶ commit
 *
 * Results are produced strictly in offset order, whatever order the calls finish in: the head of
 * the window is awaited, then every settled record behind it goes out in one send, and only once
 * the send succeeded is the offset after the last one committed (at-least-once). A call the model
 * cannot take now (the outcome `retry`: queue full, not ready…) stops the window: the partition is
 * paused, the record is tried again after a back-off, and the partition resumes once it went
 * through. A send that fails is retried the same way; nothing is ever skipped. While commits
 * fail nothing more is sent (a rebalance would make it all come again). The consumer is also paused
 * while the pipeline holds `maxBuffered` records.
 *
 * A pipeline belongs to one group generation: `close()` abandons it (a rebalance: its records come
 * again from the committed offset to whoever owns the partition now), `drain()` stops taking
 * records and finishes those already in the model (shutdown). The driver loop never throws.
 */
import { setMaxListeners } from 'node:events';
import type { InboundMessage, OutboundMessage } from './client.js';

/** What became of one record: a result or dead-letter record to produce, or try again later. */
export type Outcome =
  | { kind: 'result'; message: OutboundMessage }
  | { kind: 'dead-letter'; message: OutboundMessage; code: string }
  | { kind: 'retry'; code: string };

/** Starts one attempt at a record; resolves to its outcome, never rejects. */
export type Attempt = () => Promise<Outcome>;

export interface PipelineDeps {
  /** Prepares a record (decoding once) and returns how to attempt it; aborted `signal` on close(). */
  prepare(message: InboundMessage, signal: AbortSignal): Attempt;
  send(messages: readonly OutboundMessage[]): Promise<void>;
  commit(nextOffset: string): Promise<void>;
  pause(): void;
  resume(): void;
  sleep(ms: number): Promise<void>;
  /** Milliseconds to wait before the `n`th consecutive retry (n ≥ 1). */
  backoffMs(n: number): number;
  /** Counts and logs; never throws. */
  events?: PipelineEvents;
}

/** What a pipeline reports (counters, logs). */
export interface PipelineEvents {
  consumed?(n: number): void;
  produced?(results: number, deadLetters: ReadonlyArray<{ code: string }>): void;
  retried?(code: string): void;
  sendFailed?(err: unknown): void;
  commitFailed?(err: unknown): void;
}

export interface PipelineOptions {
  /** Calls of this partition in the model at once. */
  inFlight: number;
  /** Records held (queued + in the window) before the partition is paused. */
  maxBuffered: number;
  /** Records per send. */
  maxSendBatch: number;
  /** A predecessor (the previous generation's pipeline): nothing is sent before it ended. */
  after?: Promise<void>;
}

interface Entry {
  message: InboundMessage;
  attempt: Attempt;
  outcome: Promise<Outcome>;
  settled?: Outcome;
}

type PauseReason = 'full' | 'retry';

const CLOSED = Symbol('closed');

/** Exponential back-off with jitter: base · 2^(n-1), capped, times [0.5, 1). */
export function backoff(baseMs: number, maxMs: number, random: () => number = Math.random): (n: number) => number {
  return (n) => Math.min(maxMs, baseMs * 2 ** Math.max(0, n - 1)) * (0.5 + random() / 2);
}

export class PartitionPipeline {
  readonly #deps: PipelineDeps;
  readonly #o: PipelineOptions;
  readonly #queue: InboundMessage[] = [];
  readonly #window: Entry[] = [];
  readonly #abort = new AbortController();
  readonly #paused = new Set<PauseReason>();
  #executing = 0;
  #lastOffset: bigint | undefined;
  #failStreak = 0;
  #closed = false;
  #draining = false;
  #wake: (() => void) | undefined;
  /** The offset waiting to be committed, and the commit loop while one runs. */
  #wantCommit: string | undefined;
  #committing: Promise<void> | undefined;
  #commitFailing = false;
  #onClose!: () => void;
  /** Resolves on close(): every wait of the driver loop races it, so a closed pipeline ends at once. */
  readonly #closing = new Promise<typeof CLOSED>((resolve) => {
    this.#onClose = () => resolve(CLOSED);
  });
  /** Resolves when the driver loop ended (closed, or drained). */
  readonly done: Promise<void>;

  constructor(deps: PipelineDeps, options: PipelineOptions) {
    this.#deps = deps;
    this.#o = options;
    // Every call in the window listens to the signal until it settles (at most `inFlight` at once).
    setMaxListeners(0, this.#abort.signal);
    this.done = this.#run()
      .catch(() => undefined)
      .then(() => this.#committing);
  }

  /** Records the pipeline holds and has not produced. */
  get buffered(): number {
    return this.#queue.length + this.#window.length;
  }

  /** Whether the consumer is paused for this partition now. */
  get paused(): boolean {
    return this.#paused.size > 0;
  }

  /** Takes fetched records (offsets ascending); records at or below the last taken offset are dropped. */
  push(messages: readonly InboundMessage[]): void {
    if (this.#closed || this.#draining) return;
    let taken = 0;
    for (const m of messages) {
      const offset = BigInt(m.offset);
      if (this.#lastOffset !== undefined && offset <= this.#lastOffset) continue;
      this.#lastOffset = offset;
      this.#queue.push(m);
      taken++;
    }
    if (taken > 0) this.#deps.events?.consumed?.(taken);
    this.#fill();
    this.#checkFull();
    this.#poke();
  }

  /** Stops taking records; those in the model finish and are produced and committed. Resolves when done. */
  drain(): Promise<void> {
    this.#draining = true;
    this.#queue.length = 0;
    this.#poke();
    return this.done;
  }

  /** Abandons everything at once: nothing more is sent or committed; calls in the model are aborted. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#abort.abort();
    this.#onClose();
    this.#poke();
  }

  /** `p`, or CLOSED as soon as the pipeline is closed. */
  #until<T>(p: Promise<T>): Promise<T | typeof CLOSED> {
    return Promise.race([p, this.#closing]);
  }

  async #run(): Promise<void> {
    if (this.#o.after) await this.#until(this.#o.after);
    for (;;) {
      if (this.#closed) return;
      this.#fill();
      const head = this.#window[0];
      if (head === undefined) {
        if (this.#draining) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      const outcome = await this.#until(head.outcome);
      if (outcome === CLOSED || this.#closed) return;
      head.settled = outcome;
      if (outcome.kind === 'retry') {
        // Shutting down: leave it uncommitted, it comes again to whoever takes the partition.
        if (this.#draining) return;
        await this.#retry(head, outcome.code);
        continue;
      }
      this.#failStreak = 0;
      this.#unpause('retry');
      // Sends stay at most one commit ahead, and while commits fail (a rebalance, the broker gone)
      // nothing more is sent until one went through: results produced and not committed — those a
      // redelivery writes again — are at most two sends' worth.
      if ((this.#commitFailing || this.#wantCommit !== undefined) && this.#committing)
        await this.#until(this.#committing);
      if (this.#closed) return;
      const ready = this.#settledPrefix();
      if (!(await this.#produce(ready))) return;
      this.#window.splice(0, ready.length);
      this.#checkFull();
      this.#commit(ready[ready.length - 1]!.message.offset);
    }
  }

  /** Starts records from the queue while the window has room (not while a retry holds the partition). */
  #fill(): void {
    while (
      !this.#closed &&
      !this.#paused.has('retry') &&
      this.#executing < this.#o.inFlight &&
      this.#queue.length > 0
    ) {
      const message = this.#queue.shift()!;
      const entry: Entry = { message, attempt: this.#deps.prepare(message, this.#abort.signal), outcome: undefined! };
      this.#start(entry);
      this.#window.push(entry);
    }
  }

  #start(entry: Entry): void {
    this.#executing++;
    entry.settled = undefined;
    entry.outcome = entry.attempt().then((outcome) => {
      this.#executing--;
      entry.settled = outcome;
      this.#fill();
      return outcome;
    });
  }

  /** The head, failed with a retryable error: hold the partition, wait, try it again. */
  async #retry(head: Entry, code: string): Promise<void> {
    this.#pause('retry');
    this.#deps.events?.retried?.(code);
    // The first retry of a streak goes at once (the failure may be old: it waited behind others).
    const n = this.#failStreak++;
    if (n > 0) await this.#until(this.#deps.sleep(this.#deps.backoffMs(n)));
    if (this.#closed || this.#draining) return;
    this.#start(head);
  }

  /** The head and every settled, non-retry entry right behind it (at most maxSendBatch). */
  #settledPrefix(): Entry[] {
    const out: Entry[] = [];
    for (const e of this.#window) {
      if (out.length >= this.#o.maxSendBatch || e.settled === undefined || e.settled.kind === 'retry') break;
      out.push(e);
    }
    return out;
  }

  /** Sends the entries' records until it succeeds; false when closed meanwhile (nothing to commit). */
  async #produce(entries: readonly Entry[]): Promise<boolean> {
    const messages: OutboundMessage[] = [];
    const dead: Array<{ code: string }> = [];
    for (const e of entries) {
      const o = e.settled as Exclude<Outcome, { kind: 'retry' }>;
      messages.push(o.message);
      if (o.kind === 'dead-letter') dead.push({ code: o.code });
    }
    for (let n = 1; ; n++) {
      if (this.#closed) return false;
      try {
        await this.#deps.send(messages);
        this.#deps.events?.produced?.(messages.length - dead.length, dead);
        return true;
      } catch (err) {
        this.#deps.events?.sendFailed?.(err);
        await this.#until(this.#deps.sleep(this.#deps.backoffMs(n)));
      }
    }
  }

  /**
   * Commits the offset after `offset` without holding up the next send: one commit at a time, and
   * while one is out only the latest offset waits (commits stay in order and never go back). A
   * failed commit is tried again after a back-off, and meanwhile nothing more is sent (#run): the
   * results produced but not committed — those a rebalance makes come again — stay few.
   */
  #commit(offset: string): void {
    this.#wantCommit = (BigInt(offset) + 1n).toString();
    this.#committing ??= (async () => {
      let failures = 0;
      while (this.#wantCommit !== undefined && !this.#closed) {
        const next = this.#wantCommit;
        this.#wantCommit = undefined;
        try {
          await this.#deps.commit(next);
          failures = 0;
          this.#commitFailing = false;
        } catch (err) {
          this.#deps.events?.commitFailed?.(err);
          this.#commitFailing = true;
          this.#wantCommit ??= next;
          await this.#until(this.#deps.sleep(this.#deps.backoffMs(++failures)));
        }
      }
      this.#committing = undefined;
    })();
  }

  #checkFull(): void {
    const n = this.buffered;
    if (n >= this.#o.maxBuffered) this.#pause('full');
    else if (n <= this.#o.maxBuffered / 2) this.#unpause('full');
  }

  #pause(reason: PauseReason): void {
    const was = this.#paused.size > 0;
    this.#paused.add(reason);
    if (!was && !this.#closed) this.#deps.pause();
  }

  #unpause(reason: PauseReason): void {
    if (!this.#paused.delete(reason) || this.#paused.size > 0 || this.#closed) return;
    this.#deps.resume();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
