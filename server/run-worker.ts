// A capture run's worker thread (issue 12): the per-packet work of a big run that depends on nothing the real program
// does, done beside it on a second core, with a reader of its own on the same capture.
//
// 1. The return-line twin (simulator/return-lines.ts): a whole second program run per packet, a third of a big run's
//    time on the server's thread. Its runs depend on nothing of the real run (its own session, maps, clock and driver,
//    built with the same options, fed the same packets in the same order): each twin is a deterministic function of
//    the packets before it, so the worker's lines are the lines the twin beside the real run would give, packet for
//    packet. The worker writes one value per packet into a ring in shared memory: (return line + 1) * 8 + the twin's
//    action (line undefined: the twin ran no marker). The server's thread reads packet i's value once the worker has
//    written it, and applies ReturnLines.lineFor's rule: no line when the real run faulted or the twin's action
//    differs. The worker never gets more than RING packets ahead of the packet the server's thread is at. Until the
//    worker is up (a few hundred milliseconds: the first counts of a run must not wait for it), the server's thread
//    runs its own twin, as it always did; it switches to the worker's lines at the first packet the worker has already
//    done, and from then on leaves its own twin (whose state would be stale).
// 2. The packets' one-line summaries (the packets view's column, `summarize` of the frame): built in a SummaryStore
//    and handed over whole when the run ends (the server's thread tells the worker how many packets it recorded).
//
// Should the worker fail, lines before the switch were the server's own; after it, the run stops with the reason (as
// the twin failing on the server's thread would); summaries are then read from the capture again on the server's
// thread.
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS, type LoadOptions, type Session } from '../simulator/session.ts';
import { ReturnLines } from '../simulator/return-lines.ts';
import { openCapture, CaptureError } from '../simulator/net/capture.ts';
import { summarize } from '../simulator/net/dissect.ts';
import type { Driver, DriverPacket } from '../simulator/driver/rx.ts';
import type { LoadedObject } from '../simulator/elf/types.ts';
import { SummaryStore } from './summary-store.ts';

/** Packets the worker may run ahead of the server's thread. */
const RING = 1 << 16;
/** ctrl slots: packets done, packet the server's thread is at (a lower bound), state, packets the run recorded. */
const PRODUCED = 0;
const CONSUMED = 1;
const STATE = 2;
const STOP = 3;
/** STATE values (0: starting). */
const READY = 1;
const ENDED = 2;
const FAILED = 3;

/** What the worker needs (all structured-cloneable). */
export interface RunWorkerData {
  /** How to build the same twin; none: summaries only. */
  twin?: { path: string; source: string; compile: LoadOptions };
  /** RunConfig without the loaded object (server/run.ts `build`). */
  config: Record<string, unknown> & { capture: string };
  /** Build the packets' summaries (false: the run keeps its records' offsets and makes them per page). */
  summaries: boolean;
  shared: SharedArrayBuffer;
}

type Message = { error: string } | { summaries: { bytes: Uint8Array; ends: Uint32Array } };

/** The line source a run's recorder asks per packet: ReturnLines, or RunWorker. */
export interface LineSource {
  lineFor(frame: Uint8Array, tsNs: bigint, real: DriverPacket): number | undefined;
  /** A packet the run lists but does not run (outgoing): the worker's slot for it is passed over. */
  skip?(): void;
  finish(): void;
}

/** The server thread's side. */
export class RunWorker implements LineSource {
  private readonly ctrl: Int32Array;
  private readonly ring: Int32Array;
  private readonly worker: Worker;
  private switched = false;
  /** The packet from which the worker's lines are used. */
  private from = -1;
  private i = 0;
  private error: string | undefined;
  private exited = false;
  private summaryStore: SummaryStore | undefined;
  private settled: (() => void) | undefined;

  private constructor(
    /** The server thread's own twin (undefined: no return lines, the worker gives summaries only). */
    private readonly own: ReturnLines | undefined,
    script: string,
    data: Omit<RunWorkerData, 'shared'>,
    /** Switch at exactly this packet, waiting for the worker (tests); else at the first packet it has done. */
    private readonly switchAt?: number,
  ) {
    const shared = new SharedArrayBuffer(16 + RING * 4);
    this.ctrl = new Int32Array(shared, 0, 4);
    this.ring = new Int32Array(shared, 16, RING);
    Atomics.store(this.ctrl, STOP, -1);
    this.worker = new Worker(script, { workerData: { ...data, shared } satisfies RunWorkerData });
    this.worker.unref(); // the server's exit never waits for it (a run in progress is abandoned anyway)
    this.worker.on('message', (m: Message) => {
      if ('error' in m) this.error ??= m.error;
      else this.summaryStore = SummaryStore.from(m.summaries);
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
  }

  /** The worker's script next to this bundle (dist/run-worker.js); undefined when there is none (run from sources). */
  static script(dir: string): string | undefined {
    const p = join(dir, 'run-worker.js');
    return existsSync(p) ? p : undefined;
  }

  static start(own: ReturnLines | undefined, script: string, data: Omit<RunWorkerData, 'shared'>, switchAt?: number): RunWorker {
    return new RunWorker(own, script, data, switchAt);
  }

  /**
   * Whether packet `i`'s line can be had now; waits for the worker until `until` (performance.now()), then says no so
   * that the event loop turns. A worker that failed after the switch is reported by `failure` (the run stops).
   */
  ready(i: number, until: number): boolean {
    if (!this.own) return true;
    const ctrl = this.ctrl;
    if (!this.switched) {
      if ((i & 255) === 0) {
        Atomics.store(ctrl, CONSUMED, i);
        Atomics.notify(ctrl, CONSUMED);
      }
      const state = Atomics.load(ctrl, STATE);
      const caughtUp = (state === READY || state === ENDED) && Atomics.load(ctrl, PRODUCED) > i;
      if (!(this.switchAt === undefined ? caughtUp : i >= this.switchAt)) return true;
      this.switched = true;
      this.from = i;
      Atomics.store(ctrl, CONSUMED, i);
      Atomics.notify(ctrl, CONSUMED);
    }
    for (;;) {
      const produced = Atomics.load(ctrl, PRODUCED);
      if (produced > i) return true;
      const state = Atomics.load(ctrl, STATE);
      // Ended short of packet i: the worker's reader stopped where the run's will (an error or the end of the capture).
      if (state === FAILED || state === ENDED || this.exited) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(ctrl, PRODUCED, produced, Math.min(left, 5));
    }
  }

  /** Why the worker stopped before giving the lines the run needs (after the switch only), else undefined. */
  failure(i: number): string | undefined {
    if (!this.switched || Atomics.load(this.ctrl, PRODUCED) > i) return undefined;
    const state = Atomics.load(this.ctrl, STATE);
    if (state === FAILED || (this.exited && state !== ENDED)) return `the return-line twin failed in the run's worker thread: ${this.error ?? 'it exited'}`;
    return undefined;
  }

  lineFor(frame: Uint8Array, tsNs: bigint, real: DriverPacket): number | undefined {
    const i = this.i++;
    if (!this.switched) return this.own?.lineFor(frame, tsNs, real);
    if ((i & 1023) === 0) {
      Atomics.store(this.ctrl, CONSUMED, i);
      Atomics.notify(this.ctrl, CONSUMED);
    }
    if (Atomics.load(this.ctrl, PRODUCED) <= i) throw new Error(this.failure(i) ?? `the run's worker thread stopped before packet ${i}`);
    const v = this.ring[i % RING]!;
    if (real.fault || (v & 7) !== ACTIONS.indexOf(real.action)) return undefined;
    const line = (v >> 3) - 1;
    return line < 0 ? undefined : line;
  }

  skip(): void {
    const i = this.i++;
    if (this.switched && (i & 1023) === 0) {
      Atomics.store(this.ctrl, CONSUMED, i);
      Atomics.notify(this.ctrl, CONSUMED);
    }
  }

  /** The first packet whose line came from the worker; -1 when none did (a run too short for it to catch up). */
  get usedFrom(): number {
    return this.from;
  }

  /** The run's own twin is done with (the worker lives on until `end`). */
  finish(): void {
    this.own?.finish();
  }

  /**
   * The summaries of the run's `n` packets, from the worker (which is told the run recorded `n`), then the worker is
   * ended; undefined when the worker failed (the caller reads the capture again).
   */
  async summaries(n: number): Promise<SummaryStore | undefined> {
    Atomics.store(this.ctrl, STOP, n);
    Atomics.notify(this.ctrl, CONSUMED);
    Atomics.notify(this.ctrl, STOP);
    while (!this.summaryStore && !this.error && !this.exited) await new Promise<void>((r) => (this.settled = r));
    this.settled = undefined;
    void this.worker.terminate();
    const s = this.summaryStore;
    return s && s.length >= n ? s.trim(n) : undefined;
  }

  /** End the worker now (a run that failed). */
  end(): void {
    void this.worker.terminate();
  }
}

/** The worker's body (server/run-worker-main.ts). */
export function runWorkerMain(data: RunWorkerData, build: (obj: LoadedObject, config: RunWorkerData['config']) => { session: Session; driver: Driver }, post: (m: Message, transfer?: ArrayBuffer[]) => void): void {
  const ctrl = new Int32Array(data.shared, 0, 4);
  const ring = new Int32Array(data.shared, 16, RING);
  try {
    let twin: ReturnLines | undefined;
    if (data.twin) {
      const t = ReturnLines.create(data.twin.path, data.twin.source, data.twin.compile, (o) => build(o, data.config));
      if (typeof t === 'string') throw new Error(t);
      twin = t;
    }
    Atomics.store(ctrl, STATE, READY);
    const store = new SummaryStore();
    const reader = openCapture(data.config.capture, { views: true });
    try {
      for (let j = 0; ; j++) {
        let stop = Atomics.load(ctrl, STOP);
        if (stop >= 0 && j >= stop) break;
        let pkt;
        try {
          pkt = reader.next();
        } catch (e) {
          if (e instanceof CaptureError) break; // the run's own reader stops at the same record
          throw e;
        }
        if (!pkt) break;
        if (data.summaries) store.push(summarize(pkt.frame));
        // Once the run has ended it has every line it needs: only the summaries are left to do.
        if (!twin || stop >= 0) {
          if (!data.summaries) break;
          continue;
        }
        for (let c = Atomics.load(ctrl, CONSUMED); j - c >= RING && (stop = Atomics.load(ctrl, STOP)) < 0; c = Atomics.load(ctrl, CONSUMED)) Atomics.wait(ctrl, CONSUMED, c, 100);
        if (stop >= 0) continue;
        // Outgoing (sent by the capturing host): the run does not run it, nor does its twin; its slot is passed over.
        const line = pkt.outgoing ? undefined : twin.run(pkt.frame, pkt.tsNs);
        ring[j % RING] = pkt.outgoing ? 0 : ((line ?? -1) + 1) * 8 + ACTIONS.indexOf(twin.action);
        Atomics.store(ctrl, PRODUCED, j + 1);
        if ((j & 255) === 0) Atomics.notify(ctrl, PRODUCED);
      }
    } finally {
      reader.close();
    }
    Atomics.store(ctrl, STATE, ENDED);
    Atomics.notify(ctrl, PRODUCED);
    // The summaries once the run has said how many packets it recorded (it may have stopped short of the capture's end).
    for (let stop = Atomics.load(ctrl, STOP); stop < 0; stop = Atomics.load(ctrl, STOP)) Atomics.wait(ctrl, STOP, stop, 1000);
    const parts = store.parts();
    post({ summaries: parts }, [parts.bytes.buffer as ArrayBuffer, parts.ends.buffer as ArrayBuffer]);
  } catch (e) {
    post({ error: (e as Error).message });
    Atomics.store(ctrl, STATE, FAILED);
    Atomics.notify(ctrl, PRODUCED);
  }
}
