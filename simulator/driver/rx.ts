// The modelled NIC receive path: an RX ring refilled from a page pool, the program run per frame, and what the driver
// does with each verdict (drivers/net/ethernet/intel/i40e/i40e_txrx.c i40e_run_xdp / i40e_clean_rx_irq,
// mlx5 en_rx.c + en/xdp.c mlx5e_xdp_handle, net/core/dev.c do_xdp_generic for skb mode).
//
// In the default configuration (native mode, the mlx5 profile, one queue, ingress ifindex 1) the program sees exactly
// the buffer BPF_PROG_TEST_RUN gives it, so everything the kernel can show (return value, bytes, maps) stays comparable;
// what the driver does afterwards (the path, the counters) is the model's addition.
import type { Session } from '../session.ts';
import { ACTIONS, actionOf, XdpLensError, type Action } from '../session.ts';
import type { RunResult, Fault, XdpBuff } from '../vm/types.ts';
import type { SourceLoc } from '../isa/insn.ts';
import type { BatchResults, PacketBatch } from '../vm/machine.ts';
import type { LoadedProgram } from '../elf/types.ts';
import { MapType } from '../elf/types.ts';
import { layoutXdpBuff, linearCapacity, packetOut, type FrameGeometry } from './frame.ts';
import { PagePool } from './page-pool.ts';
import { rxMetadata, stripVlan, RxDescriptor } from './rx-meta.ts';
import { kfuncInfo } from '../isa/kfunc-names.ts';
import { XDP_FRAME_SIZE, SKB_SHARED_INFO_SIZE, PAGE_SIZE, type DriverMode, type DriverProfile } from './profiles.ts';
import { headerLength } from './headers.ts';
import { XDP_MAX_FRAME } from '../net/capture.ts';

/** Headroom generic XDP guarantees, and what test_run and most drivers reserve. */
const XDP_PACKET_HEADROOM = 256;

export interface NetDevice {
  ifindex: number;
  name: string;
  mtu: number;
  up: boolean;
  /**
   * The device implements ndo_xdp_xmit (NETDEV_XDP_ACT_NDO_XMIT), so native XDP_REDIRECT can hand it frames.
   * Default true; the loopback device has no such hook.
   */
  xdpXmit?: boolean;
}

export interface DriverOptions {
  mode: DriverMode;
  profile: DriverProfile;
  /** RX queues; packets are spread by RSS and each queue is served by its own CPU. */
  queues: number;
  /** Picks the RX queue of a frame (an RSS hash); queue 0 when absent or when there is one queue. */
  queueOf?: (frame: Uint8Array) => number;
  /** RX VLAN offload: an 802.1Q tag is removed from the frame and reported by bpf_xdp_metadata_rx_vlan_tag. */
  vlanStrip?: boolean;
  /**
   * DriverPacket.out is a view of the receive buffer instead of a copy (frames without fragments): valid until the
   * next frame is received, for a caller done with each packet before the next (`xdp-lens run`).
   */
  views?: boolean;
  /**
   * `receive` returns the same DriverPacket object for every frame, refilled (and lays every frame out in the same
   * xdp_buff and RX descriptor): valid until the next frame, for a caller done with each packet before the next
   * (`xdp-lens run`). No object per packet.
   */
  reuse?: boolean;
  /** The receiving device's ifindex (ctx->ingress_ifindex); 1 like BPF_PROG_TEST_RUN by default. */
  ingressIfindex?: number;
  /** Devices a bpf_redirect(ifindex) may name. Default: lo (1) and eth0 (2). */
  devices?: NetDevice[];
}

/** Where the frame went after the program: the names follow the kernel functions that take each path. */
export type DriverPath =
  | 'page_pool_recycle'      // XDP_DROP: the page goes straight back into the pool's cache
  | 'xdp_exception'          // XDP_ABORTED, an invalid value, a fault, or a failed TX/redirect: trace + drop
  | 'build_skb'              // XDP_PASS, writable page: the skb wraps the page (option A, no copy)
  | 'napi_alloc_skb+copy'    // XDP_PASS, read-only page: new skb, headers copied, the rest a page fragment (option B)
  | 'napi_alloc_skb+copybreak' // XDP_PASS, read-only page, small frame: copied whole, page recycled at once
  | 'netif_receive_skb'      // XDP_PASS in generic mode: the existing skb continues up the stack
  | 'xdp_tx'                 // XDP_TX: queued on the XDP TX ring of the same device
  | 'generic_xdp_tx'         // XDP_TX in generic mode: straight to the device's transmit, bypassing the qdisc
  | 'tx_ring_full'           // XDP_TX with a full ring: dropped
  | 'xdp_redirect:ifindex'   // XDP_REDIRECT via bpf_redirect
  | 'xdp_redirect:devmap'
  | 'xdp_redirect:cpumap'
  | 'xdp_redirect:xskmap'
  | 'xdp_do_generic_redirect'
  | 'redirect_error'         // XDP_REDIRECT without a usable target: xdp_do_redirect fails, the frame is dropped
  | 'kfree_skb';             // DROP/ABORTED in generic mode: the skb is freed

export interface DriverPacket {
  queue: number;
  cpu: number;
  retval: number;
  action: Action;
  invalidAction: boolean;
  fault?: Fault;
  path: DriverPath;
  /** Why a TX/redirect failed, or a note about how the driver treated the frame. */
  note?: string;
  /** Bytes the driver copied to build the skb (read-only-page PASS). */
  copied: number;
  /** The packet after the program: data_meta..data_end, then the fragments. */
  out: Uint8Array;
  metaLen: number;
  run: RunResult;
  /** Redirect target device or map entry, when the packet was redirected. */
  target?: string;
  /**
   * What the driver carried out, which the returned action alone does not say: 'passed', 'dropped', 'transmitted',
   * 'redirected', 'aborted', or one of them with the reason after a colon ('dropped: no redirect target',
   * 'dropped: TX ring full', 'passed: too short for its headers', 'aborted: fault', 'passed: bpf_redirect_map
   * fallback, key absent', ...). The word before the colon is where the frame ended up.
   */
  outcome: string;
}

/** The outcome a verdict has when the driver carries it out as asked. */
export const PLAIN_OUTCOME: Record<Action, string> = {
  XDP_ABORTED: 'aborted',
  XDP_DROP: 'dropped',
  XDP_PASS: 'passed',
  XDP_TX: 'transmitted',
  XDP_REDIRECT: 'redirected',
};

/** receiveBatch's frame and DriverPacket.out of a packet left as it was, when no views are asked for: empty. */
export const NO_FRAME: Uint8Array = new Uint8Array(0);

/** The outcome of a PASS the stack drops as shorter than its headers (refineOutcome). */
const TOO_SHORT_OUTCOME = 'passed: too short for its headers';

/** PLAIN_OUTCOME by the action's index in ACTIONS (no keyed lookup per packet). */
const PLAIN_BY_RETVAL: readonly string[] = ACTIONS.map((a) => PLAIN_OUTCOME[a]);

/**
 * Driver.receiveBatch's `plain`: frames [from, to) of the batch, settled by the driver, that ended alike (see there):
 * their action's index, outcome, exit (source line and instruction) and note; with `merged`, `otherN` of them ended
 * as `other` instead.
 */
export type PlainRun = (from: number, to: number, action: number, outcome: string, exit: SourceLoc | undefined, insn: number, note: string | undefined, other: string | undefined, otherN: number) => void;

/** The driver's counters, in the order `stats()` lists them. */
function newCounters() {
  return {
    rx_packets: 0, rx_bytes: 0, rx_xdp_drop: 0, rx_xdp_pass: 0, rx_xdp_tx: 0, rx_xdp_redirect: 0, rx_xdp_aborted: 0,
    rx_xdp_invalid: 0, rx_xdp_fault: 0, rx_xdp_tx_full: 0, rx_xdp_redirect_fail: 0, rx_skb_build: 0, rx_skb_alloc_copy: 0,
    rx_copybreak: 0, rx_copied_bytes: 0, rx_multibuf: 0, tx_xdp_xmit: 0, tx_doorbells: 0, xdp_redirect_flushes: 0, napi_polls: 0,
  };
}
type Counters = ReturnType<typeof newCounters>;

/** BPF helpers that move the packet's bounds: bpf_xdp_adjust_head, bpf_xdp_adjust_meta, bpf_xdp_adjust_tail. */
const MOVES_BOUNDS = new Set([44, 54, 65]);

export class Driver {
  readonly pools: PagePool[];
  /** Counted with a property each (a fixed shape: no keyed store per packet). */
  readonly counters: Counters = newCounters();
  private readonly devices: Map<number, NetDevice>;
  private readonly pollCount: number[];
  /** XDP TX descriptors queued since the last doorbell, per queue, and the frames they hold. */
  private readonly txPending: number[];
  private readonly txFrames: number[];
  private readonly redirectPending: Map<string, number>[];
  /** The last packet's linear buffer, reused for the next (see layout). */
  private spare: Uint8Array | undefined;
  /**
   * Where the bytes the last packet may have changed in `spare` start and end, when no program of
   * the object can move the packet's bounds (no bpf_xdp_adjust_head/meta/tail): every write then stayed inside the
   * frame as laid out, so the next layout clears only what the new frame does not overwrite. -1: clear all of it.
   */
  private spareEnd = -1;
  private spareFrom = 0;
  private readonly boundsFixed: boolean;

  constructor(private readonly session: Session, readonly opts: DriverOptions) {
    // Byte counts outgrow a small integer (2 GiB): doubles from the start, so that the object's shape does not change
    // mid-run (which throws away the optimized code of every caller, as RunStats' times would).
    this.counters.rx_bytes = 0.5;
    this.counters.rx_bytes = 0;
    this.counters.rx_copied_bytes = 0.5;
    this.counters.rx_copied_bytes = 0;
    const queues = Math.max(1, opts.queues);
    // Queue q runs on CPU q: per-CPU maps need a value slot for every queue's CPU, or lookups there return NULL.
    const short = session.machine.maps.find((m) => m.perCpu && m.valueSlots < queues);
    if (short) {
      throw new XdpLensError(`${queues} RX queues run on ${queues} CPUs, but per-CPU map ${short.def.name} was created for ${short.valueSlots}: create the session with nrCpus >= ${queues}`);
    }
    // A program calling the RX metadata kfuncs is device-bound, and the kernel attaches those in native mode only.
    const devBound = session.program.kfuncs?.find((k) => kfuncInfo(k.name)?.devBound);
    if (devBound && opts.mode === 'generic') {
      throw new XdpLensError(`${session.program.name} calls ${devBound.name}, so it loads only bound to a device, and the kernel refuses to attach it in generic mode ("Can't attach device-bound programs in generic mode"): use --driver native or readonly-page`);
    }
    this.pools = Array.from({ length: queues }, () => new PagePool(opts.profile.rxRingSize));
    this.pollCount = new Array(queues).fill(0);
    this.txPending = new Array(queues).fill(0);
    this.txFrames = new Array(queues).fill(0);
    this.redirectPending = Array.from({ length: queues }, () => new Map());
    const devices = opts.devices ?? [
      { ifindex: 1, name: 'lo', mtu: 65536, up: true, xdpXmit: false },
      { ifindex: 2, name: 'eth0', mtu: 1500, up: true },
    ];
    this.devices = new Map(devices.map((d) => [d.ifindex, d]));
    this.boundsFixed = !session.obj.programs.some((p) => p.insns.some((i) => i.opcode === 0x85 && i.src === 0 && MOVES_BOUNDS.has(i.imm)));
  }

  /** Per queue, the geometry of native and readonly-page modes (the same for every frame of the queue). */
  private readonly fixedGeometry: FrameGeometry[] = [];

  private geometry(queue: number, len: number): FrameGeometry {
    const { mode, profile } = this.opts;
    if (mode !== 'generic' && this.fixedGeometry[queue]) return this.fixedGeometry[queue];
    const base = {
      headroom: profile.headroom,
      frameSize: profile.frameSize,
      fragSize: profile.fragSize,
      ingressIfindex: this.opts.ingressIfindex ?? 1,
      rxQueueIndex: queue,
      readonlyPage: mode === 'readonly-page',
    };
    if (mode === 'generic') {
      if (this.session.program.frags) {
        // A frags-aware program in skb mode gets the skb copied into page_pool pages (skb_cow_data_for_xdp via
        // netif_skb_check_for_xdp): XDP_PACKET_HEADROOM, at most one page of linear data less skb_shared_info,
        // the rest in page-sized fragments; the same layout BPF_PROG_TEST_RUN builds.
        return { ...base, headroom: XDP_PACKET_HEADROOM, frameSize: PAGE_SIZE, fragSize: PAGE_SIZE };
      }
      // Otherwise generic XDP linearises the skb and guarantees XDP_PACKET_HEADROOM (netif_receive_generic_xdp).
      // The skb's data area is the driver's receive buffer, or the whole frame once linearised (rounded up to a
      // cache line), so the tail can grow into what is left of that area.
      const dataArea = Math.max(len, linearCapacity(base));
      const aligned = Math.ceil(dataArea / 64) * 64;
      return { ...base, headroom: XDP_PACKET_HEADROOM, frameSize: XDP_PACKET_HEADROOM + aligned + SKB_SHARED_INFO_SIZE, fragSize: 0 };
    }
    return (this.fixedGeometry[queue] = base);
  }

  /**
   * The receive buffer a frame is given on the queue RSS picks for it. The linear part reuses one buffer per driver:
   * a packet's buffer is valid until the next frame is laid out (DriverPacket.out is a copy unless `views`).
   * The frame and queue it was laid out for are left in `laidFrame` and `laidQueue` (no object per packet).
   */
  private layout(frame: Uint8Array, tsNs: bigint | undefined, sec = -1, nanos = 0): XdpBuff {
    let vlan: { proto: number; tci: number } | undefined;
    if (this.opts.vlanStrip) ({ frame, vlan } = stripVlan(frame));
    const queues = this.pools.length;
    const queue = queues > 1 && this.opts.queueOf ? this.opts.queueOf(frame) % queues : 0;
    const g = this.geometry(queue, frame.length);
    const reuse = this.opts.reuse === true;
    // No spare of this size: a zeroed one from the machine (in the compiled engine's WebAssembly memory, where the
    // generated code reads the packet inline).
    const fresh = this.spare === undefined || this.spare.length !== g.frameSize;
    const spare = fresh ? this.session.machine.packetBuffer(g.frameSize, this.spare) : this.spare;
    const buff: XdpBuff = layoutXdpBuff(frame, g, spare, fresh ? 0 : this.spareFrom, fresh ? 0 : this.boundsFixed ? this.spareEnd : -1, reuse ? this.buff : undefined, reuse ? this.fragStore : undefined);
    this.spare = buff.frame;
    this.spareFrom = buff.data;
    this.spareEnd = buff.dataEnd;
    if (reuse) {
      this.buff = buff;
      const desc = this.rxDesc;
      if (desc === undefined) buff.rxMeta = this.rxDesc = rxMetadata(frame, sec >= 0 ? timeNs(sec, nanos) : tsNs, this.opts.profile, vlan) as RxDescriptor;
      else buff.rxMeta = sec >= 0 ? desc.resetAt(frame, sec, nanos, vlan) : desc.reset(frame, tsNs, vlan);
    } else buff.rxMeta = rxMetadata(frame, sec >= 0 ? timeNs(sec, nanos) : tsNs, this.opts.profile, vlan);
    this.laidFrame = frame;
    this.laidQueue = queue;
    return buff;
  }

  private laidFrame: Uint8Array | undefined;
  private laidQueue = 0;
  /** With `reuse`: the xdp_buff, RX descriptor and DriverPacket every frame is given, refilled. */
  private buff: XdpBuff | undefined;
  private rxDesc: RxDescriptor | undefined;
  private pkt: DriverPacket | undefined;
  /** With `reuse`: the fragment buffers every multi-buffer frame is laid out in, overwritten (see layoutXdpBuff). */
  private readonly fragStore: Uint8Array[] = [];
  /** With `views`: where a multi-buffer frame's bytes after the program are joined (DriverPacket.out, see packetOut). */
  private readonly outScratch = { bytes: new Uint8Array(0) };
  /**
   * With `views`: the views of the receive buffer DriverPacket.out has been, by where they end: a frame laid out in the
   * same buffer, starting and ending where an earlier one did, gets the same view again instead of a new one
   * (packetOut's view, without the allocation). At most one per byte of the largest buffer.
   */
  private outViews: (Uint8Array | undefined)[] = [];
  /** Per entry of outViews, the buffer (the frame object) and the start it is a view of. */
  private outViewFrames: (Uint8Array | undefined)[] = [];
  private outViewStarts: number[] = [];

  private outView(buff: XdpBuff): Uint8Array {
    const frame = buff.frame;
    const start = buff.dataMeta <= buff.data ? buff.dataMeta : buff.data;
    const end = buff.dataEnd;
    if (end >= this.outViews.length) {
      const n = Math.max(end, frame.length) + 1;
      this.outViews = new Array<Uint8Array | undefined>(n).fill(undefined);
      this.outViewFrames = new Array<Uint8Array | undefined>(n).fill(undefined);
      this.outViewStarts = new Array<number>(n).fill(-1);
    }
    let v = this.outViews[end];
    // Made again for another buffer (a new frame object: another size, or one elsewhere in the WebAssembly memory),
    // or another start (a program that moved data or data_meta). Compared by identity and number: reading a view's
    // buffer and offset costs more than that.
    if (v === undefined || this.outViewFrames[end] !== frame || this.outViewStarts[end] !== start) {
      this.outViews[end] = v = new Uint8Array(frame.buffer, frame.byteOffset + start, end - start);
      this.outViewFrames[end] = frame;
      this.outViewStarts[end] = start;
    }
    return v;
  }

  /**
   * Only the program's run on the buffer `receive` would give it: no verdict path, no counters, no pool (the
   * return-line twin, which needs what the program did and nothing of the driver's bookkeeping).
   */
  runOnly(frame: Uint8Array, tsNs?: bigint): RunResult {
    const buff = this.layout(frame, tsNs);
    return this.session.runAt(buff, tsNs, this.laidQueue);
  }

  /** runOnly with the timestamp as whole seconds (>= 0) and nanoseconds (0 <= nanos < 10^9), as receiveAt. */
  runOnlyAt(frame: Uint8Array, sec: number, nanos: number): RunResult {
    const buff = this.layout(frame, undefined, sec, nanos);
    return this.session.runAtTime(buff, sec, nanos, this.laidQueue);
  }

  /** Receive one frame on the queue RSS picks for it, run the program, and take the verdict's path. */
  receive(received: Uint8Array, tsNs?: bigint): DriverPacket {
    return this.receiveFrame(received, tsNs, -1, 0);
  }

  /**
   * receive with the timestamp as whole seconds (>= 0) and nanoseconds (0 <= nanos < 10^9), tsNs = sec * 10^9 + nanos:
   * the same result without a BigInt per packet.
   */
  receiveAt(received: Uint8Array, sec: number, nanos: number): DriverPacket {
    return this.receiveFrame(received, undefined, sec, nanos);
  }

  /** `sec` >= 0: the timestamp is sec and nanos, else tsNs. */
  private receiveFrame(received: Uint8Array, tsNs: bigint | undefined, sec: number, nanos: number): DriverPacket {
    const { profile, mode } = this.opts;
    const buff = this.layout(received, tsNs, sec, nanos);
    const frame = this.laidFrame!;
    const queue = this.laidQueue;
    const cpu = queue;
    const pool = this.pools[queue];
    this.counters.rx_packets++;
    this.counters.rx_bytes += frame.length;
    // One receive buffer per descriptor: the linear part and every fragment came from the pool.
    const buffers = 1 + buff.frags.length;
    if (mode !== 'generic') for (let i = 0; i < buffers; i++) pool.alloc();
    let note: string | undefined;
    if (buff.frags.length > 0) {
      this.counters.rx_multibuf++;
      if (!this.session.program.frags && mode !== 'generic') {
        note = this.largeFrameNote(frame.length, profile.frameSize);
      }
    }
    const run = sec >= 0 ? this.session.runAtTime(buff, sec, nanos, cpu) : this.session.runAt(buff, tsNs, cpu);
    // bpf_xdp_adjust_tail shrinking a multi-buffer frame returns the emptied fragments to the pool at once.
    if (mode !== 'generic' && buff.frags.length + 1 < buffers) pool.recycleDirect(buffers - 1 - buff.frags.length);
    const out = this.opts.views === true && buff.frags.length === 0 ? this.outView(buff) : packetOut(buff, this.opts.views === true, this.outScratch);
    return this.settle(buff, run, out, queue, note);
  }

  /** The note of a multi-buffer frame for a program without xdp.frags: one string per length (its consumers' caches then hit). */
  private largeFrameNote(len: number, frameSize: number): string {
    let note = this.largeFrameNotes.get(len);
    if (note === undefined) {
      note = `frame of ${len} bytes is larger than one ${frameSize}-byte buffer: a real driver refuses an MTU this large for a program without xdp.frags support; it runs here split into fragments, as BPF_PROG_TEST_RUN does`;
      if (this.largeFrameNotes.size >= 4096) this.largeFrameNotes.clear();
      this.largeFrameNotes.set(len, note);
    }
    return note;
  }
  /** largeFrameNote's, by frame length (one queue profile: the frame size is the driver's). */
  private readonly largeFrameNotes = new Map<number, string>();

  /**
   * After the program's run on `buff`: the DriverPacket of its verdict (`out` the packet after the program), its path
   * taken. `bytes[from, end)`: the packet's bytes when `out` is NO_FRAME (receiveBatch without views), else unused.
   */
  private settle(buff: XdpBuff, run: RunResult, out: Uint8Array, queue: number, note: string | undefined, bytes?: Uint8Array, from = 0, end = 0): DriverPacket {
    const { profile, mode } = this.opts;
    const cpu = queue;
    const retval = run.fault ? 0 : run.retval >>> 0;
    const action = actionOf(retval);
    const invalidAction = retval >= ACTIONS.length;
    const metaLen = buff.dataMeta <= buff.data ? buff.data - buff.dataMeta : 0;
    let pkt = this.pkt;
    if (pkt === undefined) {
      pkt = { queue, cpu, retval, action, invalidAction, fault: run.fault, path: 'xdp_exception', copied: 0, out, metaLen, run, note, target: undefined, outcome: PLAIN_BY_RETVAL[invalidAction ? 0 : retval]! };
      if (this.opts.reuse === true) this.pkt = pkt;
    } else {
      pkt.queue = queue;
      pkt.cpu = cpu;
      pkt.retval = retval;
      pkt.action = action;
      pkt.invalidAction = invalidAction;
      pkt.fault = run.fault;
      pkt.path = 'xdp_exception';
      pkt.copied = 0;
      pkt.out = out;
      pkt.metaLen = metaLen;
      pkt.run = run;
      pkt.note = note;
      pkt.target = undefined;
      pkt.outcome = PLAIN_BY_RETVAL[invalidAction ? 0 : retval]!;
    }

    if (run.fault) this.counters.rx_xdp_fault++;
    if (invalidAction) this.counters.rx_xdp_invalid++;
    if (mode === 'generic') this.genericVerdict(pkt, buff);
    else this.nativeVerdict(pkt, buff, queue);
    if (bytes === undefined) refineOutcome(pkt, out, pkt.metaLen, out.length);
    else refineOutcome(pkt, bytes, from, end);

    if (++this.pollCount[queue] >= profile.napiBudget) this.endPoll(queue);
    return pkt;
  }

  /**
   * Whether receiveBatch can take this driver's frames: packets each done with before the next (`reuse`, `views`),
   * one RX queue in native or readonly-page mode, no VLAN offload, the compiled engine, no debugger watching, and no
   * program in the object calling kfuncs (the RX metadata ones read a descriptor laid out per frame).
   */
  batchable(): boolean {
    const { mode, reuse, views, vlanStrip } = this.opts;
    const s = this.session;
    return reuse === true && views === true && vlanStrip !== true && mode !== 'generic' && this.pools.length === 1 && s.machine.engine === 'compiled' &&
      s.hooks === undefined && !s.obj.programs.some((p) => (p.kfuncs?.length ?? 0) > 0 || p.insns.some((i) => i.opcode === 0x85 && i.src === 2));
  }

  /**
   * The bytes of a multi-buffer frame in its linear part (the rest in fragments) when every frame longer than that is
   * laid out so (the profile has fragments and the geometry is the same for every frame), else undefined.
   */
  linearPart(): number | undefined {
    if (this.opts.mode === 'generic' && !this.session.program.frags) return undefined;
    const g = this.geometry(0, 0);
    return g.fragSize > 0 ? linearCapacity(g) : undefined;
  }

  /**
   * Longest frame receiveBatch takes: with fragments (the profile's fragSize above 0), the longest the kernel runs
   * (XDP_MAX_FRAME: the linear part in the frame, the rest in fragments, as receive lays it out), else what fits the
   * linear part.
   */
  batchFrameMax(): number {
    const g = this.geometry(0, 0);
    return g.fragSize > 0 ? XDP_MAX_FRAME : linearCapacity(g);
  }

  /**
   * A batch of frames for receiveBatch, in the machine's packet memory. The default size fits the compiled engine's
   * linear memory beside the receive buffer and BatchResults.out (batchResults), so that Machine.runBatch copies each
   * frame in with memory.copy (a larger one is a plain array: a view per packet).
   */
  newBatch(frames = 256, bytes = 1 << 18): RxBatch {
    return new RxBatch(this.session.machine.packetBuffer(bytes), frames);
  }

  /**
   * `receiveAt` of each frame of `b` in turn (b.count frames, at most batchFrameMax() bytes each; numeric timestamps), the
   * program run through Machine.runBatch: the same results, packets and counters, `each(i, packet, frame)` called for
   * frame i once it is done (the packet, and frame i as a view of the batch, valid until the next call; packet.out is
   * that same view when the program left the packet as it was). Only when batchable().
   * `frames` false: no view per packet of a frame the program left as it was; such a packet's frame and packet.out are
   * then both NO_FRAME (empty; the bytes are b.frame(i)), for a caller that reads no bytes of those (a changed packet's
   * still come as views).
   * `plain`: called instead of `each` (with `frames` false) for frames the program left as they were, in a plain run
   * (no fault, helper output or redirect target), that it dropped or passed on a writable page: once for each run of
   * consecutive such frames [from, to) that ended alike (before `each` of a later frame): their action's index (1 or
   * 2), the outcome each packet would have had, the run's exit (its source line and instruction, -1 when none) and
   * the packet's note (why the stack drops a passed frame too short for its headers, else undefined); the driver's
   * counters and pool as for any other. No packet object for those. The packet `each` would have been given has
   * retval and action that action, path 'page_pool_recycle' (drop) or 'build_skb' (pass), queue and cpu 0, nothing
   * copied, no target, and a run with that exit, no tail call and nothing else. `other` and `otherN`: undefined and 0,
   * except with `merged`.
   * `merged` (with `plain`): for a caller that needs no notes and no outcome per frame (counts only), a run of `plain`
   * is consecutive such frames with the same action and exit, whatever their outcomes: `outcome` is its first frame's,
   * `other` the other outcome some of its frames had (in order of first appearance after `outcome`), `otherN` how many
   * frames had it (the rest had `outcome`), and `note` is undefined. Far fewer calls when outcomes alternate (a PASS's
   * plain outcome and "too short for its headers").
   * `changedViews` false (with `frames` false): no views of a changed packet either, when its verdict path reads none
   * (no fragments, not a redirect, not a PASS on a read-only page, its bytes copied out of the frame): its frame and
   * packet.out are NO_FRAME, and `changedOut` says where its bytes are during `each` (for a caller that reads them
   * at offsets: checksumBreaksAt).
   */
  receiveBatch(b: RxBatch, each: (i: number, pkt: DriverPacket, frame: Uint8Array) => void, frames = true, plain?: PlainRun, changedViews = true, merged = false): void {
    const n = b.count;
    if (n === 0) return;
    const g = this.geometry(0, 0);
    const buff = this.batchBuff(g);
    const spare = buff.frame;
    const clean = this.clean;
    const batch = this.batchOf(b, g.headroom, clean);
    // Multi-buffer frames (longer than the linear part): the rest in fragments, laid out by the machine as layout does.
    const linear = linearCapacity(g);
    const fragSize = g.fragSize;
    batch.linear = fragSize > 0 ? linear : undefined;
    const res = this.batchResults(b.offset.length);
    const { retval, exitInsn, steps, flags, data, dataEnd, dataMeta, frags, fragBytes } = res as Required<BatchResults>;
    const out = res.out!;
    const pool = this.pools[0];
    const counters = this.counters;
    const plainRun = this.plainRun();
    const bounds = this.bounds;
    const boundsFrags = bounds.frags;
    const lines = this.entryLines;
    const session = this.session;
    const fragsAware = session.program.frags === true;
    const frameSize = this.opts.profile.frameSize;
    // Plain verdicts settled here (see `plain`): only without views, and on a writable page.
    const settleHere = plain !== undefined && !frames && g.readonlyPage !== true;
    const napiBudget = this.opts.profile.napiBudget;
    const pollCount = this.pollCount;
    const readonlyPage = g.readonlyPage === true;
    const changedHere = !changedViews && !frames;
    const changedOut = this.changedOut;
    // The run of plain frames [runFrom, runTo) not yet given to `plain`, all ending alike.
    let runFrom = 0;
    let runTo = 0;
    let runA = 0;
    let runInsn = 0;
    let runOutcome = '';
    let runNote: string | undefined;
    // merged: the run's second outcome and its frames.
    let runOther: string | undefined;
    let runOtherN = 0;
    let i = 0;
    while (i < n) {
      out.used = 0;
      const k = session.runBatch(buff, batch, i, n, 0, res);
      for (let j = i; j < k; j++) {
        const len = b.length[j];
        counters.rx_packets++;
        counters.rx_bytes += len;
        // receiveFrame's bookkeeping: one receive buffer per descriptor (the linear part and each fragment), the
        // fragments bpf_xdp_adjust_tail emptied back to the pool at once; a multi-buffer frame's note.
        let pages = 1;
        // A multi-buffer frame's note, for a program without xdp.frags (made where a note is given).
        let large = false;
        if (len > linear) {
          const laid = 1 + Math.ceil((len - linear) / fragSize);
          counters.rx_multibuf++;
          for (let x = 0; x < laid; x++) pool.alloc();
          pages = 1 + frags[j];
          if (pages < laid) pool.recycleDirect(laid - pages);
          large = !fragsAware;
        } else pool.alloc();
        const rvj = retval[j];
        if (settleHere && flags[j] === 0 && (rvj === 1 || rvj === 2) && (j !== k - 1 || res.result === undefined)) {
          // settle's path for these, step for step: nativeVerdict's DROP or writable PASS, refineOutcome's header check
          // (the bytes as they arrived), the end of the NAPI poll.
          let outcome: string;
          let note: string | undefined;
          const mbNote = large && !merged ? this.largeFrameNote(len, frameSize) : undefined;
          if (rvj === 1) {
            counters.rx_xdp_drop++;
            pool.recycleDirect(pages);
            outcome = PLAIN_BY_RETVAL[1]!;
            note = mbNote;
          } else {
            counters.rx_xdp_pass++;
            counters.rx_skb_build++;
            pool.release(pages);
            const off = b.offset[j];
            if (merged) {
              outcome = shortKind(b.bytes, off, off + len) === 0 ? PLAIN_BY_RETVAL[2]! : TOO_SHORT_OUTCOME;
              note = undefined;
            } else {
              const short = tooShort(b.bytes, off, off + len);
              if (short === undefined) {
                outcome = PLAIN_BY_RETVAL[2]!;
                note = mbNote;
              } else {
                outcome = TOO_SHORT_OUTCOME;
                note = mbNote === undefined ? short : `${mbNote}; ${short}`;
              }
            }
          }
          if (++pollCount[0] >= napiBudget) this.endPoll(0);
          // One call of `plain` per run of consecutive frames that ended alike (merged: with the same action and exit).
          const e = exitInsn[j];
          if (j === runTo && rvj === runA && e === runInsn && note === runNote) {
            if (outcome === runOutcome) {
              runTo = j + 1;
              continue;
            }
            if (merged && (runOther === undefined || outcome === runOther)) {
              runOther = outcome;
              runOtherN++;
              runTo = j + 1;
              continue;
            }
          }
          if (runTo > runFrom) plain!(runFrom, runTo, runA, runOutcome, runInsn >= 0 ? lines?.[runInsn] : undefined, runInsn, runNote, runOther, runOtherN);
          runFrom = j;
          runA = rvj;
          runInsn = e;
          runOutcome = outcome;
          runNote = note;
          runOther = undefined;
          runOtherN = 0;
          runTo = j + 1;
          continue;
        }
        if (runTo > runFrom) {
          plain!(runFrom, runTo, runA, runOutcome, runInsn >= 0 ? lines?.[runInsn] : undefined, runInsn, runNote, runOther, runOtherN);
          runTo = runFrom = 0;
        }
        let run: RunResult;
        if (j === k - 1 && res.result !== undefined) run = res.result;
        else {
          const plain = plainRun;
          const e = exitInsn[j];
          plain.retval = retval[j];
          plain.exitInsn = e;
          plain.steps = steps[j];
          plain.exitLoc = e >= 0 ? lines?.[e] : undefined;
          run = plain;
        }
        const d = data[j];
        const m = dataMeta[j];
        const end = dataEnd[j];
        bounds.data = d;
        bounds.dataMeta = m;
        bounds.dataEnd = end;
        const start = m <= d ? m : d;
        const changed = flags[j] !== 0;
        // The verdict paths that read the packet's bytes (a redirect's MTU check, a read-only page's copy to the skb)
        // get them as a view all the same; a PASS's header check reads them where they are (settle's `bytes`).
        // The verdict paths count the fragments (pages), never read them: as many placeholders as there are.
        const fr = pages - 1;
        if (boundsFrags.length !== fr) {
          while (boundsFrags.length < fr) boundsFrags.push(NO_FRAME);
          boundsFrags.length = fr;
        }
        const rv = run.fault ? 0 : run.retval >>> 0;
        const at = out.at[j];
        // One call of settle for every packet (its bytes as a view, or where they are: `src`[from, to)).
        let frame: Uint8Array;
        let bytes: Uint8Array;
        let src: Uint8Array | undefined;
        let from = 0;
        let to = 0;
        if (changed && changedHere && fr === 0 && at >= 0 && rv !== 4 && !(rv === 2 && readonlyPage)) {
          // Its bytes where they were copied out (after its metadata), no views (see changedViews).
          frame = bytes = NO_FRAME;
          src = changedOut.bytes = out.bytes;
          from = changedOut.from = at + (d - start);
          to = changedOut.end = at + (end - start);
        } else {
          frame = changed || frames || rv === 4 || (rv === 2 && readonlyPage) ? b.bytes.subarray(b.offset[j], b.offset[j] + len) : NO_FRAME;
          if (!changed) bytes = frame;
          else if (at >= 0) bytes = out.bytes.subarray(at, at + end - start + (fr !== 0 ? fragBytes[j] : 0));
          else if (fr !== 0) bytes = packetOut(buff, true, this.outScratch); // the last packet of this call, in the frame and fragments
          else bytes = spare.subarray(start, end); // the last packet of this call, left in the frame
          if (bytes === NO_FRAME) {
            src = b.bytes;
            from = b.offset[j];
            to = from + len;
          }
        }
        each(j, this.settle(bounds, run, bytes, 0, large ? this.largeFrameNote(len, frameSize) : undefined, src, from, to), frame);
        changedOut.bytes = NO_FRAME;
      }
      i = k;
    }
    if (runTo > runFrom) plain!(runFrom, runTo, runA, runOutcome, runInsn >= 0 ? lines?.[runInsn] : undefined, runInsn, runNote, runOther, runOtherN);
    // The frame is zero outside what the last run touched: the next layout or batch clears only that.
    this.spareFrom = clean.from;
    this.spareEnd = clean.to;
    b.count = b.used = 0;
  }

  /**
   * runOnlyAt of each frame of `b` in turn (frames as receiveBatch takes them; only when batchable()) through
   * Machine.runBatch, `onMark` at each `ja +0`: `each(i, run)` for frame i right after its run, before the next frame
   * runs (so that the hook has seen only its markers since the last call), `run` refilled per frame. No verdict path,
   * counters or pool, as runOnly (the return-line twin's batches).
   */
  runOnlyBatch(b: RxBatch, onMark: NonNullable<PacketBatch['onMark']>, each: (i: number, run: RunResult) => void): void {
    const n = b.count;
    if (n === 0) return;
    const g = this.geometry(0, 0);
    const buff = this.batchBuff(g);
    const clean = this.clean;
    let res = this.onlyResults;
    if (res === undefined || res.retval.length < b.offset.length) {
      const m = b.offset.length;
      res = this.onlyResults = { retval: new Uint32Array(m), exitInsn: new Int32Array(m), steps: new Int32Array(m), result: undefined };
    }
    const { retval, exitInsn, steps } = res;
    const plain = this.plainRun();
    const lines = this.entryLines;
    const session = this.session;
    const plainAt = (j: number): RunResult => {
      const e = exitInsn[j];
      plain.retval = retval[j];
      plain.exitInsn = e;
      plain.steps = steps[j];
      plain.exitLoc = e >= 0 ? lines?.[e] : undefined;
      return plain;
    };
    let from = 0;
    const batch: PacketBatch = {
      bytes: b.bytes, offset: b.offset, length: b.length, headroom: g.headroom, clean, onMark, linear: g.fragSize > 0 ? linearCapacity(g) : undefined,
      // Frame i - 1 ran as a plain run (else the batch would have stopped after it).
      before: (i) => {
        if (i > from) each(i - 1, plainAt(i - 1));
        session.advanceToTime(b.sec[i], b.nanos[i]);
      },
    };
    let i = 0;
    while (i < n) {
      from = i;
      const k = session.runBatch(buff, batch, i, n, 0, res);
      each(k - 1, res.result ?? plainAt(k - 1));
      i = k;
    }
    this.spareFrom = clean.from;
    this.spareEnd = clean.to;
    b.count = b.used = 0;
  }
  private onlyResults: BatchResults | undefined;

  /**
   * During receiveBatch's `each` for a changed packet given without views (`changedViews` false): where its bytes
   * after the program are, after its metadata (bytes[from, end)); `bytes` NO_FRAME otherwise.
   */
  readonly changedOut = { bytes: NO_FRAME, from: 0, end: 0 };

  /** The xdp_buff of receiveBatch and runOnlyBatch in the spare frame, `clean` set to where it may not be zero. */
  private batchBuff(g: FrameGeometry): XdpBuff {
    const fresh = this.spare === undefined || this.spare.length !== g.frameSize;
    const spare = fresh ? this.session.machine.packetBuffer(g.frameSize, this.spare) : this.spare!;
    this.spare = spare;
    const clean = this.clean;
    if (fresh) clean.from = clean.to = 0;
    else if (this.boundsFixed) {
      // The window of the last frame laid out: the frame is zero outside it (see layout).
      clean.from = this.spareFrom;
      clean.to = this.spareEnd;
    } else {
      // A program that moves the bounds may have left bytes anywhere: cleared once here, as layout would.
      spare.fill(0);
      clean.from = clean.to = 0;
    }
    let buff = this.buff;
    if (buff === undefined) buff = this.buff = { frame: spare, data: g.headroom, dataEnd: g.headroom, dataMeta: g.headroom, frags: [], fragSize: g.fragSize, ingressIfindex: g.ingressIfindex, rxQueueIndex: 0, readonlyPage: g.readonlyPage };
    buff.frame = spare;
    if (buff.frags.length !== 0) buff.frags.length = 0;
    buff.fragSize = g.fragSize;
    buff.ingressIfindex = g.ingressIfindex;
    buff.rxQueueIndex = 0;
    buff.readonlyPage = g.readonlyPage;
    buff.egressIfindex = undefined;
    buff.rxMeta = undefined;
    return buff;
  }

  private readonly clean = { from: 0, to: 0 };
  /** receiveBatch's xdp_buff bounds of each packet after its run, for settle (linear: no fragments). */
  private readonly bounds: XdpBuff = { frame: new Uint8Array(0), data: 0, dataEnd: 0, dataMeta: 0, frags: [], fragSize: 0, ingressIfindex: 0, rxQueueIndex: 0 };
  private batch: PacketBatch | undefined;
  private batchOf(b: RxBatch, headroom: number, clean: { from: number; to: number }): PacketBatch {
    let batch = this.batch;
    if (batch === undefined || batch.bytes !== b.bytes) batch = this.batch = { bytes: b.bytes, offset: b.offset, length: b.length, headroom, clean, before: (i) => this.session.advanceToTime(b.sec[i], b.nanos[i]) };
    batch.headroom = headroom;
    return batch;
  }
  private results: BatchResults | undefined;
  private batchResults(n: number): BatchResults {
    let r = this.results;
    if (r === undefined || r.retval.length < n) {
      r = this.results = {
        retval: new Uint32Array(n), exitInsn: new Int32Array(n), steps: new Int32Array(n), flags: new Uint8Array(n),
        data: new Int32Array(n), dataEnd: new Int32Array(n), dataMeta: new Int32Array(n), frags: new Int32Array(n), fragBytes: new Int32Array(n),
        // In the machine's packet memory (when it has room): changed packets are copied out with memory.copy.
        out: { bytes: this.session.machine.packetBuffer(1 << 17), at: new Int32Array(n), used: 0 }, result: undefined,
      };
    }
    return r;
  }
  private plainResult: RunResult | undefined;
  /** The RunResult of a packet whose run needs nothing but its return value and exit (refilled per packet). */
  private plainRun(): RunResult {
    return (this.plainResult ??= {
      retval: 0, exitInsn: -1, exitProgram: this.session.program.name, steps: 0, tailCalls: 0, printk: [], perf: [], exitLoc: undefined, redirect: undefined,
    });
  }
  /** The entry program's source lines as the machine loaded it (a plain run's exitLoc). */
  private get entryLines(): LoadedProgram['lines'] | undefined {
    const name = this.session.program.name;
    return (this.linesOf ??= this.session.machine.obj.programs.find((p) => p.name === name)?.lines);
  }
  private linesOf: LoadedProgram['lines'] | undefined;

  private nativeVerdict(pkt: DriverPacket, buff: XdpBuff, queue: number): void {
    const pool = this.pools[queue];
    const readonly = this.opts.mode === 'readonly-page';
    const pages = 1 + buff.frags.length;
    if (pkt.fault || pkt.invalidAction || pkt.retval === 0) return this.exception(pkt, pool, pages);
    switch (pkt.retval) {
      case 1: // XDP_DROP
        pkt.path = 'page_pool_recycle';
        this.counters.rx_xdp_drop++;
        pool.recycleDirect(pages);
        return;
      case 2: // XDP_PASS
        this.counters.rx_xdp_pass++;
        if (!readonly) {
          pkt.path = 'build_skb';
          this.counters.rx_skb_build++;
          pool.release(pages); // the pages now belong to the skb; they come back through skb_mark_for_recycle later
          return;
        }
        return this.copyToSkb(pkt, buff, pool);
      case 3: { // XDP_TX
        if (readonly) return this.exception(pkt, pool, pages, 'XDP_TX needs a writable page (the frame is converted in place into an xdp_frame); a driver that hands out read-only pages cannot transmit it', 'dropped: TX needs a writable page');
        const room = xdpFrameRoom(buff);
        if (room !== undefined) return this.exception(pkt, pool, pages, room, 'dropped: no headroom for xdp_frame');
        // One TX descriptor per buffer; a frame that does not fit is dropped with trace_xdp_exception
        // (i40e_xmit_xdp_ring returns I40E_XDP_CONSUMED, mlx5e_xmit_xdp_frame fails: rx_xdp_tx_full).
        if (this.txPending[queue] + pages > this.opts.profile.txRingSize) {
          pkt.path = 'tx_ring_full';
          pkt.outcome = 'dropped: TX ring full';
          pkt.note = `XDP TX ring full: ${this.txPending[queue]} of ${this.opts.profile.txRingSize} descriptors wait for the doorbell at the end of this NAPI poll`;
          this.counters.rx_xdp_tx_full++;
          pool.recycleDirect(pages);
          return;
        }
        pkt.path = 'xdp_tx';
        this.counters.rx_xdp_tx++;
        this.txPending[queue] += pages;
        this.txFrames[queue]++;
        return;
      }
      case 4: { // XDP_REDIRECT
        if (readonly) return this.exception(pkt, pool, pages, 'XDP_REDIRECT needs a writable page (xdp_frame in the headroom); a driver that hands out read-only pages cannot redirect it', 'dropped: redirect needs a writable page');
        const room = xdpFrameRoom(buff);
        if (room !== undefined) return this.exception(pkt, pool, pages, room, 'dropped: no headroom for xdp_frame');
        const r = this.resolveRedirect(pkt, true);
        if ('error' in r) {
          pkt.path = 'redirect_error';
          pkt.note = r.error;
          pkt.outcome = r.outcome;
          this.counters.rx_xdp_redirect_fail++;
          pool.recycleDirect(pages);
          return;
        }
        pkt.path = r.path;
        pkt.target = r.target;
        this.counters.rx_xdp_redirect++;
        pool.release(pages);
        const pending = this.redirectPending[queue];
        pending.set(r.target, (pending.get(r.target) ?? 0) + 1);
        return;
      }
    }
  }

  /** trace_xdp_exception and a drop: the pages go straight back to the pool. */
  private exception(pkt: DriverPacket, pool: PagePool, pages: number, note?: string, outcome?: string): void {
    pkt.path = 'xdp_exception';
    if (note) pkt.note = note;
    if (outcome) pkt.outcome = outcome;
    this.counters.rx_xdp_aborted++;
    pool.recycleDirect(pages);
  }

  /** Option B: napi_alloc_skb + copy of the headers; small frames are copied whole and the page reused at once. */
  private copyToSkb(pkt: DriverPacket, buff: XdpBuff, pool: PagePool): void {
    const data = pkt.out.subarray(pkt.metaLen);
    const { copyBreak } = this.opts.profile;
    if (data.length <= copyBreak && buff.frags.length === 0) {
      pkt.path = 'napi_alloc_skb+copybreak';
      pkt.copied = data.length;
      this.counters.rx_copybreak++;
      pool.recycleDirect();
    } else {
      pkt.path = 'napi_alloc_skb+copy';
      pkt.copied = Math.min(headerLength(data), copyBreak);
      pool.release(1 + buff.frags.length); // the rest of the pages stay attached to the skb as read-only fragments
    }
    this.counters.rx_skb_alloc_copy++;
    this.counters.rx_copied_bytes += pkt.copied;
  }

  private genericVerdict(pkt: DriverPacket, buff: XdpBuff): void {
    if (pkt.fault || pkt.invalidAction || pkt.retval === 0) {
      pkt.path = 'kfree_skb';
      this.counters.rx_xdp_aborted++;
      return;
    }
    switch (pkt.retval) {
      case 1:
        pkt.path = 'kfree_skb';
        this.counters.rx_xdp_drop++;
        return;
      case 2:
        pkt.path = 'netif_receive_skb';
        this.counters.rx_xdp_pass++;
        return;
      case 3:
        pkt.path = 'generic_xdp_tx';
        this.counters.rx_xdp_tx++;
        this.counters.tx_xdp_xmit++;
        return;
      case 4: {
        const r = this.resolveRedirect(pkt, false);
        if ('error' in r) {
          pkt.path = 'redirect_error';
          pkt.note = r.error;
          pkt.outcome = r.outcome;
          this.counters.rx_xdp_redirect_fail++;
          return;
        }
        pkt.path = 'xdp_do_generic_redirect';
        pkt.target = r.target;
        this.counters.rx_xdp_redirect++;
        return;
      }
    }
    void buff;
  }

  /**
   * xdp_do_redirect (native) or xdp_do_generic_redirect (skb mode): the target the last bpf_redirect* recorded,
   * checked the way the kernel checks it.
   */
  private resolveRedirect(pkt: DriverPacket, native: boolean): { path: DriverPath; target: string } | { error: string; outcome: string } {
    const t = pkt.run.redirect;
    // No target recorded: the UNSPEC/default branch of xdp_do_redirect (-EBADRQC); after a failed map lookup the
    // kernel leaves an empty ifindex target behind instead, which fails with -EINVAL. Dropped either way.
    if (!t) {
      const fb = pkt.run.redirectFallback;
      const after = fb ? ` (the last bpf_redirect_map on ${fb.map} found no entry for key ${fb.key}: ${fb.reason})` : '';
      return { error: `XDP_REDIRECT without a target from a successful bpf_redirect or bpf_redirect_map${after}: xdp_do_redirect fails (-EBADRQC, or -EINVAL after a failed map lookup) and the frame is dropped`, outcome: 'dropped: no redirect target' };
    }
    const len = pkt.out.length - pkt.metaLen;
    const checkDev = (ifindex: number | undefined, via: string): { error: string; outcome: string } | undefined => {
      if (ifindex === undefined) return { error: `${via}: no target device`, outcome: 'dropped: no redirect target' };
      const dev = this.devices.get(ifindex);
      if (!dev) return via.startsWith('bpf_redirect(') ? { error: `${via}: no device with ifindex ${ifindex} (-EINVAL)`, outcome: 'dropped: no such device' } : undefined;
      // Native redirects hand an xdp_frame to the device's ndo_xdp_xmit (__xdp_enqueue: -EOPNOTSUPP without it);
      // skb mode transmits the skb through the normal path instead, which every device has.
      if (native && dev.xdpXmit === false) return { error: `${via}: device ${dev.name} does not implement ndo_xdp_xmit (-EOPNOTSUPP)`, outcome: 'dropped: target cannot transmit XDP frames' };
      if (!dev.up) return { error: `${via}: device ${dev.name} is down (-ENETDOWN)`, outcome: 'dropped: target device down' };
      if (len > dev.mtu + 14 + 4) return { error: `${via}: frame of ${len} bytes exceeds ${dev.name}'s MTU ${dev.mtu} (-EMSGSIZE)`, outcome: 'dropped: larger than the target MTU' };
      return undefined;
    };
    if (t.kind === 'ifindex') {
      const err = checkDev(t.ifindex, `bpf_redirect(${t.ifindex})`);
      if (err) return err;
      return { path: 'xdp_redirect:ifindex', target: this.devices.get(t.ifindex!)?.name ?? `ifindex ${t.ifindex}` };
    }
    const where = `${t.map}[${t.key}]`;
    switch (t.mapType) {
      case MapType.DEVMAP:
      case MapType.DEVMAP_HASH: {
        const err = checkDev(t.ifindex, `bpf_redirect_map(${where})`);
        if (err) return err;
        return { path: 'xdp_redirect:devmap', target: `${where} -> ifindex ${t.ifindex}` };
      }
      case MapType.CPUMAP:
        return { path: 'xdp_redirect:cpumap', target: `${where} (cpu ${t.key})` };
      case MapType.XSKMAP:
        return { path: 'xdp_redirect:xskmap', target: `${where} (AF_XDP socket)` };
      default:
        return { error: `bpf_redirect_map on ${t.map}: not a redirect map`, outcome: 'dropped: not a redirect map' };
    }
  }

  /** End of a NAPI poll: one TX doorbell for the queued XDP_TX frames, one xdp_do_flush for the redirects. */
  private endPoll(queue: number): void {
    this.counters.napi_polls++;
    if (this.txPending[queue] > 0) {
      this.counters.tx_doorbells++;
      this.counters.tx_xdp_xmit += this.txFrames[queue];
      // TX completion returns the pages to the pool by the next poll.
      this.pools[queue].recycleRing(this.txPending[queue]);
      this.txPending[queue] = 0;
      this.txFrames[queue] = 0;
    }
    const pending = this.redirectPending[queue];
    if (pending.size > 0) {
      this.counters.xdp_redirect_flushes++;
      pending.clear();
    }
    this.pollCount[queue] = 0;
  }

  /** Flush what the last, partial poll of every queue left pending. */
  finish(): void {
    for (let q = 0; q < this.pools.length; q++) if (this.pollCount[q] > 0) this.endPoll(q);
  }

  /** Counters in the spirit of `ethtool -S` and xdp-monitor, plus the page pools'. */
  stats(): Record<string, number> {
    const s: Record<string, number> = { ...this.counters };
    for (const pool of this.pools) {
      for (const [k, v] of Object.entries(pool.stats)) s[`page_pool_${k}`] = (s[`page_pool_${k}`] ?? 0) + v;
    }
    return s;
  }
}

/** sec * 10^9 + nanos as a BigInt. */
const timeNs = (sec: number, nanos: number): bigint => BigInt(sec) * 1_000_000_000n + BigInt(nanos);

/** xdp_update_frame_from_buff: TX and redirect need 40 bytes of headroom (after metadata) for struct xdp_frame. */
function xdpFrameRoom(buff: XdpBuff): string | undefined {
  const metaLen = buff.dataMeta <= buff.data ? buff.data - buff.dataMeta : 0;
  const headroom = buff.data - metaLen;
  if (headroom < XDP_FRAME_SIZE) return `only ${headroom} bytes of headroom left for struct xdp_frame (needs ${XDP_FRAME_SIZE}): -ENOSPC`;
  return undefined;
}

/**
 * The reasons the verdict paths do not set themselves: faults and values that are not actions (both end as
 * XDP_ABORTED), a bpf_redirect_map fallback the program returned, and a passed frame the stack will drop because it
 * is shorter than its own headers say.
 */
/** `bytes[from, end)`: the packet after the program (pkt.out after its metadata, or where it is when out is NO_FRAME). */
function refineOutcome(pkt: DriverPacket, bytes: Uint8Array, from: number, end: number): void {
  // retval is what the driver acted on: an action's index, or a value that is none (XDP_ABORTED's outcome).
  if (pkt.outcome !== PLAIN_BY_RETVAL[pkt.invalidAction ? 0 : pkt.retval]) return;
  if (pkt.fault) {
    pkt.outcome = 'aborted: fault';
    return;
  }
  if (pkt.invalidAction) {
    pkt.outcome = 'aborted: not an XDP action';
    return;
  }
  const fb = pkt.run.redirectFallback;
  if (fb && pkt.retval === fb.action && pkt.action !== 'XDP_REDIRECT') {
    pkt.outcome = `${PLAIN_OUTCOME[pkt.action]}: bpf_redirect_map fallback, ${fb.reason}`;
    const why = `bpf_redirect_map(${fb.map}, ${fb.key}) returned its fallback ${pkt.action}: ${fb.reason === 'map empty' ? `${fb.map} has no entries` : `${fb.map} has no entry for key ${fb.key}`}`;
    pkt.note = pkt.note ? `${pkt.note}; ${why}` : why;
    return;
  }
  if (pkt.action === 'XDP_PASS') {
    const short = tooShort(bytes, from, end);
    if (short) {
      pkt.outcome = TOO_SHORT_OUTCOME;
      pkt.note = pkt.note ? `${pkt.note}; ${short}` : short;
    }
  }
}

/**
 * Why the stack drops a frame XDP passed, when it is shorter than its headers: eth_type_trans needs the Ethernet
 * header, ip_rcv_core an IPv4 header of IHL words within tot_len within the frame, ipv6_rcv the fixed header and the
 * payload length. 802.1Q/802.1ad tags are skipped as the stack's VLAN receive path does.
 */
export function tooShort(f: Uint8Array, start = 0, end = f.length): string | undefined {
  const kind = shortKind(f, start, end);
  if (kind === 0) return undefined;
  const a = SHORT[0]!;
  const b = SHORT[1]!;
  const c = SHORT[2]!;
  const len = end - start;
  if (!(len >= 0 && len < 2 ** 28)) return shortText(kind, a, b, c);
  // One string per finding (a few per capture, often thousands of packets each): no text made per packet, and the
  // consumers' caches keyed by the text (jsonl's) find it without hashing it again.
  const key = kind + 16 * (a + 65536 * (b + 16 * c));
  let t = shortTexts.get(key);
  if (t === undefined) {
    t = shortText(kind, a, b, c);
    if (shortTexts.size >= 4096) shortTexts.clear();
    shortTexts.set(key, t);
  }
  return t;
}

/** tooShort's texts by finding (its kind and numbers packed: below 2^52 for frames under 2^28 bytes). */
const shortTexts = new Map<number, string>();
/** shortKind's numbers for shortText: a below 2^16, b below 16, c below the frame's length. */
const SHORT = new Float64Array(3);

/** tooShort's finding: 0 for none, else its kind, with the numbers its text names in SHORT. */
function shortKind(f: Uint8Array, start: number, end: number): number {
  // The frame is f[start..end): offsets below are relative to it.
  const len = end - start;
  if (len < 14) return found(1, len, 0, 0);
  let off = 12;
  let type = (f[start + off]! << 8) | f[start + off + 1]!;
  while (type === 0x8100 || type === 0x88a8) {
    off += 4;
    if (off + 2 > len) return found(2, 0, 0, 0);
    type = (f[start + off]! << 8) | f[start + off + 1]!;
  }
  const l3 = start + off + 2;
  const rest = len - (off + 2);
  if (type === 0x0800) {
    if (rest < 20) return found(3, rest, 0, 0);
    const ihl = (f[l3]! & 15) * 4;
    const tot = (f[l3 + 2]! << 8) | f[l3 + 3]!;
    if (f[l3]! >> 4 !== 4 || ihl < 20) return found(4, f[l3]! >> 4, ihl / 4, 0);
    if (rest < ihl) return found(5, rest, ihl / 4, 0);
    if (tot > rest || tot < ihl) return found(6, tot, ihl / 4, rest);
  } else if (type === 0x86dd) {
    if (rest < 40) return found(7, rest, 0, 0);
    const plen = (f[l3 + 4]! << 8) | f[l3 + 5]!;
    if (plen + 40 > rest) return found(8, plen, 0, rest - 40);
  }
  return 0;
}

/** shortKind's finding `kind` with its numbers (into SHORT). */
function found(kind: number, a: number, b: number, c: number): number {
  SHORT[0] = a;
  SHORT[1] = b;
  SHORT[2] = c;
  return kind;
}

/** The text of shortKind's finding `kind` with its numbers. */
function shortText(kind: number, a: number, b: number, c: number): string {
  switch (kind) {
    case 1:
      return `${a} bytes, shorter than an Ethernet header (14): the stack drops it`;
    case 2:
      return 'a VLAN tag cut short: the stack drops it';
    case 3:
      return `${a} bytes after the Ethernet header, fewer than an IPv4 header (20): ip_rcv drops it`;
    case 4:
      return `IPv4 header with version ${a} and IHL ${b}: ip_rcv drops it`;
    case 5:
      return `IPv4 header of ${b * 4} bytes with ${a} left in the frame: ip_rcv drops it`;
    case 6:
      return `IPv4 total length ${a} with ${c} bytes in the frame and a ${b * 4}-byte header: ip_rcv drops it`;
    case 7:
      return `${a} bytes after the Ethernet header, fewer than an IPv6 header (40): ipv6_rcv drops it`;
    default:
      return `IPv6 payload length ${a} with ${c} bytes after the header: ipv6_rcv drops it`;
  }
}

/** Frames for Driver.receiveBatch: copies in one buffer (the machine's packet memory), with their timestamps. */
export class RxBatch {
  count = 0;
  /** Bytes of `bytes` in use (each frame starts 8-byte aligned). */
  used = 0;
  readonly offset: Int32Array;
  readonly length: Int32Array;
  readonly sec: Float64Array;
  readonly nanos: Float64Array;

  /**
   * `bytes`: where the frames are. A batch of copies (`add`) owns them; a batch over another's buffer (`addAt`: a
   * capture reader's, in the machine's packet memory) may be pointed at that owner's new buffer while it is empty.
   */
  constructor(public bytes: Uint8Array, frames: number) {
    this.offset = new Int32Array(frames);
    this.length = new Int32Array(frames);
    this.sec = new Float64Array(frames);
    this.nanos = new Float64Array(frames);
  }

  /** Whether a frame of `len` bytes fits after those already in. */
  room(len: number): boolean {
    return this.count < this.offset.length && this.used + len <= this.bytes.length;
  }

  /** Append a copy of `frame`, received at sec s + nanos ns (sec >= 0, 0 <= nanos < 10^9); room() first. Returns its index. */
  add(frame: Uint8Array, sec: number, nanos: number): number {
    const i = this.count++;
    const o = this.used;
    this.bytes.set(frame, o);
    this.offset[i] = o;
    this.length[i] = frame.length;
    this.sec[i] = sec;
    this.nanos[i] = nanos;
    this.used = (o + frame.length + 7) & ~7;
    return i;
  }

  /**
   * Append the frame of `len` bytes at `at` in `bytes` as it is (no copy: the owner of `bytes` keeps it there until
   * the batch has been received), received at sec s + nanos ns as for `add`; room() first. Returns its index.
   */
  addAt(at: number, len: number, sec: number, nanos: number): number {
    const i = this.count++;
    this.offset[i] = at;
    this.length[i] = len;
    this.sec[i] = sec;
    this.nanos[i] = nanos;
    return i;
  }

  /** Frame i as a view of the batch's bytes (valid until the batch is refilled). */
  frame(i: number): Uint8Array {
    return this.bytes.subarray(this.offset[i], this.offset[i] + this.length[i]);
  }
}
