/** Runs async operations one after another per key (one model's loads and unloads never overlap). */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<void>>();

  /** Queues `fn` behind everything already queued for `key`; a failure does not block the queue. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** True while an operation is queued or running for `key`. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once no operation is queued or running for any key. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
