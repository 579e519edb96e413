/**
 * The registry operations the admin REST API (protocol/http/handlers-registry.ts) and the CLI
 * call; implemented by service.ts. Plain data in and out; failures are InferErrors
 * (IG_ERR_NOT_FOUND, IG_ERR_CONFLICT, IG_ERR_GATE_FAILED, IG_ERR_STORE_UNAVAILABLE…).
 */
import type { PushOptions } from './push.js';
import type { Actor, AliasRecord, AuditEntry, AuditQuery, AuditVerdict, ModelRecord, VersionRecord } from './types.js';

/** A model with what `list` shows about it. */
export interface ModelSummary extends ModelRecord {
  versions: number;
  latest?: number;
  aliases: Record<string, number>;
}

export interface ModelDetail {
  model: ModelRecord;
  versions: VersionRecord[];
  aliases: AliasRecord[];
}

/** An alias move as a client asks for it. */
export interface AliasRequest {
  model: string;
  alias: string;
  /** A version number, or another alias to copy ("promote what staging names"). */
  version: string | number;
  expected?: number | null;
  /** Moves a protected alias to a version that has not passed validation; audited. */
  force?: boolean;
  reason?: string;
  protected?: boolean;
}

export interface RegistryAdmin {
  /** Where the store is (no credentials). */
  readonly location: string;
  listModels(): Promise<ModelSummary[]>;
  showModel(model: string): Promise<ModelDetail>;
  /** By number or alias. */
  showVersion(model: string, ref: string | number): Promise<VersionRecord>;
  /** Registers what a source URI names as a new version. */
  push(uri: string, opts: Omit<PushOptions, 'model'> & { model?: string }, actor: Actor): Promise<VersionRecord>;
  setAlias(req: AliasRequest, actor: Actor): Promise<AliasRecord>;
  promote(
    model: string,
    version: string | number,
    opts: { to?: string; expected?: number | null; force?: boolean; reason?: string },
    actor: Actor,
  ): Promise<AliasRecord>;
  deleteAlias(model: string, alias: string, expected: number | undefined, actor: Actor, reason?: string): Promise<void>;
  updateVersion(
    model: string,
    ref: string | number,
    patch: { tags?: Record<string, string | null>; metrics?: Record<string, number | null>; pinned?: boolean },
    actor: Actor,
  ): Promise<VersionRecord>;
  /** Alias moves of a model, oldest first. */
  history(model: string): Promise<AuditEntry[]>;
  audit(query?: AuditQuery): Promise<AuditEntry[]>;
  verify(): Promise<AuditVerdict>;
}
