/**
 * The sequence batcher's decisions, pure over plain snapshots with the time passed in (the
 * batcher's `decide()` style): which sequence a request joins or whether it starts one (in a free
 * slot or the backlog), which slot a new sequence gets, which sequences went idle, and which slots
 * one instance runs together (direct: by slot position, padded; oldest: the oldest heads).
 * sequence-scheduler.ts applies them. Triton's behaviour: sequence_batch_scheduler.cc.
 */

/** Where a request goes, given the open sequence of its correlation id (if any). */
export type Admission =
  /** Not a START and no open sequence: Triton refuses ("must specify the START flag"). */
  | { kind: 'refuse-no-start' }
  /** Continues the open sequence (a START on an open one restarts it in place, as Triton does). */
  | { kind: 'join' }
  /** A new sequence that takes this free slot now. */
  | { kind: 'slot'; slot: number }
  /** A new sequence that waits in the backlog for a slot. */
  | { kind: 'backlog' };

/** Decides where a request goes; `freeSlot` is pickFreeSlot's answer. */
export function admit(hasOpen: boolean, start: boolean, freeSlot: number | undefined): Admission {
  if (hasOpen) return { kind: 'join' };
  if (!start) return { kind: 'refuse-no-start' };
  return freeSlot === undefined ? { kind: 'backlog' } : { kind: 'slot', slot: freeSlot };
}

/** One sequence slot as the decisions see it. */
export interface SlotView {
  instance: number;
  /** Position within its instance (the row it has in a direct batch). */
  index: number;
  taken: boolean;
}

/**
 * The free slot a new sequence gets: the lowest position first (direct batches stay short), then
 * the instance with the fewest taken slots (sequences spread over instances); undefined when none.
 */
export function pickFreeSlot(slots: readonly SlotView[]): number | undefined {
  const taken = new Map<number, number>();
  for (const s of slots) if (s.taken) taken.set(s.instance, (taken.get(s.instance) ?? 0) + 1);
  let best: number | undefined;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i]!;
    if (s.taken) continue;
    if (best === undefined) {
      best = i;
      continue;
    }
    const b = slots[best]!;
    const load = taken.get(s.instance) ?? 0;
    const bestLoad = taken.get(b.instance) ?? 0;
    if (s.index < b.index || (s.index === b.index && load < bestLoad)) best = i;
  }
  return best;
}

/** A sequence that holds a slot, for the idle check. */
export interface IdleView {
  id: number;
  /** Requests queued or running: a busy sequence is never idle. */
  busy: boolean;
  /** Clock ms of its last request or answer. */
  lastMs: number;
}

/**
 * The sequences idle for `idleMs` or more at `now` (their slots are released) and the Clock ms
 * the next one would go idle (Infinity: none).
 */
export function idleSequences(
  views: Iterable<IdleView>,
  now: number,
  idleMs: number,
): { expired: number[]; wakeAt: number } {
  const expired: number[] = [];
  let wakeAt = Number.POSITIVE_INFINITY;
  for (const v of views) {
    if (v.busy) continue;
    const at = v.lastMs + idleMs;
    if (at <= now) expired.push(v.id);
    else wakeAt = Math.min(wakeAt, at);
  }
  return { expired, wakeAt };
}

/** One slot of an instance with the head request of its sequence, if it has one ready to run. */
export interface HeadView {
  /** Clock ms the head request was accepted; undefined: nothing ready in this slot. */
  at: number | undefined;
  /** Requests share a batch only when their shape keys match (shape-key.ts). */
  shapeKey?: string;
}

/**
 * Direct strategy: the rows of the instance's next batch by slot position, up to the last ready
 * slot; null rows are padding (READY = 0) so every sequence keeps its row. A head whose shapes
 * differ from the first ready one waits for the next batch. Undefined when nothing is ready.
 */
export function directRows(heads: readonly HeadView[]): Array<number | null> | undefined {
  const first = heads.find((h) => h.at !== undefined);
  if (!first) return undefined;
  const rows = heads.map((h, i) => (h.at !== undefined && h.shapeKey === first.shapeKey ? i : null));
  let last = rows.length - 1;
  while (last >= 0 && rows[last] === null) last--;
  return rows.slice(0, last + 1);
}

/** What the oldest strategy does with an instance now. */
export type OldestDecision = { kind: 'run'; slots: number[] } | { kind: 'wait'; wakeAt: number } | { kind: 'idle' };

/**
 * Oldest strategy: the oldest ready heads (same shapes as the oldest), at most `maxBatch`; runs
 * when the batch is full, reaches a preferred size, or the oldest has waited `delayMs`.
 */
export function oldestBatch(
  heads: readonly HeadView[],
  maxBatch: number,
  preferred: readonly number[],
  delayMs: number,
  now: number,
): OldestDecision {
  const ready = heads
    .map((h, slot) => ({ ...h, slot }))
    .filter((h) => h.at !== undefined)
    .sort((a, b) => a.at! - b.at!);
  const oldest = ready[0];
  if (!oldest) return { kind: 'idle' };
  const picked = ready.filter((h) => h.shapeKey === oldest.shapeKey).slice(0, Math.max(1, maxBatch));
  const n = picked.length;
  const due = oldest.at! + delayMs;
  if (n >= Math.max(1, maxBatch) || preferred.includes(n) || now >= due)
    return { kind: 'run', slots: picked.map((h) => h.slot) };
  return { kind: 'wait', wakeAt: due };
}
