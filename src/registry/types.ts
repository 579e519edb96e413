/**
 * The registry's records and the `RegistryStore` seam. A store is durable memory only: it keeps
 * models, versions, aliases, validation results and the hash-chained audit log, and applies each
 * mutation atomically together with its audit row. Policy (which alias is protected, whether a
 * version passed its gate, where artifacts come from) lives above it in `service.ts`.
 *
 * Implementations: `sql-store.ts` over SQLite (embedded default) and PostgreSQL (several
 * replicas); both pass `test/contract/registry-store.contract.ts`.
 * Callers: the registry service (CLI and admin API), the serving sync (`manager/`), which only
 * reads `snapshot()` and `revision()` and listens to `watch()`.
 */

/** Who did something: a principal id ("cli:alice", "admin-api:anonymous", "mlflow-import"). */
export type Actor = string;

/** One file of a version, as stored content-addressed in the artifact store. */
export interface FileEntry {
  /** Path inside the version directory, '/'-separated, never absolute or with '..' (`names.ts`). */
  path: string;
  sha256: string;
  size: number;
}

/** A tensor of the version's IO signature (KServe v2 names: datatype like FP32, -1 for dynamic). */
export interface SignatureTensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface Signature {
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
}

/** The model configuration that came with a version (Triton `config.pbtxt`, or YAML/JSON). */
export interface StoredConfig {
  /** File name it was read from: config.pbtxt, config.yaml, config.yml or config.json. */
  file: string;
  text: string;
}

/** Where a version came from. Every field is optional: a plain push knows only its source. */
export interface Lineage {
  /** The version this one was derived from (optimizer variants, fine-tunes). */
  parent?: { model: string; version: number } | { uri: string; sha256?: string };
  /** What derived it (`int8-static`, `fp16`, `prune`…) and with which parameters. */
  transform?: string;
  parameters?: Record<string, unknown>;
  /** Free-form summary, e.g. the optimizer report's headline numbers. */
  summary?: Record<string, unknown>;
  /** Set by `registry import mlflow://…`. */
  mlflow?: {
    trackingUri: string;
    name: string;
    version: string;
    runId?: string;
    params?: Record<string, string>;
    metrics?: Record<string, number>;
    source?: string;
  };
}

/** A registered version: immutable apart from tags, metrics, pin and validation. */
export interface VersionRecord {
  model: string;
  version: number;
  /** Where the files were taken from (local path, https URL, mlflow:// URI). */
  sourceUri: string;
  /** Artifact format, 'onnx' today. */
  format: string;
  signature?: Signature;
  files: FileEntry[];
  config?: StoredConfig;
  /** ISO-8601, UTC. */
  createdAt: string;
  createdBy: Actor;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  lineage: Lineage;
  /** Served in registry control mode even when no alias names it. */
  pinned: boolean;
  /** The most recent validation run, if any. */
  validation?: ValidationRecord;
}

/** What a caller supplies to register a version (the store fills the rest). */
export interface NewVersion {
  model: string;
  /** Absent: the next number after the model's highest. Present and taken: IG_ERR_CONFLICT. */
  version?: number;
  sourceUri: string;
  format: string;
  signature?: Signature;
  files: FileEntry[];
  config?: StoredConfig;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  lineage?: Lineage;
}

export interface ModelRecord {
  name: string;
  createdAt: string;
  createdBy: Actor;
  description: string;
}

/** A named pointer to a version. Moving it is compare-and-set and audited. */
export interface AliasRecord {
  model: string;
  alias: string;
  version: number;
  /** A protected alias only moves to a version whose last validation passed (or with force). */
  protected: boolean;
  updatedAt: string;
  updatedBy: Actor;
}

/** One measured check of a validation run. */
export interface GateCheck {
  name: string;
  value: number | null;
  /** 'min' values must be ≥ threshold, 'max' values ≤ threshold. */
  kind: 'min' | 'max';
  threshold: number;
  passed: boolean;
  /** Why it failed or was skipped, in words. */
  note?: string;
}

/** The result of one `registry validate` run of a version. */
export interface ValidationRecord {
  at: string;
  by: Actor;
  passed: boolean;
  checks: GateCheck[];
  /** Raw measurements: accuracy, agreement, latency_p50_ms, latency_p99_ms, samples… */
  measurements: Record<string, number>;
  /** The version `agreement` was measured against (the then-current production). */
  baseline?: number;
  /** What it ran on (data file names, runtime, machine). */
  context?: Record<string, string>;
}

/** The kind of each audited mutation. */
export type AuditAction =
  | 'model.create'
  | 'version.register'
  | 'version.update'
  | 'version.validate'
  | 'alias.set'
  | 'alias.delete'
  /** Security trail (audit/): a refused authentication or authorization, an administrative action. */
  | 'security.denied'
  | 'security.admin'
  /** Traffic policies and rollouts (rollout/). */
  | 'traffic.set'
  | 'traffic.clear'
  | 'rollout.update';

/** One append-only audit row; `hash` chains it to the previous row (`audit-chain.ts`). */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: Actor;
  action: AuditAction;
  model: string;
  version?: number;
  alias?: string;
  before?: unknown;
  after?: unknown;
  /** Why (a promotion's reason, `forced: …` when a gate was overridden). */
  reason?: string;
  prevHash: string;
  hash: string;
}

/** `verify`'s verdict over the whole audit log. */
export interface AuditVerdict {
  ok: boolean;
  rows: number;
  /** The chain's head hash: record it elsewhere to detect a rewrite of the whole log. */
  head: string;
  problems: Array<{ seq: number; problem: string }>;
}

/** A compare-and-set move of an alias. */
export interface AliasChange {
  model: string;
  alias: string;
  version: number;
  /**
   * The version the caller believes the alias names now: null = the alias must not exist yet,
   * undefined = no check (last writer wins). A mismatch is IG_ERR_CONFLICT naming the current one.
   */
  expected?: number | null;
  /** Sets the protected flag; undefined keeps the current one (new aliases: not protected). */
  protected?: boolean;
  reason?: string;
}

/**
 * How a model's unqualified calls are split (rollout/traffic.ts applies it). Weights are percent
 * and sum to 100; a sticky key makes one caller always land on the same arm; shadows receive a
 * copy of a share of the calls after the primary answered, for comparison only.
 */
export interface TrafficPolicy {
  arms: Array<{ version: number; weight: number }>;
  sticky?: { header?: string; parameter?: string };
  shadows?: Array<{ version: number; percent: number }>;
}

export interface TrafficRecord {
  model: string;
  policy: TrafficPolicy;
  updatedAt: string;
  updatedBy: Actor;
}

/** A rollout's durable state (rollout/controller.ts drives it; plain data so any replica can). */
export interface RolloutRecord {
  model: string;
  /** Unique per rollout (observations and audit rows carry it). */
  id: string;
  /** Increases with every update: compare-and-set for the controller and the CLI. */
  seq: number;
  state: Record<string, unknown>;
  updatedAt: string;
}

/** A replica's counters for a model's active rollout step (not audited: they change every second). */
export interface ObservationRecord {
  model: string;
  replica: string;
  data: Record<string, unknown>;
  updatedAt: string;
}

/** Everything the serving side needs, read in one consistent transaction. */
export interface RegistrySnapshot {
  revision: number;
  aliases: AliasRecord[];
  /** Every version an alias names, a traffic policy routes to, or that is pinned (the ones serving may need). */
  versions: VersionRecord[];
  traffic: TrafficRecord[];
  rollouts: RolloutRecord[];
}

export interface AuditQuery {
  model?: string;
  /** Only rows with seq > after. */
  after?: number;
  limit?: number;
}

/** The durable store. Every method rejects with an InferError (IG_ERR_STORE_UNAVAILABLE when unreachable). */
export interface RegistryStore {
  /** Where it is, safe to show (no password): `sqlite:/path/registry.db`, `postgres://host:port/db`. */
  readonly location: string;
  /** Increases with every committed mutation by anyone sharing the store (the audit head's seq). */
  revision(): Promise<number>;
  listModels(): Promise<ModelRecord[]>;
  getModel(name: string): Promise<ModelRecord | undefined>;
  listVersions(model: string): Promise<VersionRecord[]>;
  getVersion(model: string, version: number): Promise<VersionRecord | undefined>;
  /** Creates the model on its first version; audited as model.create + version.register. */
  registerVersion(v: NewVersion, actor: Actor): Promise<VersionRecord>;
  /** Merges tags and metrics (a null value deletes a key), sets `pinned`; audited. */
  updateVersion(
    model: string,
    version: number,
    patch: { tags?: Record<string, string | null>; metrics?: Record<string, number | null>; pinned?: boolean },
    actor: Actor,
  ): Promise<VersionRecord>;
  /** Stores a validation run as the version's latest; audited. */
  recordValidation(model: string, version: number, result: ValidationRecord, actor: Actor): Promise<void>;
  listAliases(model?: string): Promise<AliasRecord[]>;
  /** Compare-and-set (see AliasChange); the target version must exist (IG_ERR_NOT_FOUND). Audited. */
  setAlias(change: AliasChange, actor: Actor): Promise<AliasRecord>;
  /** Removes an alias; `expected` as in AliasChange. Audited. */
  deleteAlias(model: string, alias: string, expected: number | undefined, actor: Actor, reason?: string): Promise<void>;
  audit(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Appends an audit row that is not a registry mutation (the security trail, audit/); `model` may be ''. */
  appendAudit(entry: Pick<AuditEntry, 'actor' | 'action' | 'model' | 'after' | 'reason'>): Promise<void>;
  /** Re-computes the hash chain; names every row that was edited, inserted or deleted. */
  verifyAudit(): Promise<AuditVerdict>;
  /** Aliases, pinned versions and the versions they name, at one revision. */
  snapshot(): Promise<RegistrySnapshot>;
  listTraffic(): Promise<TrafficRecord[]>;
  /** Sets (or with null removes) a model's traffic policy; its versions must exist (IG_ERR_NOT_FOUND). Audited. */
  setTraffic(model: string, policy: TrafficPolicy | null, actor: Actor, reason?: string): Promise<void>;
  getRollout(model: string): Promise<RolloutRecord | undefined>;
  /**
   * Writes a model's rollout state when its current seq is `expectedSeq` (undefined: there must be
   * none); IG_ERR_CONFLICT otherwise. Audited with `reason` (the decision and its evidence).
   */
  putRollout(
    model: string,
    rollout: { id: string; state: Record<string, unknown> },
    expectedSeq: number | undefined,
    actor: Actor,
    reason?: string,
  ): Promise<RolloutRecord>;
  /** A replica's counters for a model (upsert by replica); never audited, never bumps the revision. */
  putObservation(model: string, replica: string, data: Record<string, unknown>): Promise<void>;
  listObservations(model: string): Promise<ObservationRecord[]>;
  /** Takes or renews a named lease for `holder` until nowMs + ttlMs; true when held by `holder`. */
  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean>;
  /**
   * A hint that someone (maybe another process) changed the store: PostgreSQL LISTEN/NOTIFY;
   * SQLite has none (readers poll `revision()`). Returns the unsubscribe.
   */
  watch(onChange: () => void): () => void;
  close(): Promise<void>;
}
