/**
 * Every loaded version's circuit breaker, made on first use from the version's spec (its
 * `resilience.circuit_breaker` section). Keyed by the spec object as well as the name: a reloaded
 * version has a new spec and starts with a fresh, closed breaker.
 */
import type { ModelVersionSpec } from '../core/model.js';
import { type BreakerState, CircuitBreaker } from './breaker.js';

/** Told of every transition (metrics and logs); must not throw. */
export type TransitionListener = (model: string, version: number, to: BreakerState) => void;

export class Breakers {
  private readonly bySpec = new WeakMap<ModelVersionSpec, CircuitBreaker>();
  private readonly byName = new Map<string, { spec: ModelVersionSpec; breaker: CircuitBreaker }>();

  constructor(private readonly onTransition: TransitionListener = () => {}) {}

  /** The version's breaker, or undefined when its config has none. */
  of(spec: ModelVersionSpec): CircuitBreaker | undefined {
    const b = this.bySpec.get(spec);
    if (b !== undefined || spec.resilience?.breaker === undefined) return b;
    const { model, version } = spec;
    const made = new CircuitBreaker(spec.resilience.breaker, (to) => this.onTransition(model, version, to));
    this.bySpec.set(spec, made);
    this.byName.set(`${model}/${version}`, { spec, breaker: made });
    return made;
  }

  /** The state of a version's breaker (readiness detail, repository index); undefined: none yet. */
  stateOf(model: string, version: number): BreakerState | undefined {
    return this.byName.get(`${model}/${version}`)?.breaker.state;
  }

  /** Every breaker made so far and its state (the state gauge). */
  states(): Array<{ model: string; version: number; state: BreakerState }> {
    return [...this.byName.values()].map(({ spec, breaker }) => ({
      model: spec.model,
      version: spec.version,
      state: breaker.state,
    }));
  }

  /** Forgets an unloaded version's breaker (its state series leaves the metrics with it). */
  forget(model: string, version: number): void {
    this.byName.delete(`${model}/${version}`);
  }
}
