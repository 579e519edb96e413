/**
 * The rollout operations the admin REST API (protocol/http/handlers-rollout.ts) and the CLI call:
 * RolloutService implements RolloutAdmin, ManualTraffic (manual-traffic.ts) TrafficAdmin. The
 * protocol layer names only this file, so it never depends on the store or the controller.
 * Failures are InferErrors (IG_ERR_INVALID_ARG, IG_ERR_NOT_FOUND, IG_ERR_CONFLICT…).
 */
import type { Actor, TrafficPolicy, TrafficRecord } from '../registry/types.js';
import type { RolloutReport } from './reporting.js';
import type { RolloutView, StartRequest } from './service.js';

export type { Gates } from './analysis.js';
export { renderReportHtml } from './report-html.js';
export type { RolloutReport } from './reporting.js';
export type { RolloutView, StartRequest } from './service.js';
export type { TrafficPolicy } from '../registry/types.js';

export interface RolloutAdmin {
  list(): Promise<RolloutView[]>;
  get(model: string): Promise<RolloutView | undefined>;
  start(req: StartRequest, actor: Actor): Promise<RolloutView>;
  pause(model: string, actor: Actor, reason?: string): Promise<RolloutView>;
  resume(model: string, actor: Actor, reason?: string): Promise<RolloutView>;
  abort(model: string, actor: Actor, reason?: string): Promise<RolloutView>;
  /** The next step now, or completion (the alias moves) from the last one. */
  promote(model: string, actor: Actor, reason?: string): Promise<RolloutView>;
  /** Shadow comparisons and per-arm counts of the newest observed step (404 before any). */
  report(model: string): Promise<RolloutReport>;
}

/** A model's split as stored, and the rollout that owns it while one is active. */
export interface TrafficView extends TrafficRecord {
  /** Id of the active rollout that wrote this split; absent for a manual split. */
  rollout?: string;
}

/** Manual splits (A/B tests, a fixed canary): refused while a rollout drives the model. */
export interface TrafficAdmin {
  /** Every model's split, or one model's (empty when it has none). */
  show(model?: string): Promise<TrafficView[]>;
  set(model: string, policy: TrafficPolicy, actor: Actor, reason?: string): Promise<TrafficView>;
  /** Removes the split (unqualified calls go to the default alias again); false when there was none. */
  clear(model: string, actor: Actor, reason?: string): Promise<boolean>;
}
