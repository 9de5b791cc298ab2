// What region each register most likely points into at each slot, found once per program image before its code is
// generated (compiled/engine.ts): a forward pass over the jumps, as the verifier's register types but without bounds,
// null states or any claim of soundness. The generated code uses it only to choose which inline fast path a load or
// store tries before calling Memory.ld*/st* (a packet pointer: the packet's locals; a map value or a stack pointer
// other than r10: the region table; ctx: its fields): every inline path keeps its own checks and the call does
// everything else, faults included, so a wrong guess costs time, never a different result.
import type { Insn } from '../../isa/insn.ts';
import {
  CALL_HELPER, CALL_LOCAL, PSEUDO_FUNC, PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, atomicOp, type OpcodeInfo,
} from '../../isa/opcodes.ts';

/** No path reaches the slot (from the entry or a function's). */
export const K_NONE = 0;
/** A number (or nothing a load or store should expect to be an address). */
export const K_SCALAR = 1;
/** The context (r1 at the entry). */
export const K_CTX = 2;
/** The packet (ctx's data, data_end, data_meta and what is added to them). */
export const K_PACKET = 3;
/** A stack frame (r10 and what is added to it). */
export const K_STACK = 4;
/** A map value (map_lookup_elem's r0, an lddw of a map value). */
export const K_MAP_VALUE = 5;
/** Paths disagree, or a value read back from memory or returned by a call. */
export const K_ANY = 6;

const join = (a: number, b: number): number => (a === K_NONE ? b : b === K_NONE || a === b ? a : K_ANY);
const isPointer = (k: number): boolean => k >= K_CTX && k <= K_MAP_VALUE;

/** Helpers whose r0 is a map value (or null): map_lookup_elem, map_lookup_percpu_elem. */
const VALUE_HELPERS: ReadonlySet<number> = new Set([1, 195]);

/**
 * The kinds of r0-r10 before each slot: kinds[pc * 11 + r]. Slot 0 is entered with r1 the context and r10 the frame;
 * a bpf-to-bpf callee or a callback (an lddw of a function) with its arguments unknown.
 */
export function regionKinds(insns: Insn[], infos: (OpcodeInfo | undefined)[]): Uint8Array {
  const n = insns.length;
  const kinds = new Uint8Array((n + 1) * 11);
  const queued = new Uint8Array(n + 1);
  const work: number[] = [];
  const state = new Uint8Array(11);
  /** Joins `from` into the slot's state; queues the slot when it changed. */
  const flow = (pc: number, from: Uint8Array) => {
    if (pc < 0 || pc >= n) return;
    let changed = false;
    for (let r = 0; r < 11; r++) {
      const k = join(kinds[pc * 11 + r]!, from[r]!);
      if (k !== kinds[pc * 11 + r]) {
        kinds[pc * 11 + r] = k;
        changed = true;
      }
    }
    if (changed && !queued[pc]) {
      queued[pc] = 1;
      work.push(pc);
    }
  };
  const entry = (pc: number, r1: number) => {
    const s = new Uint8Array(11).fill(K_ANY);
    s[0] = K_SCALAR;
    for (let r = 6; r < 10; r++) s[r] = K_SCALAR;
    s[1] = r1;
    s[10] = K_STACK;
    flow(pc, s);
  };
  entry(0, K_CTX);
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc]!;
    const info = infos[pc];
    if (info?.kind === 'call' && insn.src === CALL_LOCAL) entry(pc + 1 + insn.imm, K_ANY);
    if (info?.kind === 'lddw') {
      if (insn.src === PSEUDO_FUNC) entry(pc + 1 + insn.imm, K_ANY);
      pc++;
    }
  }
  while (work.length > 0) {
    const pc = work.pop()!;
    queued[pc] = 0;
    state.set(kinds.subarray(pc * 11, pc * 11 + 11));
    const insn = insns[pc]!;
    const info = infos[pc];
    if (!info) continue;
    const d = insn.dst;
    const s = insn.src;
    let next: number[] = [pc + 1];
    switch (info.kind) {
      case 'alu': {
        const v = aluVariant(info, insn.off);
        if (info.width !== 64) state[d] = K_SCALAR;
        else if (v === 'mov') state[d] = info.srcReg ? state[s]! : K_SCALAR;
        else if (v === 'add' || v === 'sub') {
          const a = state[d]!;
          const b = info.srcReg ? state[s]! : K_SCALAR;
          if (a === K_ANY || b === K_ANY) state[d] = K_ANY;
          else if (isPointer(a)) state[d] = b === K_SCALAR ? a : v === 'sub' ? K_SCALAR : K_ANY;
          else state[d] = v === 'add' && isPointer(b) ? b : K_SCALAR;
        } else state[d] = K_SCALAR;
        break;
      }
      case 'end': case 'ldxsx':
        state[d] = K_SCALAR;
        break;
      case 'ldx':
        // ctx's data, data_end and data_meta are packet addresses; any other 8-byte load may be a pointer kept in memory.
        state[d] = state[s] === K_CTX && info.size === 4 && (insn.off === 0 || insn.off === 4 || insn.off === 8) ? K_PACKET
          : info.size === 8 ? K_ANY : K_SCALAR;
        break;
      case 'atomic': {
        const a = atomicOp(insn.imm);
        state[0] = a?.op === 'cmpxchg' ? K_ANY : state[0]!;
        state[s] = a?.fetch ? K_ANY : state[s]!;
        if (a?.op === 'load_acq' || !a) state[d] = K_ANY;
        break;
      }
      case 'lddw':
        state[d] = insn.src === PSEUDO_MAP_VALUE || insn.src === PSEUDO_MAP_IDX_VALUE ? K_MAP_VALUE : K_SCALAR;
        next = [pc + 2];
        break;
      case 'call':
        if (insn.src === CALL_LOCAL) {
          state.fill(K_ANY, 0, 6);
        } else {
          state.fill(K_SCALAR, 1, 6);
          state[0] = insn.src === CALL_HELPER && VALUE_HELPERS.has(insn.imm) ? K_MAP_VALUE : K_ANY;
        }
        break;
      case 'jump':
      case 'jcond':
        next = [pc + 1 + insn.off, pc + 1];
        break;
      case 'ja':
        next = [pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off)];
        break;
      case 'exit': case 'ld-abs': case 'ld-ind':
        next = [];
        break;
      default:
        // st, stx: no register changes.
        break;
    }
    for (const t of next) flow(t, state);
  }
  return kinds;
}

/** packetRanges: no proof for the slot's access. */
export const P_UNKNOWN = 0x40000000;
/** Offsets from data beyond this (either way) are not followed (the verifier's MAX_PACKET_OFF). */
const P_MAX_OFF = 0xffff;
/** Bounds of numbers past this are not followed. */
const P_MAX_VAL = 0x3fffffff;
/**
 * A pointer's variable part past this is not followed: data + V + k then never wraps 2^64 (data is below 2^36 in
 * Memory's addresses), so its compares are exact. A loop's growing bound is widened to this (kept only while the loop
 * body brings it back under it, as after a compare with data_end: V + k <= data_end - data < P_SPAN).
 */
const P_MAX_HI = 2 ** 40;
/** data_end - data is below this (Memory's offsets into a packet's window are below 2^32). */
const P_SPAN = 2 ** 32;
/** A pointer's range when nothing is proven for it. */
const P_NO_RANGE = -0x40000000;
/**
 * Helpers that neither move the packet (ctx's data, data_end, data_meta) nor run any of the program's code: after
 * them a proof made before the call still holds. Every other call (helper, kfunc, bpf-to-bpf) clears all proofs.
 * map_lookup/update/delete_elem, ktime_get_ns, get_prandom_u32, get_smp_processor_id, redirect, csum_diff, redirect_map.
 */
const KEEPS_PACKET: ReadonlySet<number> = new Set([1, 2, 3, 5, 7, 8, 23, 28, 51]);
/** Register tags (T_ of a state; 0 and above: a packet pointer of that id). */
const T_UNKNOWN = -1;
const T_END = -2;
const T_CTX = -3;
const T_NUM = -4;
/** Fields per register in a state: tag, then for a packet pointer k, lo, hi, range; for a number min, max. */
const F = 5;
/** A state: 11 registers of F fields, then data's own range (ids' 0). */
const S = 11 * F + 1;
/** Rounds of the whole pass (each one after a merge of unequal pointers became a new id); then such merges are dropped. */
const MAX_ROUNDS = 12;
/** Copies a state (a loop: cheaper than TypedArray.prototype.set for 56 numbers). */
function copy(to: Float64Array, from: Float64Array): void {
  for (let i = 0; i < S; i++) to[i] = from[i]!;
}

/** Changes of one block's entry state before a changed register is dropped (loops end). */
const WIDEN_AFTER = 8;

/**
 * Packet bounds the program itself proved, per access (the verifier's packet pointers with an id and a range per id):
 * a forward pass over the blocks, sound (every path counted, merges joined conservatively), used by the code generator
 * to drop the packet window's bounds test of an access inside them (compiled/engine.ts).
 *
 * A packet pointer is data + V + k: data read from ctx at offset 0 with no packet-moving call since, k a constant, V a
 * hidden value of its id with lo <= V <= hi (id 0: V = 0). Ids: 0; a pointer plus a bounded number (a new id per
 * instruction); a slot where paths bring different pointers in one register (a new id per slot and register, the pass
 * run again). An id's V is the one of the latest execution of its instruction or entry of its slot: a register still
 * holding the id from before is dropped there. A range R of an id: data + V + R <= data_end on every path (a taken or
 * not taken 64-bit unsigned compare of such a pointer with data_end read from ctx, since the last packet-moving call).
 *
 * For each load or store of slot pc through a packet pointer: low[pc] = lo + k (its least offset from data) and
 * avail[pc] = R - k (the bytes proven from it), else P_UNKNOWN. An access of `size` bytes at the register + `off` is
 * inside [data, data_end) when low + off >= 0 and off + size <= avail.
 */
export function packetRanges(insns: Insn[], infos: (OpcodeInfo | undefined)[]): { low: Int32Array; avail: Int32Array } {
  const n = insns.length;
  const low = new Int32Array(n + 1).fill(P_UNKNOWN);
  const avail = new Int32Array(n + 1).fill(P_UNKNOWN);
  // Blocks: the entry, functions' entries, jump targets and what follows a jump or exit.
  const lead = new Uint8Array(n + 1);
  const entries: number[] = [0];
  lead[0] = 1;
  let loops = false;
  const mark = (t: number) => { if (t >= 0 && t < n) lead[t] = 1; };
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc]!;
    const info = infos[pc];
    if (!info) continue;
    if (info.kind === 'call' && insn.src === CALL_LOCAL) { mark(pc + 1 + insn.imm); entries.push(pc + 1 + insn.imm); }
    if (info.kind === 'lddw') {
      if (insn.src === PSEUDO_FUNC) { mark(pc + 1 + insn.imm); entries.push(pc + 1 + insn.imm); }
      pc++;
      continue;
    }
    if (info.kind === 'jump' || info.kind === 'jcond') { mark(pc + 1 + insn.off); mark(pc + 1); loops ||= insn.off < 0; }
    if (info.kind === 'ja') {
      const off = info.cls === 'jmp32' ? insn.imm : insn.off;
      mark(pc + 1 + off);
      mark(pc + 1);
      loops ||= off < 0;
    }
    if (info.kind === 'exit' || info.kind === 'ld-abs' || info.kind === 'ld-ind') mark(pc + 1);
  }
  /** Merges of unequal pointers that are a new id: merged[pc * 11 + r] (a leader pc). */
  const merged = new Uint8Array((n + 1) * 11);
  // Block entry states: views into shared chunks, one per leader, kept across rounds (a round's own are the ones
  // with inRound === round); the working states are reused buffers (no allocation per block run).
  const views: (Float64Array | undefined)[] = [];
  const inRound = new Int32Array(n + 1).fill(-1);
  const reached: number[] = [];
  let chunk = new Float64Array(0);
  let chunkUsed = 0;
  const changes = new Int32Array(n + 1);
  const cur = new Float64Array(S);
  const taken = new Float64Array(S);
  const entered = new Float64Array(S);
  // Blocks to run. Without a backward jump, least slot first (a heap): a block runs once, after all its entries. With
  // one, the latest queued first (the order the widening of loops was settled with).
  const heap = new Int32Array(n + 1);
  let size = 0;
  const queued = new Uint8Array(n + 1);
  const push = (pc: number) => {
    if (loops) { heap[size++] = pc; return; }
    let i = size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]! <= pc) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = pc;
  };
  const pop = (): number => {
    if (loops) return heap[--size]!;
    const top = heap[0]!;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && heap[c + 1]! < heap[c]!) c++;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
    return top;
  };
  let again = false;
  let rounds = 0;
  const unknown = new Float64Array(S);
  for (let r = 0; r < 11; r++) unknown[r * F] = T_UNKNOWN;
  const mergeId = (pc: number, r: number) => 1 + pc * 12 + r;
  const siteId = (pc: number) => 1 + pc * 12 + 11;
  const drop = (s: Float64Array, r: number) => { s[r * F] = T_UNKNOWN; };
  /** Drops every register holding `id` but `keep`. */
  const dropId = (s: Float64Array, id: number, keep: number) => {
    for (let q = 0; q < 11; q++) if (q !== keep && s[q * F] === id) drop(s, q);
  };
  const num = (s: Float64Array, r: number, min: number, max: number) => {
    if (min < 0 || max > P_MAX_VAL || min > max) drop(s, r);
    else { s[r * F] = T_NUM; s[r * F + 1] = min; s[r * F + 2] = max; }
  };
  /** Re-describes an incoming state for slot pc: each merged register's pointer is that slot's id, V = its offset. */
  const enter = (pc: number, from: Float64Array): Float64Array => {
    const s = entered;
    copy(s, from);
    for (let r = 0; r < 11; r++) {
      if (!merged[pc * 11 + r]) continue;
      const m = mergeId(pc, r);
      const t = s[r * F]!;
      if (t === m) {
        // The same id again (a loop): the new V is the old one + k; its other holders move by -k.
        const k = s[r * F + 1]!;
        for (let q = 0; q < 11; q++) {
          if (s[q * F] !== m) continue;
          const kq = s[q * F + 1]! - k;
          if (kq < -P_MAX_OFF || kq > P_MAX_OFF || s[q * F + 2]! + k < 0 || s[q * F + 3]! + k > P_MAX_HI) { drop(s, q); continue; }
          s[q * F + 1] = kq; s[q * F + 2] += k; s[q * F + 3] += k; s[q * F + 4] = Math.max(s[q * F + 4]! - k, P_NO_RANGE);
        }
        continue;
      }
      dropId(s, m, r);
      if (t < 0) continue;
      const k = s[r * F + 1]!;
      const lo = s[r * F + 2]! + k;
      const hi = s[r * F + 3]! + k;
      if (lo < 0 || hi > P_MAX_HI) { drop(s, r); continue; }
      const R = t === 0 ? s[11 * F]! : s[r * F + 4]!;
      s[r * F] = m; s[r * F + 1] = 0; s[r * F + 2] = lo; s[r * F + 3] = hi; s[r * F + 4] = Math.max(R - k, P_NO_RANGE);
    }
    return s;
  };
  /** `r` (data + V + k) <= data_end in `into`: range k for its id, data's own range lo + k, and V <= P_SPAN - k. */
  const prove = (into: Float64Array, r: number) => {
    const t = into[r * F]!;
    const k = into[r * F + 1]!;
    if (t === 0) { into[11 * F] = Math.max(into[11 * F]!, k); return; }
    into[11 * F] = Math.max(into[11 * F]!, into[r * F + 2]! + k);
    const R = Math.max(into[r * F + 4]!, k);
    const hi = Math.min(into[r * F + 3]!, P_SPAN - k);
    for (let q = 0; q < 11; q++) if (into[q * F] === t) { into[q * F + 3] = hi; into[q * F + 4] = R; }
  };
  const flow = (pc: number, from: Float64Array) => {
    if (pc < 0 || pc >= n) return;
    const s = enter(pc, from);
    let changed = false;
    if (inRound[pc] !== rounds) {
      let v = views[pc];
      if (v === undefined) {
        if (chunkUsed === chunk.length) { chunk = new Float64Array(S * 256); chunkUsed = 0; }
        v = views[pc] = chunk.subarray(chunkUsed, chunkUsed + S);
        chunkUsed += S;
      }
      copy(v, s);
      inRound[pc] = rounds;
      reached.push(pc);
      changed = true;
    } else {
      const old = views[pc]!;
      const widen = changes[pc]! >= WIDEN_AFTER;
      for (let r = 0; r < 11; r++) {
        const i = r * F;
        const a = old[i]!;
        const b = s[i]!;
        if (a === T_UNKNOWN) continue;
        let nt = a, n1 = old[i + 1]!, n2 = old[i + 2]!, n3 = old[i + 3]!, n4 = old[i + 4]!;
        if (a !== b) {
          if (a >= 0 && b >= 0 && !merged[pc * 11 + r] && rounds < MAX_ROUNDS) { merged[pc * 11 + r] = 1; again = true; }
          nt = T_UNKNOWN;
        } else if (a === T_NUM) {
          n1 = Math.min(n1, s[i + 1]!); n2 = Math.max(n2, s[i + 2]!);
        } else if (a >= 0) {
          if (n1 !== s[i + 1]) {
            if (!merged[pc * 11 + r] && rounds < MAX_ROUNDS) { merged[pc * 11 + r] = 1; again = true; }
            nt = T_UNKNOWN;
          } else {
            n2 = Math.min(n2, s[i + 2]!); n3 = Math.max(n3, s[i + 3]!); n4 = Math.min(n4, s[i + 4]!);
          }
        }
        if (nt !== a || n1 !== old[i + 1] || n2 !== old[i + 2] || n3 !== old[i + 3] || n4 !== old[i + 4]) {
          changed = true;
          // Widened: a pointer whose bound alone grew takes the next of P_SPAN, P_MAX_HI (kept only while the
          // loop's paths bring it back under it); any other change drops the register.
          if (widen && nt === a && a >= 0 && n1 === old[i + 1] && n2 === old[i + 2] && n4 === old[i + 4] && n3 < P_MAX_HI) {
            old[i + 3] = n3 <= P_SPAN ? P_SPAN : P_MAX_HI;
          }
          else if (widen || nt === T_UNKNOWN) old[i] = T_UNKNOWN;
          else { old[i + 1] = n1; old[i + 2] = n2; old[i + 3] = n3; old[i + 4] = n4; }
        }
      }
      if (s[11 * F]! < old[11 * F]!) {
        old[11 * F] = widen ? 0 : s[11 * F]!;
        changed = true;
      }
      if (changed) changes[pc]++;
    }
    if (changed && !queued[pc]) {
      queued[pc] = 1;
      push(pc);
    }
  };
  /**
   * Runs the block at `start` from its entry state and notes each access's proof: a block runs again whenever its
   * entry state changes, so its last run (of the last round) is from its final state.
   */
  const runBlock = (start: number) => {
    const s = cur;
    copy(s, views[start]!);
    for (let pc = start; pc < n; pc++) {
      if (pc !== start && lead[pc]) { flow(pc, s); return; }
      const insn = insns[pc]!;
      const info = infos[pc];
      if (!info) return;
      const d = insn.dst;
      const sr = insn.src;
      if (info.kind === 'ldx' || info.kind === 'ldxsx' || info.kind === 'st' || info.kind === 'stx') {
        const b = info.kind === 'ldx' || info.kind === 'ldxsx' ? sr : d;
        const t = s[b * F]!;
        if (t >= 0) {
          const k = s[b * F + 1]!;
          low[pc] = t === 0 ? k : s[b * F + 2]! + k;
          avail[pc] = Math.max((t === 0 ? s[11 * F]! : s[b * F + 4]!) - k, P_NO_RANGE);
        } else {
          low[pc] = P_UNKNOWN;
          avail[pc] = P_UNKNOWN;
        }
      }
      switch (info.kind) {
        case 'alu': {
          const v = aluVariant(info, insn.off);
          const w64 = info.width === 64;
          const i = d * F;
          const t = s[i]!;
          const ts = info.srcReg ? s[sr * F]! : T_NUM;
          const smin = info.srcReg ? s[sr * F + 1]! : insn.imm;
          const smax = info.srcReg ? s[sr * F + 2]! : insn.imm;
          // A 32-bit operation on numbers below 2^30 neither wraps nor loses bits: the same bounds as 64-bit.
          const imm = w64 || insn.imm >= 0 ? insn.imm : insn.imm >>> 0;
          if (v === 'mov') {
            if (info.srcReg) {
              if (w64 || ts === T_NUM) s.copyWithin(i, sr * F, sr * F + F);
              else drop(s, d);
            } else num(s, d, imm, imm);
          } else if ((v === 'add' || v === 'sub') && t >= 0 && w64) {
            if (ts === T_NUM && (smin === smax || v === 'add')) {
              if (smin === smax) {
                const k = v === 'add' ? s[i + 1]! + smin : s[i + 1]! - smin;
                if (k < -P_MAX_OFF || k > P_MAX_OFF) drop(s, d);
                else s[i + 1] = k;
              } else {
                // A pointer plus a bounded number: a new id, V = its old V + k + the number.
                const k = s[i + 1]!;
                const lo = (t === 0 ? 0 : s[i + 2]!) + k + smin;
                const hi = (t === 0 ? 0 : s[i + 3]!) + k + smax;
                dropId(s, siteId(pc), d);
                if (lo < 0 || hi > P_MAX_HI) drop(s, d);
                else { s[i] = siteId(pc); s[i + 1] = 0; s[i + 2] = lo; s[i + 3] = hi; s[i + 4] = P_NO_RANGE; }
              }
            } else drop(s, d);
          } else if (v === 'add' && t === T_NUM && ts >= 0 && w64) {
            const j = sr * F;
            const lo = (ts === 0 ? 0 : s[j + 2]!) + s[j + 1]! + s[i + 1]!;
            const hi = (ts === 0 ? 0 : s[j + 3]!) + s[j + 1]! + s[i + 2]!;
            dropId(s, siteId(pc), d);
            if (lo < 0 || hi > P_MAX_HI) drop(s, d);
            else { s[i] = siteId(pc); s[i + 1] = 0; s[i + 2] = lo; s[i + 3] = hi; s[i + 4] = P_NO_RANGE; }
          } else if (t === T_NUM && ts === T_NUM && (v === 'add' || v === 'sub')) {
            if (v === 'add') num(s, d, s[i + 1]! + smin, s[i + 2]! + smax);
            else num(s, d, s[i + 1]! - smax, s[i + 2]! - smin);
          } else if (v === 'and' && !info.srcReg && imm >= 0) {
            num(s, d, 0, t === T_NUM ? Math.min(s[i + 2]!, imm) : imm);
          } else if (v === 'lsh' && !info.srcReg && t === T_NUM && imm >= 0 && imm < 31) {
            num(s, d, s[i + 1]! * 2 ** imm, s[i + 2]! * 2 ** imm);
          } else if (v === 'rsh' && !info.srcReg && imm >= 0 && imm < (w64 ? 64 : 32)) {
            if (t === T_NUM) num(s, d, Math.floor(s[i + 1]! / 2 ** imm), Math.floor(s[i + 2]! / 2 ** imm));
            else if ((w64 ? 64 : 32) - imm <= 30) num(s, d, 0, 2 ** ((w64 ? 64 : 32) - imm) - 1);
            else drop(s, d);
          } else drop(s, d);
          break;
        }
        case 'end':
          if (insn.imm === 16) num(s, d, 0, 0xffff);
          else drop(s, d);
          break;
        case 'ldx': {
          const c = s[sr * F] === T_CTX && info.size === 4;
          if (c && insn.off === 0) { s[d * F] = 0; s[d * F + 1] = 0; s[d * F + 2] = 0; s[d * F + 3] = 0; s[d * F + 4] = 0; }
          else if (c && insn.off === 4) s[d * F] = T_END;
          else if (!c && (info.size === 1 || info.size === 2)) num(s, d, 0, 2 ** (8 * info.size!) - 1);
          else drop(s, d);
          break;
        }
        case 'ldxsx': case 'lddw':
          drop(s, d);
          break;
        case 'atomic':
          drop(s, 0); drop(s, sr); drop(s, d);
          break;
        case 'call':
          for (let r = 0; r < 6; r++) drop(s, r);
          if (!(insn.src === CALL_HELPER && KEEPS_PACKET.has(insn.imm))) {
            for (let r = 6; r < 11; r++) if (s[r * F] !== T_CTX && s[r * F] !== T_NUM) drop(s, r);
            s[11 * F] = 0;
          }
          break;
        default:
          break;
      }
      switch (info.kind) {
        case 'jump': {
          // A 64-bit unsigned compare of data + V + k with data_end: the side where it is <= data_end gets range k.
          copy(taken, s);
          const op = info.jmp;
          if (info.cls === 'jmp' && info.srcReg && (op === 'jgt' || op === 'jge' || op === 'jlt' || op === 'jle')) {
            const a = s[d * F]!;
            const b = s[sr * F]!;
            // pkt > end, pkt >= end: not taken; pkt < end, pkt <= end: taken; and the mirrored forms.
            if (a >= 0 && b === T_END) prove(op === 'jgt' || op === 'jge' ? s : taken, d);
            else if (a === T_END && b >= 0) prove(op === 'jgt' || op === 'jge' ? taken : s, sr);
          }
          flow(pc + 1 + insn.off, taken);
          flow(pc + 1, s);
          return;
        }
        case 'jcond':
          flow(pc + 1 + insn.off, s);
          flow(pc + 1, s);
          return;
        case 'ja':
          flow(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off), s);
          return;
        case 'lddw':
          pc++;
          break;
        case 'exit': case 'ld-abs': case 'ld-ind':
          return;
        default:
          break;
      }
    }
  };
  for (;;) {
    for (const pc of reached) changes[pc] = 0;
    reached.length = 0;
    again = false;
    const entry = new Float64Array(unknown);
    entry[1 * F] = T_CTX;
    for (const e of entries) flow(e, e === 0 ? entry : unknown);
    while (size > 0) {
      const pc = pop();
      queued[pc] = 0;
      runBlock(pc);
    }
    if (!again) break;
    rounds++;
  }
  return { low, avail };
}
