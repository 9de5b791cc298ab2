// Abstract machine state for the bytecode analysis: register types in the verifier's terms (PTR_TO_CTX,
// PTR_TO_PACKET with a fixed offset and an id, PTR_TO_PACKET_END, PTR_TO_PACKET_META, PTR_TO_STACK,
// CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE(_OR_NULL)), per-frame stack slots holding spilled registers, the proven packet
// range per pointer id, and the per-path facts the exit checks need (a redirect target was set, the frame changed).
//
// Register values are immutable objects, so copying a state copies arrays and maps of references.
import { type Scalar, covers as scalarCovers } from './scalar.ts';

/**
 * Packet pointers (`pkt`, `meta`) share a base per `id`: all pointers with the same id differ only by their fixed
 * `off`, so a bounds check on one of them proves the range for all (the verifier's find_good_pkt_pointers). A
 * pointer plus a variable amount gets a fresh id. `gen` is the packet generation the pointer was derived in; helpers
 * that move the packet start a new generation, and a pointer from an older one is stale.
 */
/** A map value pointer's variable offset where it is exactly the verifier's: the fixed part `off` plus a number in
 * [umin, umax] (the value pointer's own `off` is then undefined). */
export interface ValueVar { readonly off: number; readonly umin: bigint; readonly umax: bigint }

export type Reg =
  | { readonly k: 'none' }
  /** `shl32`: this value is `x << 32` for the scalar x (a sign or zero extension of x's low half in progress). */
  /** `fromPtr`: a pointer a 32-bit move turned into a number (the verifier's mark_reg_unknown): any access through it
   * is refused ("invalid mem access 'scalar'").
   * 'released': a reference (socket, ring buffer record) after bpf_sk_release / bpf_ringbuf_submit / _discard, which
   * the verifier turns into a number in every register and stack slot holding it (release_reference). */
  | { readonly k: 'scalar'; readonly s: Scalar; readonly def: number; readonly shl32?: Scalar; readonly fromPtr?: true | 'released' | 'moved' }
  | { readonly k: 'ctx'; readonly off: number }
  /**
   * `vmax`: the largest value of the variable amounts added since the base, when they are followed (values computed
   * from the packet or from data_end - data); undefined when there are none or they are not followed.
   */
  /**
   * `own`: this register's own proven range, where it no longer follows its id's (State.ranges). A comparison with
   * data_end on this path found this very register at (-1) or beyond (-2) data_end (the verifier's AT_PKT_END /
   * BEYOND_PKT_END, mark_pkt_end): no access through it passes; a later check of its id gives it that check's range
   * only (the verifier keeps the larger of the register's range and the new one). Copies made before the comparison
   * are not marked; moves by a constant keep it.
   */
  | { readonly k: 'pkt'; readonly id: number; readonly off: number; readonly gen: number; readonly vmax?: bigint; readonly own?: number }
  | { readonly k: 'meta'; readonly id: number; readonly off: number; readonly gen: number; readonly vmax?: bigint; readonly own?: number }
  /** `refused`: data_end after arithmetic the verifier refuses (reported once; the walk goes on with data_end). */
  | { readonly k: 'end'; readonly gen: number; readonly refused?: true }
  /** `lo`/`hi`: with `off` unknown, the offsets a bounded variable amount may reach (a store there changes only those). */
  | { readonly k: 'stack'; readonly frame: number; readonly off: number | undefined; readonly lo?: number; readonly hi?: number }
  | { readonly k: 'map'; readonly map: number }
  | { readonly k: 'value'; readonly map: number; readonly off: number | undefined; readonly nullId: number; readonly vr?: ValueVar }
  /**
   * `ref`: the reference a helper acquired with it (bpf_ringbuf_reserve, bpf_sk_lookup_*), to be released.
   * `size`: memory of a known size (a global function's pointer argument: its BTF type's size), with the pointer's
   * fixed offset `off` and its variable part `v` (undefined when the verifier's bounds of it are not known here:
   * its accesses are then not judged).
   */
  | { readonly k: 'mem'; readonly nullId: number; readonly from?: string; readonly ref?: number; readonly size?: number; readonly off?: number; readonly v?: Scalar }
  | { readonly k: 'func'; readonly pc: number }
  | { readonly k: 'ptr' };

export const NONE: Reg = { k: 'none' };

/** A spilled register (or a narrower scalar store) at a fixed stack offset. */
export interface Slot {
  readonly size: number;
  readonly reg: Reg;
}

export interface Frame {
  /** Stack slots by offset from the frame pointer (negative). */
  stack: Map<number, Slot>;
  /** While a callee runs: the caller's registers and where to continue. */
  saved?: Reg[];
  returnPc?: number;
  /** A global (non-static) function: the verifier gives its caller an unknown scalar as its result. */
  global?: boolean;
  /** A global function's frame: its first slot, and whether the frame was changed when it was called. */
  entry?: number;
  enteredModified?: boolean;
  enteredRedirected?: boolean;
  /** A bpf_loop / bpf_for_each_map_elem callback: its exit ends the path (the helper's result is modelled apart). */
  callback?: boolean;
  /** In a state kept for pruning: the stack offset at which `covers` last found it not covering (checked first). */
  miss?: number;
}

export interface State {
  pc: number;
  regs: Reg[];
  frames: Frame[];
  /** Proven packet bytes per pointer id: every pointer of that id may access [base, base + range). */
  ranges: Map<number, number>;
  /**
   * Per packet pointer id, the missing bounds check this path is past: the index (in the walk's issues) of the access
   * reported for it, and the range really proven there. The walk then takes the access as checked; a later access of
   * that id past the proven range, with no compare with data_end of that id in between, is that same missing check
   * (named in the first one's `also`). Replaced, never changed in place.
   */
  unchecked?: ReadonlyMap<number, { readonly head: number; readonly real: number }>;
  /** Packet generation: bumped by bpf_xdp_adjust_head/tail/meta and bpf_tail_call. */
  gen: number;
  /** The last call that invalidated packet pointers on this path (slot, helper name). */
  invalidatedAt?: { pc: number; helper: string };
  /** A bpf_redirect/bpf_redirect_map call happened on this path. */
  redirected: boolean;
  /** The frame was changed on this path (packet store, store_bytes, head/tail adjustment). */
  modified: boolean;
  /**
   * Global functions (their first slot) this path called and came back from with the frame unchanged: the verifier
   * gives the caller an unknown result, so the caller may go on past a test of that result on a path the function's
   * own returns never take. Replaced, never changed in place.
   */
  viaGlobal?: readonly number[];
  /** Likewise, global functions this path came back from with no redirect target set (for XDP_REDIRECT past them). */
  viaGlobalUnredirected?: readonly number[];
  /** Instructions executed on this path (loop bounding). */
  steps: number;
  /** The last conditional jump on this path (where a finding about the returned value goes when r0 was set early). */
  lastJump?: number;
  /** The last jump this path took (from, to), for the same purpose. */
  lastTaken?: { from: number; to: number };
  /**
   * The `return` statement of the program's own function this path left through, when the object is the marked twin
   * of return-lines.ts (the line of the last marker executed in the entry function). Undefined otherwise.
   */
  retLine?: number;
  /** The line range of the function whose result the `retLine` return passes on (`return f(...);`), if any. */
  retIn?: readonly [number, number];
  /** References acquired on this path and not released yet (the verifier refuses an exit or tail call with any). */
  refs?: readonly number[];
  /** A bpf_spin_lock is held on this path. */
  locked?: boolean;
  /** Sections the kfuncs opened on this path and not closed yet, innermost last: 'rcu' (bpf_rcu_read_lock),
   * 'preempt' (bpf_preempt_disable), 'irq' (bpf_local_irq_save), 'res' (a bpf_res_spin_lock taken). */
  held?: readonly string[];
  /** Times this path has reached each prune point (shared between copies: replaced, never changed in place). */
  heads?: ReadonlyMap<number, number>;
}

/** Pointer ids: 0 for pointers from ctx->data, 1 for ctx->data_meta, fresh ones from 2. */
export const PKT_ID = 0;
export const META_ID = 1;

const heldKey = (s: State): string => s.held?.join() ?? '';

export function cloneState(s: State): State {
  return {
    pc: s.pc,
    regs: s.regs.slice(),
    frames: s.frames.map((f) => ({ stack: new Map(f.stack), saved: f.saved?.slice(), returnPc: f.returnPc, ...(f.global ? { global: true, entry: f.entry, enteredModified: f.enteredModified, enteredRedirected: f.enteredRedirected } : {}), ...(f.callback ? { callback: true } : {}) })),
    ranges: new Map(s.ranges),
    unchecked: s.unchecked,
    gen: s.gen,
    invalidatedAt: s.invalidatedAt,
    redirected: s.redirected,
    modified: s.modified,
    viaGlobal: s.viaGlobal,
    viaGlobalUnredirected: s.viaGlobalUnredirected,
    steps: s.steps,
    lastJump: s.lastJump,
    lastTaken: s.lastTaken,
    retLine: s.retLine,
    retIn: s.retIn,
    refs: s.refs,
    locked: s.locked,
    held: s.held,
    heads: s.heads,
  };
}

function swapScalar(regs: Reg[], from: object, to: Reg & { k: 'scalar' }): void {
  for (let i = 0; i < regs.length; i++) {
    const r = regs[i];
    if (r.k === 'scalar' && r.s === from) regs[i] = { k: 'scalar', s: to.s, def: r.def };
  }
}

/** Replace every copy of the scalar `from` (compared by identity: copies made by mov, spill and fill) by `to`. */
export function replaceScalar(s: State, from: object, to: Reg & { k: 'scalar' }): void {
  swapScalar(s.regs, from, to);
  for (const f of s.frames) {
    if (f.saved) swapScalar(f.saved, from, to);
    for (const [off, slot] of f.stack) {
      const r = slot.reg;
      if (r.k === 'scalar' && r.s === from) f.stack.set(off, { size: slot.size, reg: { k: 'scalar', s: to.s, def: r.def } });
    }
  }
}

/** Apply `fn` to every register and spilled register of every frame. */
export function mapAllRegs(s: State, fn: (r: Reg) => Reg): void {
  for (let i = 0; i < s.regs.length; i++) s.regs[i] = fn(s.regs[i]);
  for (const f of s.frames) {
    if (f.saved) for (let i = 0; i < f.saved.length; i++) f.saved[i] = fn(f.saved[i]);
    for (const [off, slot] of f.stack) {
      const r = fn(slot.reg);
      if (r !== slot.reg) f.stack.set(off, { size: slot.size, reg: r });
    }
  }
}

// Pruning compares states very often; the comparison below uses module-level functions and one reused id map
// rather than closures, which matters when thousands of states are compared per millisecond.
const idMap = new Map<number, number>();

function sameId(a: number, b: number): boolean {
  const seen = idMap.get(a);
  if (seen === undefined) {
    idMap.set(a, b);
    return true;
  }
  return seen === b;
}

function regCovers(old: State, cur: State, a: Reg, b: Reg, isR0: boolean): boolean {
  // One register object shared by two states is the same value, except a packet pointer: its proven range is the
  // state's (State.ranges), and the two states may have proven different ranges for it.
  if (a === b && a.k !== 'pkt' && a.k !== 'meta') return true;
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'none': return true;
    case 'scalar': {
      const bs = b as typeof a;
      return scalarCovers(a.s, bs.s) && (!isR0 || a.def === bs.def);
    }
    case 'ctx': return a.off === (b as typeof a).off;
    case 'pkt':
    case 'meta': {
      const bp = b as typeof a;
      if (a.off !== bp.off || (a.gen === old.gen) !== (bp.gen === cur.gen) || a.vmax !== bp.vmax) return false;
      if (a.own !== bp.own) return false;
      if (a.gen !== old.gen) return true;
      if (!sameId(a.id, bp.id)) return false;
      return (old.ranges.get(a.id) ?? 0) <= (cur.ranges.get(bp.id) ?? 0);
    }
    case 'end': return (a.gen === old.gen) === ((b as typeof a).gen === cur.gen);
    case 'stack': {
      const bs = b as typeof a;
      if (a.frame !== bs.frame || a.off !== bs.off) return false;
      // An unknown offset reaching fewer slots is more precise: it covers only one whose reach is inside its own.
      return a.off !== undefined || a.lo === undefined || a.hi === undefined || (bs.lo !== undefined && bs.hi !== undefined && a.lo <= bs.lo && bs.hi <= a.hi);
    }
    case 'map': return a.map === (b as typeof a).map;
    case 'value': {
      const bv = b as typeof a;
      // A known variable offset is checked at each access: only one reaching at least as far covers it.
      const vr = !bv.vr || (!!a.vr && a.vr.off === bv.vr.off && a.vr.umin <= bv.vr.umin && a.vr.umax >= bv.vr.umax);
      return a.map === bv.map && a.off === bv.off && vr && (a.nullId === 0) === (bv.nullId === 0) && (a.nullId === 0 || sameId(-1 - a.nullId, -1 - bv.nullId));
    }
    case 'mem': {
      const bm = b as typeof a;
      if (a.size !== bm.size || a.off !== bm.off || (a.v === undefined) !== (bm.v === undefined)) return false;
      if (a.v && bm.v && !(a.v.umin <= bm.v.umin && a.v.umax >= bm.v.umax && a.v.smin <= bm.v.smin && a.v.smax >= bm.v.smax)) return false;
      return (a.nullId === 0) === (bm.nullId === 0) && (a.nullId === 0 || sameId(-1 - a.nullId, -1 - bm.nullId));
    }
    case 'func': return a.pc === (b as typeof a).pc;
    case 'ptr': return true;
  }
}

/**
 * Does exploring `old` from this point cover everything exploring `cur` would find? True when every live register
 * and every stack slot of `old` is at least as general as in `cur` (scalar intervals contain, packet ranges are no
 * larger, pointer kinds match up to a consistent renaming of ids) and the path facts of `old` report no less.
 * `live[f]` is the live-register mask for frame f (the current pc, or a caller's return slot).
 */
export function covers(old: State, cur: State, live: number[]): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  if (old.redirected && !cur.redirected) return false;
  if (old.modified && !cur.modified) return false;
  if (old.viaGlobal?.some((g) => !cur.viaGlobal?.includes(g))) return false;
  if (old.viaGlobalUnredirected?.some((g) => !cur.viaGlobalUnredirected?.includes(g))) return false;
  // Paths that left through different return statements are reported on different lines: never merged.
  if (old.retLine !== cur.retLine) return false;
  if ((old.refs?.length ?? 0) !== (cur.refs?.length ?? 0) || !!old.locked !== !!cur.locked || heldKey(old) !== heldKey(cur)) return false;
  idMap.clear();
  const top = old.frames.length - 1;
  for (let f = top; f >= 0; f--) {
    const mask = live[f];
    const ra = f === top ? old.regs : old.frames[f].saved!;
    const rb = f === top ? cur.regs : cur.frames[f].saved!;
    if (f !== top && old.frames[f].returnPc !== cur.frames[f].returnPc) return false;
    for (let i = 0; i < 10; i++) {
      if (!(mask & (1 << i))) continue;
      if (!regCovers(old, cur, ra[i], rb[i], i === 0 && f === top)) return false;
    }
    const sa = old.frames[f].stack;
    const sb = cur.frames[f].stack;
    if (sa.size !== sb.size) return false;
    // The slot that failed the last comparison with this stored state first: states reaching one slot mostly differ
    // in the same few spilled numbers, and walking the rest of the stack to find them again was most of the cost
    // on a program with many stack slots (sfuzz seed 1412070055: 26 slots compared per failure, 8.8M in all).
    const miss = old.frames[f].miss;
    if (miss !== undefined) {
      const slot = sa.get(miss);
      const other = sb.get(miss);
      if (slot && (!other || other.size !== slot.size || !regCovers(old, cur, slot.reg, other.reg, false))) return false;
    }
    for (const [off, slot] of sa) {
      const other = sb.get(off);
      if (!other || other.size !== slot.size || !regCovers(old, cur, slot.reg, other.reg, false)) {
        old.frames[f].miss = off;
        return false;
      }
    }
  }
  return true;
}

/**
 * Join `b` into `a` for a loop the path-by-path walk cannot close: registers and slots must have the same shape
 * (same pointer kinds, offsets and ids); scalars widen (a bound that moved goes to its extreme) and become opaque, so
 * a widened value never produces a value finding by itself; proven packet ranges take the smaller one. Undefined
 * when the states differ in shape or in path facts.
 */
export function widen(a: State, b: State, live: number[]): State | undefined {
  if (a.frames.length !== b.frames.length || a.redirected !== b.redirected || a.modified !== b.modified || a.gen !== b.gen || a.retLine !== b.retLine) return undefined;
  if ((a.viaGlobal ?? []).join() !== (b.viaGlobal ?? []).join()) return undefined;
  if ((a.viaGlobalUnredirected ?? []).join() !== (b.viaGlobalUnredirected ?? []).join()) return undefined;
  // Held references and locks are path facts too: a state holding a ringbuf record joined into one that does not
  // would drop the record, and with it the leak the verifier reports at the exit (cfuzz ring-leak seed 2200100027).
  if ((a.refs?.length ?? 0) !== (b.refs?.length ?? 0) || !!a.locked !== !!b.locked || heldKey(a) !== heldKey(b)) return undefined;
  // The registers first, without copying: on a slot many paths reach, most tries fail here, and copying the state
  // before finding out made the walk spend most of its time allocating (xdp_lb's checksum fold loop).
  const top = a.frames.length - 1;
  const joins: Reg[] = [];
  for (let f = top; f >= 0; f--) {
    if (f !== top && a.frames[f].returnPc !== b.frames[f].returnPc) return undefined;
    const ra = f === top ? a.regs : a.frames[f].saved!;
    const rb = f === top ? b.regs : b.frames[f].saved!;
    for (let i = 0; i < 10; i++) {
      if (!(live[f] & (1 << i))) continue;
      const j = joinReg(ra[i], rb[i]);
      if (!j) return undefined;
      joins.push(j);
    }
  }
  const out = cloneState(a);
  let k = 0;
  for (let f = top; f >= 0; f--) {
    const ro = f === top ? out.regs : out.frames[f].saved!;
    for (let i = 0; i < 10; i++) if (live[f] & (1 << i)) ro[i] = joins[k++]!;
    const sa = a.frames[f].stack;
    const sb = b.frames[f].stack;
    const so = out.frames[f].stack;
    for (const [off, slot] of sa) {
      const other = sb.get(off);
      const j = other && other.size === slot.size ? joinReg(slot.reg, other.reg) : undefined;
      if (j) so.set(off, { size: slot.size, reg: j });
      else so.delete(off);
    }
  }
  for (const [id, r] of a.ranges) out.ranges.set(id, Math.min(r, b.ranges.get(id) ?? 0));
  return out;
}

function joinReg(a: Reg, b: Reg): Reg | undefined {
  if (a === b) return a;
  if (a.k !== b.k) return undefined;
  if (a.k === 'scalar') {
    const x = a.s;
    const y = (b as typeof a).s;
    if (x.umin <= y.umin && x.umax >= y.umax && x.smin <= y.smin && x.smax >= y.smax && x.opaque) return a;
    const umin = y.umin < x.umin ? 0n : x.umin;
    const umax = y.umax > x.umax ? 0xffffffffffffffffn : x.umax;
    const smin = y.smin < x.smin ? -(1n << 63n) : x.smin;
    const smax = y.smax > x.smax ? (1n << 63n) - 1n : x.smax;
    return { k: 'scalar', s: { umin, umax, smin, smax, opaque: true }, def: a.def };
  }
  if (a.k === 'none' || a.k === 'ptr') return a;
  // Pointers: only identical ones join (a packet pointer's own range may be absent from `a`'s keys).
  if ((a.k === 'pkt' || a.k === 'meta') && a.own !== (b as typeof a).own) return undefined;
  for (const key of Object.keys(a) as (keyof typeof a)[]) if (a[key] !== (b as typeof a)[key]) return undefined;
  return a;
}
