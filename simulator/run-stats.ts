// The pictures of a run, aggregated while it runs in bounded memory, whatever the number of packets: actions over
// capture time (at most TIME_BUCKETS buckets, whose width doubles when the capture outgrows them), packets per exit
// line and action, per RX queue, per outcome, and faults per line and kind. The language server keeps one per run
// (`xdpLens/runStats`, the Run Summary webview); `xdp-lens run --format summary|jsonl` prints it as "stats".
import { ACTIONS, type Action } from './session.ts';
import { PLAIN_OUTCOME } from './driver/rx.ts';

/** PLAIN_OUTCOME by the action's index in ACTIONS. */
const PLAIN_BY_INDEX: readonly string[] = ACTIONS.map((a) => PLAIN_OUTCOME[a]);

/** The largest double below x (x > 0, finite): its bits less one. */
function nextBelow(x: number): number {
  F64[0] = x;
  if (U32[LOW] === 0) U32[1 - LOW]!--;
  U32[LOW]!--;
  return F64[0]!;
}
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** The index of the low half of a double in U32 (the platform's byte order). */
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** Buckets of the timeline, at most. */
export const TIME_BUCKETS = 120;
/** Width of a bucket to start with: 1 µs (then 2, 4, 8 ... µs as the capture goes on). */
const FIRST_BUCKET_NS = 1000;
/** Distinct exit lines, outcomes and fault places kept; more are counted together as "other". */
const MAX_KEYS = 500;

export interface RunStatsJson {
  packets: number;
  /** The order of the per-action counts below. */
  actions: Action[];
  timeline: {
    /** Width of one bucket in ns; bucket i covers [i * bucketNs, (i + 1) * bucketNs) after the first packet. */
    bucketNs: number;
    /** Time from the first packet to the latest one, ns. */
    spanNs: number;
    /** Per bucket, packets per action (in `actions` order); empty buckets after the last packet are left out. */
    counts: number[][];
    /** Per bucket, packets that faulted. */
    faults: number[];
    /** Per bucket, packets whose verdict the driver did not carry out as returned (a redirect with no target, ...). */
    notCarriedOut: number[];
    /** Packets stamped before the first packet of the capture (counted in the first bucket). */
    earlier: number;
  };
  /** Per RX queue that received packets, packets per action. */
  queues: { queue: number; counts: number[] }[];
  /** Per exit line and action: packets and what the driver made of them. Most packets first. */
  exits: { file: string; line: number; action: Action; count: number; outcomes: Record<string, number> }[];
  /** Packets by outcome ('passed', 'dropped: no redirect target', ...), most first. */
  outcomes: Record<string, number>;
  /** Faults by line and kind, most first. */
  faults: { file: string; line: number; kind: string; message: string; count: number }[];
  /** Packets of exit lines, outcomes or fault places beyond the first MAX_KEYS (counted, not listed). */
  other?: { exits: number; outcomes: number; faults: number };
}

/** What one packet contributes. */
export interface StatsPacket {
  /** ns since the first packet of the capture (negative: stamped earlier). */
  timeNs: number;
  action: Action;
  outcome: string;
  queue: number;
  /** Where it left the program (or faulted); '' / 0 when unknown. */
  file: string;
  line: number;
  fault?: { kind: string; message: string };
}

/** A count kept in a Map by a string key, incremented in place (no Map store per packet). */
interface Cell {
  n: number;
}

/**
 * An exit line's entry while counting (its outcomes in a Map: no keyed property store per packet; the cell of the
 * last outcome kept, as most packets of a line end alike).
 */
type ExitEntry = Omit<RunStatsJson['exits'][number], 'outcomes'> & { outcomes: Map<string, Cell>; lastOutcome: string | undefined; lastCell: Cell | undefined };

export class RunStats {
  private packets = 0;
  private bucketNs = FIRST_BUCKET_NS;
  private spanNs = 0;
  private earlier = 0;
  private counts = new Float64Array(TIME_BUCKETS * ACTIONS.length);
  private faultCounts = new Float64Array(TIME_BUCKETS);
  private notCarried = new Float64Array(TIME_BUCKETS);
  /** The times of bucket rangeB, [rangeLo, rangeHi) (both 0: none known), found by bucketOf. */
  private rangeLo = 0;
  private rangeHi = 0;
  private rangeB = 0;
  private readonly queues = new Map<number, number[]>();
  /** Exit entries by file, then by line * 8 + action index (no string built per packet). */
  private readonly exits = new Map<string, Map<number, ExitEntry>>();
  private exitCount = 0;
  private readonly outcomes = new Map<string, Cell>();
  private lastOutcome: string | undefined;
  private lastOutcomeCell: Cell | undefined;
  private readonly faults = new Map<string, RunStatsJson['faults'][number]>();
  private readonly other = { exits: 0, outcomes: 0, faults: 0 };
  /** The entries the last packet counted in: most packets count in the same ones as the packet before. */
  private lastQueue = -1;
  private lastQueueCounts: number[] = [];
  private lastExitFile: string | undefined;
  private lastExitKey = -1;
  private lastExit: ExitEntry | undefined;

  constructor() {
    // bucketNs and spanNs outgrow a small integer (2^31 ns is 2.1 s of capture): stored as doubles from the start, so
    // that the first large value does not change the object's shape mid-run and throw away the optimized code of
    // every caller (`record` inlined into the run loop, then compiled again).
    this.bucketNs = 0.5;
    this.bucketNs = FIRST_BUCKET_NS;
    this.spanNs = 0.5;
    this.spanNs = 0;
    this.rangeLo = this.rangeHi = 0.5;
    this.rangeLo = this.rangeHi = 0;
  }

  add(p: StatsPacket): void {
    this.record(p.timeNs, ACTIONS.indexOf(p.action), p.outcome, p.queue, p.file, p.line, p.fault);
  }

  /** `add` with the packet's fields as arguments (`a`: the index of its action in ACTIONS): no object per packet. */
  record(timeNs: number, a: number, outcome: string, queue: number, file: string, line: number, fault?: { kind: string; message: string }): void {
    this.packets++;
    const action = ACTIONS[a]!;
    let t = timeNs;
    if (!(t >= 0)) {
      this.earlier++;
      t = 0;
    }
    if (t > this.spanNs) this.spanNs = t;
    const b = t >= this.rangeLo && t < this.rangeHi ? this.rangeB : this.bucketOf(t);
    this.counts[b * ACTIONS.length + a]!++;
    if (fault) this.faultCounts[b]!++;
    else if (outcome !== PLAIN_BY_INDEX[a]) {
      const plain = PLAIN_BY_INDEX[a]!;
      if (!outcome.startsWith(plain)) this.notCarried[b]!++;
    }

    let q = this.lastQueueCounts;
    if (queue !== this.lastQueue) {
      q = this.queues.get(queue)!;
      if (!q) this.queues.set(queue, (q = ACTIONS.map(() => 0)));
      this.lastQueue = queue;
      this.lastQueueCounts = q;
    }
    q[a]!++;

    const key = line * 8 + a;
    let e: ExitEntry | undefined;
    if (key === this.lastExitKey && file === this.lastExitFile) e = this.lastExit;
    else {
      let byLine = this.exits.get(file);
      if (!byLine) this.exits.set(file, (byLine = new Map()));
      e = byLine.get(key);
      if (!e && this.exitCount < MAX_KEYS) {
        byLine.set(key, (e = { file, line, action, count: 0, outcomes: new Map(), lastOutcome: undefined, lastCell: undefined }));
        this.exitCount++;
      }
      if (e) {
        this.lastExitKey = key;
        this.lastExitFile = file;
        this.lastExit = e;
      }
    }
    if (e) {
      e.count++;
      if (outcome === e.lastOutcome) e.lastCell!.n++;
      else {
        let c = e.outcomes.get(outcome);
        if (c === undefined) e.outcomes.set(outcome, (c = { n: 0 }));
        c.n++;
        e.lastOutcome = outcome;
        e.lastCell = c;
      }
    } else this.other.exits++;

    if (outcome === this.lastOutcome) this.lastOutcomeCell!.n++;
    else {
      const c = this.outcomes.get(outcome);
      if (c !== undefined) {
        c.n++;
        this.lastOutcome = outcome;
        this.lastOutcomeCell = c;
      } else if (this.outcomes.size < MAX_KEYS) {
        const fresh = { n: 1 };
        this.outcomes.set(outcome, fresh);
        this.lastOutcome = outcome;
        this.lastOutcomeCell = fresh;
      } else this.other.outcomes++;
    }

    if (fault) {
      const fk = `${file}\0${line}\0${fault.kind}`;
      let f = this.faults.get(fk);
      if (!f && this.faults.size < MAX_KEYS) this.faults.set(fk, (f = { file, line, kind: fault.kind, message: fault.message, count: 0 }));
      if (f) f.count++;
      else this.other.faults++;
    }
  }

  /**
   * `record(times[i], a, outcome, queue, file, line)` for each i in [from, to), none a fault: a run of packets that
   * ended alike (`run`'s plain verdicts), their entries looked up once for the run. `otherN` of them (0 to n - 1: the
   * first packet ended as `outcome`, which is counted first where both are new) ended as `other` instead; both
   * outcomes must be carried out as returned, or both not (the timeline does not say which packet was which).
   */
  recordRun(times: Float64Array, from: number, to: number, a: number, outcome: string, queue: number, file: string, line: number, other?: string, otherN = 0): void {
    const n = to - from;
    if (n <= 0) return;
    if (!(otherN >= 0 && otherN < n)) throw new RangeError(`recordRun: ${otherN} of ${n} packets ended otherwise`);
    const plain = PLAIN_BY_INDEX[a]!;
    const notCarried = outcome !== plain && !outcome.startsWith(plain);
    if (otherN !== 0 && (other === undefined || notCarried !== (other !== plain && !other.startsWith(plain)))) {
      throw new RangeError(`recordRun: outcomes "${outcome}" and "${other}" are not both carried out as returned, or both not`);
    }
    this.packets += n;
    // Consecutive packets of one bucket counted together (m of them in bucket b): a time in the bucket's known times
    // [lo, hi) is in it without a division.
    let lo = this.rangeLo;
    let hi = this.rangeHi;
    let b = this.rangeB;
    let m = 0;
    let span = this.spanNs;
    for (let i = from; i < to; i++) {
      let t = times[i]!;
      if (t >= lo && t < hi) {
        m++;
        if (t > span) span = t;
        continue;
      }
      // (Before bucketOf, which may widen the buckets.)
      if (m !== 0) this.countIn(b, a, m, notCarried);
      if (!(t >= 0)) {
        this.earlier++;
        t = 0;
      }
      if (t > span) span = t;
      b = this.bucketOf(t);
      lo = this.rangeLo;
      hi = this.rangeHi;
      m = 1;
    }
    if (m !== 0) this.countIn(b, a, m, notCarried);
    if (span > this.spanNs) this.spanNs = span;

    let q = this.lastQueueCounts;
    if (queue !== this.lastQueue) {
      q = this.queues.get(queue)!;
      if (!q) this.queues.set(queue, (q = ACTIONS.map(() => 0)));
      this.lastQueue = queue;
      this.lastQueueCounts = q;
    }
    q[a]! += n;

    const key = line * 8 + a;
    let e: ExitEntry | undefined;
    if (key === this.lastExitKey && file === this.lastExitFile) e = this.lastExit;
    else {
      let byLine = this.exits.get(file);
      if (!byLine) this.exits.set(file, (byLine = new Map()));
      e = byLine.get(key);
      if (!e && this.exitCount < MAX_KEYS) {
        byLine.set(key, (e = { file, line, action: ACTIONS[a]!, count: 0, outcomes: new Map(), lastOutcome: undefined, lastCell: undefined }));
        this.exitCount++;
      }
      if (e) {
        this.lastExitKey = key;
        this.lastExitFile = file;
        this.lastExit = e;
      }
    }
    if (e) {
      e.count += n;
      this.countExitOutcome(e, outcome, n - otherN);
      if (otherN !== 0) this.countExitOutcome(e, other!, otherN);
    } else this.other.exits += n;

    this.countOutcome(outcome, n - otherN);
    if (otherN !== 0) this.countOutcome(other!, otherN);
  }

  /** m more packets of exit entry e that ended as `outcome` (m > 0). */
  private countExitOutcome(e: ExitEntry, outcome: string, m: number): void {
    if (outcome === e.lastOutcome) e.lastCell!.n += m;
    else {
      let c = e.outcomes.get(outcome);
      if (c === undefined) e.outcomes.set(outcome, (c = { n: 0 }));
      c.n += m;
      e.lastOutcome = outcome;
      e.lastCell = c;
    }
  }

  /** m more packets that ended as `outcome` (m > 0). */
  private countOutcome(outcome: string, m: number): void {
    if (outcome === this.lastOutcome) this.lastOutcomeCell!.n += m;
    else {
      const c = this.outcomes.get(outcome);
      if (c !== undefined) {
        c.n += m;
        this.lastOutcome = outcome;
        this.lastOutcomeCell = c;
      } else if (this.outcomes.size < MAX_KEYS) {
        const fresh = { n: m };
        this.outcomes.set(outcome, fresh);
        this.lastOutcome = outcome;
        this.lastOutcomeCell = fresh;
      } else this.other.outcomes += m;
    }
  }

  /**
   * The bucket of time t (t >= 0: Math.floor(t / bucketNs)), the buckets widened first while t is past the last. Its
   * times are then [rangeLo, rangeHi) when both ends check (Math.floor of the quotient never decreases as t grows).
   */
  private bucketOf(t: number): number {
    let b = Math.floor(t / this.bucketNs);
    while (b >= TIME_BUCKETS) {
      this.widen();
      b = Math.floor(t / this.bucketNs);
    }
    const w = this.bucketNs;
    const lo = b * w;
    const hi = (b + 1) * w;
    if (t >= lo && t < hi && Math.floor(lo / w) === b && Math.floor(nextBelow(hi) / w) === b) {
      this.rangeLo = lo;
      this.rangeHi = hi;
      this.rangeB = b;
    } else this.rangeLo = this.rangeHi = 0;
    return b;
  }

  /** m more packets of action index a in bucket b (none a fault; `notCarried`: each not carried out as returned). */
  private countIn(b: number, a: number, m: number, notCarried: boolean): void {
    this.counts[b * ACTIONS.length + a]! += m;
    if (notCarried) this.notCarried[b]! += m;
  }

  /** Twice as wide buckets: each pair of buckets becomes one. */
  private widen(): void {
    const n = ACTIONS.length;
    const c = new Float64Array(TIME_BUCKETS * n);
    const f = new Float64Array(TIME_BUCKETS);
    const d = new Float64Array(TIME_BUCKETS);
    for (let i = 0; i < TIME_BUCKETS; i++) {
      const j = i >> 1;
      for (let a = 0; a < n; a++) c[j * n + a]! += this.counts[i * n + a]!;
      f[j]! += this.faultCounts[i]!;
      d[j]! += this.notCarried[i]!;
    }
    this.counts = c;
    this.faultCounts = f;
    this.notCarried = d;
    this.bucketNs *= 2;
    this.rangeLo = this.rangeHi = 0;
  }

  json(): RunStatsJson {
    const n = ACTIONS.length;
    const used = this.packets ? Math.floor(this.spanNs / this.bucketNs) + 1 : 0;
    const counts: number[][] = [];
    for (let i = 0; i < used; i++) counts.push(Array.from(this.counts.subarray(i * n, (i + 1) * n)));
    const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;
    const other = this.other.exits + this.other.outcomes + this.other.faults ? { other: { ...this.other } } : {};
    return {
      packets: this.packets,
      actions: [...ACTIONS],
      timeline: {
        bucketNs: this.bucketNs,
        spanNs: this.spanNs,
        counts,
        faults: Array.from(this.faultCounts.subarray(0, used)),
        notCarriedOut: Array.from(this.notCarried.subarray(0, used)),
        earlier: this.earlier,
      },
      queues: [...this.queues].sort((a, b) => a[0] - b[0]).map(([queue, c]) => ({ queue, counts: [...c] })),
      exits: [...this.exits.values()].flatMap((m) => [...m.values()]).map(({ file, line, action, count, outcomes }) => ({ file, line, action, count, outcomes: Object.fromEntries([...outcomes].map(([o, c]) => [o, c.n])) })).sort((a, b) => byCount(a, b) || a.file.localeCompare(b.file) || a.line - b.line),
      outcomes: Object.fromEntries([...this.outcomes].map(([o, c]): [string, number] => [o, c.n]).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      faults: [...this.faults.values()].map((f) => ({ ...f })).sort((a, b) => byCount(a, b) || a.line - b.line),
      ...other,
    };
  }
}
