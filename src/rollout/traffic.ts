/**
 * Traffic policies, pure: which arm a call goes to, and which shadows get a copy. A sticky key
 * (a user id from a header or request parameter) hashes to a fixed point in [0, 10000), so one
 * caller always lands on the same arm while the weights stay the same; without a key the draw is
 * random. `effectiveTraffic` keeps only arms that are READY on this replica (a cold or failed
 * canary's share goes to the largest ready arm), so a policy never routes to a version that
 * cannot answer.
 */
import { invalidArg } from '../core/index.js';
import type { TrafficPolicy } from '../registry/types.js';

/** 32-bit FNV-1a: stable across processes and machines, which the sticky assignment relies on. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The arm for a point in [0, 1): arms in order, each covering its weight's share. */
export function armAt(policy: TrafficPolicy, point: number): number {
  let acc = 0;
  for (const arm of policy.arms) {
    acc += arm.weight / 100;
    if (point < acc) return arm.version;
  }
  return (policy.arms.at(-1) as { version: number }).version;
}

/** The version a call goes to: by its sticky key when it has one (same key, same arm), else at random. */
export function pickArm(policy: TrafficPolicy, model: string, key: string | undefined, random: () => number): number {
  if (policy.arms.length === 1) return (policy.arms[0] as { version: number }).version;
  const point = key === undefined ? random() : (stableHash(`${model}\u0000${key}`) % 10_000) / 10_000;
  return armAt(policy, point);
}

/** The shadows a call is copied to (each drawn independently at its percent), never the primary itself. */
export function pickShadows(policy: TrafficPolicy, primary: number, random: () => number): number[] {
  const out: number[] = [];
  for (const s of policy.shadows ?? []) if (s.version !== primary && random() * 100 < s.percent) out.push(s.version);
  return out;
}

/** Checks a policy a client or the CLI sent: weights sum to 100, versions named once, percents in range. */
export function checkPolicy(policy: TrafficPolicy): TrafficPolicy {
  if (!Array.isArray(policy.arms) || policy.arms.length === 0)
    throw invalidArg('a traffic policy needs at least one arm');
  const seen = new Set<number>();
  let sum = 0;
  for (const a of policy.arms) {
    if (!Number.isSafeInteger(a.version) || a.version < 1)
      throw invalidArg(`arm version ${String(a.version)} is not a version number`);
    if (!(typeof a.weight === 'number' && a.weight >= 0 && a.weight <= 100))
      throw invalidArg(`the weight of version ${a.version} must be between 0 and 100`);
    if (seen.has(a.version)) throw invalidArg(`version ${a.version} is named twice`);
    seen.add(a.version);
    sum += a.weight;
  }
  if (Math.abs(sum - 100) > 1e-9) throw invalidArg(`arm weights sum to ${sum}, not 100`);
  for (const s of policy.shadows ?? [])
    if (!Number.isSafeInteger(s.version) || !(s.percent > 0 && s.percent <= 100))
      throw invalidArg(`shadow of version ${String(s.version)} needs a percent in (0, 100]`);
  const st = policy.sticky;
  if (st && !st.header && !st.parameter) throw invalidArg('a sticky policy names a header or a request parameter');
  return policy;
}

/** The policy this replica can serve now: arms and shadows that are READY (undefined: none is). */
export function effectiveTraffic(
  policy: TrafficPolicy,
  isReady: (version: number) => boolean,
): TrafficPolicy | undefined {
  const ready = policy.arms.filter((a) => isReady(a.version));
  if (ready.length === 0) return undefined;
  const missing = 100 - ready.reduce((n, a) => n + a.weight, 0);
  const largest = ready.reduce((best, a) => (a.weight > best.weight ? a : best));
  const arms = ready.map((a) => (a === largest ? { ...a, weight: a.weight + missing } : a)).filter((a) => a.weight > 0);
  const shadows = (policy.shadows ?? []).filter((s) => isReady(s.version));
  return { ...policy, arms: arms.length ? arms : [{ version: largest.version, weight: 100 }], shadows };
}
