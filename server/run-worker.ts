// A capture run's worker thread (issue 12): on a big capture, everything of the run that is not the real program's
// own run happens here, on the second core, with a reader of its own on the same capture.
//
// The server's thread runs the program and the driver on each packet and sends what they did (a PacketVerdict: the
// action, return value, path, outcome, note, fault, exit instruction, queue, a stale checksum) through a ring in
// shared memory: a few integers per packet, its strings once each (ids, their text sent on a MessagePort the worker
// reads synchronously). The worker reads the same packet from its own reader, runs the return-line twin on it
// (simulator/return-lines.ts: a whole second program run per packet) and keeps the run's bookkeeping (PacketLog,
// server/packet-log.ts: the rows, the counts, the exits per return line, the outcome issues, the faults, the run
// statistics) with ReturnLines.lineFor's rule (no line when the real run faulted or the twin's action differs). The
// twin's runs depend on nothing of the real run (its own session, maps, clock and driver, built with the same options,
// fed the same packets in the same order), so its lines are those a twin beside the real run would give; and the
// PacketLog is fed the same values in the same order as on the server's thread: the same run. When the run ends, the
// server's thread says how many packets it recorded, and the worker hands its PacketLog over (its columns stay in
// shared memory), with the packets' one-line summaries when it made them (a capture that cannot be read by position).
//
// The server's thread keeps only the counts its progress line shows. It never gets more than the ring's size ahead of
// the worker: the ring holds 2^18 packets, so a worker still starting (a few hundred milliseconds without a spare
// worker, see below) delays nothing until the server's thread has run that many. Should the worker fail, the run
// stops with the reason.
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS, type LoadOptions, type Session } from '../simulator/session.ts';
import { ReturnLines } from '../simulator/return-lines.ts';
import { openCapture, CaptureError, XDP_MIN_FRAME, type CapturedPacket } from '../simulator/net/capture.ts';
import { summarize } from '../simulator/net/dissect.ts';
import { RxBatch, type Driver, type DriverPacket } from '../simulator/driver/rx.ts';
import type { LoadedObject } from '../simulator/elf/types.ts';
import { SummaryStore } from './summary-store.ts';
import { NOT_RUN, notRunCode, PacketLog, newVerdict, type PacketLogParts, type PacketVerdict, type VerdictFault } from './packet-log.ts';

/**
 * Packets the server's thread may run ahead of the worker (the ring's size, 11.5 MB): about 0.35 s of a run, what a
 * worker started without a spare (after an edit) takes to start and build its twin.
 */
const RING = 1 << 18;
/**
 * ctrl slots: packets sent by the server's thread, packets recorded by the worker, the worker's state, packets the run
 * recorded (-1 until it ends), 1 when the twin was built ahead (a spare worker's), 1 while the worker waits for a
 * packet, 1 while the server's thread waits for room. PRODUCED and CONSUMED each on a cache line of its own (the two
 * threads store them), the rest on a third.
 */
const PRODUCED = 0;
const CONSUMED = 16;
const STATE = 32;
const STOP = 33;
const AHEAD = 34;
const WORKER_WAITS = 35;
const SERVER_WAITS = 36;
/** How the worker's twin gives lines (ReturnLines.how): 0 beside every packet, 1 settled, 2 demand. */
const HOW = 37;
const HOWS = ['twin', 'settled', 'demand'] as const;
const CTRL_BYTES = 192;
/** STATE values (0: starting). */
const READY = 1;
const ENDED = 2;
const FAILED = 3;
/**
 * A packet's slot in the ring: action (NOT_RUN: outgoing), return value, ids of path, outcome, note, fault, exit file;
 * exit line, queue, flags (1: uninitialised stack read) + stale-checksum id * 2, the packet's length (a check that both
 * readers are at the same packet).
 */
const SLOT = 11;
/** Frames the worker's twin runs at a time (ReturnLines.runBatch). */
const BATCH = 256;
/** settle's twin action for a packet whose line comes from the server's thread's action (oneRun). */
const LATE = -2;

/** What the worker needs (structured-cloneable, the port transferred). */
export interface RunWorkerData {
  /** The program's file (the file of return lines). */
  path: string;
  /** How to build the same twin; none: no return lines (an object file, or a twin that did not build). */
  twin?: { path: string; source: string; compile: LoadOptions };
  /** RunConfig without the loaded object (server/run.ts `build`). */
  config: Record<string, unknown> & { capture: string };
  /** Build the packets' summaries (false: the run keeps its records' offsets and makes them per page). */
  summaries: boolean;
  /** Packets in the ring (default RING; tests make it small). */
  ring?: number;
  shared: SharedArrayBuffer;
  /** The strings (and faults) of the packets' verdicts, each sent once: [id, value]. */
  port: MessagePort;
}

type Message =
  | { error: string }
  | { log: PacketLogParts; summaries?: { bytes: Uint8Array; ends: Uint32Array } }
  /** A spare worker built a twin ahead (the file's path). */
  | { spareReady: string };

/** The line source of a run that records on the server's thread (run.ts OwnLines). */
export interface LineSource {
  lineFor(pkt: CapturedPacket, real: DriverPacket): number | undefined;
  finish(): void;
}

/** The server thread's side: sends each packet's verdict, then takes the worker's PacketLog. */
export class RunWorker {
  private readonly ctrl: Int32Array;
  private readonly ring: Int32Array;
  private readonly size: number;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** Packets sent. */
  private sent = 0;
  /** The worker's CONSUMED as last read (the room left is size - (sent - consumed)). */
  private consumed = 0;
  /** Ids of the strings and faults sent (0: none). */
  private readonly ids = new Map<string, number>();
  private nextId = 1;
  private lastPath = '';
  private lastPathId = 0;
  private lastOutcome = '';
  private lastOutcomeId = 0;
  private lastFile: string | undefined;
  private lastFileId = 0;
  private lastFault: VerdictFault | undefined;
  private lastFaultId = 0;
  private error: string | undefined;
  private exited = false;
  private result: Extract<Message, { log: PacketLogParts }> | undefined;
  private settled: (() => void) | undefined;

  private constructor(script: string, data: Omit<RunWorkerData, 'shared' | 'port'>) {
    this.size = Math.max(1, data.ring ?? RING);
    const shared = new SharedArrayBuffer(CTRL_BYTES + this.size * SLOT * 4);
    this.ctrl = new Int32Array(shared, 0, CTRL_BYTES / 4);
    this.ring = new Int32Array(shared, CTRL_BYTES, this.size * SLOT);
    Atomics.store(this.ctrl, STOP, -1);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const job = { ...data, shared, port: port2 } satisfies RunWorkerData;
    // A spare worker started ahead (its script loaded, perhaps this very twin built) takes the job; else a new one.
    const s = takeSpare(script);
    if (s) {
      this.worker = s.worker;
      s.worker.postMessage({ job } satisfies SpareMessage, [port2]);
    } else this.worker = new Worker(script, { workerData: job, transferList: [port2] });
    this.worker.unref(); // the server's exit never waits for it (a run in progress is abandoned anyway)
    this.worker.on('message', (m: Message) => {
      if ('error' in m) this.error ??= m.error;
      else if ('spareReady' in m) return;
      else this.result = m;
      this.settled?.();
    });
    this.worker.on('error', (e) => {
      this.error ??= e.message;
      Atomics.store(this.ctrl, STATE, FAILED);
      this.settled?.();
    });
    this.worker.on('exit', () => {
      this.exited = true;
      this.settled?.();
    });
    // The spare's own listeners go only now: a Worker whose last 'message' listener is removed stops its port (and
    // removeAllListeners also drops what would start it again: its messages never came).
    s?.detach();
  }

  /** The worker's script next to this bundle (dist/run-worker.js); undefined when there is none (run from sources). */
  static script(dir: string): string | undefined {
    const p = join(dir, 'run-worker.js');
    return existsSync(p) ? p : undefined;
  }

  static start(script: string, data: Omit<RunWorkerData, 'shared' | 'port'>): RunWorker {
    return new RunWorker(script, data);
  }

  /**
   * Whether the ring has room for the next packet; waits for the worker until `until` (performance.now()), then says
   * no so that the event loop turns. A worker that failed is reported by `failure` (the run stops).
   */
  room(until: number, ahead = 0): boolean {
    if (this.sent + ahead - this.consumed < this.size) return true;
    const ctrl = this.ctrl;
    this.flush();
    for (;;) {
      const c = Atomics.load(ctrl, CONSUMED);
      this.consumed = c;
      if (this.sent + ahead - c < this.size) return true;
      if (this.failure() !== undefined) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      // The worker may be waiting for the packets since the last wake (a ring smaller than 1024).
      if (Atomics.load(ctrl, WORKER_WAITS) === 1) Atomics.notify(ctrl, PRODUCED);
      Atomics.store(ctrl, SERVER_WAITS, 1);
      Atomics.wait(ctrl, CONSUMED, c, Math.min(left, 5));
      Atomics.store(ctrl, SERVER_WAITS, 0);
    }
  }

  /** Why the worker stopped before recording the run, else undefined. */
  failure(): string | undefined {
    const state = Atomics.load(this.ctrl, STATE);
    if (state === FAILED || (this.exited && !this.result)) return `the run's worker thread failed: ${this.error ?? 'it exited'}`;
    return undefined;
  }

  /** The id of a string, sent to the worker the first time. */
  private idOf(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(s, id);
      this.port.postMessage([id, s]);
    }
    return id;
  }

  /** The id of a fault (by its fields), sent to the worker the first time. */
  private faultId(f: VerdictFault): number {
    if (f === this.lastFault) return this.lastFaultId;
    const key = `\u0001${f.kind}\0${f.message}\0${f.loc ? `${f.loc.file}\0${f.loc.line}` : ''}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(key, id);
      this.port.postMessage([id, { kind: f.kind, message: f.message, ...(f.loc ? { loc: { file: f.loc.file, line: f.loc.line } } : {}) }]);
    }
    this.lastFault = f;
    this.lastFaultId = id;
    return id;
  }

  /** Send the next packet's verdict (`room` said yes); `wireLen`: its length (both readers at the same packet). */
  send(v: PacketVerdict, wireLen: number): void {
    const ring = this.ring;
    const o = (this.sent % this.size) * SLOT;
    ring[o] = v.action;
    ring[o + 1] = v.retval;
    if (v.path !== this.lastPath) {
      this.lastPath = v.path;
      this.lastPathId = this.idOf(v.path);
    }
    ring[o + 2] = this.lastPathId;
    if (v.outcome !== this.lastOutcome) {
      this.lastOutcome = v.outcome;
      this.lastOutcomeId = this.idOf(v.outcome);
    }
    ring[o + 3] = this.lastOutcomeId;
    ring[o + 4] = v.note === undefined ? 0 : this.idOf(v.note);
    ring[o + 5] = v.fault === undefined ? 0 : this.faultId(v.fault);
    if (v.exitFile !== this.lastFile) {
      this.lastFile = v.exitFile;
      this.lastFileId = v.exitFile === undefined ? 0 : this.idOf(v.exitFile);
    }
    ring[o + 6] = this.lastFileId;
    ring[o + 7] = v.exitLine;
    ring[o + 8] = v.queue;
    ring[o + 9] = (v.uninitStackRead ? 1 : 0) + (v.stale === undefined ? 0 : this.idOf(`\u0002${v.stale.outcome}\0${v.stale.note}`) * 2);
    ring[o + 10] = wireLen;
    this.publish();
  }

  /** Send a packet the capturing host sent (listed, not run). */
  sendOutgoing(wireLen: number): void {
    const o = (this.sent % this.size) * SLOT;
    this.ring[o] = NOT_RUN;
    this.ring[o + 10] = wireLen;
    this.publish();
  }

  private publish(): void {
    const n = ++this.sent;
    // Stored every 64 packets (and by flush): a store per packet made the two threads take the cache line from each
    // other at every packet. A worker that caught up is woken every 1024 packets, not for each (a wake per packet was
    // 0.8 s of a 1M run's main-thread profile here, one per 64 packets 0.25 s).
    if ((n & 63) === 0) {
      Atomics.store(this.ctrl, PRODUCED, n);
      if ((n & 1023) === 0 && Atomics.load(this.ctrl, WORKER_WAITS) === 1) Atomics.notify(this.ctrl, PRODUCED);
    }
  }

  /** Every packet sent is made visible to the worker (before the server's thread lets the event loop turn). */
  flush(): void {
    Atomics.store(this.ctrl, PRODUCED, this.sent);
    if (Atomics.load(this.ctrl, WORKER_WAITS) === 1) Atomics.notify(this.ctrl, PRODUCED);
  }

  /** The worker was a spare with the run's twin built ahead (run.ts warmRun). */
  get builtAhead(): boolean {
    return Atomics.load(this.ctrl, AHEAD) === 1;
  }

  /** How the worker's twin gave the run's return lines (ReturnLines.how). */
  get twinHow(): 'twin' | 'settled' | 'demand' {
    return HOWS[Atomics.load(this.ctrl, HOW)] ?? 'twin';
  }

  /**
   * The run recorded `n` packets (all sent): the worker's PacketLog of them, and the summaries when it made them; then
   * the worker is ended. A string says why the worker failed.
   */
  async finish(n: number): Promise<{ log: PacketLog; summaries?: SummaryStore } | string> {
    Atomics.store(this.ctrl, PRODUCED, this.sent);
    Atomics.store(this.ctrl, STOP, n);
    Atomics.notify(this.ctrl, PRODUCED);
    Atomics.notify(this.ctrl, STOP);
    while (!this.result && !this.error && !this.exited) await new Promise<void>((r) => (this.settled = r));
    this.settled = undefined;
    this.end();
    const r = this.result;
    if (!r) return this.failure() ?? `the run's worker thread failed: ${this.error ?? 'it exited'}`;
    if (r.log.cols.n !== n) return `the run's worker thread recorded ${r.log.cols.n} packets of ${n}`;
    return { log: PacketLog.from(r.log), ...(r.summaries ? { summaries: SummaryStore.from(r.summaries) } : {}) };
  }

  /** End the worker now (a run that failed or is done). */
  end(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A spare worker: started ahead of a run (at the open or save of an XDP program, and after a run), its script loaded
// and the twin of the program as saved built, so that "Run on Capture" on a big capture does not wait for either: a
// worker's start (loading the bundle, clang's version for the object cache, the twin's object and session) takes a few
// hundred milliseconds, during which the server's thread could only fill the ring.

/** What a spare worker is sent: a twin to build ahead of a run, then the run's job. */
export type SpareMessage = { prepare: TwinPlan } | { job: RunWorkerData };
/** A twin as a run's worker builds it (RunWorkerData's twin and config). */
export interface TwinPlan {
  twin: NonNullable<RunWorkerData['twin']>;
  config: RunWorkerData['config'];
}

interface Spare {
  worker: Worker;
  script: string;
  exited: boolean;
  /** Remove the listeners warmSpare set (a run took the worker). */
  detach(): void;
}
let spare: Spare | undefined;

/** Start a spare worker when there is none, and have it build `plan`'s twin (replacing one it built before). */
export function warmSpare(script: string, plan?: TwinPlan, log?: (message: string) => void): void {
  if (!spare || spare.exited || spare.script !== script) {
    if (spare && !spare.exited) void spare.worker.terminate();
    const worker = new Worker(script, { workerData: { spare: true } });
    worker.unref();
    const gone = () => {
      s.exited = true;
      if (spare === s) spare = undefined;
    };
    const ready = (m: Message) => {
      if ('spareReady' in m) log?.(`run: a worker thread is ready for the next run of ${m.spareReady}`);
    };
    const s: Spare = {
      worker,
      script,
      exited: false,
      detach: () => {
        worker.off('exit', gone);
        worker.off('error', gone);
        worker.off('message', ready);
      },
    };
    worker.on('exit', gone);
    worker.on('error', gone);
    worker.on('message', ready);
    spare = s;
  }
  if (plan) spare.worker.postMessage({ prepare: plan } satisfies SpareMessage);
}

/** The spare worker, for a run to take (then there is none until the next warmSpare). */
function takeSpare(script: string): Spare | undefined {
  const s = spare;
  spare = undefined;
  if (!s) return undefined;
  if (s.exited || s.script !== script) {
    void s.worker.terminate();
    return undefined;
  }
  return s;
}

/** JSON with object keys sorted: the same text for the same values whatever order they were set in. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** What a twin's build depends on: its source and compile options, and the run's options (not its capture or limit). */
export function twinKey(twin: TwinPlan['twin'], config: TwinPlan['config']): string {
  const { capture: _capture, captureStamp: _stamp, limit: _limit, objectPath: _object, ...options } = config;
  return stableJson([twin.path, twin.source, twin.compile, options]);
}

/** A spare worker's body: builds the twins it is sent, then runs the job it is sent with the twin built for it. */
export function spareWorkerMain(
  port: { on(event: 'message', f: (m: SpareMessage) => void): unknown; removeAllListeners(event: 'message'): unknown },
  build: (obj: LoadedObject, config: RunWorkerData['config']) => { session: Session; driver: Driver },
  post: (m: Message, transfer?: ArrayBuffer[]) => void,
): void {
  let prepared: { key: string; lines: ReturnLines | string } | undefined;
  port.on('message', (m) => {
    if ('prepare' in m) {
      const { twin, config } = m.prepare;
      const key = twinKey(twin, config);
      if (prepared?.key !== key) prepared = { key, lines: ReturnLines.create(twin.path, twin.source, twin.compile, (o) => build(o, config), { oneRun: true }) };
      if (typeof prepared.lines !== 'string') post({ spareReady: twin.path });
      return;
    }
    port.removeAllListeners('message');
    const t = m.job.twin;
    const ready = t && prepared && typeof prepared.lines !== 'string' && prepared.key === twinKey(t, m.job.config) ? prepared.lines : undefined;
    prepared = undefined;
    runWorkerMain(m.job, build, post, ready);
  });
}

/** The worker's body (server/run-worker-main.ts); `ready`: the job's twin, built ahead by a spare worker. */
export function runWorkerMain(
  data: RunWorkerData,
  build: (obj: LoadedObject, config: RunWorkerData['config']) => { session: Session; driver: Driver },
  post: (m: Message, transfer?: ArrayBuffer[]) => void,
  ready?: ReturnLines,
): void {
  const ctrl = new Int32Array(data.shared, 0, CTRL_BYTES / 4);
  const size = Math.max(1, data.ring ?? RING);
  const ring = new Int32Array(data.shared, CTRL_BYTES, size * SLOT);
  const port = data.port;
  try {
    let twin: ReturnLines | undefined = ready;
    if (ready) Atomics.store(ctrl, AHEAD, 1);
    if (data.twin && !twin) {
      const t = ReturnLines.create(data.twin.path, data.twin.source, data.twin.compile, (o) => build(o, data.config), { oneRun: true });
      if (typeof t === 'string') throw new Error(t);
      twin = t;
    }
    Atomics.store(ctrl, STATE, READY);
    const log = new PacketLog(data.path);
    const store = data.summaries ? new SummaryStore() : undefined;
    // The verdicts' strings and faults by id (0: none), read from the port as ids beyond them come.
    const table: unknown[] = [undefined];
    const value = <T>(id: number): T => {
      while (id >= table.length) {
        const m = receiveMessageOnPort(port);
        if (!m) throw new Error(`the run's verdict names string ${id}, which never came`);
        const [i, v] = m.message as [number, unknown];
        table[i] = v;
      }
      return table[id] as T;
    };
    const v = newVerdict();
    // Views of the read buffer, one packet object refilled (its BigInt tsNs never read: the twin goes by tsSec/tsNanos).
    // A twin that takes batches (ReturnLines.runBatch, as `xdp-lens run X.c` runs it) gets the frames of an Ethernet
    // pcap where the reader left them (inPlace): a batch is the reader's buffer and the frames' offsets in it.
    const batched = twin !== undefined && twin.batchable();
    const reader = openCapture(data.config.capture, { views: true, reuse: true, inPlace: batched });
    const inPlace = batched && reader.inPlace;
    const batch = inPlace ? new RxBatch(reader.buffer, BATCH) : undefined;
    const frameMax = batch ? twin!.batchFrameMax() : 0;
    const bIndex = new Float64Array(BATCH);
    const bWire = new Float64Array(BATCH);
    const bTime = new Float64Array(BATCH);
    let j = 0;
    // Return lines from one run (ReturnLines.create's oneRun): where the twin's code settles the line of an action, a
    // packet's line comes from the server's thread's action when it has come (the twin runs, after that, only for
    // packets whose action it leaves open); else the twin runs on every packet ahead, as before.
    const oneRun = twin !== undefined && twin.how !== 'twin';
    if (twin) Atomics.store(ctrl, HOW, HOWS.indexOf(twin.how));
    // oneRun: the packet settle's LATE line is for: its index in the batch (twin.runBatch), else -1 and the packet.
    let lateAt = -1;
    let latePkt: CapturedPacket | undefined;
    /**
     * Record packet j (`index`, `wireLen`, `time`) with the server's thread's verdict of it, once that has come, and
     * the twin's line and action (-1: no twin run). False: the run ended before packet j.
     */
    // PRODUCED as last read: read again only once packet j is past it.
    let produced = 0;
    const settle = (index: number, wireLen: number, time: number, line: number | undefined, twinAction: number, notRun: number): boolean => {
      if (j >= produced) produced = Atomics.load(ctrl, PRODUCED);
      for (let p = produced; p <= j; p = produced = Atomics.load(ctrl, PRODUCED)) {
        const s = Atomics.load(ctrl, STOP);
        if (s >= 0 && j >= s) return false;
        // What is recorded so far is said before waiting (CONSUMED is stored every 64 packets otherwise).
        Atomics.store(ctrl, CONSUMED, j);
        // The server's thread may be waiting for room (a ring smaller than 1024).
        if (Atomics.load(ctrl, SERVER_WAITS) === 1) Atomics.notify(ctrl, CONSUMED);
        Atomics.store(ctrl, WORKER_WAITS, 1);
        Atomics.wait(ctrl, PRODUCED, p, 20);
        Atomics.store(ctrl, WORKER_WAITS, 0);
      }
      const o = (j % size) * SLOT;
      if (ring[o + 10] !== wireLen) throw new Error(`the run's worker thread is out of step with the run at packet ${j} (a capture changed while it ran?)`);
      const action = ring[o]!;
      if (notRun >= 0 || action === NOT_RUN) log.outgoingRow(wireLen, time, notRun >= 0 ? notRun : 0);
      else {
        v.action = action;
        v.retval = ring[o + 1]! >>> 0;
        v.path = value<string>(ring[o + 2]!);
        v.outcome = value<string>(ring[o + 3]!);
        v.note = value<string | undefined>(ring[o + 4]!);
        v.fault = value<VerdictFault | undefined>(ring[o + 5]!);
        v.exitFile = value<string | undefined>(ring[o + 6]!);
        v.exitLine = ring[o + 7]!;
        v.queue = ring[o + 8]!;
        const flags = ring[o + 9]!;
        v.uninitStackRead = (flags & 1) === 1;
        const staleId = flags >>> 1;
        if (staleId === 0) v.stale = undefined;
        else {
          const t = value<string>(staleId);
          const cut = t.indexOf('\0');
          v.stale = { outcome: t.slice(1, cut), note: t.slice(cut + 1) };
        }
        if (twinAction === LATE) {
          // oneRun: the line from the real run's action (ReturnLines.lineInBatchOf / lineOfRun: lineFor's rule).
          const a = ACTIONS[action]!;
          if (lateAt >= 0) line = twin!.lineInBatchOf(lateAt, a, !!v.fault);
          else {
            const p = latePkt!;
            const sec = p.tsSec;
            const nanos = p.tsNanos;
            const byTime = sec !== undefined && nanos !== undefined && nanos < 1_000_000_000 && sec >= 0;
            line = twin!.lineOfRun(p.frame, byTime ? sec : -1, byTime ? nanos : 0, byTime ? undefined : p.tsNs, a, !!v.fault);
          }
          twinAction = action;
        }
        // ReturnLines.lineFor's rule: no line when the real run faulted or the twin's action differs.
        log.record(index, wireLen, time, v, v.fault || twinAction !== action ? undefined : line);
      }
      // Stored every 64 packets (a store per packet shared its cache line with the server's thread's stores), the
      // server's thread woken every 1024 (and before this thread waits).
      j++;
      if ((j & 63) === 0) {
        Atomics.store(ctrl, CONSUMED, j);
        if ((j & 1023) === 0 && Atomics.load(ctrl, SERVER_WAITS) === 1) Atomics.notify(ctrl, CONSUMED);
      }
      return true;
    };
    /** The batch's frames through the twin, then each recorded in turn. False: the run ended. */
    const runBatch = (): boolean => {
      const b = batch!;
      const n = b.count;
      if (n === 0) return true;
      twin!.runBatch(b);
      b.count = b.used = 0;
      if (oneRun) {
        for (let i = 0; i < n; i++) {
          lateAt = i;
          if (!settle(bIndex[i]!, bWire[i]!, bTime[i]!, undefined, LATE, -1)) return false;
        }
        lateAt = -1;
        return true;
      }
      for (let i = 0; i < n; i++) {
        const line = twin!.batchLine(i);
        if (!settle(bIndex[i]!, bWire[i]!, bTime[i]!, line === 0 ? undefined : line, ACTIONS.indexOf(twin!.batchAction(i)), -1)) return false;
      }
      return true;
    };
    try {
      for (let read = 0; ; read++) {
        const stop = Atomics.load(ctrl, STOP);
        if (stop >= 0 && read >= stop) break;
        // Frames in place stay where they are only while the reader reads nothing more into its buffer.
        if (batch !== undefined && batch.count !== 0 && !reader.ready() && !runBatch()) break;
        let pkt;
        try {
          pkt = reader.next();
        } catch (e) {
          if (e instanceof CaptureError) break; // the run's own reader stops at the same record
          throw e;
        }
        if (!pkt) break;
        const at = batch !== undefined ? reader.frameAt : -1;
        if (store) store.push(summarize(at >= 0 ? reader.frameView() : pkt.frame));
        const time = log.timeOf(pkt);
        if (batch !== undefined) {
          const sec = pkt.tsSec;
          const nanos = pkt.tsNanos;
          const len = pkt.capLen;
          if (at >= 0 && !pkt.outgoing && sec !== undefined && nanos !== undefined && nanos < 1_000_000_000 && sec >= 0 && len <= frameMax && len >= XDP_MIN_FRAME) {
            if (!batch.room(len) && !runBatch()) break;
            // The reader's buffer is another array after a record larger than it: the batch (empty then) follows it.
            if (batch.bytes !== reader.buffer) {
              if (!runBatch()) break;
              batch.bytes = reader.buffer;
            }
            const i = batch.addAt(at, len, sec, nanos);
            bIndex[i] = pkt.index;
            bWire[i] = pkt.wireLen;
            bTime[i] = time;
            continue;
          }
          if (!runBatch()) break;
          if (at >= 0) pkt.frame = reader.frameView();
        }
        // The twin's line, before waiting for the server's thread to have run the packet (it does not depend on it).
        let line: number | undefined;
        let twinAction = -1;
        const notRun = notRunCode(pkt);
        if (notRun < 0 && twin && oneRun) {
          latePkt = pkt;
          twinAction = LATE;
        } else if (notRun < 0 && twin) {
          const sec = pkt.tsSec;
          const nanos = pkt.tsNanos;
          line = sec !== undefined && nanos !== undefined && nanos < 1_000_000_000 && sec >= 0 ? twin.runAt(pkt.frame, sec, nanos) : twin.run(pkt.frame, pkt.tsNs);
          twinAction = ACTIONS.indexOf(twin.action);
        }
        if (!settle(pkt.index, pkt.wireLen, time, line, twinAction, notRun)) break;
      }
      if (batch !== undefined) runBatch();
    } finally {
      reader.close();
    }
    Atomics.store(ctrl, CONSUMED, j);
    Atomics.notify(ctrl, CONSUMED);
    Atomics.store(ctrl, STATE, ENDED);
    // Until the run has said how many packets it recorded (its reader stopped where this one did).
    for (let stop = Atomics.load(ctrl, STOP); stop < 0; stop = Atomics.load(ctrl, STOP)) Atomics.wait(ctrl, STOP, stop, 1000);
    const parts = log.parts();
    if (store) {
      store.trim(parts.cols.n); // a summary made of a packet the run did not get to
      const s = store.parts();
      post({ log: parts, summaries: s }, [s.bytes.buffer as ArrayBuffer, s.ends.buffer as ArrayBuffer]);
    } else post({ log: parts });
  } catch (e) {
    post({ error: (e as Error).message });
    Atomics.store(ctrl, STATE, FAILED);
    Atomics.notify(ctrl, CONSUMED);
  }
}
