/**
 * Keeps an attacker's flood of bad credentials from flooding the audit trail (and the disk): at
 * most `perSecond` refusals are written each second; the rest are counted and written as one
 * summary row when the second is over. Administrative actions are never throttled.
 */
import type { AuditSink, SecurityEvent } from './types.js';

export class ThrottledAudit implements AuditSink {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly inner: AuditSink,
    private readonly perSecond = 50,
    private readonly now: () => number = Date.now,
  ) {}

  record(e: SecurityEvent): void {
    if (e.action !== 'security.denied') {
      this.inner.record(e);
      return;
    }
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      if (this.suppressed > 0)
        this.inner.record({
          action: 'security.denied',
          actor: 'many',
          outcome: 'suppressed',
          reason: `${this.suppressed} more refusals in the last second were not recorded one by one`,
        });
      this.windowStart = t;
      this.written = 0;
      this.suppressed = 0;
    }
    if (this.written < this.perSecond) {
      this.written++;
      this.inner.record(e);
    } else this.suppressed++;
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
