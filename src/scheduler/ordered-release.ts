/**
 * preserve_ordering: answers leave in the order the requests were accepted, whatever order their
 * batches finish in. Requests answered before they ran (cancelled, timed out) leave at once and
 * free their place, so a client that went away never holds up the others.
 */
export class OrderedRelease {
  private issued = 0;
  private next = 0;
  private readonly ready = new Map<number, () => void>();

  /** Reserves the next place in the order. */
  reserve(): number {
    return this.issued++;
  }

  /** Places reserved and not yet released. */
  get outstanding(): number {
    return this.issued - this.next;
  }

  /** Delivers `answer` now if every earlier place is settled, else as soon as they are. */
  settle(place: number, answer: () => void): void {
    this.ready.set(place, answer);
    this.flush();
  }

  /** Answers at once, out of order (the request never ran), and frees the place. */
  answerOutOfOrder(place: number, answer: () => void): void {
    answer();
    this.settle(place, () => {});
  }

  private flush(): void {
    for (let fn = this.ready.get(this.next); fn; fn = this.ready.get(this.next)) {
      this.ready.delete(this.next);
      this.next++;
      fn();
    }
  }
}
