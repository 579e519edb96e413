/**
 * Payload logging, per model and sampled, through the router's `answered` hook and its tensor tap:
 *  - the sampling decision is the tap's predicate, taken in `schedule` before anything is copied,
 *    so calls that are not logged cost one random number and no copy;
 *  - the hook only queues references (the tap's input copy, the response's outputs); lines are
 *    built and appended later, a few records at a time, each write yielding to the event loop;
 *  - the queue is bounded (records and bytes): when it is full a call is not logged and the drop
 *    is counted, and the request never waits for the log;
 *  - writes, erasures and retention sweeps run one at a time on one chain, so an erasure sees
 *    every record queued before it and a write never lands in a file being rewritten.
 */
import { createHash } from 'node:crypto';
import type { AuditSink } from '../audit/types.js';
import type { InferResponse, ModelVersionSpec } from '../core/index.js';
import type { Logger } from '../observability/logger.js';
import type { Hooks } from '../router/hooks.js';
import type { Exchange } from '../router/pipeline.js';
import { appendLines, dayFile, dayFiles, eraseLines, sweepDayFiles } from './files.js';
import { type PendingRecord, pendingBytes, recordLine, subjectPrefix } from './record.js';
import { DEFAULT_RETENTION_DAYS, type PayloadLogSettings, payloadLogSettings, retentionOf } from './settings.js';

export interface PayloadLogOptions {
  /** Root of the day files (`--payload-log-dir`). */
  dir: string;
  /** Records waiting to be written, at most (default 1024); beyond it calls are not logged, and counted. */
  maxBacklog?: number;
  /** Tensor bytes held by waiting records, at most (default 256 MiB). */
  maxBacklogBytes?: number;
  /** Tensor bytes written inline per record (default 64 KiB); beyond, shape, size and sha256 only. */
  maxInlineBytes?: number;
  /** A served model's config parameters (the retention sweep reads them); undefined when not served. */
  parametersOf?: (model: string) => Readonly<Record<string, string>> | undefined;
  /** Where erasures are recorded. */
  audit?: AuditSink;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  random?: () => number;
  now?: () => number;
  /** Between retention sweeps (default one hour). */
  sweepIntervalMs?: number;
}

/** What happened to the calls that were sampled. */
export interface PayloadLogCounts {
  written: number;
  /** Not logged because the backlog was full. */
  dropped: number;
  /** Lost to a write error (reported in the log). */
  failed: number;
  /** Waiting to be written now. */
  backlog: number;
}

interface Queued {
  record: PendingRecord;
  bytes: number;
}

const WARN_EVERY_MS = 60_000;

export class PayloadLog {
  readonly dir: string;
  private readonly maxBacklog: number;
  private readonly maxBacklogBytes: number;
  private readonly maxInlineBytes: number;
  private readonly random: () => number;
  private readonly now: () => number;
  /** Calls the tap accepted, until their answer (or forever unanswered: weak). */
  private readonly sampled = new WeakMap<Exchange, PayloadLogSettings>();
  /** Parsed settings per loaded version (null: the version does not log). */
  private readonly bySpec = new WeakMap<ModelVersionSpec, PayloadLogSettings | null>();
  /** Retention of models seen logging, for the sweep when the model is no longer served. */
  private readonly retention = new Map<string, number>();
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private drainPending = false;
  private readonly counts = { written: 0, dropped: 0, failed: 0 };
  private readonly warnedAt = { dropped: Number.NEGATIVE_INFINITY, failed: Number.NEGATIVE_INFINITY };
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: PayloadLogOptions) {
    this.dir = o.dir;
    this.maxBacklog = o.maxBacklog ?? 1024;
    this.maxBacklogBytes = o.maxBacklogBytes ?? 256 * 1024 * 1024;
    this.maxInlineBytes = o.maxInlineBytes ?? 64 * 1024;
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
  }

  /** Registers the tap and the `answered` hook; returns the function that removes them. */
  install(hooks: Hooks): () => void {
    return hooks.add('answered', (x, response) => this.answered(x, response), {
      tensors: (x) => this.take(x),
      label: 'payload log',
    });
  }

  /** Sweeps now, then every hour (the timer never keeps the process alive). */
  start(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.o.sweepIntervalMs ?? 3_600_000);
    this.timer.unref();
  }

  counters(): PayloadLogCounts {
    return { ...this.counts, backlog: this.queue.length };
  }

  /**
   * Removes every record of `subject` from every day file, after the records queued before it are
   * written; records the erasure in the audit trail with a hash of the subject. Resolves to the count.
   */
  async erase(subject: string, actor = 'unknown'): Promise<number> {
    const removed = await this.serial(async () => {
      let n = 0;
      for (const f of await dayFiles(this.dir)) n += await eraseLines(f.path, subjectPrefix(subject));
      return n;
    });
    this.o.audit?.record({
      action: 'security.admin',
      actor,
      route: 'POST /v2/privacy/erase',
      outcome: '200',
      reason: `erased ${removed} payload records for subject ${subjectHash(subject)}`,
    });
    return removed;
  }

  /** Deletes the day files past their model's retention; resolves to the paths removed. */
  sweep(): Promise<string[]> {
    return this.serial(() => sweepDayFiles(this.dir, this.now(), (m) => this.retentionDays(m))).then(
      (removed) => {
        if (removed.length > 0) this.o.logger?.info({ files: removed.length }, 'payload log: retention sweep');
        return removed;
      },
      (err: unknown) => {
        this.o.logger?.error({ err: (err as Error).message }, 'payload log: retention sweep failed');
        return [];
      },
    );
  }

  /** Stops the sweep; resolves once every queued record is written. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.chain;
  }

  /** The tap's predicate: is this call logged? Decided before its inputs are copied. */
  private take(x: Exchange): boolean {
    const primary = x.target?.primary;
    if (primary === undefined || this.closed) return false;
    const s = this.settingsOf(primary.model, primary.spec);
    if (s === undefined || this.random() >= s.sample) return false;
    if (this.full(0)) {
      this.dropped();
      return false;
    }
    this.sampled.set(x, s);
    return true;
  }

  private answered(x: Exchange, response: InferResponse): void {
    const s = this.sampled.get(x);
    if (s === undefined) return;
    this.sampled.delete(x);
    const { ctx, request } = x;
    const record: PendingRecord = {
      at: this.now(),
      requestId: ctx.requestId,
      model: response.model,
      version: response.version,
      subject: ctx.subject,
      principal: ctx.principal.id,
      parameters: request.parameters,
      inputs: x.inputsCopy ?? [],
      outputs: response.outputs,
      redact: s.redact,
    };
    const bytes = pendingBytes(record);
    if (this.closed || this.full(bytes)) {
      this.dropped();
      return;
    }
    this.queue.push({ record, bytes });
    this.queuedBytes += bytes;
    if (!this.drainPending) {
      this.drainPending = true;
      void this.serial(() => this.drain());
    }
  }

  private full(bytes: number): boolean {
    return this.queue.length >= this.maxBacklog || this.queuedBytes + bytes > this.maxBacklogBytes;
  }

  /** Writes the queue out, 64 records per step; each append yields to the event loop. */
  private async drain(): Promise<void> {
    this.drainPending = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 64);
      const byFile = new Map<string, string[]>();
      for (const { record } of batch) {
        try {
          const file = dayFile(record.model, record.at);
          const lines = byFile.get(file) ?? [];
          lines.push(recordLine(record, this.maxInlineBytes));
          byFile.set(file, lines);
        } catch (err) {
          this.failed(1, err);
        }
      }
      for (const [file, lines] of byFile) {
        try {
          await appendLines(this.dir, file, lines.join(''));
          this.counts.written += lines.length;
        } catch (err) {
          this.failed(lines.length, err);
        }
      }
      for (const q of batch) this.queuedBytes -= q.bytes;
    }
  }

  /** Runs `fn` after everything chained before it; a failure does not stop what follows. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private settingsOf(model: string, spec: ModelVersionSpec): PayloadLogSettings | undefined {
    let s = this.bySpec.get(spec);
    if (s === undefined) {
      const parsed = payloadLogSettings(spec.execution.parameters);
      if (typeof parsed === 'string')
        this.o.logger?.warn({ model }, `payload log: model '${model}': ${parsed}; its calls are not logged`);
      s = typeof parsed === 'object' ? parsed : null;
      if (s) this.retention.set(model, s.retentionDays);
      this.bySpec.set(spec, s);
    }
    return s ?? undefined;
  }

  private retentionDays(model: string): number {
    const parameters = this.o.parametersOf?.(model);
    const days = parameters === undefined ? this.retention.get(model) : retentionOf(parameters);
    return typeof days === 'number' ? days : DEFAULT_RETENTION_DAYS;
  }

  private dropped(): void {
    this.counts.dropped++;
    this.warnAtMostEveryMinute('dropped', () => ({
      msg: 'payload log: backlog full, calls are not being logged',
      fields: { dropped: this.counts.dropped },
    }));
  }

  private failed(n: number, err: unknown): void {
    this.counts.failed += n;
    this.warnAtMostEveryMinute('failed', () => ({
      msg: 'payload log: writing records failed',
      fields: { failed: this.counts.failed, err: (err as Error).message },
    }));
  }

  private warnAtMostEveryMinute(kind: 'dropped' | 'failed', line: () => { msg: string; fields: object }): void {
    const t = this.now();
    if (t - this.warnedAt[kind] < WARN_EVERY_MS) return;
    this.warnedAt[kind] = t;
    const { msg, fields } = line();
    this.o.logger?.warn(fields, msg);
  }
}

/** How the audit trail names a subject: a hash, so the trail itself holds no subject ids. */
export function subjectHash(subject: string): string {
  return `sha256:${createHash('sha256').update(subject).digest('hex')}`;
}
