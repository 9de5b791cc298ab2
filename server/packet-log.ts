// The per-packet bookkeeping of a capture or live run (issue 12): the rows in compact columns, the counts per action and
// outcome, the exits per line, the outcome issues, the faults and the run statistics. Kept on the server's thread
// (server/run.ts RunRecorder), or, on a big capture, in the run's worker thread (server/run-worker.ts), fed with the
// same values: what the server's thread found per packet (PacketVerdict, sent through shared memory) and the return
// line of the worker's twin. The same class fed the same values in the same order gives the same run.
import { ACTIONS } from '../simulator/session.ts';
import { RunStats, type RunStatsJson } from '../simulator/run-stats.ts';
import { XDP_MAX_FRAME, XDP_MIN_FRAME, type CapturedPacket, type EthernetHeaderOrigin } from '../simulator/net/capture.ts';
import type { RunExit, RunFault, RunOutcomeIssue, XdpAction } from './protocol.ts';
import { SummaryStore, RecordIndex } from './summary-store.ts';

export type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;
export type ColumnType<T extends Column> = { new (buffer: ArrayBufferLike): T; BYTES_PER_ELEMENT: number };

/**
 * A column of `n` elements in shared memory: a worker thread handed it (filterHalf) reads it in place, without a copy.
 * `from`: the first elements to copy in.
 */
export function sharedColumn<T extends Column>(type: ColumnType<T>, n: number, from?: T): T {
  const c = new type(new SharedArrayBuffer(n * type.BYTES_PER_ELEMENT));
  if (from) c.set(from as never);
  return c;
}

export class Columns {
  n = 0;
  action = sharedColumn(Uint8Array, 1024);
  retval = sharedColumn(Uint32Array, 1024);
  file = sharedColumn(Uint16Array, 1024);
  line = sharedColumn(Uint32Array, 1024);
  path = sharedColumn(Uint8Array, 1024);
  outcome = sharedColumn(Uint16Array, 1024);
  len = sharedColumn(Uint32Array, 1024);
  time = sharedColumn(Float64Array, 1024);
  fault = sharedColumn(Uint16Array, 1024);
  summaries = new SummaryStore();
  records = new RecordIndex();

  push(): number {
    if (this.n === this.action.length) {
      const grow = <T extends Column>(a: T): T => sharedColumn(a.constructor as ColumnType<T>, a.length * 2, a);
      this.action = grow(this.action);
      this.retval = grow(this.retval);
      this.file = grow(this.file);
      this.line = grow(this.line);
      this.path = grow(this.path);
      this.outcome = grow(this.outcome);
      this.len = grow(this.len);
      this.time = grow(this.time);
      this.fault = grow(this.fault);
    }
    return this.n++;
  }
}

/**
 * The rows of packets cut short by the capture's snap length (CapturedPacket.truncated) and their captured lengths:
 * few in most captures, so kept apart from the columns (nothing per packet for the others), in row order.
 */
export class CutRows {
  n = 0;
  rows = new Uint32Array(16);
  capLen = new Uint32Array(16);

  push(row: number, capLen: number): void {
    if (this.n === this.rows.length) {
      const rows = new Uint32Array(this.n * 2);
      rows.set(this.rows);
      this.rows = rows;
      const cap = new Uint32Array(this.n * 2);
      cap.set(this.capLen);
      this.capLen = cap;
    }
    this.rows[this.n] = row;
    this.capLen[this.n++] = capLen;
  }

  /** The captured length of row `row` when the snap length cut it, else undefined. */
  capLenOf(row: number): number | undefined {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rows[mid]! < row) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.n && this.rows[lo] === row ? this.capLen[lo] : undefined;
  }

  /** Of these rows, those of packets run (not NOT_RUN in `action`). */
  ran(action: Uint8Array): number {
    let k = 0;
    for (let j = 0; j < this.n; j++) if (action[this.rows[j]!] !== NOT_RUN) k++;
    return k;
  }
}

/** MadeHeaderRows' codes of where a row's Ethernet header came from (0: as captured). */
const ORIGINS: readonly (EthernetHeaderOrigin | undefined)[] = [undefined, 'made up', 'from cooked header'];

/**
 * The rows of packets whose Ethernet header the capture did not hold (CapturedPacket.ethernetHeader: made up in front
 * of a raw IP, loopback or NFLOG payload, or made from a cooked header), with their link type, as runs of rows: a
 * capture has one link type per interface, so a compare per packet read and a push where it changes.
 */
export class MadeHeaderRows {
  n = 0;
  /** The first row of each run, and its code: linkType * 4 + ORIGINS' index (0: headers as captured). */
  start = new Uint32Array(4);
  code = new Uint32Array(4);
  private last = 0;

  /** Row `row` read as `pkt` (rows in order). */
  note(row: number, pkt: CapturedPacket): void {
    const h = pkt.ethernetHeader;
    if (h === undefined && this.last === 0) return;
    const code = h === undefined ? 0 : pkt.linkType * 4 + ORIGINS.indexOf(h);
    if (code === this.last) return;
    if (this.n === this.start.length) {
      const start = new Uint32Array(this.n * 2);
      start.set(this.start);
      this.start = start;
      const c = new Uint32Array(this.n * 2);
      c.set(this.code);
      this.code = c;
    }
    this.start[this.n] = row;
    this.code[this.n++] = code;
    this.last = code;
  }

  /** Where row `row`'s Ethernet header came from and its link type, when the capture did not hold it. */
  of(row: number): { origin: EthernetHeaderOrigin; linkType: number } | undefined {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.start[mid]! <= row) lo = mid + 1;
      else hi = mid;
    }
    const code = lo > 0 ? this.code[lo - 1]! : 0;
    return code === 0 ? undefined : { origin: ORIGINS[code & 3]!, linkType: code >>> 2 };
  }

  /** The one link type and origin of all `rows` rows, when every row's Ethernet header came from the same (none held). */
  everyRow(rows: number): { origin: EthernetHeaderOrigin; linkType: number } | undefined {
    return rows > 0 && this.n === 1 && this.start[0] === 0 ? this.of(0) : undefined;
  }

  /** Of these rows (of `rows` in all), those of packets run (not NOT_RUN in `action`), per link type. */
  ran(action: Uint8Array, rows: number): Map<number, number> {
    const out = new Map<number, number>();
    for (let j = 0; j < this.n; j++) {
      const code = this.code[j]!;
      if (code === 0) continue;
      const end = Math.min(j + 1 < this.n ? this.start[j + 1]! : rows, rows, action.length);
      let k = 0;
      for (let i = this.start[j]!; i < end; i++) if (action[i] !== NOT_RUN) k++;
      if (k) out.set(code >>> 2, (out.get(code >>> 2) ?? 0) + k);
    }
    return out;
  }
}

export class Interner {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  /** The last string asked for: most packets ask for the same one as the packet before. */
  private last: string | undefined;
  private lastIndex = -1;
  of(s: string): number {
    if (s === this.last) return this.lastIndex;
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    this.last = s;
    this.lastIndex = i;
    return i;
  }
}

/** The action column's value for a packet the capturing host sent (CapturedPacket.outgoing): listed, not run. */
export const NOT_RUN = 0xff;
/** Why a NOT_RUN row was not run, by the code its retval column holds (notRunCode): as `xdp-lens run`'s "notRun". */
export const NOT_RUN_REASONS = ['outgoing', 'too short', 'too long'] as const;
/** A packet listed and not run: 0 sent by the capturing host, 1 shorter than an Ethernet header, 2 longer than
 * BPF_PROG_TEST_RUN takes (net/capture.ts frameLengthNotRun); -1 when it runs. `pkt.frame` must hold the frame. */
export function notRunCode(pkt: CapturedPacket): number {
  if (pkt.outgoing) return 0;
  const n = pkt.frame.length;
  return n < XDP_MIN_FRAME ? 1 : n > XDP_MAX_FRAME ? 2 : -1;
}
const FIRST_FAULT_PACKETS = 10;

/** A fault as the bookkeeping needs it (simulator Fault's fields). */
export interface VerdictFault {
  kind: string;
  message: string;
  loc?: { file: string; line: number };
}

/**
 * What the program and the driver did with one packet, as the bookkeeping needs it (from a DriverPacket): one object
 * refilled per packet.
 */
export interface PacketVerdict {
  /** Index in ACTIONS. */
  action: number;
  retval: number;
  path: string;
  outcome: string;
  note: string | undefined;
  fault: VerdictFault | undefined;
  /** The exit instruction's location (RunResult.exitLoc); file undefined when there is none. */
  exitFile: string | undefined;
  exitLine: number;
  queue: number;
  uninitStackRead: boolean;
  /** A stale checksum the program left on a packet it sent on (run.ts staleChecksum). */
  stale: { outcome: string; note: string } | undefined;
}

export function newVerdict(): PacketVerdict {
  return { action: 0, retval: 0, path: '', outcome: '', note: undefined, fault: undefined, exitFile: undefined, exitLine: 0, queue: 0, uninitStackRead: false, stale: undefined };
}

/** An exit's entry while counting: its packets per outcome by the outcome's index (first seen first in `order`). */
interface ExitCount {
  exit: Omit<RunExit, 'outcomes'>;
  order: number[];
  byOutcome: number[];
}

/** A PacketLog as one thread hands it to another (structured-cloneable; the columns stay in shared memory). */
export interface PacketLogParts {
  path: string;
  cols: Omit<Columns, 'push' | 'summaries' | 'records'>;
  files: string[];
  paths: string[];
  faultKeys: string[];
  outcomeNames: string[];
  outcomeCounts: number[];
  outcomeIssues: RunOutcomeIssue[];
  exits: RunExit[];
  faults: RunFault[];
  actionCounts: Float64Array;
  stats: RunStatsJson;
  uninitStackReads: number;
  outgoing: number;
  lengthNotRun?: number;
}

export class PacketLog {
  cols = new Columns();
  private readonly files = new Interner();
  private readonly paths = new Interner();
  private readonly faultKeys = new Interner();
  private readonly outcomeNames = new Interner();
  /** Packets per outcome, by the outcome's index in outcomeNames (first seen first). */
  private readonly outcomeCounts: number[] = [];
  /** Per outcome index: whether it names a reason ('dropped: ...'), which the outcome issues list. */
  private readonly outcomeHasReason: boolean[] = [];
  private lastExitKey = -1;
  private lastExit: ExitCount | undefined;
  private readonly outcomeIssues = new Map<string, RunOutcomeIssue>();
  private readonly exits = new Map<number, ExitCount>();
  private readonly faults: RunFault[] = [];
  /** Packets per action, by the action's index in ACTIONS. */
  private readonly actionCounts = new Float64Array(ACTIONS.length);
  /** The first packet's time as numbers (classic pcap): times since it without a BigInt per packet. */
  private firstSec = NaN;
  private firstNanos = 0;
  private firstTs: bigint | undefined;
  private readonly stats = new RunStats();
  private uninitStackReads = 0;
  /** Packets the capturing host sent: listed, not run (CapturedPacket.outgoing). */
  outgoing = 0;
  /** Of those (`outgoing`), the packets not run for their length (NOT_RUN_REASONS 1 and 2). */
  lengthNotRun = 0;
  /** A log handed over by another thread (`from`): its parts as they came. */
  private handed: PacketLogParts | undefined;

  /** `path`: the program's file (the file of return lines). */
  constructor(readonly path: string) {}

  /** The packets recorded: those run and those listed as not run (outgoing); a row each, by capture number. */
  get packets(): number {
    return this.cols.n;
  }

  /** The packets run (the summary's `packets`, what a limit counts). */
  get ran(): number {
    return this.cols.n - this.outgoing;
  }

  get byAction(): Record<XdpAction, number> {
    return Object.fromEntries(ACTIONS.map((a, k) => [a, this.actionCounts[k]!])) as Record<XdpAction, number>;
  }

  /** Packets per outcome, in the order the outcomes were first seen. */
  get byOutcome(): Map<string, number> {
    return new Map(this.outcomeCounts.map((n, oi) => [this.outcomeNames.list[oi]!, n]));
  }

  /** ns since the first packet (the first packet asked for is the first). */
  timeOf(pkt: CapturedPacket): number {
    if (this.firstTs === undefined) {
      this.firstTs = pkt.tsNs;
      if (pkt.tsSec !== undefined && pkt.tsNanos !== undefined) {
        this.firstSec = pkt.tsSec;
        this.firstNanos = pkt.tsNanos;
      }
    }
    return this.sinceFirst(pkt);
  }

  /**
   * ns since the first packet, as Number(tsNs - first tsNs): from the reader's seconds and nanoseconds when both
   * packets have them and the difference is exact in a double (under 2^53 ns, about 104 days), else by BigInt.
   */
  private sinceFirst(pkt: CapturedPacket): number {
    const sec = pkt.tsSec;
    const nanos = pkt.tsNanos;
    if (sec !== undefined && nanos !== undefined && this.firstSec === this.firstSec) {
      const ds = sec - this.firstSec;
      const dn = nanos - this.firstNanos;
      if (ds > -9e6 && ds < 9e6 && dn > -4e9 && dn < 4e9) return ds * 1e9 + dn;
    }
    return Number(pkt.tsNs - this.firstTs!);
  }

  /** A packet listed and not run (`reason`: its NOT_RUN_REASONS index): a row at its place, nothing run or counted. Its row index. */
  outgoingRow(wireLen: number, time: number, reason = 0): number {
    this.outgoing++;
    if (reason !== 0) this.lengthNotRun++;
    const i = this.cols.push();
    this.cols.action[i] = NOT_RUN;
    this.cols.retval[i] = reason;
    this.cols.len[i] = wireLen;
    this.cols.time[i] = time;
    return i;
  }

  /** Record packet `index` (its capture number): what it did (`v`), its length, time and return line. Its row index. */
  record(index: number, wireLen: number, time: number, v: PacketVerdict, returnLine: number | undefined): number {
    const { cols, files, paths, outcomeNames, outcomeCounts, outcomeIssues, exits, faultKeys, faults } = this;
    const i = cols.push();
    const action = v.action;
    const fault = v.fault;
    const actionName = ACTIONS[action]!;
    let file = '';
    let line = 0;
    if (fault?.loc) {
      file = fault.loc.file;
      line = fault.loc.line;
    } else if (returnLine !== undefined) {
      file = this.path;
      line = returnLine;
    } else if (v.exitFile !== undefined) {
      file = v.exitFile;
      line = v.exitLine;
    }
    cols.action[i] = action;
    cols.retval[i] = v.retval;
    const fileIndex = files.of(file);
    cols.file[i] = fileIndex;
    cols.line[i] = line;
    cols.path[i] = paths.of(v.path);
    const outcome = v.outcome;
    const oi = outcomeNames.of(outcome);
    cols.outcome[i] = Math.min(oi, 0xffff);
    if (oi === outcomeCounts.length) {
      outcomeCounts.push(0);
      this.outcomeHasReason.push(outcome.includes(':'));
    }
    outcomeCounts[oi]!++;
    if (this.outcomeHasReason[oi] && !fault) {
      const ok = `${file}\0${line}\0${outcome}`;
      let o = outcomeIssues.get(ok);
      if (!o) outcomeIssues.set(ok, (o = { file, line, action: actionName, outcome, ...(v.note ? { note: v.note } : {}), count: 0, firstPackets: [] }));
      o.count++;
      if (o.firstPackets.length < FIRST_FAULT_PACKETS) o.firstPackets.push(index);
    }
    // stale-checksum at run time: a packet sent on whose valid checksum the program broke, on the line it left through.
    const stale = v.stale;
    if (stale) {
      const ck = `${file}\0${line}\0${stale.outcome}`;
      let o = outcomeIssues.get(ck);
      if (!o) outcomeIssues.set(ck, (o = { file, line, action: actionName, outcome: stale.outcome, note: stale.note, count: 0, firstPackets: [] }));
      o.count++;
      if (o.firstPackets.length < FIRST_FAULT_PACKETS) o.firstPackets.push(index);
    }
    cols.len[i] = wireLen;
    cols.time[i] = time;
    this.stats.record(time, action, outcome, v.queue, file, line, fault);
    this.actionCounts[action]++;
    // A number for (file, line, action): no key string built per packet (file < 2^16, action < 8, line < 2^32); below
    // 2^29 (a small integer, which a Map hashes fastest) for the first 64 files and lines below 2^20, else above.
    const ek = fileIndex < 64 && line < 0x10_0000 ? (fileIndex * 8 + action) * 0x10_0000 + line : 0x2000_0000 + (fileIndex * 8 + action) * 0x1_0000_0000 + line;
    let e = ek === this.lastExitKey ? this.lastExit : exits.get(ek);
    if (!e) exits.set(ek, (e = { exit: { file, line, action: actionName, count: 0, firstPacket: index }, order: [], byOutcome: [] }));
    this.lastExitKey = ek;
    this.lastExit = e;
    e.exit.count++;
    const had = e.byOutcome[oi];
    if (had === undefined) {
      e.order.push(oi);
      e.byOutcome[oi] = 1;
    } else e.byOutcome[oi] = had + 1;
    if (v.uninitStackRead) this.uninitStackReads++;
    if (fault) {
      const fk = `${file}\0${line}\0${fault.kind}`;
      const known = faultKeys.list.length;
      const fi = faultKeys.of(fk);
      if (fi === known) faults.push({ file, line, kind: fault.kind, message: fault.message, count: 0, firstPackets: [] });
      const f = faults[fi]!;
      f.count++;
      if (f.firstPackets.length < FIRST_FAULT_PACKETS) f.firstPackets.push(index);
      cols.fault[i] = Math.min(fi + 1, 0xffff);
    }
    return i;
  }

  /** The summary's outcome issues, exits and faults, and the run's statistics. */
  summaryParts(): { outcomeIssues: RunOutcomeIssue[]; exits: RunExit[]; faults: RunFault[]; uninitStackReads: number } {
    const h = this.handed;
    if (h) return { outcomeIssues: h.outcomeIssues, exits: h.exits, faults: h.faults, uninitStackReads: h.uninitStackReads };
    return {
      outcomeIssues: [...this.outcomeIssues.values()].map((o) => ({ ...o, firstPackets: [...o.firstPackets] })),
      exits: [...this.exits.values()].map(({ exit: x, order, byOutcome }) => ({ file: x.file, line: x.line, action: x.action, count: x.count, outcomes: Object.fromEntries(order.map((oi) => [this.outcomeNames.list[oi]!, byOutcome[oi]!])), firstPacket: x.firstPacket })).sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.action.localeCompare(b.action)),
      faults: this.faults.map((f) => ({ ...f, firstPackets: [...f.firstPackets] })),
      uninitStackReads: this.uninitStackReads,
    };
  }

  statsJson(): RunStatsJson {
    return this.handed ? this.handed.stats : this.stats.json();
  }

  /** The string tables of the columns: files, paths, fault keys, outcomes. */
  tables(): { files: string[]; paths: string[]; faultKeys: string[]; outcomes: string[] } {
    return { files: [...this.files.list], paths: [...this.paths.list], faultKeys: [...this.faultKeys.list], outcomes: [...this.outcomeNames.list] };
  }

  /** Everything, for another thread (`from`). */
  parts(): PacketLogParts {
    const c = this.cols;
    const { outcomeIssues, exits, faults, uninitStackReads } = this.summaryParts();
    return {
      path: this.path,
      cols: { n: c.n, action: c.action, retval: c.retval, file: c.file, line: c.line, path: c.path, outcome: c.outcome, len: c.len, time: c.time, fault: c.fault },
      files: this.files.list,
      paths: this.paths.list,
      faultKeys: this.faultKeys.list,
      outcomeNames: this.outcomeNames.list,
      outcomeCounts: this.outcomeCounts,
      outcomeIssues,
      exits,
      faults,
      actionCounts: this.actionCounts,
      stats: this.stats.json(),
      uninitStackReads,
      outgoing: this.outgoing,
      lengthNotRun: this.lengthNotRun,
    };
  }

  /** The log another thread kept (its `parts`): read only (counts, summary, columns, tables). */
  static from(p: PacketLogParts): PacketLog {
    const log = new PacketLog(p.path);
    Object.assign(log.cols, p.cols);
    for (const s of p.files) log.files.of(s);
    for (const s of p.paths) log.paths.of(s);
    for (const s of p.faultKeys) log.faultKeys.of(s);
    for (const s of p.outcomeNames) log.outcomeNames.of(s);
    log.outcomeCounts.push(...p.outcomeCounts);
    log.actionCounts.set(p.actionCounts);
    log.outgoing = p.outgoing;
    log.lengthNotRun = p.lengthNotRun ?? 0;
    log.handed = p;
    return log;
  }
}
