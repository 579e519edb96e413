/**
 * Rollout operations, one place for the CLI, the admin API and the controller: start (checks, then
 * a pending rollout whose traffic loads the canary at weight 0), pause, resume, abort, a manual
 * promote, and the transitions the autopilot decides. Every write is compare-and-set on the
 * rollout's update counter and audited with its reason; the traffic policy is derived from the
 * state (state.ts) and written right after it. Promotion to 100 % moves the alias (production by
 * default) after recording the live evidence as the version's validation, so the gate sees why.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, InferError, invalidArg, systemClock } from '../core/index.js';
import { checkAliasName, checkModelName, quoteName } from '../registry/names.js';
import type { Actor, RegistryStore, RolloutRecord } from '../registry/types.js';
import type { Gates } from './analysis.js';
import { type RolloutReport, reportFromObservations } from './reporting.js';
import { isActive, type RolloutDecisionRecord, type RolloutState, trafficOf, withDecision } from './state.js';

export interface StartRequest {
  model: string;
  /** The canary version. */
  to: number;
  /** Canary weights in percent (ascending, last 100); blue-green is [100]. */
  steps?: number[];
  intervalMs?: number;
  /** Over the defaults (error rate delta 1 %, p99 ×1.2, 500 samples); a key set to undefined is off. */
  gates?: Partial<Gates>;
  shadowPercent?: number;
  sticky?: { header?: string; parameter?: string };
  alias?: string;
  maxHolds?: number;
}

export interface RolloutView {
  model: string;
  id: string;
  seq: number;
  state: RolloutState;
}

const DEFAULT_STEPS = [5, 25, 50, 100];
const DEFAULT_GATES: Gates = { minSamples: 500, maxErrorRateDelta: 0.01, maxP99Ratio: 1.2 };

/**
 * The default gates with the request's over them: a gate present but undefined is switched off
 * (REST `null`, CLI `off`), e.g. the latency gate on a host whose p99 is its neighbours'. A
 * progressive rollout keeps at least one on: with none, the autopilot would promote on counts alone.
 */
function gatesOf(req: StartRequest, steps: number[]): Gates {
  const gates: Gates = { ...DEFAULT_GATES, ...req.gates };
  const on = [gates.maxErrorRateDelta, gates.maxP99Ratio, gates.maxDivergence].some((g) => g !== undefined);
  if (!on && steps.length > 1)
    throw invalidArg('a progressive rollout needs at least one gate on: error rate delta, p99 ratio or divergence');
  return gates;
}

export class RolloutService {
  private readonly clock: Clock;

  constructor(
    private readonly store: RegistryStore,
    o: { clock?: Clock } = {},
  ) {
    this.clock = o.clock ?? systemClock;
  }

  private now(): string {
    return new Date(this.clock.wallMs()).toISOString();
  }

  async get(model: string): Promise<RolloutView | undefined> {
    checkModelName(model);
    const r = await this.store.getRollout(model);
    return r && view(r);
  }

  async list(): Promise<RolloutView[]> {
    return (await this.store.snapshot()).rollouts.map(view);
  }

  /** The shadow diff report of the model's newest observed step, summed over replicas (reporting.ts). */
  async report(model: string): Promise<RolloutReport> {
    checkModelName(model);
    const r = reportFromObservations(model, await this.store.listObservations(model), {
      at: this.now(),
    });
    if (!r)
      throw new InferError(
        'IG_ERR_NOT_FOUND',
        `model ${quoteName(model)} has no observations yet: none during a rollout or a traffic split with shadows`,
      );
    return r;
  }

  async start(req: StartRequest, actor: Actor): Promise<RolloutView> {
    const model = checkModelName(req.model);
    const alias = checkAliasName(req.alias ?? 'production');
    const steps = checkSteps(req.steps ?? DEFAULT_STEPS);
    const baseline = (await this.store.listAliases(model)).find((a) => a.alias === alias)?.version;
    if (baseline === undefined)
      throw invalidArg(`model ${quoteName(model)} has no '${alias}' alias: a rollout starts from the version it names`);
    if (!(await this.store.getVersion(model, req.to)))
      throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no version ${req.to}`);
    if (req.to === baseline) throw invalidArg(`version ${req.to} is already '${alias}'`);
    const current = await this.store.getRollout(model);
    if (current && isActive(current.state as unknown as RolloutState))
      throw new InferError(
        'IG_ERR_CONFLICT',
        `model ${quoteName(model)} already has a rollout in progress (${current.id})`,
      );
    const at = this.now();
    const state: RolloutState = {
      status: 'pending',
      baseline,
      canary: req.to,
      steps,
      step: -1,
      intervalMs: positive(req.intervalMs ?? 120_000, 'interval'),
      gates: gatesOf(req, steps),
      shadowPercent: percent(req.shadowPercent ?? (req.gates?.maxDivergence !== undefined ? 100 : 0), 'shadow'),
      sticky: req.sticky,
      alias,
      holds: 0,
      maxHolds: req.maxHolds ?? 3,
      startedAt: at,
      stepStartedAt: at,
      decisions: [
        { at, step: -1, action: 'start', reason: `v${baseline} → v${req.to}, steps ${steps.join(',')}`, by: actor },
      ],
    };
    const id = `ro-${randomBytes(6).toString('hex')}`;
    const written = await this.store.putRollout(
      model,
      { id, state: state as unknown as Record<string, unknown> },
      current?.seq,
      actor,
      'rollout started',
    );
    await this.applyTraffic(model, state, actor, 'rollout started: the canary loads at weight 0');
    return view(written);
  }

  /** Records a decision and moves to `changes`; compare-and-set on `seq`. */
  async transition(
    model: string,
    seq: number,
    decision: Omit<RolloutDecisionRecord, 'at'>,
    changes: Partial<RolloutState>,
  ): Promise<RolloutView> {
    const current = await this.mustGet(model);
    if (current.seq !== seq)
      throw new InferError(
        'IG_ERR_CONFLICT',
        `the rollout of ${quoteName(model)} changed meanwhile (update ${current.seq})`,
      );
    const next = withDecision(current.state, { ...decision, at: this.now() }, changes);
    const written = await this.store.putRollout(
      model,
      { id: current.id, state: next as unknown as Record<string, unknown> },
      seq,
      decision.by,
      `${decision.action}: ${decision.reason}`,
    );
    await this.applyTraffic(model, next, decision.by, `${decision.action}: ${decision.reason}`);
    return view(written);
  }

  pause(model: string, actor: Actor, reason = 'paused by an operator'): Promise<RolloutView> {
    return this.operator(model, actor, ['running', 'pending'], { action: 'pause', reason }, { status: 'paused' });
  }

  resume(model: string, actor: Actor, reason = 'resumed by an operator'): Promise<RolloutView> {
    return this.operator(model, actor, ['paused'], { action: 'resume', reason }, (s) => ({
      status: s.step < 0 ? 'pending' : 'running',
      stepStartedAt: this.now(),
      holds: 0,
    }));
  }

  abort(model: string, actor: Actor, reason = 'aborted by an operator'): Promise<RolloutView> {
    return this.operator(
      model,
      actor,
      ['pending', 'running', 'paused'],
      { action: 'abort', reason },
      { status: 'aborted' },
    );
  }

  /** Moves the alias to the canary and ends the rollout (the last step, or an operator's promote). */
  async complete(model: string, seq: number, actor: Actor, reason: string, evidence?: unknown): Promise<RolloutView> {
    const current = await this.mustGet(model);
    const s = current.state;
    await this.store.recordValidation(
      model,
      s.canary,
      {
        at: this.now(),
        by: actor,
        passed: true,
        checks: [],
        measurements: {},
        baseline: s.baseline,
        context: { source: `rollout ${current.id}`, reason },
      },
      actor,
    );
    await this.store.setAlias(
      { model, alias: s.alias, version: s.canary, expected: s.baseline, reason: `rollout ${current.id}: ${reason}` },
      actor,
    );
    return this.transition(
      model,
      seq,
      { step: s.step, action: 'complete', reason, by: actor, evidence },
      { status: 'promoted' },
    );
  }

  /** An operator's promote: the next step now, or completion from the last one. */
  async promote(model: string, actor: Actor, reason = 'promoted by an operator'): Promise<RolloutView> {
    const r = await this.mustGet(model);
    if (!['running', 'paused'].includes(r.state.status))
      throw new InferError('IG_ERR_CONFLICT', `the rollout of ${quoteName(model)} is ${r.state.status}`);
    const next = r.state.step + 1;
    if (next >= r.state.steps.length) return this.complete(model, r.seq, actor, reason);
    return this.transition(
      model,
      r.seq,
      { step: next, action: 'promote', reason, by: actor },
      {
        status: 'running',
        step: next,
        stepStartedAt: this.now(),
        holds: 0,
      },
    );
  }

  private async operator(
    model: string,
    actor: Actor,
    from: RolloutState['status'][],
    d: { action: RolloutDecisionRecord['action']; reason: string },
    changes: Partial<RolloutState> | ((s: RolloutState) => Partial<RolloutState>),
  ): Promise<RolloutView> {
    const r = await this.mustGet(model);
    if (!from.includes(r.state.status))
      throw new InferError(
        'IG_ERR_CONFLICT',
        `the rollout of ${quoteName(model)} is ${r.state.status}, not ${from.join(' or ')}`,
      );
    const c = typeof changes === 'function' ? changes(r.state) : changes;
    return this.transition(model, r.seq, { ...d, step: r.state.step, by: actor }, c);
  }

  private async mustGet(model: string): Promise<RolloutView> {
    const r = await this.get(model);
    if (!r) throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no rollout`);
    return r;
  }

  private async applyTraffic(model: string, s: RolloutState, actor: Actor, reason: string): Promise<void> {
    await this.store.setTraffic(model, trafficOf(s) ?? null, actor, reason);
  }
}

function view(r: RolloutRecord): RolloutView {
  return { model: r.model, id: r.id, seq: r.seq, state: r.state as unknown as RolloutState };
}

function checkSteps(steps: number[]): number[] {
  if (steps.length === 0 || steps.length > 20) throw invalidArg('a rollout needs 1 to 20 steps');
  let last = 0;
  for (const s of steps) {
    if (!(Number.isFinite(s) && s > last && s <= 100))
      throw invalidArg(`steps must rise within (0, 100]: got ${steps.join(',')}`);
    last = s;
  }
  if (last !== 100) throw invalidArg(`the last step must be 100 (got ${last})`);
  return steps;
}

function positive(n: number, what: string): number {
  if (!(Number.isFinite(n) && n > 0)) throw invalidArg(`${what} must be a positive number of ms`);
  return n;
}

function percent(n: number, what: string): number {
  if (!(Number.isFinite(n) && n >= 0 && n <= 100)) throw invalidArg(`${what} percent must be within [0, 100]`);
  return n;
}
