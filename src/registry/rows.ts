/** Stored rows ↔ records: JSON columns parsed, 0/1 as booleans, absent values as undefined. */
import type { AuditBody } from './audit-chain.js';
import type { RegistryTables } from './schema.js';
import type { AliasRecord, AuditAction, AuditEntry, ModelRecord, NewVersion, VersionRecord } from './types.js';

type Row<T extends keyof RegistryTables> = RegistryTables[T];

const json = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));
const text = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

export function modelRecord(r: Row<'models'>): ModelRecord {
  return { name: r.name, createdAt: r.created_at, createdBy: r.created_by, description: r.description };
}

export function versionRecord(r: Row<'versions'>): VersionRecord {
  const out: VersionRecord = {
    model: r.model,
    version: Number(r.version),
    sourceUri: r.source_uri,
    format: r.format,
    files: JSON.parse(r.files),
    createdAt: r.created_at,
    createdBy: r.created_by,
    tags: JSON.parse(r.tags),
    metrics: JSON.parse(r.metrics),
    lineage: JSON.parse(r.lineage),
    pinned: Number(r.pinned) === 1,
  };
  const signature = json<VersionRecord['signature']>(r.signature);
  const config = json<VersionRecord['config']>(r.config);
  const validation = json<VersionRecord['validation']>(r.validation);
  if (signature) out.signature = signature;
  if (config) out.config = config;
  if (validation) out.validation = validation;
  return out;
}

export function versionRow(v: NewVersion, version: number, at: string, by: string): Row<'versions'> {
  return {
    model: v.model,
    version,
    source_uri: v.sourceUri,
    format: v.format,
    signature: text(v.signature),
    files: JSON.stringify(v.files),
    config: text(v.config),
    created_at: at,
    created_by: by,
    tags: JSON.stringify(v.tags ?? {}),
    metrics: JSON.stringify(v.metrics ?? {}),
    lineage: JSON.stringify(v.lineage ?? {}),
    pinned: 0,
    validation: null,
  };
}

export function aliasRecord(r: Row<'aliases'>): AliasRecord {
  return {
    model: r.model,
    alias: r.alias,
    version: Number(r.version),
    protected: Number(r.protected) === 1,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

export function auditEntry(r: Row<'audit'>): AuditEntry {
  const out: AuditEntry = {
    seq: Number(r.seq),
    at: r.at,
    actor: r.actor,
    action: r.action as AuditAction,
    model: r.model,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
  if (r.version !== null) out.version = Number(r.version);
  if (r.alias !== null) out.alias = r.alias;
  if (r.before !== null) out.before = JSON.parse(r.before);
  if (r.after !== null) out.after = JSON.parse(r.after);
  if (r.reason !== null) out.reason = r.reason;
  return out;
}

export function auditRow(body: AuditBody, prevHash: string, hash: string): Row<'audit'> {
  return {
    seq: body.seq,
    at: body.at,
    actor: body.actor,
    action: body.action,
    model: body.model,
    version: body.version ?? null,
    alias: body.alias ?? null,
    before: text(body.before),
    after: text(body.after),
    reason: body.reason ?? null,
    prev_hash: prevHash,
    hash,
  };
}

/** What an audit row says about a version: its identity and provenance, not its full file list. */
export function versionSummary(v: VersionRecord): Record<string, unknown> {
  return {
    sourceUri: v.sourceUri,
    format: v.format,
    files: v.files.map((f) => `${f.path} sha256:${f.sha256} ${f.size}`),
    lineage: v.lineage,
    tags: v.tags,
    metrics: v.metrics,
  };
}
