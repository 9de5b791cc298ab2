// The tcpdump-like one-line summaries of a run's packets (the packets view's column), UTF-8 in one growing buffer: a
// million of them as JavaScript strings would cost several hundred bytes each in heap and collector time; here they
// cost their length plus four bytes. Built on the server's thread, or in a run's worker thread (run-worker.ts) and
// handed over whole (`parts` / `from`: two transferable buffers).

export class SummaryStore {
  private bytes: Buffer = Buffer.allocUnsafe(1 << 16);
  private ends: Uint32Array = new Uint32Array(1024);
  private used = 0;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(s: string): void {
    if (this.n === this.ends.length) {
      const e = new Uint32Array(this.ends.length * 2);
      e.set(this.ends);
      this.ends = e;
    }
    if (this.used + s.length * 3 > this.bytes.length) {
      const b = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + s.length * 3));
      this.bytes.copy(b, 0, 0, this.used);
      this.bytes = b;
    }
    // Buffer's UTF-8 write: the same bytes as TextEncoder's, at a fraction of its per-call cost on short strings.
    this.used += this.bytes.write(s, this.used, 'utf8');
    this.ends[this.n++] = this.used;
  }

  get(i: number): string {
    const start = i === 0 ? 0 : this.ends[i - 1]!;
    return this.bytes.toString('utf8', start, this.ends[i]!);
  }

  /** Keep the first `n` summaries (all by default) and drop the spare capacity, once the run is complete. */
  trim(n = this.n): SummaryStore {
    this.n = Math.min(n, this.n);
    this.used = this.n ? this.ends[this.n - 1]! : 0;
    if (this.bytes.length === this.used && this.ends.length === this.n) return this;
    const b = Buffer.allocUnsafeSlow(this.used);
    this.bytes.copy(b, 0, 0, this.used);
    this.bytes = b;
    this.ends = this.ends.slice(0, this.n);
    return this;
  }

  /** The store's two buffers, trimmed, for a transfer to another thread. */
  parts(): { bytes: Uint8Array; ends: Uint32Array } {
    this.trim();
    return { bytes: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used), ends: this.ends };
  }

  static from(parts: { bytes: Uint8Array; ends: Uint32Array }): SummaryStore {
    const s = new SummaryStore();
    s.bytes = Buffer.from(parts.bytes.buffer, parts.bytes.byteOffset, parts.bytes.byteLength);
    s.ends = parts.ends;
    s.n = parts.ends.length;
    s.used = s.n ? parts.ends[s.n - 1]! : 0;
    return s;
  }
}

/**
 * Where the packets' records are in their capture: the offset of every EVERY-th packet's record (and the reader's
 * context where it changes), so that the packets view can read the records of a page again to summarise them instead
 * of keeping every packet's summary. Packet i is found by seeking to the record of packet i - i % EVERY and reading on
 * (a run records only one packet in EVERY here: an offset per packet was a measurable part of a big run).
 */
export class RecordIndex {
  static readonly EVERY = 64;
  /** Offset of the record of packet k * EVERY. */
  private offsets = new Float64Array(1024);
  private n = 0;
  /** First kept record of each context, and the context. */
  private readonly contextFrom: number[] = [];
  private readonly contexts: object[] = [];

  /** Kept records (one per EVERY packets). */
  get length(): number {
    return this.n;
  }

  /** The record of packet length * EVERY: its offset, and the reader's context there. */
  push(offset: number, context: object): void {
    if (this.n === this.offsets.length) {
      const o = new Float64Array(this.n * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    if (this.contexts[this.contexts.length - 1] !== context) {
      this.contextFrom.push(this.n);
      this.contexts.push(context);
    }
    this.offsets[this.n++] = offset;
  }

  trim(): RecordIndex {
    this.offsets = this.offsets.length - this.n > this.offsets.length / 5 ? this.offsets.slice(0, this.n) : this.offsets.subarray(0, this.n);
    return this;
  }

  /** Where to start reading for packet i: the kept record at or before it (packet `index`), its offset and context. */
  at(i: number): { index: number; offset: number; context: object } {
    const k = Math.min(Math.floor(i / RecordIndex.EVERY), this.n - 1);
    let lo = 0;
    let hi = this.contextFrom.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.contextFrom[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return { index: k * RecordIndex.EVERY, offset: this.offsets[k]!, context: this.contexts[lo]! };
  }
}
