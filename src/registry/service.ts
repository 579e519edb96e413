/**
 * The registry's operations, one place for the CLI and the admin REST API: lookups that accept an
 * alias wherever a version goes, pushes and imports through a source, alias moves guarded by the
 * validation gate, pins, validation results, history, audit and verify. The store is the memory;
 * this file is the policy (which aliases are protected, what a promotion requires, what `--force`
 * records).
 */
import { type Clock, InferError, invalidArg, systemClock } from '../core/index.js';
import type { AliasRequest, ModelDetail, ModelSummary, RegistryAdmin } from './api.js';
import type { ArtifactStore } from './artifacts.js';
import { gateRefusal } from './gate.js';
import { checkAliasName, checkModelName, checkVersionNumber, parseVersionNumber, quoteName } from './names.js';
import { type PushOptions, pushVersion } from './push.js';
import type { ResolvedSource } from './sources/types.js';
import type {
  Actor,
  AliasRecord,
  AuditEntry,
  AuditQuery,
  AuditVerdict,
  ModelRecord,
  RegistryStore,
  ValidationRecord,
  VersionRecord,
} from './types.js';

export interface RegistryServiceOptions {
  store: RegistryStore;
  artifacts: ArtifactStore;
  /** Turns a source URI (path, https://, mlflow://) into files; the caller decides which kinds are allowed. */
  resolveSource: (uri: string) => Promise<ResolvedSource>;
  /** Aliases that always need a validated version (default: production). */
  protectedAliases?: readonly string[];
  clock?: Clock;
}

export class RegistryService implements RegistryAdmin {
  readonly store: RegistryStore;
  readonly artifacts: ArtifactStore;
  private readonly protectedAliases: ReadonlySet<string>;

  constructor(private readonly o: RegistryServiceOptions) {
    this.store = o.store;
    this.artifacts = o.artifacts;
    this.protectedAliases = new Set(o.protectedAliases ?? ['production']);
  }

  get location(): string {
    return this.store.location;
  }

  async listModels(): Promise<ModelSummary[]> {
    const [models, aliases] = await Promise.all([this.store.listModels(), this.store.listAliases()]);
    return Promise.all(
      models.map(async (m) => {
        const versions = await this.store.listVersions(m.name);
        const mine = aliases.filter((a) => a.model === m.name);
        return {
          ...m,
          versions: versions.length,
          latest: versions.at(-1)?.version,
          aliases: Object.fromEntries(mine.map((a) => [a.alias, a.version])),
        };
      }),
    );
  }

  async showModel(model: string): Promise<ModelDetail> {
    const record = await this.mustModel(model);
    const [versions, aliases] = await Promise.all([this.store.listVersions(model), this.store.listAliases(model)]);
    return { model: record, versions, aliases };
  }

  /** A version by number or alias. */
  async showVersion(model: string, ref: string | number): Promise<VersionRecord> {
    const n = await this.resolveRef(model, ref);
    const v = await this.store.getVersion(model, n);
    if (!v) throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no version ${n}`);
    return v;
  }

  /** Registers the files a source names as a new version (see push.ts for atomicity). */
  async push(uri: string, opts: Omit<PushOptions, 'model'> & { model?: string }, actor: Actor): Promise<VersionRecord> {
    const source = await this.o.resolveSource(uri);
    const model = checkModelName(opts.model ?? source.suggestedName ?? '');
    if (opts.version !== undefined) checkVersionNumber(opts.version);
    return pushVersion(this.store, this.artifacts, source, { ...opts, model }, actor);
  }

  /** Moves (or creates) an alias; protected aliases need a validated version unless forced. */
  async setAlias(req: AliasRequest, actor: Actor): Promise<AliasRecord> {
    checkModelName(req.model);
    checkAliasName(req.alias);
    const version = await this.resolveRef(req.model, req.version);
    const target = await this.showVersion(req.model, version);
    const current = (await this.store.listAliases(req.model)).find((a) => a.alias === req.alias);
    const guarded = this.protectedAliases.has(req.alias) || current?.protected === true || req.protected === true;
    const refusal = guarded ? gateRefusal(target) : undefined;
    if (refusal && !req.force)
      throw new InferError(
        'IG_ERR_GATE_FAILED',
        `alias ${quoteName(req.alias)} is protected: ${refusal}; pass force to override (audited)`,
      );
    const reason = refusal ? `forced past the gate: ${refusal}${req.reason ? `; ${req.reason}` : ''}` : req.reason;
    return this.store.setAlias(
      {
        model: req.model,
        alias: req.alias,
        version,
        expected: req.expected,
        protected: req.protected ?? (this.protectedAliases.has(req.alias) ? true : undefined),
        reason,
      },
      actor,
    );
  }

  /** `promote NAME VERSION`: moves `to` (default production) through the gate. */
  promote(
    model: string,
    version: string | number,
    opts: { to?: string; expected?: number | null; force?: boolean; reason?: string },
    actor: Actor,
  ): Promise<AliasRecord> {
    return this.setAlias({ model, alias: opts.to ?? 'production', version, ...opts }, actor);
  }

  async deleteAlias(model: string, alias: string, expected: number | undefined, actor: Actor, reason?: string) {
    checkModelName(model);
    checkAliasName(alias);
    await this.store.deleteAlias(model, alias, expected, actor, reason);
  }

  async updateVersion(
    model: string,
    ref: string | number,
    patch: { tags?: Record<string, string | null>; metrics?: Record<string, number | null>; pinned?: boolean },
    actor: Actor,
  ): Promise<VersionRecord> {
    const version = await this.resolveRef(model, ref);
    return this.store.updateVersion(model, version, patch, actor);
  }

  async recordValidation(model: string, version: number, result: ValidationRecord, actor: Actor): Promise<void> {
    await this.store.recordValidation(model, version, result, actor);
  }

  /** Every alias move of a model, oldest first: what served, since when, who moved it and why. */
  async history(model: string): Promise<AuditEntry[]> {
    await this.mustModel(model);
    return (await this.store.audit({ model })).filter((e) => e.action.startsWith('alias.'));
  }

  audit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    if (query.model !== undefined) checkModelName(query.model);
    if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 1))
      throw invalidArg("'limit' must be a positive integer");
    return this.store.audit(query);
  }

  verify(): Promise<AuditVerdict> {
    return this.store.verifyAudit();
  }

  /** A version number from a number, digits or an alias name (IG_ERR_NOT_FOUND naming what is missing). */
  async resolveRef(model: string, ref: string | number): Promise<number> {
    checkModelName(model);
    const n = parseVersionNumber(ref);
    if (n !== undefined) return n;
    const alias = checkAliasName(String(ref));
    const found = (await this.store.listAliases(model)).find((a) => a.alias === alias);
    if (found) return found.version;
    await this.mustModel(model);
    throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no alias ${quoteName(alias)}`);
  }

  private async mustModel(model: string): Promise<ModelRecord> {
    checkModelName(model);
    const m = await this.store.getModel(model);
    if (!m) throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} is not in the registry`);
    return m;
  }

  /** Wall clock for records the service writes itself. */
  nowIso(): string {
    return new Date((this.o.clock ?? systemClock).wallMs()).toISOString();
  }
}
