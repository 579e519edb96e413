/**
 * infergate's `resilience` config section → the plain, defaulted ResilienceSpec the router reads
 * (stages/deadline.ts, stages/breaker.ts, stages/fallback.ts). In config.pbtxt:
 *
 *   resilience {
 *     default_timeout_ms: 500                       # deadline for calls that bring none
 *     circuit_breaker { consecutive_failures: 3 }   # present: every version has a breaker
 *     fallback { version: 1 }                       # tried in order
 *     fallback { model: "digits_small" }
 *     fallback { default_response { output { name: "y" data_type: TYPE_FP32 dims: [1, 2] values: [0, 1] } } }
 *     fallback { cache: true }                      # a cached answer (needs response_cache)
 *     fallback_reserve: 0.25                        # share of the deadline kept for the chain
 *   }
 *
 * What can be checked from this model's config alone is checked here (a step naming the model
 * itself, a default output with the wrong element count or a name the model does not have);
 * whether a named model exists is the repository's check at load time (it knows the other models).
 */
import type { BreakerSpec, FallbackStepSpec, ResilienceSpec, TensorSpec } from '../core/model.js';
import { arrayCtor, type DataType, elementCount, type Tensor } from '../core/index.js';
import type { CircuitBreaker, FallbackOutput, FallbackStep, ModelConfig } from '../gen/model_config_pb.js';
import { dimsOf, protocolType } from './datatypes.js';
import { loadError } from './errors.js';

/** Defaults of a `circuit_breaker {}` section (documented in docs/resilience.md). */
export const BREAKER_DEFAULTS: BreakerSpec = {
  failureRate: 0.5,
  consecutiveFailures: 5,
  slowCallMs: 0,
  windowMs: 10_000,
  minimumCalls: 10,
  openMs: 5_000,
  halfOpenShare: 0.1,
  halfOpenSuccesses: 3,
};

/** The share of the remaining deadline kept for the chain when the config does not say. */
export const DEFAULT_FALLBACK_RESERVE = 0.25;

/** The resilience section of a normalized config, or undefined when it has none. */
export function resilienceSpec(cfg: ModelConfig, outputs: readonly TensorSpec[]): ResilienceSpec | undefined {
  const r = cfg.resilience;
  if (!r) return undefined;
  const model = cfg.name;
  const reserve = r.fallbackReserve === 0 ? DEFAULT_FALLBACK_RESERVE : r.fallbackReserve;
  if (!(reserve > 0 && reserve < 1))
    throw loadError(model, `resilience.fallback_reserve must be between 0 and 1 (got ${r.fallbackReserve})`);
  const spec: ResilienceSpec = {
    fallback: r.fallback.map((s, i) => fallbackStep(cfg, s.step, i, outputs)),
    fallbackReserve: reserve,
  };
  if (r.defaultTimeoutMs > 0n) spec.defaultTimeoutMs = Number(r.defaultTimeoutMs);
  if (r.circuitBreaker) spec.breaker = breakerSpec(model, r.circuitBreaker);
  return spec;
}

function breakerSpec(model: string, b: CircuitBreaker): BreakerSpec {
  const or = (v: number, d: number) => (v === 0 ? d : v);
  const spec: BreakerSpec = {
    failureRate: or(b.failureRate, BREAKER_DEFAULTS.failureRate),
    consecutiveFailures: or(b.consecutiveFailures, BREAKER_DEFAULTS.consecutiveFailures),
    slowCallMs: Number(b.slowCallMs),
    windowMs: or(Number(b.windowMs), BREAKER_DEFAULTS.windowMs),
    minimumCalls: or(b.minimumCalls, BREAKER_DEFAULTS.minimumCalls),
    openMs: or(Number(b.openMs), BREAKER_DEFAULTS.openMs),
    halfOpenShare: or(b.halfOpenShare, BREAKER_DEFAULTS.halfOpenShare),
    halfOpenSuccesses: or(b.halfOpenSuccesses, BREAKER_DEFAULTS.halfOpenSuccesses),
  };
  const share = (name: string, v: number) => {
    if (!(v > 0 && v <= 1))
      throw loadError(model, `resilience.circuit_breaker.${name} must be above 0 and at most 1 (got ${v})`);
  };
  share('failure_rate', spec.failureRate);
  share('half_open_share', spec.halfOpenShare);
  return spec;
}

function fallbackStep(
  cfg: ModelConfig,
  step: FallbackStep['step'],
  index: number,
  outputs: readonly TensorSpec[],
): FallbackStepSpec {
  const model = cfg.name;
  const where = `resilience.fallback[${index}]`;
  switch (step.case) {
    case 'version': {
      const version = Number(step.value);
      if (!(version > 0)) throw loadError(model, `${where}.version must be a positive version number`);
      return { kind: 'version', version };
    }
    case 'model': {
      const m = /^([^:]+)(?::([0-9]+))?$/.exec(step.value.trim());
      if (!m) throw loadError(model, `${where}.model must be 'name' or 'name:version' (got '${step.value}')`);
      const name = m[1]!;
      if (name === model)
        throw loadError(
          model,
          `${where} names the model itself ('${name}'): a chain must not loop back; name a version instead`,
        );
      return m[2] === undefined
        ? { kind: 'model', model: name }
        : { kind: 'model', model: name, version: Number(m[2]) };
    }
    case 'defaultResponse': {
      const tensors = step.value.output.map((o) => defaultTensor(model, where, o, outputs));
      if (tensors.length === 0) throw loadError(model, `${where}.default_response names no output`);
      return { kind: 'default', outputs: tensors };
    }
    case 'cache':
      // Only answers this model stored can be found: without its response cache the step never answers.
      if (!step.value) throw loadError(model, `${where}.cache must be true (or the step left out)`);
      if (!cfg.responseCache?.enable)
        throw loadError(model, `${where} is a cache step but the model has no response_cache { enable: true }`);
      return { kind: 'cache' };
    default:
      throw loadError(model, `${where} is empty: give a version, a model, a default_response or cache: true`);
  }
}

function defaultTensor(model: string, where: string, o: FallbackOutput, outputs: readonly TensorSpec[]): Tensor {
  const at = `${where}.default_response output '${o.name}'`;
  const declared = outputs.find((t) => t.name === o.name);
  if (!declared) throw loadError(model, `${at} is not an output of the model`);
  const datatype = protocolType(o.dataType) ?? declared.datatype;
  if (datatype !== declared.datatype)
    throw loadError(model, `${at} has datatype ${datatype}, the model's output is ${declared.datatype}`);
  const shape = dimsOf(o.dims);
  if (shape.some((d) => d < 0)) throw loadError(model, `${at} needs concrete dims`);
  const n = elementCount(shape);
  if (datatype === 'BYTES') {
    if (o.stringValues.length !== n) throw loadError(model, `${at} needs ${n} string_values for dims [${shape}]`);
    return { name: o.name, datatype, shape, data: o.stringValues.map((s) => new TextEncoder().encode(s)) };
  }
  if (o.values.length !== n) throw loadError(model, `${at} needs ${n} values for dims [${shape}]`);
  return { name: o.name, datatype, shape, data: numeric(model, at, datatype, o.values) };
}

function numeric(
  model: string,
  at: string,
  datatype: Exclude<DataType, 'BYTES'>,
  values: readonly number[],
): Tensor['data'] {
  if (datatype === 'FP16' || datatype === 'BF16')
    throw loadError(model, `${at}: ${datatype} defaults are not supported`);
  if (datatype === 'INT64') return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
  if (datatype === 'UINT64') return BigUint64Array.from(values, (v) => BigInt(Math.trunc(v)));
  const Ctor = arrayCtor(datatype) as unknown as { from(v: readonly number[]): Tensor['data'] };
  return Ctor.from(values);
}

/** Throws a load error naming the first fallback step whose model the repository does not know. */
export function checkFallbackModels(cfg: ModelConfig, known: (model: string) => boolean): void {
  for (const [i, s] of (cfg.resilience?.fallback ?? []).entries()) {
    if (s.step.case !== 'model') continue;
    const name = s.step.value.trim().split(':')[0] ?? '';
    if (!known(name))
      throw loadError(cfg.name, `resilience.fallback[${i}] names model '${name}', which is not in the repository`);
  }
}
