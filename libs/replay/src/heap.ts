import type { PartitionCursor } from './cursor.ts';

/**
 * The k-way merge of the partitions' streams: a binary min-heap of cursors by their head record's
 * (replay time, topic, partition). Offsets need no comparison: a partition is one cursor, already
 * in offset order. Ties in time go to the catalogue's topic order, then the partition, so the
 * order is total and the same on every run.
 */
export class CursorHeap {
  private readonly heap: PartitionCursor[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** The cursor whose head comes first. */
  top(): PartitionCursor {
    return this.heap[0]!;
  }

  push(c: PartitionCursor): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** Removes the top cursor (exhausted). */
  pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftTop();
  }

  /** Restores the order after the top cursor's head moved on (usually it stays on top). */
  siftTop(): void {
    const h = this.heap;
    const n = h.length;
    let i = 0;
    const c = h[0]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[m]!, c)) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = c;
  }
}

function before(a: PartitionCursor, b: PartitionCursor): boolean {
  const ta = a.times[a.at]!;
  const tb = b.times[b.at]!;
  if (ta !== tb) return ta < tb;
  if (a.topicIndex !== b.topicIndex) return a.topicIndex < b.topicIndex;
  return a.partition < b.partition;
}
