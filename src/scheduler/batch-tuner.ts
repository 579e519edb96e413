/**
 * Throughput tuning of the batch-size cap (infergate's `batch_size_tuning: throughput` parameter)
 * as pure functions. A larger batch is not always cheaper per request on a CPU: past the size
 * where the working set leaves the cache, a batch of 8 can cost more per row than a batch of 4
 * (measured on the BERT-like bench model: about 10%). Under saturation Triton's batcher always
 * forms the largest batch it can, so the cap decides the throughput.
 *
 * The tuner measures instead of guessing: it runs a few batches at each candidate cap (powers of
 * two below max_batch_size, and max_batch_size), keeps the cap with the lowest measured time per
 * row (the smallest one within TOLERANCE of the best: same throughput, lower latency), and every
 * REEXPLORE_EVERY executions re-measures the neighbouring candidates, because costs drift with
 * what else the machine runs. A run counts towards a candidate only when its batch filled the cap:
 * smaller batches say nothing about what the cap is worth, and a cap only binds when the queue
 * holds more than it, so under light load exploring costs nothing.
 */

/** Runs kept per batch size; the mean of these is the size's cost. */
export const WINDOW = 12;
/** Runs at a candidate before the tuner moves on. */
export const MIN_RUNS = 4;
/** Executions between two re-measurements of the neighbours of the chosen cap. */
export const REEXPLORE_EVERY = 200;
/** A smaller cap within this share of the best time per row is preferred (lower latency). */
export const TOLERANCE = 0.03;

/** What the tuner knows; replaced, never mutated. */
export interface TunerState {
  /** Most recent execution ms per batch size (at most WINDOW each, oldest first). */
  readonly runs: Readonly<Record<number, readonly number[]>>;
  /** The cap the batcher uses now. */
  readonly cap: number;
  /** Candidates still to measure in this round (the first one is being measured); empty = exploiting. */
  readonly pending: readonly number[];
  /** Runs at the cap since it became the candidate being measured. */
  readonly measured: number;
  /** Executions since the last round ended. */
  readonly sinceRound: number;
}

/** Candidate caps: 1, 2, 4, … below `max`, then `max`. */
export function candidateCaps(max: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < max; b *= 2) out.push(b);
  out.push(Math.max(1, max));
  return out;
}

/** A tuner that knows nothing: the first round measures every candidate, largest first. */
export function initialTuner(max: number): TunerState {
  const pending = candidateCaps(max).reverse();
  return { runs: {}, cap: pending[0]!, pending, measured: 0, sinceRound: 0 };
}

/** Mean ms per row at a batch size, or undefined with fewer than MIN_RUNS runs. */
export function costPerRow(state: TunerState, size: number): number | undefined {
  const r = state.runs[size];
  if (!r || r.length < MIN_RUNS) return undefined;
  return r.reduce((a, b) => a + b, 0) / r.length / size;
}

/** The cap to exploit: lowest measured ms per row, the smallest within TOLERANCE of it. */
export function bestCap(state: TunerState, max: number): number {
  const costs = candidateCaps(max)
    .map((b) => ({ b, c: costPerRow(state, b) }))
    .filter((x): x is { b: number; c: number } => x.c !== undefined);
  if (costs.length === 0) return max;
  const best = Math.min(...costs.map((x) => x.c));
  return costs.find((x) => x.c <= best * (1 + TOLERANCE))!.b;
}

/** Folds one finished execution (its batch size and ms) into the state; may move the cap. */
export function observeRun(state: TunerState, max: number, batchSize: number, ms: number): TunerState {
  if (!(ms >= 0) || batchSize < 1) return state;
  const kept = [...(state.runs[batchSize] ?? []), ms].slice(-WINDOW);
  const runs = { ...state.runs, [batchSize]: kept };
  const next: TunerState = { ...state, runs, sinceRound: state.sinceRound + 1 };
  if (state.pending.length > 0) {
    const measured = state.measured + (batchSize === state.cap ? 1 : 0);
    if (measured < MIN_RUNS) return { ...next, measured };
    return advance({ ...next, pending: state.pending.slice(1), measured: 0 }, max);
  }
  if (next.sinceRound < REEXPLORE_EVERY) return next;
  return startRound(next, max);
}

/** Moves to the next candidate of the round, or, when the round is over, to the best cap. */
function advance(state: TunerState, max: number): TunerState {
  const cand = state.pending[0];
  if (cand !== undefined) return { ...state, cap: cand };
  return { ...state, cap: bestCap(state, max), sinceRound: 0 };
}

/**
 * Re-measures the cap and the candidates next to it, freshly (their old runs are dropped), so
 * all of them are compared under the machine's present conditions; the cap itself goes last.
 */
function startRound(state: TunerState, max: number): TunerState {
  const caps = candidateCaps(max);
  const i = caps.indexOf(state.cap);
  const around = [caps[i - 1], caps[i + 1]].filter((b): b is number => b !== undefined);
  if (i < 0 || around.length === 0) return { ...state, sinceRound: 0 };
  const pending = [...around, state.cap];
  const runs = { ...state.runs };
  for (const b of pending) delete runs[b];
  return advance({ ...state, runs, pending, measured: 0 }, max);
}
