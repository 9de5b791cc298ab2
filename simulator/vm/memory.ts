// The address space of one simulated program run.
//
// A pointer is a 64-bit value whose high 32 bits name a region and whose low 32 bits are the offset inside it plus a
// bias of 2^31:  addr = regionId << 32 | (0x8000_0000 + offset).  Pointer arithmetic therefore works on plain
// integers, a negative offset (r10 - 8, data - 4) stays inside its region, and any address whose high word is 0 — a
// NULL from map_lookup_elem, a scalar mistaken for a pointer — is recognisably not a pointer. Every load and store goes
// through `resolve`, which faults with the slot index instead of reading anything outside a region's window: the
// kernel proves these bounds in the verifier (check_mem_access), we check them as the program runs.
//
// Regions:
//   ctx        struct xdp_md (24 bytes): only aligned 4-byte loads; data/data_end/data_meta load as packet pointers
//              (the kernel rewrites them in xdp_convert_ctx_access); any store faults 'ctx-write'.
//   packet     the whole xdp_buff frame; the accessible window is [data_meta, data_end) (data when metadata is
//              unsupported) and is read from the XdpBuff at each access, so it follows adjust_head/meta/tail.
//   stack      512 bytes per call frame (MAX_BPF_STACK), r10 = offset 512; zeroed at the start of each run. Frames
//              beyond the first WASM_FRAMES are made the first time a run reaches them (a chain of tail calls made from
//              subprograms keeps the callers' frames: up to MAX_FRAMES in all). A byte
//              map per frame records which bytes were written since the frame was entered: a read of a byte never
//              written (or of the frame of a function that has returned) is what the kernel refuses for unprivileged
//              loaders and lets root do (allow_uninit_stack), reading whatever the stack held; the run still reads
//              the zeros or stale bytes there, and the first such read is recorded (`uninitRead`) for the report.
//   map value  one region per value (the stable Uint8Array a map hands out); read-only for BPF_F_RDONLY_PROG maps.
//   scratch    helper-owned memory (ringbuf reservations, the conformance `mem` block).
import type { FaultKind, XdpBuff } from './types.ts';
import { BPF_F_RDONLY_PROG } from '../elf/types.ts';

export const REGION_BIAS = 0x8000_0000;

export const REGION_CTX = 1;
export const REGION_PACKET = 2;
/** Map handles (lddw src 1): not memory; the offset is the map index. */
export const REGION_MAP_HANDLE = 3;
/** Function addresses (lddw src 4): not memory; the offset is the slot index. */
export const REGION_FUNC = 4;
export const REGION_STACK0 = 8;
/** The verifier's MAX_CALL_FRAMES: frames of one program, from its entry (or the frame a tail call started it in). */
export const MAX_CALL_FRAMES = 8;
/**
 * Call frames one run may hold at once. A tail call made from a subprogram at depth d starts the next program in
 * frame d with the callers' frames kept (the kernel's x86 JIT unwinds only the frame of the function that made it),
 * and that program may go MAX_CALL_FRAMES - 1 deeper; with MAX_TAIL_CALL_CNT (33) tail calls: 8 + 33 * 7.
 */
export const MAX_FRAMES = MAX_CALL_FRAMES + 33 * (MAX_CALL_FRAMES - 1);
/** Frames made with every Memory (and held in the WebAssembly linear memory once attached); later ones on demand. */
export const WASM_FRAMES = 8;
const FIRST_DYNAMIC = 256;

export const STACK_SIZE = 512;

/**
 * The WebAssembly linear memory a Memory holds once the compiled engine's WebAssembly tier runs on it (attachWasm):
 * byte offsets of the registers (11 x u64, the engine's S.R), a scratch word for a load's high half, the instruction
 * budget left, the region table of ids 0..15 (per id: base, lo, hi, hi for stores (-1: not writable inline), 1 for a
 * stack frame; lo 1 / hi 0 for an id the generated code must not touch inline), the call frames (bytes, written-byte
 * map, and the lowest offset the generated code wrote, per frame) and the arena packet buffers come from. Fixed size:
 * never grown, so no view of it is ever detached.
 */
export const WASM_LAYOUT = { R: 0, TH: 96, LEFT: 100, TABLE: 512, ENTRY: 32, FRAMES: 1024, FRAME_STRIDE: 2048, DIRTY: 1024, ARENA: 32768, PAGES: 8 } as const;
/** The word of the packet's table entry the WebAssembly tier's inline stores set to 1 (wasm.ts store; words 0-4: wasmEntry). */
const PACKET_WROTE = (WASM_LAYOUT.TABLE + REGION_PACKET * WASM_LAYOUT.ENTRY + 20) >> 2;
/** The word of the packet's table entry (wasmEntry's first) and of frame 1's dirty offset (cleanFrame's). */
const PACKET_ENTRY = (WASM_LAYOUT.TABLE + REGION_PACKET * WASM_LAYOUT.ENTRY) >> 2;
const FRAME1_DIRTY = (WASM_LAYOUT.FRAMES + WASM_LAYOUT.DIRTY) >> 2;
/**
 * A WebAssembly module importing a memory (e.m) and exporting c(dst, src, len) = memory.copy: type (i32 i32 i32) -> ().
 */
const COPY_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00,
  0x02, 0x08, 0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x05, 0x01, 0x01, 0x63, 0x00, 0x00,
  0x0a, 0x0e, 0x01, 0x0c, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b,
]);
/** sizeof(struct xdp_md). */
export const XDP_MD_SIZE = 24;

export type RegionKind = 'ctx' | 'packet' | 'stack' | 'map-value' | 'scratch' | 'handle';

export interface Region {
  id: number;
  kind: RegionKind;
  /** For messages: `stack frame 1`, `value of map counters`, `packet`. */
  name: string;
  bytes: Uint8Array;
  view: DataView;
  /** Accessible window [lo, hi) within bytes (packet: recomputed from the XdpBuff). */
  lo: number;
  hi: number;
  /** Stores fault with this kind (read-only map values, read-only packet pages). */
  writeFault?: FaultKind;
  /** Stack frames only: 1 per byte written since the frame was entered. */
  init?: Uint8Array;
  /** A view of `init` (the compiled engine marks and checks 2, 4, 8 bytes at once). */
  initView?: DataView;
  writeFaultMessage?: string;
  /** Loads and stores may take the compiled engine's fast path (every region but ctx, which is rewritten). */
  fast: boolean;
  /** Map values: the run the region was last bound in (Memory.reset counts runs); its address is regionBase(id). */
  stamp: number;
  /**
   * Stack frames only: the lowest offset whose byte may be non-zero (STACK_SIZE: the frame is all zeros). Every path
   * that writes a frame lowers it (stores, helper views of it, region() for outside writers), so a reset zeroes
   * only [dirtyFrom, STACK_SIZE) of the bytes and of the written-byte map.
   */
  dirtyFrom: number;
}

/** A fault raised while executing; the interpreter adds the program name and source location. */
export class VmFault extends Error {
  constructor(
    readonly kind: FaultKind,
    message: string,
    readonly insn: number,
  ) {
    super(message);
  }
}

// The three below go through a 64-bit typed-array cell (writing a BigInt to it reduces it mod 2^64, as asUintN does)
// so that taking an address apart allocates nothing.
const A64 = new BigUint64Array(1);
const A32 = new Uint32Array(A64.buffer);
export const addrOf = (region: number, off: number): bigint => {
  const low = REGION_BIAS + off;
  if (low >= 0 && low <= 0xffffffff && region >= 0 && region <= 0xffffffff && Number.isInteger(low)) {
    A32[0] = low;
    A32[1] = region;
    return A64[0];
  }
  return (BigInt(region) << 32n) + BigInt(low);
};
export const regionOf = (addr: bigint): number => {
  A64[0] = addr;
  return A32[1];
};
export const offsetOf = (addr: bigint): number => {
  A64[0] = addr;
  return A32[0] - REGION_BIAS;
};

/** r1 at an XDP program's entry (the ctx pointer), and the initialiser that sets it (the compiled engine knows it). */
export const CTX_POINTER = addrOf(REGION_CTX, 0);
export const initCtxRegister = (r: BigUint64Array): void => {
  r[1] = CTX_POINTER;
};

const EMPTY = new Uint8Array(0);
/** addrOf(id, 0) per dynamic region id, made once (a run re-binds its map values to the same ids every time). */
const BASES: bigint[] = [];
const regionBase = (id: number): bigint => BASES[id] ?? (BASES[id] = addrOf(id, 0));
/** r10 of each call frame (1-based), made once. */
const FRAME_POINTERS = Array.from({ length: MAX_FRAMES + 1 }, (_, d) => addrOf(REGION_STACK0 + d - 1, STACK_SIZE));

function makeRegion(id: number, kind: RegionKind, name: string, bytes: Uint8Array, lo = 0, hi = bytes.length): Region {
  // Every field set, in one order: one object shape for every region keeps the engines' property reads monomorphic.
  return {
    id, kind, name, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), lo, hi,
    writeFault: undefined, init: undefined, initView: undefined, writeFaultMessage: undefined, fast: kind !== 'ctx',
    stamp: -1, dirtyFrom: STACK_SIZE,
  };
}

/** What mapValueIdAt needs of a map: its name and read-only flags (maps.ts BpfMap). */
export interface MapOfValue {
  readonly def: { readonly name: string; readonly flags: number };
  readonly readonlyForProgram: boolean;
}
/** helpers.ts readonlyMap: the read-only flag a map value's region gets. */
const readonlyMap = (m: MapOfValue): boolean => m.readonlyForProgram || (m.def.flags & BPF_F_RDONLY_PROG) !== 0;
/** mapValueIdAt's tables: 64 entries per site, for at most 256 sites (a site past that calls mapValueId). */
const SITE_MASK = 63;
const MAX_SITES = 256;

/** Scratch for splitting a 64-bit value into int32 halves and joining them back. */
const S64 = new BigUint64Array(1);
const S32 = new Int32Array(S64.buffer);
/** The address r + off for a register given as int32 halves, exactly as the interpreter computes it. */
const joinAddr = (h: number, l: number, off: number): bigint => {
  S32[0] = l;
  S32[1] = h;
  return S64[0] + BigInt(off);
};
const ONES16 = 0x0101;
const ONES32 = 0x01010101;

/** The first read of stack bytes that were never written, in one run. */
export interface UninitRead {
  insn: number;
  /** The program (ProgramImage) that was running, as set in `Memory.program`. */
  program: unknown;
  /** 1-based call frame whose stack was read; `returned` when that function had already returned. */
  frame: number;
  returned: boolean;
  /** Offset relative to that frame's r10, and the size of the read. */
  offset: number;
  size: number;
  /** 'load' for an instruction, or the helper argument that read it. */
  what: string;
}

export interface CtxInfo {
  buff: XdpBuff;
  /** egress_ifindex is readable only in BPF_XDP_DEVMAP programs (section `xdp/devmap`). */
  egressReadable: boolean;
}

export class Memory {
  private readonly regions: (Region | undefined)[] = [];
  /**
   * The region table by id (the compiled engine's inlined loads and stores read it; never replaced). A slot at or above
   * nextDynamic may hold an earlier run's region: read it only for an id below nextDynamic (or through `live`).
   */
  get regionTable(): readonly (Region | undefined)[] {
    return this.regions;
  }
  /**
   * The next dynamic id of this run: the slots below it are this run's, those at or above it may still hold an earlier
   * run's regions (not cleared between runs, so that a map value taking the same id again writes no slot). Every
   * reader of the table checks an id against it (the fast paths with `h < nextDynamic`, the rest through `live`).
   */
  nextDynamic = FIRST_DYNAMIC;
  /** The region of each map value seen, rebound (new id, same object) the first time a run uses it. */
  private valueRegions = new WeakMap<Uint8Array, Region>();
  /** The last 4 values found in valueRegions and their regions (round robin; the same pairs the map holds). */
  private readonly recentValues: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined];
  private readonly recentRegions: (Region | undefined)[] = [undefined, undefined, undefined, undefined];
  private recentNext = 0;
  /** Per inline lookup site of the compiled engine: the regions of values it found, by index & SITE_MASK. */
  private readonly siteValues: ((Region | undefined)[] | undefined)[] = [];
  private runs = 0;
  private readonly packetRegion = makeRegion(REGION_PACKET, 'packet', 'packet', EMPTY);
  /** Called after the packet window moved (syncPacket): images that hold packet addresses follow it (kfuncs). */
  onPacketSync: (() => void) | undefined = undefined;
  /** Per call frame: its stack bytes, then its written-byte map (Region.bytes and Region.init are views of it). */
  private readonly frameBuffers: Uint8Array[] = [];
  /** The same buffers as 8-byte words (a few words are zeroed faster by stores than by a fill call). */
  private readonly frameWords: Float64Array[] = [];
  private stacksUsed = 0;
  /** The one CtxInfo of this Memory, rebound per run (a run allocates none). */
  private readonly ctxInfo: CtxInfo = { buff: undefined as unknown as XdpBuff, egressReadable: false };
  /** Frames entered in this run that have since returned (reads of them are reads of a dead frame). */
  private depthNow = 1;
  ctx: CtxInfo | undefined;
  /** The program running now (set by the interpreter), recorded with an uninitialised read. */
  program: unknown;
  /** The first read of never-written stack bytes in this run. */
  uninitRead: UninitRead | undefined;
  /** The compiled engine's run state for runs on this Memory (compiled/engine.ts keeps it here). */
  engineState: unknown;
  /** The WebAssembly linear memory (attachWasm), its words, and the arena's next free offset and last buffer. */
  wasmMemory: WebAssembly.Memory | undefined;
  /** Its buffer (WebAssembly.Memory.buffer is a getter into the engine: read once, it never changes). */
  private wasmBuffer: ArrayBuffer | undefined;
  private wasm32: Int32Array | undefined;
  private arenaTop: number = WASM_LAYOUT.ARENA;
  private arenaLast = -1;

  constructor() {
    const ctx = makeRegion(REGION_CTX, 'ctx', 'ctx (struct xdp_md)', new Uint8Array(XDP_MD_SIZE));
    ctx.writeFault = 'ctx-write';
    ctx.writeFaultMessage = 'struct xdp_md is read-only for XDP programs';
    this.regions[REGION_CTX] = ctx;
    this.regions[REGION_MAP_HANDLE] = makeRegion(REGION_MAP_HANDLE, 'handle', 'map handle (struct bpf_map *, not memory)', EMPTY);
    this.regions[REGION_FUNC] = makeRegion(REGION_FUNC, 'handle', 'function address (not memory)', EMPTY);
    for (let id = 5; id < FIRST_DYNAMIC; id++) this.regions[id] = undefined;
    for (let f = 0; f < WASM_FRAMES; f++) this.addFrame();
  }

  /** Make the next call frame (0-based f = frameBuffers.length). */
  private addFrame(): void {
    const f = this.frameBuffers.length;
    // A frame's bytes and its written-byte map are the two halves of one buffer: one fill clears both.
    const both = new Uint8Array(2 * STACK_SIZE);
    this.frameBuffers.push(both);
    this.frameWords.push(new Float64Array(both.buffer));
    const bytes = both.subarray(0, STACK_SIZE);
    const region = makeRegion(REGION_STACK0 + f, 'stack', `stack frame ${f + 1}`, bytes);
    region.init = both.subarray(STACK_SIZE);
    region.initView = new DataView(both.buffer, STACK_SIZE, STACK_SIZE);
    this.regions[REGION_STACK0 + f] = region;
  }

  /** Frame `depth` (1-based) and those below it exist (a run past WASM_FRAMES deep makes them once per Memory). */
  private needFrame(depth: number): void {
    if (depth > MAX_FRAMES) throw new Error(`call frame ${depth}: at most ${MAX_FRAMES}`);
    while (this.frameBuffers.length < depth) this.addFrame();
  }

  /** What every run starts with: the previous run's dynamic regions forgotten, the stack frames it touched zeroed. */
  private forgetRun(): void {
    // The last run's dynamic slots stay as they are: ids at or above nextDynamic are no run's (see nextDynamic).
    this.nextDynamic = FIRST_DYNAMIC;
    this.runs++;
    const used = this.stacksUsed;
    this.cleanFrame(0);
    for (let f = 1; f < used; f++) this.cleanFrame(f);
    this.stacksUsed = 1;
    this.depthNow = 1;
    this.uninitRead = undefined;
  }

  /** Start a run: forget per-run regions, zero the stack frames the previous run touched, bind the packet. */
  reset(buff: XdpBuff | undefined, egressReadable = false): void {
    const regions = this.regions;
    this.flushClean();
    this.forgetRun();
    this.packetWritten = 0;
    if (this.wasm32 !== undefined) this.wasm32[PACKET_WROTE] = 0;
    this.touchLo = 0x7fffffff;
    this.touchHi = 0;
    if (buff) {
      const c = this.ctxInfo;
      c.buff = buff;
      c.egressReadable = egressReadable;
      this.ctx = c;
      regions[REGION_PACKET] = this.packetRegion;
      this.syncPacket();
      this.packetMoved = 0;
    } else {
      this.ctx = undefined;
      regions[REGION_PACKET] = undefined;
      if (this.wasm32 !== undefined) this.wasmEntry(REGION_PACKET, 0, 1, 0, -1, 0);
    }
  }

  /**
   * reset(buff, egressReadable) for the next packet of a batch (Machine.runBatch): the same effects, with the packet's
   * table entry written straight when the last reset bound this buff and frame (else reset itself).
   */
  resetPacket(buff: XdpBuff, egressReadable: boolean): void {
    const c = this.ctxInfo;
    const r = this.packetRegion;
    const f = buff.frame;
    const w = this.wasm32;
    // The common case, small enough for V8 to inline into runBatch: the last reset bound this buff and its frame, in
    // the linear memory, on a writable page; the rest is resetPacketAny.
    if (this.ctx !== c || c.buff !== buff || this.regions[REGION_PACKET] !== r || r.bytes !== f || w === undefined || this.wasmFrame !== f ||
      this.wasmFrameBase < 0 || buff.readonlyPage === true || r.writeFault !== undefined) {
      this.resetPacketAny(buff, egressReadable);
      return;
    }
    // forgetRun, whose loops and frame cleaning are skipped when the last run used one frame and wrote none of its
    // bytes (from JavaScript or WebAssembly).
    if (this.stacksUsed !== 1 || this.regions[REGION_STACK0]!.dirtyFrom < STACK_SIZE || w[FRAME1_DIRTY]! < STACK_SIZE) this.forgetRun();
    else {
      this.nextDynamic = FIRST_DYNAMIC;
      this.runs++;
      this.depthNow = 1;
      this.uninitRead = undefined;
    }
    c.egressReadable = egressReadable;
    const data = buff.data;
    const meta = buff.dataMeta;
    const lo = meta < data ? meta : data;
    const hi = buff.dataEnd;
    r.lo = lo;
    r.hi = hi;
    const h = hi < f.length ? hi : f.length;
    w[PACKET_ENTRY] = this.wasmFrameBase;
    w[PACKET_ENTRY + 1] = lo;
    w[PACKET_ENTRY + 2] = h;
    w[PACKET_ENTRY + 3] = h;
    this.packetWritten = this.packetMoved = 0;
    w[PACKET_WROTE] = 0;
    this.touchLo = lo;
    this.touchHi = hi;
  }

  /** resetPacket for any buff and frame. */
  private resetPacketAny(buff: XdpBuff, egressReadable: boolean): void {
    const c = this.ctxInfo;
    const r = this.packetRegion;
    const f = buff.frame;
    const regions = this.regions;
    if (this.ctx !== c || c.buff !== buff || regions[REGION_PACKET] !== r || r.bytes !== f || (this.wasm32 !== undefined && this.wasmFrame !== f)) {
      this.reset(buff, egressReadable);
      return;
    }
    this.forgetRun();
    c.egressReadable = egressReadable;
    const data = buff.data;
    const meta = buff.dataMeta;
    const lo = meta < data ? meta : data;
    const hi = buff.dataEnd;
    r.lo = lo;
    r.hi = hi;
    const ro = buff.readonlyPage === true;
    if (ro) {
      r.writeFault = 'readonly-page-write';
      r.writeFaultMessage = 'the driver hands the program a read-only page (readonly-page mode)';
    } else if (r.writeFault !== undefined) r.writeFault = r.writeFaultMessage = undefined;
    const w = this.wasm32;
    if (w !== undefined && this.wasmFrameBase >= 0) {
      const e = (WASM_LAYOUT.TABLE + REGION_PACKET * WASM_LAYOUT.ENTRY) >> 2;
      const h = hi < f.length ? hi : f.length;
      w[e] = this.wasmFrameBase;
      w[e + 1] = lo;
      w[e + 2] = h;
      w[e + 3] = ro ? -1 : h;
    } else if (w !== undefined) {
      this.syncPacket();
    }
    this.packetWritten = this.packetMoved = 0;
    if (w !== undefined) w[PACKET_WROTE] = 0;
    this.touchLo = lo;
    this.touchHi = hi;
  }

  /** Zero the bytes of frame f (0-based) that may be non-zero, and their written-byte marks. */
  private cleanFrame(f: number): void {
    const r = this.regions[REGION_STACK0 + f]!;
    const w32 = this.wasm32;
    const inLinear = w32 !== undefined && f < WASM_FRAMES;
    const dirty = inLinear ? (WASM_LAYOUT.FRAMES + f * WASM_LAYOUT.FRAME_STRIDE + WASM_LAYOUT.DIRTY) >> 2 : 0;
    const from = inLinear ? Math.min(r.dirtyFrom, w32[dirty]) : r.dirtyFrom;
    if (from >= STACK_SIZE) return;
    if (inLinear) w32[dirty] = STACK_SIZE;
    if (from >= STACK_SIZE - 128) {
      const w = this.frameWords[f];
      const half = STACK_SIZE / 8;
      for (let i = Math.max(0, from) >> 3; i < half; i++) {
        w[i] = 0;
        w[half + i] = 0;
      }
    } else {
      this.frameBuffers[f].fill(0);
    }
    r.dirtyFrom = STACK_SIZE;
  }

  /** Recompute the packet window after the XdpBuff changed (adjust helpers); rebinds if the frame was replaced. */
  syncPacket(): void {
    this.flushClean();
    const buff = this.ctx?.buff;
    const r = this.regions[REGION_PACKET];
    if (!buff || !r) return;
    if (r.bytes !== buff.frame) {
      r.bytes = buff.frame;
      r.view = new DataView(buff.frame.buffer, buff.frame.byteOffset, buff.frame.byteLength);
    }
    r.lo = Math.min(buff.dataMeta, buff.data);
    r.hi = buff.dataEnd;
    this.packetMoved = 1;
    if (r.lo < this.touchLo) this.touchLo = r.lo;
    if (r.hi > this.touchHi) this.touchHi = r.hi;
    this.onPacketSync?.();
    r.writeFault = buff.readonlyPage ? 'readonly-page-write' : undefined;
    r.writeFaultMessage = buff.readonlyPage ? 'the driver hands the program a read-only page (readonly-page mode)' : undefined;
    const w = this.wasm32;
    if (w !== undefined) {
      // The generated WebAssembly reads and writes the packet inline only when the frame is in its linear memory
      // (decided once per frame array: its buffer never changes).
      const f = buff.frame;
      if (f !== this.wasmFrame) {
        this.wasmFrame = f;
        this.wasmFrameBase = f.buffer === this.wasmBuffer ? f.byteOffset : -1;
      }
      const e = (WASM_LAYOUT.TABLE + REGION_PACKET * WASM_LAYOUT.ENTRY) >> 2;
      if (this.wasmFrameBase >= 0) {
        const hi = r.hi < f.length ? r.hi : f.length;
        w[e] = this.wasmFrameBase;
        w[e + 1] = r.lo;
        w[e + 2] = hi;
        w[e + 3] = buff.readonlyPage ? -1 : hi;
      } else {
        w[e + 1] = 1;
        w[e + 2] = 0;
        w[e + 3] = -1;
      }
    }
  }

  /** The frame the packet's table entry was last computed for, and its offset in linear memory (-1: not there). */
  private wasmFrame: Uint8Array | undefined;
  private wasmFrameBase = -1;

  private wasmEntry(id: number, base: number, lo: number, hi: number, whi: number, stack: number): void {
    const w = this.wasm32!;
    const e = (WASM_LAYOUT.TABLE + id * WASM_LAYOUT.ENTRY) >> 2;
    w[e] = base;
    w[e + 1] = lo;
    w[e + 2] = hi;
    w[e + 3] = whi;
    w[e + 4] = stack;
  }

  /**
   * Move the call frames into a WebAssembly linear memory (made once, WASM_LAYOUT) for the compiled engine's
   * WebAssembly tier: the regions keep their objects, their bytes become views of it, so every engine, helper and
   * dump sees the same bytes. Between runs only.
   */
  attachWasm(): WebAssembly.Memory {
    if (this.wasmMemory !== undefined) return this.wasmMemory;
    const L = WASM_LAYOUT;
    const m = new WebAssembly.Memory({ initial: L.PAGES, maximum: L.PAGES });
    const buf = m.buffer;
    this.wasmMemory = m;
    this.wasmBuffer = buf;
    this.wasm32 = new Int32Array(buf);
    for (let id = 0; id < 16; id++) this.wasmEntry(id, 0, 1, 0, -1, 0);
    for (let f = 0; f < WASM_FRAMES; f++) {
      const at = L.FRAMES + f * L.FRAME_STRIDE;
      const both = new Uint8Array(buf, at, 2 * STACK_SIZE);
      both.set(this.frameBuffers[f]);
      this.frameBuffers[f] = both;
      this.frameWords[f] = new Float64Array(buf, at, (2 * STACK_SIZE) / 8);
      const r = this.regions[REGION_STACK0 + f]!;
      r.bytes = both.subarray(0, STACK_SIZE);
      r.view = new DataView(buf, at, STACK_SIZE);
      r.init = both.subarray(STACK_SIZE);
      r.initView = new DataView(buf, at + STACK_SIZE, STACK_SIZE);
      this.wasm32[(at + L.DIRTY) >> 2] = STACK_SIZE;
      this.wasmEntry(REGION_STACK0 + f, at, 0, STACK_SIZE, STACK_SIZE, 1);
    }
    this.syncPacket();
    return m;
  }

  /**
   * A zeroed buffer of `size` bytes for packet frames, in the WebAssembly linear memory when there is room (the
   * generated code then reads and writes the packet inline), else a plain array. `replaces`: the caller's previous
   * buffer from here, whose space is reused when it was the last one handed out. Each buffer is the caller's alone.
   */
  packetBuffer(size: number, replaces?: Uint8Array): Uint8Array {
    this.attachWasm();
    if (replaces !== undefined && replaces.buffer === this.wasmBuffer && replaces.byteOffset === this.arenaLast) this.arenaTop = this.arenaLast;
    const at = (this.arenaTop + 63) & ~63;
    if (at + size > WASM_LAYOUT.PAGES * 65536) return new Uint8Array(size);
    this.arenaLast = at;
    this.arenaTop = at + size;
    const b = new Uint8Array(this.wasmBuffer!, at, size);
    b.fill(0);
    return b;
  }

  /**
   * Copy `len` bytes from `src` to `dst`, both in this Memory's linear memory (byte offsets in it), with WebAssembly's
   * memory.copy: for a batch of packets already there (Machine.runBatch), cheaper than a TypedArray set or copyWithin
   * call per packet. Bounds are checked by the WebAssembly engine (a copy past the end traps, nothing is written).
   */
  copyLinear(dst: number, src: number, len: number): void {
    this.linearCopier()(dst, src, len);
  }

  /** copyLinear's function itself, for a caller that copies many times (Machine.runBatch: one call per packet). */
  linearCopier(): (dst: number, src: number, len: number) => void {
    let c = this.linearCopy;
    if (c === undefined) {
      const m = this.attachWasm();
      c = this.linearCopy = new WebAssembly.Instance(new WebAssembly.Module(COPY_MODULE), { e: { m } }).exports.c as (d: number, s: number, n: number) => void;
    }
    return c;
  }
  private linearCopy: ((d: number, s: number, n: number) => void) | undefined;

  /** Whether `b` is a view of this Memory's linear memory (its byteOffset is then its offset there). */
  inLinear(b: Uint8Array): boolean {
    return this.wasmBuffer !== undefined && b.buffer === this.wasmBuffer;
  }

  /** framePointer(1) without its value: frame 1 is in use (the compiled engine's batch entry). */
  useFirstFrame(): void {
    if (this.stacksUsed < 1) this.stacksUsed = 1;
  }

  /** r10 for call frame `depth` (1-based). */
  framePointer(depth: number): bigint {
    if (depth > this.stacksUsed) {
      if (depth > this.frameBuffers.length) this.needFrame(depth);
      this.stacksUsed = depth;
    }
    return FRAME_POINTERS[depth] ?? addrOf(REGION_STACK0 + depth - 1, STACK_SIZE);
  }

  /** Clear a call frame's stack on entry, so a callee never sees a previous callee's bytes; nothing in it is written. */
  clearFrame(depth: number): void {
    if (depth > this.frameBuffers.length) this.needFrame(depth);
    this.frameBuffers[depth - 1].fill(0);
    this.regions[REGION_STACK0 + depth - 1]!.dirtyFrom = STACK_SIZE;
    if (this.wasm32 !== undefined && depth <= WASM_FRAMES) this.wasm32[(WASM_LAYOUT.FRAMES + (depth - 1) * WASM_LAYOUT.FRAME_STRIDE + WASM_LAYOUT.DIRTY) >> 2] = STACK_SIZE;
    this.depthNow = depth;
  }

  /**
   * A frame's function returned (`depth` is the returning frame) or was replaced by a tail call (`depth` is the frame
   * the next program starts in, with nothing written yet): its bytes stay, but none counts as written any more.
   */
  forgetFrame(depth: number, returned: boolean): void {
    this.regions[REGION_STACK0 + depth - 1]!.init!.fill(0);
    this.depthNow = returned ? depth - 1 : depth;
  }

  /**
   * The verifier refuses a function returning a pointer to stack ("cannot return stack pointer to the caller") and a
   * pointer to a callee's stack stored into its caller's frame. The simulator cannot tell such a pointer from a number
   * that has the same bits (a 64-bit hash can), so it checks neither: a read through such a pointer after the function
   * returned is flagged as a read of a returned frame (`uninitRead`). Kept so that engines calling it need not change.
   */
  checkReturn(_r0: bigint, _pc: number): void {}

  /** Record the first read of stack bytes not written since their frame was entered. */
  private checkInit(region: Region, off: number, size: number, pc: number, what: string): void {
    const init = region.init!;
    for (let i = off; i < off + size; i++) {
      if (init[i]) continue;
      const frame = region.id - REGION_STACK0 + 1;
      this.uninitRead = { insn: pc, program: this.program, frame, returned: frame > this.depthNow, offset: off - STACK_SIZE, size, what };
      return;
    }
  }

  packetPointer(frameOffset: number): bigint {
    return addrOf(REGION_PACKET, frameOffset);
  }

  /** A stable region for a map value; the same Uint8Array gets the same address for the whole run. */
  mapValue(value: Uint8Array, mapName: string, readonly: boolean): bigint {
    return regionBase(this.mapValueId(value, mapName, readonly));
  }

  /** mapValue's region id (the address is that id << 32 | 2^31). */
  mapValueId(value: Uint8Array, mapName: string, readonly: boolean): number {
    // The last few values asked for first (a program touches a handful per run), then the map of every value seen.
    const mv = this.recentValues;
    const at = mv[0] === value ? 0 : mv[1] === value ? 1 : mv[2] === value ? 2 : mv[3] === value ? 3 : -1;
    let r: Region | undefined;
    if (at >= 0) r = this.recentRegions[at];
    else {
      r = this.valueRegions.get(value);
      if (r !== undefined) {
        const i = this.recentNext;
        this.recentNext = (i + 1) & 3;
        mv[i] = value;
        this.recentRegions[i] = r;
      }
    }
    if (r !== undefined) return r.stamp === this.runs ? r.id : this.bindValue(r, mapName, readonly);
    // First use ever on this Memory: a region of its own, at the next dynamic id (a value belongs to one map for life).
    const id = this.nextDynamic++;
    r = makeRegion(id, 'map-value', `value of map ${mapName}`, value);
    this.valueRegions.set(value, r);
    r.stamp = this.runs;
    if (readonly) {
      r.writeFault = 'readonly-write';
      r.writeFaultMessage = `write into map forbidden: ${mapName} is read-only for programs (BPF_F_RDONLY_PROG)`;
    }
    this.regions[id] = r;
    return id;
  }

  /**
   * First use in this run of a value's region seen before: it takes the next dynamic id (as a fresh region would);
   * only what differs from its last binding is written (the read-only flag is its map's, which rarely changes).
   */
  private bindValue(r: Region, mapName: string, readonly: boolean): number {
    const id = this.nextDynamic++;
    const regions = this.regions;
    if (r.id !== id) r.id = id;
    r.stamp = this.runs;
    if (readonly) {
      if (r.writeFault === undefined) {
        r.writeFault = 'readonly-write';
        r.writeFaultMessage = `write into map forbidden: ${mapName} is read-only for programs (BPF_F_RDONLY_PROG)`;
      }
    } else if (r.writeFault !== undefined) r.writeFault = r.writeFaultMessage = undefined;
    if (regions[id] !== r) regions[id] = r;
    return id;
  }

  /**
   * mapValueId for the compiled engine's inline lookup number `site` (the generator numbers them), whose value is the
   * map's `at`-th (index * slots + slot): each site keeps the regions it found in a small direct-mapped table by `at`,
   * checked against the value, so a hit is the region mapValueId would find (the one valueRegions holds for it) and
   * the id the same; a miss is mapValueId. Saves its search of the recent values and the WeakMap's hashing.
   */
  mapValueIdAt(site: number, at: number, value: Uint8Array, map: MapOfValue): number {
    const c = this.siteValues[site];
    if (c !== undefined) {
      const r = c[at & SITE_MASK];
      if (r !== undefined && r.bytes === value) return r.stamp === this.runs ? r.id : this.bindValue(r, map.def.name, readonlyMap(map));
    }
    return this.mapValueIdMiss(site, at, value, map);
  }

  private mapValueIdMiss(site: number, at: number, value: Uint8Array, map: MapOfValue): number {
    const id = this.mapValueId(value, map.def.name, readonlyMap(map));
    if (site >= 0 && site < MAX_SITES) {
      const sv = this.siteValues;
      while (sv.length <= site) sv.push(undefined);
      (sv[site] ??= new Array<Region | undefined>(SITE_MASK + 1).fill(undefined))[at & SITE_MASK] = this.regions[id];
    }
    return id;
  }

  /** Helper-owned memory (ringbuf reservations, the conformance input block, kfunc results); optionally read-only. */
  scratch(bytes: Uint8Array, name: string, writeFault?: { kind: FaultKind; message: string }): bigint {
    const id = this.nextDynamic++;
    const r = makeRegion(id, 'scratch', name, bytes);
    if (writeFault) {
      r.writeFault = writeFault.kind;
      r.writeFaultMessage = writeFault.message;
    }
    this.regions[id] = r;
    return addrOf(id, 0);
  }

  /**
   * The region of id `id` in this run, if any: the table's entry for an id below nextDynamic (a dynamic id at or above
   * it is a slot of an earlier run). The fast paths read the table straight and compare the id themselves.
   */
  live(id: number): Region | undefined {
    return id < this.nextDynamic ? this.regions[id] : undefined;
  }

  /** Make a scratch region inaccessible (ringbuf submit/discard). */
  release(addr: bigint): void {
    const id = regionOf(addr);
    if (id >= FIRST_DYNAMIC) this.regions[id] = undefined;
  }

  /** A region for code outside the engines (the debugger), which may write a stack frame's bytes directly. */
  region(id: number): Region | undefined {
    const r = this.live(id);
    if (r !== undefined && r.init !== undefined) r.dirtyFrom = 0;
    return r;
  }

  /** Find the region and offset for an access of `size` bytes, or fault. */
  resolve(addr: bigint, size: number, write: boolean, pc: number, what = write ? 'store' : 'load'): { region: Region; off: number } {
    const id = regionOf(addr);
    const region = id === 0 ? undefined : this.live(id);
    if (!region) {
      if (id === 0) {
        throw new VmFault('null-dereference', `${what} of ${size} byte(s) at address 0x${BigInt.asUintN(64, addr).toString(16)}: not a pointer (NULL or a scalar); check the pointer before using it`, pc);
      }
      throw new VmFault('out-of-bounds', `${what} of ${size} byte(s) at address 0x${BigInt.asUintN(64, addr).toString(16)}: no memory there`, pc);
    }
    const off = offsetOf(addr);
    if (off < region.lo || off + size > region.hi) {
      throw new VmFault('out-of-bounds', `${what} of ${size} byte(s) ${this.describe(region, off)} is outside ${this.window(region)}`, pc);
    }
    if (write && region.writeFault) {
      throw new VmFault(region.writeFault, `${what} of ${size} byte(s) ${this.describe(region, off)}: ${region.writeFaultMessage}`, pc);
    }
    if (write && region === this.packetRegion) this.packetWritten = 1;
    return { region, off };
  }

  private describe(region: Region, off: number): string {
    if (region.kind === 'packet' && this.ctx) return `at packet offset ${off - this.ctx.buff.data} (relative to data)`;
    if (region.kind === 'stack') return `at ${region.name} offset ${off - STACK_SIZE} (relative to r10)`;
    return `at ${region.name} offset ${off}`;
  }

  private window(region: Region): string {
    if (region.kind === 'packet' && this.ctx) {
      const b = this.ctx.buff;
      return `the packet [data_meta ${b.dataMeta - b.data}, data_end ${b.dataEnd - b.data}) relative to data`;
    }
    if (region.kind === 'stack') return `${region.name} [r10-${STACK_SIZE}, r10)`;
    if (region.kind === 'handle') return `${region.name}`;
    return `${region.name} [0, ${region.hi})`;
  }

  // ---- The compiled engine's loads and stores: the address as int32 halves (h = region id, l = biased offset) plus
  // the instruction's offset. The fast path is taken only when the access is in the region's window, allowed, and (for
  // a stack load before the run's first uninitialised read) of bytes all written; everything else, faults included,
  // goes through load/store above with the same 64-bit address, so results and faults are the interpreter's. An
  // offset that carries into the high word leaves [lo, hi) and takes the slow path: the offset is computed in int32
  // ((l ^ 2^31) is the low word minus the bias), and a sum that wraps lands below 0 or above every window (windows
  // are far below 2^31 - 2^15).

  /** High half of the last ld4/ld8 result. */
  th = 0;

  /**
   * Set to 1 when the run in progress may have written into the packet: a store, an atomic or a helper's view of packet
   * memory (Memory.bytes), the compiled engine's inline stores, and helpers that copy into the frame (they set it).
   * Cleared by reset/resetPacket. 0 at the end of a run: the packet's bytes are the ones it started with.
   */
  packetWritten = 0;
  /**
   * Whether the run may have written into the packet: packetWritten, or a store of the WebAssembly tier (its inline
   * stores mark word 5 of the region's table entry).
   */
  packetWrites(): boolean {
    const w = this.wasm32;
    return this.packetWritten !== 0 || (w !== undefined && w[PACKET_WROTE] !== 0);
  }
  /** Set to 1 when a helper moved the packet's bounds during the run (syncPacket after reset). */
  packetMoved = 0;
  /**
   * The union of the packet's windows [min(data_meta, data), data_end) during the run (its start window widened by
   * every helper that moved the bounds): the bytes of the frame the run could have written.
   */
  touchLo = 0;
  touchHi = 0;

  /**
   * Zeroing put off by Machine.runBatch (PacketBatch.clean): the frame's bytes in [cleanFrom, cleanTo) outside the
   * packet's window at the start of the run may hold an earlier packet's bytes where a fresh receive buffer is zero.
   * Set after resetPacket; pending while cleanTo > cleanFrom. The program can reach them only once its window grows
   * past the start window, which only the adjust helpers and pull_data do, or with bpf_probe_read_kernel around the
   * packet: each calls flushClean first (as do syncPacket and reset), and they are zeroed then. Otherwise the batch
   * hands the span on with the run's own (Machine.record).
   */
  cleanFrom = 0;
  cleanTo = 0;

  /** Zero now what runBatch put off (cleanFrom), if anything: before anything moves the packet's window or bytes. */
  flushClean(): void {
    const f = this.cleanFrom;
    const t = this.cleanTo;
    if (t <= f) return;
    this.cleanFrom = this.cleanTo = 0;
    // The window is still the start window (nothing moved it before this call) and the region's bytes the frame.
    const r = this.packetRegion;
    const lo = r.lo;
    const hi = r.hi;
    const b = r.bytes;
    if (f < lo) b.fill(0, f, t < lo ? t : lo);
    if (t > hi) b.fill(0, f > hi ? f : hi, t);
  }

  private slowLoad(h: number, l: number, off: number, size: number, pc: number, signExtend: boolean): number {
    S64[0] = this.load(joinAddr(h, l, off), size, pc, signExtend);
    this.th = S32[1];
    return S32[0];
  }

  ld1(h: number, l: number, off: number, pc: number): number {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + 1 <= r.hi && (r.init === undefined || this.uninitRead !== undefined || r.init[o] === 1)) return r.bytes[o];
    return this.slowLoad(h, l, off, 1, pc, false);
  }

  ld2(h: number, l: number, off: number, pc: number): number {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + 2 <= r.hi && (r.initView === undefined || this.uninitRead !== undefined || r.initView.getUint16(o) === ONES16)) return r.view.getUint16(o, true);
    return this.slowLoad(h, l, off, 2, pc, false);
  }

  /** 4-byte load; the high half (0, or a packet pointer's region from ctx) in `th`. */
  ld4(h: number, l: number, off: number, pc: number): number {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + 4 <= r.hi && (r.initView === undefined || this.uninitRead !== undefined || r.initView.getUint32(o) === ONES32)) {
      this.th = 0;
      return r.view.getInt32(o, true);
    }
    if (h === REGION_CTX && this.ctx !== undefined && o >= 0 && o <= 16) {
      const b = this.ctx.buff;
      const f = o === 0 ? b.data : o === 4 ? b.dataEnd : o === 8 ? b.dataMeta : -1;
      if (f >= 0 && f < REGION_BIAS) {
        this.th = REGION_PACKET;
        return (REGION_BIAS + f) | 0;
      }
      if (o === 12 || o === 16) {
        this.th = 0;
        return (o === 12 ? b.ingressIfindex : b.rxQueueIndex) | 0;
      }
    }
    return this.slowLoad(h, l, off, 4, pc, false);
  }

  /** 8-byte load: the low half, the high half in `th`. */
  ld8(h: number, l: number, off: number, pc: number): number {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + 8 <= r.hi && (r.initView === undefined || this.uninitRead !== undefined || (r.initView.getUint32(o) === ONES32 && r.initView.getUint32(o + 4) === ONES32))) {
      this.th = r.view.getInt32(o + 4, true);
      return r.view.getInt32(o, true);
    }
    return this.slowLoad(h, l, off, 8, pc, false);
  }

  /** Sign-extending load of 1, 2 or 4 bytes: the value as int32 (its high half is the sign). */
  ldsx(h: number, l: number, off: number, size: number, pc: number): number {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + size <= r.hi && r.init === undefined) {
      return size === 1 ? r.view.getInt8(o) : size === 2 ? r.view.getInt16(o, true) : r.view.getInt32(o, true);
    }
    const v = this.slowLoad(h, l, off, size, pc, true);
    return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v;
  }

  /** Store the low `size` bytes of v (int32). */
  private stSmall(h: number, l: number, off: number, size: number, v: number, pc: number): void {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + size <= r.hi && r.writeFault === undefined) {
      if (h === REGION_PACKET) this.packetWritten = 1;
      if (size === 1) r.bytes[o] = v;
      else if (size === 2) r.view.setUint16(o, v, true);
      else r.view.setInt32(o, v, true);
      const iv = r.initView;
      if (iv !== undefined) {
        if (size === 1) iv.setUint8(o, 1);
        else if (size === 2) iv.setUint16(o, ONES16);
        else iv.setUint32(o, ONES32);
        if (o < r.dirtyFrom) r.dirtyFrom = o;
      }
      return;
    }
    this.store(joinAddr(h, l, off), size, BigInt(v >>> 0), pc);
  }

  st1(h: number, l: number, off: number, v: number, pc: number): void {
    this.stSmall(h, l, off, 1, v, pc);
  }

  st2(h: number, l: number, off: number, v: number, pc: number): void {
    this.stSmall(h, l, off, 2, v, pc);
  }

  st4(h: number, l: number, off: number, v: number, pc: number): void {
    this.stSmall(h, l, off, 4, v, pc);
  }

  st8(h: number, l: number, off: number, vl: number, vh: number, pc: number): void {
    const r = this.regions[h];
    const o = ((l ^ REGION_BIAS) + off) | 0;
    if (r !== undefined && r.fast && h < this.nextDynamic && o >= r.lo && o + 8 <= r.hi && r.writeFault === undefined) {
      if (h === REGION_PACKET) this.packetWritten = 1;
      r.view.setInt32(o, vl, true);
      r.view.setInt32(o + 4, vh, true);
      const iv = r.initView;
      if (iv !== undefined) {
        iv.setUint32(o, ONES32);
        iv.setUint32(o + 4, ONES32);
        if (o < r.dirtyFrom) r.dirtyFrom = o;
      }
      return;
    }
    S32[0] = vl;
    S32[1] = vh;
    const v = S64[0];
    this.store(joinAddr(h, l, off), 8, v, pc);
  }

  /** Unsigned little-endian load. */
  load(addr: bigint, size: number, pc: number, signExtend = false): bigint {
    const id = regionOf(addr);
    if (id === REGION_CTX) return this.ctxLoad(offsetOf(addr), size, pc, signExtend);
    const { region, off } = this.resolve(addr, size, false, pc);
    if (region.init !== undefined && this.uninitRead === undefined) this.checkInit(region, off, size, pc, 'load');
    const v = region.view;
    switch (size) {
      case 1: return BigInt(v.getUint8(off));
      case 2: return BigInt(v.getUint16(off, true));
      case 4: return BigInt(v.getUint32(off, true));
      default: return v.getBigUint64(off, true);
    }
  }

  store(addr: bigint, size: number, value: bigint, pc: number): void {
    const id = regionOf(addr);
    if (id === REGION_CTX) this.ctxStore(offsetOf(addr), size, pc);
    const { region, off } = this.resolve(addr, size, true, pc);
    if (region.init !== undefined) {
      region.init.fill(1, off, off + size);
      if (off < region.dirtyFrom) region.dirtyFrom = off;
    }
    const v = region.view;
    switch (size) {
      case 1: v.setUint8(off, Number(value & 0xffn)); break;
      case 2: v.setUint16(off, Number(value & 0xffffn), true); break;
      case 4: v.setUint32(off, Number(value & 0xffffffffn), true); break;
      default: v.setBigUint64(off, BigInt.asUintN(64, value), true);
    }
  }

  /**
   * Whether `size` bytes at the address (as int32 halves) are readable helper-argument memory that Memory.bytes would
   * hand out with nothing to record: in a region's window, not ctx or a handle, and (stack) all written or the run's
   * uninitialised read already recorded. The helpers' fast path reads `regionTable[h].bytes` at `(l ^ 2^31)` then;
   * anything else goes through bytes() (faults and records included). size > 0.
   */
  argOk(h: number, l: number, size: number): boolean {
    const r = this.regions[h];
    const o = (l ^ REGION_BIAS) | 0;
    if (r === undefined || !r.fast || h >= this.nextDynamic || o < r.lo || o + size > r.hi) return false;
    const init = r.init;
    if (init === undefined || this.uninitRead !== undefined) return true;
    // A key or value of 4 or 8 bytes (most) in one or two word reads of the written-byte map.
    if (size === 4) return r.initView!.getUint32(o) === ONES32;
    if (size === 8) return r.initView!.getUint32(o) === ONES32 && r.initView!.getUint32(o + 4) === ONES32;
    for (let i = o; i < o + size; i++) if (init[i] !== 1) return false;
    return true;
  }

  /** Bytes for a helper argument (a view, not a copy). Faults 'helper-misuse' naming the helper and argument. */
  bytes(addr: bigint, len: number, write: boolean, pc: number, what: string): Uint8Array {
    if (len === 0) return EMPTY;
    const id = regionOf(addr);
    if (id === REGION_CTX || id === REGION_MAP_HANDLE || id === REGION_FUNC) {
      throw new VmFault('helper-misuse', `${what}: expected a pointer to memory of ${len} byte(s), got ${this.regions[id]!.name}`, pc);
    }
    try {
      const { region, off } = this.resolve(addr, len, write, pc, what);
      // A helper may write through any view it is given (see below): a view of the packet counts as a write.
      if (region === this.packetRegion) this.packetWritten = 1;
      // A helper argument the helper writes counts as written (the verifier marks it so after the call); one it
      // reads is checked like a load.
      if (region.init !== undefined) {
        if (write) region.init.fill(1, off, off + len);
        else if (this.uninitRead === undefined) this.checkInit(region, off, len, pc, what);
        // Any view of a frame may be written through (some helpers write into an argument they read).
        if (off < region.dirtyFrom) region.dirtyFrom = off;
      }
      // A view, like subarray, without its species lookup (helpers' arguments take this on every call).
      const b = region.bytes;
      return new Uint8Array(b.buffer, b.byteOffset + off, len);
    } catch (e) {
      if (e instanceof VmFault && (e.kind === 'out-of-bounds' || e.kind === 'null-dereference')) {
        throw new VmFault('helper-misuse', e.message, pc);
      }
      throw e;
    }
  }

  /** A NUL-terminated string for %s / helper names; undefined if the address is not readable memory. */
  readString(addr: bigint, max = 4096): string | undefined {
    const id = regionOf(addr);
    const region = this.live(id);
    if (!region || region.kind === 'ctx' || region.kind === 'handle') return undefined;
    const off = offsetOf(addr);
    if (off < region.lo || off >= region.hi) return undefined;
    let end = off;
    while (end < region.hi && end - off < max && region.bytes[end] !== 0) end++;
    return new TextDecoder().decode(region.bytes.subarray(off, end));
  }

  /**
   * struct xdp_md loads [net/core/filter.c xdp_is_valid_access / xdp_convert_ctx_access]: only 4-byte, aligned,
   * zero-extending loads of known fields; data/data_end/data_meta become packet pointers.
   */
  private ctxLoad(off: number, size: number, pc: number, signExtend: boolean): bigint {
    const ctx = this.ctx;
    if (!ctx) throw new VmFault('bad-ctx-access', `load from ctx: this run has no struct xdp_md`, pc);
    if (size !== 4 || off < 0 || off >= XDP_MD_SIZE || off % 4 !== 0 || signExtend) {
      throw new VmFault('bad-ctx-access', `invalid bpf_context access off=${off} size=${size}${signExtend ? ' (sign-extending load)' : ''}: struct xdp_md fields are read with aligned 4-byte loads`, pc);
    }
    const b = ctx.buff;
    switch (off) {
      case 0: return this.packetPointer(b.data);
      case 4: return this.packetPointer(b.dataEnd);
      case 8: return this.packetPointer(b.dataMeta);
      case 12: return BigInt(b.ingressIfindex >>> 0);
      case 16: return BigInt(b.rxQueueIndex >>> 0);
      default:
        if (!ctx.egressReadable) throw new VmFault('bad-ctx-access', `invalid bpf_context access off=20 size=4: egress_ifindex is only readable in devmap programs (SEC("xdp/devmap"))`, pc);
        return BigInt((b.egressIfindex ?? 0) >>> 0);
    }
  }

  private ctxStore(off: number, size: number, pc: number): never {
    const field = ['data', 'data_end', 'data_meta', 'ingress_ifindex', 'rx_queue_index', 'egress_ifindex'][Math.floor(off / 4)];
    throw new VmFault('ctx-write', `invalid bpf_context access off=${off} size=${size}: store into ctx${field && off >= 0 ? `->${field}` : ''}; struct xdp_md is read-only for XDP programs`, pc);
  }
}
