/**
 * The security audit trail: every administrative action and every refused authentication or
 * authorization, with who, from where, on what, and the outcome. Entries use the registry's audit
 * shape and hash chain (registry/audit-chain.ts), so one `verify` covers both, whether they go to
 * a JSON-lines file (file-log.ts) or the registry's audit table (registry-log.ts).
 */
import type { AuditEntry } from '../registry/types.js';

/** What a transport reports. */
export interface SecurityEvent {
  action: 'security.denied' | 'security.admin';
  /** `key:…`, `jwt:…`, `mtls:…`, `local`, `anonymous`, or `unknown` for a refused credential. */
  actor: string;
  /** The model the call named, when it named one. */
  model?: string;
  remoteAddress?: string;
  /** `POST /v2/repository/models/m/load`, `grpc RepositoryModelLoad`. */
  route?: string;
  /** HTTP status or gRPC status name. */
  outcome: string;
  /** Why it was refused (never a secret: key prefixes only). */
  reason?: string;
}

/** Where events go. `record` never throws and never waits: writes are queued. */
export interface AuditSink {
  record(e: SecurityEvent): void;
  /** Resolves when everything recorded so far is written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The stored form of an event: an audit row (model '' when none). */
export function toAuditBody(e: SecurityEvent): Pick<AuditEntry, 'actor' | 'action' | 'model' | 'after' | 'reason'> {
  return {
    actor: e.actor,
    action: e.action,
    model: e.model ?? '',
    after: { route: e.route, outcome: e.outcome, remoteAddress: e.remoteAddress },
    reason: e.reason,
  };
}
