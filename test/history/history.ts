// The history of a run, Jepsen style: every request invoked and its one terminal outcome, every
// fault with its start and end, and what the harness observed meanwhile. Plain data, so the checker
// (checker.ts) is a pure function over it and can be tested with hand-made histories.

/** How a request travelled: KServe v2 REST (binary tensor data or JSON) or gRPC. */
export type Protocol = 'http' | 'http-json' | 'grpc';

export type FaultKind = 'crash' | 'hang' | 'swap' | 'restart' | 'burst';

/** A request was sent. `time` and `deadline` are ms on the run's monotonic clock. */
export interface InvokeEvent {
  type: 'invoke';
  id: string;
  time: number;
  client: string;
  protocol: Protocol;
  model: string;
  /** The values of the request's one FP32 input row (the reference is computed from them). */
  input: number[];
  /** The deadline the request carried (infergate-timeout-ms / gRPC deadline), absolute. */
  deadline: number;
  /** Load traffic, a nemesis probe, or a request that is part of a fault (burst). */
  purpose: 'load' | 'probe' | 'fault';
}

/** A 2xx answer: the version that served it and the output row it returned. */
export interface OkEvent {
  type: 'ok';
  id: string;
  time: number;
  model: string;
  version: string;
  output: number[];
  /** The `id` the response carried (KServe echoes the request's). */
  echoedId: string | undefined;
}

/**
 * A definite failure: an error answer (HTTP status, or gRPC status code) or a connection the server
 * refused (`notAccepted`: it never saw the request). `code` is the IG_ERR_… code when the answer
 * identifies one (see classify.ts: the wire carries only the message), else a transport code.
 */
export interface FailEvent {
  type: 'fail';
  id: string;
  time: number;
  status: number;
  code: string | undefined;
  message: string;
  notAccepted: boolean;
}

/** An ambiguous outcome: the request may or may not have been executed (a reset after sending). */
export interface InfoEvent {
  type: 'info';
  id: string;
  time: number;
  code: string | undefined;
  message: string;
}

/** A fault began or ended; start and end share `fault`. */
export interface FaultEvent {
  type: 'fault';
  fault: string;
  kind: FaultKind;
  phase: 'start' | 'end';
  time: number;
  detail?: string;
}

/** Something the harness saw that the checker or the run's summary uses. */
export interface ObserveEvent {
  type: 'observe';
  time: number;
  what:
    | 'swap-complete'
    | 'worker-ready'
    | 'worker-exit'
    | 'crash-posted'
    | 'hang-posted'
    | 'no-worker'
    | 'server-exit'
    | 'server-ready'
    | 'gate-closed'
    | 'gate-open';
  fault?: string;
  model?: string;
  version?: string;
  detail?: string;
}

export type OutcomeEvent = OkEvent | FailEvent | InfoEvent;
export type HistoryEvent = InvokeEvent | OutcomeEvent | FaultEvent | ObserveEvent;
export type History = readonly HistoryEvent[];

/** Outcome fields, without id and time (the recorder adds them). */
export type Outcome = Omit<OkEvent, 'id' | 'time'> | Omit<FailEvent, 'id' | 'time'> | Omit<InfoEvent, 'id' | 'time'>;

/** Appends events in the order they happen, each stamped with the run's clock. */
export class Recorder {
  readonly events: HistoryEvent[] = [];
  readonly #t0 = performance.now();
  #faults = 0;

  /** Ms since the recorder started (monotonic). */
  now(): number {
    return Math.round((performance.now() - this.#t0) * 1000) / 1000;
  }

  invoke(e: Omit<InvokeEvent, 'type' | 'time' | 'deadline'>, timeoutMs: number): InvokeEvent {
    const time = this.now();
    const ev: InvokeEvent = { type: 'invoke', time, deadline: time + timeoutMs, ...e };
    this.events.push(ev);
    return ev;
  }

  complete(id: string, o: Outcome): void {
    this.events.push({ ...o, id, time: this.now() } as OutcomeEvent);
  }

  /** Records a fault's start; call the returned function once at its end. */
  fault(kind: FaultKind, detail?: string): { id: string; end(detail?: string): void } {
    const id = `${kind}-${++this.#faults}`;
    this.events.push({
      type: 'fault',
      fault: id,
      kind,
      phase: 'start',
      time: this.now(),
      ...(detail ? { detail } : {}),
    });
    let ended = false;
    return {
      id,
      end: (d?: string) => {
        if (ended) return;
        ended = true;
        this.events.push({
          type: 'fault',
          fault: id,
          kind,
          phase: 'end',
          time: this.now(),
          ...(d ? { detail: d } : {}),
        });
      },
    };
  }

  observe(e: Omit<ObserveEvent, 'type' | 'time'>): void {
    this.events.push({ type: 'observe', time: this.now(), ...e });
  }
}
