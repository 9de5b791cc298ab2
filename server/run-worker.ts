// Return lines of a capture run from the twin running in a worker thread (issue 12).
//
// The return-line twin (simulator/return-lines.ts) is a whole second program run per packet: a third of a big run's
// time when it runs beside the real program on the server's thread. Its runs depend on nothing of the real run (its own
// session, maps, clock and driver, built with the same options, fed the same packets in the same order), so a worker
// thread can run it on its own reader of the same capture while the server's thread runs the real program: each
// twin is a deterministic function of the packets before it, so the worker's lines are the lines the twin beside the
// real run would give, packet for packet.
//
// The worker writes one value per packet into a ring in shared memory: (return line + 1) * 8 + the twin's action (the
// line is undefined when the twin ran no marker). The server's thread reads packet i's value once the worker has
// written it, and applies the same rule as ReturnLines.lineFor: no line when the real run faulted or the twin's action
// differs. The worker never gets more than RING packets ahead of the packet the server's thread is at.
//
// Until the worker is up (a few hundred milliseconds: the first counts of a run must not wait for it), and whenever it
// could not start, the server's thread runs its own twin, as it always did; it switches to the worker's lines at the
// first packet the worker has already done, and from then on leaves its own twin (whose state would be stale).
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS, type LoadOptions, type Session } from '../simulator/session.ts';
import { ReturnLines } from '../simulator/return-lines.ts';
import { openCapture, CaptureError } from '../simulator/net/capture.ts';
import type { Driver, DriverPacket } from '../simulator/driver/rx.ts';
import type { LoadedObject } from '../simulator/elf/types.ts';

/** Packets the worker may run ahead of the server's thread. */
const RING = 1 << 16;
/** ctrl slots: packets written, packet the server's thread is at (lower bound), state. */
const PRODUCED = 0;
const CONSUMED = 1;
const STATE = 2;
/** STATE values (0: starting). */
const READY = 1;
const ENDED = 2;
const FAILED = 3;

/** What the worker needs to build the same twin, session and driver (all structured-cloneable). */
export interface TwinWorkerData {
  path: string;
  source: string;
  compile: LoadOptions;
  /** RunConfig without the loaded object (server/run.ts `build`). */
  config: Record<string, unknown> & { capture: string };
  shared: SharedArrayBuffer;
}

/** The line source a run's recorder asks per packet: ReturnLines, or TwinLines. */
export interface LineSource {
  lineFor(frame: Uint8Array, tsNs: bigint, real: DriverPacket): number | undefined;
  finish(): void;
}

/** The main side: the worker's lines, the server thread's own twin until the worker has caught up. */
export class TwinLines implements LineSource {
  private readonly ctrl: Int32Array;
  private readonly ring: Int32Array;
  private readonly worker: Worker;
  private switched = false;
  /** The packet from which the worker's lines are used. */
  private from = -1;
  private i = 0;
  private error: string | undefined;
  private exited = false;

  private constructor(
    private readonly own: ReturnLines,
    script: string,
    data: Omit<TwinWorkerData, 'shared'>,
    /** Switch at exactly this packet, waiting for the worker (tests); else at the first packet it has done. */
    private readonly switchAt?: number,
  ) {
    const shared = new SharedArrayBuffer(16 + RING * 4);
    this.ctrl = new Int32Array(shared, 0, 4);
    this.ring = new Int32Array(shared, 16, RING);
    this.worker = new Worker(script, { workerData: { ...data, shared } satisfies TwinWorkerData });
    this.worker.on('message', (m: { error?: string }) => {
      if (m.error) this.error = m.error;
    });
    this.worker.on('error', (e) => {
      this.error ??= e.message;
      Atomics.store(this.ctrl, STATE, FAILED);
    });
    this.worker.on('exit', () => {
      this.exited = true;
    });
  }

  /** The worker's script next to this bundle (dist/twin-worker.js); undefined when there is none (run from sources). */
  static script(dir: string): string | undefined {
    const p = join(dir, 'twin-worker.js');
    return existsSync(p) ? p : undefined;
  }

  static start(own: ReturnLines, script: string, data: Omit<TwinWorkerData, 'shared'>, switchAt?: number): TwinLines {
    return new TwinLines(own, script, data, switchAt);
  }

  /**
   * Whether packet `i`'s line can be had now; waits for the worker until `until` (performance.now()), then says no so
   * that the event loop turns. A worker that failed after the switch is reported by `failure` (the run stops).
   */
  ready(i: number, until: number): boolean {
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
    if (state === FAILED || (this.exited && state !== ENDED)) return `the return-line twin failed in its worker thread: ${this.error ?? 'it exited'}`;
    return undefined;
  }

  lineFor(frame: Uint8Array, tsNs: bigint, real: DriverPacket): number | undefined {
    const i = this.i++;
    if (!this.switched) return this.own.lineFor(frame, tsNs, real);
    if ((i & 1023) === 0) {
      Atomics.store(this.ctrl, CONSUMED, i);
      Atomics.notify(this.ctrl, CONSUMED);
    }
    if (Atomics.load(this.ctrl, PRODUCED) <= i) throw new Error(this.failure(i) ?? `the return-line twin's worker stopped before packet ${i}`);
    const v = this.ring[i % RING]!;
    if (real.fault || (v & 7) !== ACTIONS.indexOf(real.action)) return undefined;
    const line = (v >> 3) - 1;
    return line < 0 ? undefined : line;
  }

  /** The first packet whose line came from the worker; -1 when none did (a run too short for it to catch up). */
  get usedFrom(): number {
    return this.from;
  }

  finish(): void {
    this.own.finish();
    void this.worker.terminate();
  }
}

/** The worker's body (server/twin-worker.ts): the twin on every packet of the capture, into the ring. */
export function twinWorkerMain(data: TwinWorkerData, build: (obj: LoadedObject, config: TwinWorkerData['config']) => { session: Session; driver: Driver }, post: (m: { error: string }) => void): void {
  const ctrl = new Int32Array(data.shared, 0, 4);
  const ring = new Int32Array(data.shared, 16, RING);
  try {
    const twin = ReturnLines.create(data.path, data.source, data.compile, (o) => build(o, data.config));
    if (typeof twin === 'string') throw new Error(twin);
    Atomics.store(ctrl, STATE, READY);
    const reader = openCapture(data.config.capture, { views: true });
    try {
      for (let j = 0; ; j++) {
        let pkt;
        try {
          pkt = reader.next();
        } catch (e) {
          if (e instanceof CaptureError) break; // the run's own reader stops at the same record
          throw e;
        }
        if (!pkt) break;
        for (let c = Atomics.load(ctrl, CONSUMED); j - c >= RING; c = Atomics.load(ctrl, CONSUMED)) Atomics.wait(ctrl, CONSUMED, c, 100);
        const line = twin.run(pkt.frame, pkt.tsNs);
        ring[j % RING] = ((line ?? -1) + 1) * 8 + ACTIONS.indexOf(twin.action);
        Atomics.store(ctrl, PRODUCED, j + 1);
        if ((j & 255) === 0) Atomics.notify(ctrl, PRODUCED);
      }
    } finally {
      reader.close();
    }
    Atomics.store(ctrl, STATE, ENDED);
  } catch (e) {
    post({ error: (e as Error).message });
    Atomics.store(ctrl, STATE, FAILED);
  }
  Atomics.notify(ctrl, PRODUCED);
}
