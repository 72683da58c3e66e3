// The targets waiting for a job slot: highest priority (longest remaining path) first, and in
// arrival order among equals. A binary heap, so a cold build of thousands of actions pays
// O(log n) per target instead of a sorted insert into an array.

interface Entry<T> {
  item: T;
  priority: number;
  seq: number;
}

export type Verdict = 'take' | 'skip' | 'stop';

export class ReadyQueue<T> {
  private heap: Array<Entry<T>> = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  clear(): void {
    this.heap = [];
  }

  push(item: T, priority: number): void {
    this.insert({ item, priority, seq: this.seq++ });
  }

  /**
   * Offers the items in order: 'take' removes one, 'skip' leaves it queued (it cannot start
   * yet, e.g. its GPUs are busy) and goes on, 'stop' ends the scan. Skipped items keep their place.
   */
  scan(decide: (item: T) => Verdict): void {
    const skipped: Array<Entry<T>> = [];
    while (this.heap.length) {
      const top = this.heap[0]!;
      const v = decide(top.item);
      if (v === 'stop') break;
      this.pop();
      if (v === 'skip') skipped.push(top);
    }
    for (const e of skipped) this.insert(e);
  }

  /** The items in the order they would be offered (for tests and diagnostics). */
  toArray(): T[] {
    return [...this.heap].sort(before).map((e) => e.item);
  }

  private insert(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p]!, h[i]!) <= 0) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!) < 0) m = l;
      if (r < h.length && before(h[r]!, h[m]!) < 0) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}

/** Negative when a comes first: higher priority, then earlier arrival. */
function before<T>(a: Entry<T>, b: Entry<T>): number {
  return b.priority - a.priority || a.seq - b.seq;
}
