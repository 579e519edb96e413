// The offline checker of a run's history (reliability.md R24). Pure functions: the history in, the
// violations out, each naming the request id (when there is one) and why. The invariants:
//   I1  every invoked id has exactly one terminal outcome, no later than its deadline + 1 s, and
//       every outcome belongs to an invoked id;
//   I2  every 2xx answer equals the reference output of the version it is tagged with, for the model
//       that was asked, and echoes the request's id;
//   I3  no answer from a version once a newer one was seen: a request invoked after the first answer
//       from version V (or the nemesis's swap-complete for V) must not be served by a version < V;
//   R   rejections only with retryable statuses (HTTP 503/504/429, gRPC UNAVAILABLE /
//       DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED), plus 500 / INTERNAL with IG_ERR_WORKER_CRASHED
//       only for a request in flight during a crash window;
//   W   failures only inside fault windows (plus a grace after each): any failure needs an
//       overlapping fault window, a refused connection or an ambiguous transport outcome a restart's;
//   H   the history itself is well formed (a fault that ends without starting).
import type { FailEvent, FaultKind, History, InvokeEvent, OkEvent, OutcomeEvent } from './history.js';

export type Invariant = 'I1' | 'I2' | 'I3' | 'R' | 'W' | 'H';

export interface Violation {
  invariant: Invariant;
  /** The request the violation is about, when it is about one. */
  id?: string;
  why: string;
}

export interface CheckOptions {
  /** The expected output row of `model` at `version` for `input`; undefined for a version that never existed. */
  reference(model: string, version: string, input: readonly number[]): readonly number[] | undefined;
  /** How long after a fault window failures are still explained by it (default 1000 ms). */
  graceMs?: number;
  /** How far past its deadline an outcome may arrive (default 1000 ms). */
  terminalSlackMs?: number;
}

/** One fault's time span; `end` is Infinity for a fault the history never saw end. */
export interface FaultWindow {
  fault: string;
  kind: FaultKind;
  start: number;
  end: number;
}

const RETRYABLE_HTTP = new Set([503, 504, 429]);
/** UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED. */
const RETRYABLE_GRPC = new Set([14, 4, 8]);
const HTTP_INTERNAL = 500;
const GRPC_INTERNAL = 13;

/** The fault windows of a history, in start order; also reports ends without a start. */
export function faultWindows(h: History, violations: Violation[] = []): FaultWindow[] {
  const open = new Map<string, FaultWindow>();
  const done: FaultWindow[] = [];
  for (const e of h) {
    if (e.type !== 'fault') continue;
    if (e.phase === 'start') {
      const w = { fault: e.fault, kind: e.kind, start: e.time, end: Number.POSITIVE_INFINITY };
      open.set(e.fault, w);
      done.push(w);
    } else {
      const w = open.get(e.fault);
      if (w === undefined) violations.push({ invariant: 'H', why: `fault ${e.fault} ended without starting` });
      else {
        w.end = e.time;
        open.delete(e.fault);
      }
    }
  }
  return done.sort((a, b) => a.start - b.start);
}

/** Checks every invariant; an empty list means the history is legal. */
export function checkHistory(h: History, o: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  const windows = faultWindows(h, violations);
  const invokes = new Map<string, InvokeEvent>();
  const outcomes = new Map<string, OutcomeEvent[]>();
  for (const e of h) {
    if (e.type === 'invoke') {
      if (invokes.has(e.id)) violations.push({ invariant: 'I1', id: e.id, why: 'id invoked twice' });
      else invokes.set(e.id, e);
    } else if (e.type === 'ok' || e.type === 'fail' || e.type === 'info') {
      const list = outcomes.get(e.id);
      if (list === undefined) outcomes.set(e.id, [e]);
      else list.push(e);
    }
  }
  for (const id of outcomes.keys())
    if (!invokes.has(id)) violations.push({ invariant: 'I1', id, why: 'outcome for an id that was never invoked' });
  const slack = o.terminalSlackMs ?? 1000;
  const swaps = newestSeen(h);
  for (const inv of invokes.values()) {
    const list = outcomes.get(inv.id) ?? [];
    if (list.length === 0) {
      violations.push({ invariant: 'I1', id: inv.id, why: 'no terminal outcome' });
      continue;
    }
    if (list.length > 1)
      violations.push({
        invariant: 'I1',
        id: inv.id,
        why: `${list.length} terminal outcomes (${list.map((x) => x.type).join(', ')})`,
      });
    const out = list[0]!;
    if (out.time > inv.deadline + slack)
      violations.push({
        invariant: 'I1',
        id: inv.id,
        why: `terminal ${Math.round(out.time - inv.deadline)} ms after its deadline (${out.type})`,
      });
    if (out.type === 'ok') {
      checkAnswer(inv, out, o, violations);
      checkFresh(inv, out, swaps, violations);
    } else checkFailure(inv, out, windows, o.graceMs ?? 1000, violations);
  }
  return violations;
}

/** I2: the answer is the reference for its tagged version, from the model asked, for this id. */
function checkAnswer(inv: InvokeEvent, out: OkEvent, o: CheckOptions, violations: Violation[]): void {
  const id = inv.id;
  if (out.model !== inv.model)
    violations.push({ invariant: 'I2', id, why: `answered by model '${out.model}', asked '${inv.model}'` });
  if (out.echoedId !== id)
    violations.push({ invariant: 'I2', id, why: `response carries id '${out.echoedId ?? '(none)'}'` });
  const want = o.reference(inv.model, out.version, inv.input);
  if (want === undefined) {
    violations.push({ invariant: 'I2', id, why: `tagged with version '${out.version}', which never existed` });
    return;
  }
  const same = want.length === out.output.length && want.every((v, i) => Object.is(v, out.output[i]));
  if (!same)
    violations.push({
      invariant: 'I2',
      id,
      why: `output [${out.output.join(',')}] is not version ${out.version}'s [${want.join(',')}]`,
    });
}

/**
 * Per model, the time each version was first seen served: the earliest 2xx answer tagged with it,
 * or the nemesis's swap-complete observation, whichever came first.
 */
export function newestSeen(h: History): Map<string, Map<number, number>> {
  const seen = new Map<string, Map<number, number>>();
  const note = (model: string, version: string, time: number) => {
    const v = Number(version);
    if (!Number.isInteger(v)) return;
    const m = seen.get(model) ?? new Map<number, number>();
    seen.set(model, m);
    const t = m.get(v);
    if (t === undefined || time < t) m.set(v, time);
  };
  for (const e of h) {
    if (e.type === 'ok') note(e.model, e.version, e.time);
    else if (e.type === 'observe' && e.what === 'swap-complete' && e.model && e.version)
      note(e.model, e.version, e.time);
  }
  return seen;
}

/** I3: invoked after a newer version was seen, yet served by an older one. */
function checkFresh(
  inv: InvokeEvent,
  out: OkEvent,
  seen: Map<string, Map<number, number>>,
  violations: Violation[],
): void {
  const v = Number(out.version);
  const versions = seen.get(out.model);
  if (!Number.isInteger(v) || versions === undefined) return;
  for (const [newer, at] of versions) {
    if (newer > v && at < inv.time) {
      violations.push({
        invariant: 'I3',
        id: inv.id,
        why: `served by version ${v} although version ${newer} was served ${Math.round(inv.time - at)} ms before it was sent`,
      });
      return;
    }
  }
}

/** R and W: a failure is retryable and explained by a fault window it overlaps. */
function checkFailure(
  inv: InvokeEvent,
  out: Exclude<OutcomeEvent, OkEvent>,
  windows: readonly FaultWindow[],
  graceMs: number,
  violations: Violation[],
): void {
  const id = inv.id;
  const during = (kinds?: readonly FaultKind[]) =>
    windows.some(
      (w) => (kinds === undefined || kinds.includes(w.kind)) && inv.time <= w.end + graceMs && out.time >= w.start,
    );
  const what = out.type === 'info' ? `ambiguous outcome (${out.code ?? '?'}: ${out.message})` : describe(out);
  if (out.type === 'info' || out.notAccepted) {
    if (!during(['restart'])) violations.push({ invariant: 'W', id, why: `${what} outside every restart window` });
    return;
  }
  const grpc = inv.protocol === 'grpc';
  const internal = out.status === (grpc ? GRPC_INTERNAL : HTTP_INTERNAL);
  if (internal && out.code === 'IG_ERR_WORKER_CRASHED') {
    if (!during(['crash'])) violations.push({ invariant: 'R', id, why: `${what} while no crash window was open` });
    return;
  }
  if (!(grpc ? RETRYABLE_GRPC : RETRYABLE_HTTP).has(out.status))
    violations.push({ invariant: 'R', id, why: `not retryable: ${what}` });
  if (!during()) violations.push({ invariant: 'W', id, why: `${what} outside every fault window` });
}

function describe(out: FailEvent): string {
  return `${out.notAccepted ? 'refused' : 'failed'} with ${out.status}${out.code ? ` ${out.code}` : ''}: ${out.message}`;
}
