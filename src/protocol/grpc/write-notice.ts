/** A ResponseWritten that the gRPC transport fires itself once it has handed the response to the stream. */
import type { ResponseWritten } from '../../core/index.js';

export class WriteNotice implements ResponseWritten {
  private readonly fns: Array<() => void> = [];
  onWritten(fn: () => void): void {
    this.fns.push(fn);
  }
  fire(): void {
    for (const fn of this.fns) fn();
  }
}
