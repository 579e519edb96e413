/**
 * The audit trail in the registry's audit table (when a registry is configured): one hash chain
 * for registry changes and security events, shared by every replica. Writes are queued; a store
 * that is down loses no event silently: the failure is reported (and logged by the caller).
 */
import type { RegistryStore } from '../registry/types.js';
import { type AuditSink, type SecurityEvent, toAuditBody } from './types.js';

export class RegistryAuditLog implements AuditSink {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<RegistryStore, 'appendAudit'>,
    private readonly onError: (err: unknown, e: SecurityEvent) => void = () => undefined,
  ) {}

  record(e: SecurityEvent): void {
    this.queue = this.queue.then(() => this.store.appendAudit(toAuditBody(e))).catch((err) => this.onError(err, e));
  }

  flush(): Promise<void> {
    return this.queue;
  }

  close(): Promise<void> {
    return this.queue;
  }
}
