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

/** packetRanges: a register whose packet offset is not known. */
export const P_UNKNOWN = 0x40000000;
/** packetRanges: a register holding ctx's data_end as read from ctx. */
const P_END = 0x40000001;
/** packetRanges: a register holding the context pointer itself (r1 at the entry, and its copies). */
const P_CTX = 0x40000002;
/** Offsets from data beyond this (either way) are not followed (the verifier's MAX_PACKET_OFF). */
const P_MAX_OFF = 0xffff;
/**
 * Helpers that neither move the packet (ctx's data, data_end, data_meta) nor run any of the program's code: after
 * them a proof made before the call still holds. Every other call (helper, kfunc, bpf-to-bpf) clears all proofs.
 * map_lookup/update/delete_elem, ktime_get_ns, get_prandom_u32, get_smp_processor_id, redirect, csum_diff, redirect_map.
 */
const KEEPS_PACKET: ReadonlySet<number> = new Set([1, 2, 3, 5, 7, 8, 23, 28, 51]);

/**
 * Packet bounds the program itself proved, per slot (the verifier's packet `range`, without variable offsets): a forward
 * pass over the jumps, sound (every path counted, merges joined conservatively), used by the code generator to drop
 * the packet window's bounds test of an access inside them (compiled/engine.ts).
 *
 * - off[pc * 11 + r]: before slot pc, register r equals ctx's data + off (a 64-bit add of constants to a data read from
 *   ctx at offset 0 on every path reaching pc, with no packet-moving call since), or P_UNKNOWN;
 * - range[pc]: before slot pc, data + range <= data_end holds on every path (a taken or not taken 64-bit unsigned
 *   compare of such a register with data_end read from ctx, since the last packet-moving call); 0 when nothing is
 *   proven.
 * An access of `size` bytes at register r + k is inside [data, data_end) when off + k >= 0 and off + k + size <= range.
 */
export function packetRanges(insns: Insn[], infos: (OpcodeInfo | undefined)[]): { off: Int32Array; range: Int32Array } {
  const n = insns.length;
  const off = new Int32Array((n + 1) * 11).fill(P_UNKNOWN);
  const range = new Int32Array(n + 1);
  const reached = new Uint8Array(n + 1);
  const queued = new Uint8Array(n + 1);
  const work: number[] = [];
  /** Joins a state (12 numbers: r0-r10, then the range) into slot pc: equal offsets stay, the smaller range. */
  const flow = (pc: number, s: Int32Array) => {
    if (pc < 0 || pc >= n) return;
    let changed = false;
    if (!reached[pc]) {
      reached[pc] = 1;
      off.set(s.subarray(0, 11), pc * 11);
      range[pc] = s[11]!;
      changed = true;
    } else {
      for (let r = 0; r < 11; r++) {
        if (off[pc * 11 + r] !== P_UNKNOWN && off[pc * 11 + r] !== s[r]) {
          off[pc * 11 + r] = P_UNKNOWN;
          changed = true;
        }
      }
      if (s[11]! < range[pc]!) {
        range[pc] = s[11]!;
        changed = true;
      }
    }
    if (changed && !queued[pc]) {
      queued[pc] = 1;
      work.push(pc);
    }
  };
  const unknown = new Int32Array(12).fill(P_UNKNOWN);
  unknown[11] = 0;
  const entry = new Int32Array(unknown);
  entry[1] = P_CTX;
  flow(0, entry);
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc]!;
    const info = infos[pc];
    if (info?.kind === 'call' && insn.src === CALL_LOCAL) flow(pc + 1 + insn.imm, unknown);
    if (info?.kind === 'lddw') {
      if (insn.src === PSEUDO_FUNC) flow(pc + 1 + insn.imm, unknown);
      pc++;
    }
  }
  const isOff = (v: number) => v < P_UNKNOWN;
  const state = new Int32Array(12);
  const taken = new Int32Array(12);
  while (work.length > 0) {
    const pc = work.pop()!;
    queued[pc] = 0;
    state.set(off.subarray(pc * 11, pc * 11 + 11));
    state[11] = range[pc]!;
    const insn = insns[pc]!;
    const info = infos[pc];
    if (!info) continue;
    const d = insn.dst;
    const s = insn.src;
    switch (info.kind) {
      case 'alu': {
        const v = aluVariant(info, insn.off);
        const a = state[d]!;
        let r = P_UNKNOWN;
        if (info.width === 64 && v === 'mov' && info.srcReg) r = state[s]!;
        else if (info.width === 64 && (v === 'add' || v === 'sub') && !info.srcReg && isOff(a)) {
          const k = v === 'add' ? a + (insn.imm | 0) : a - (insn.imm | 0);
          if (k >= -P_MAX_OFF && k <= P_MAX_OFF) r = k;
        }
        state[d] = r;
        break;
      }
      case 'ldx':
        state[d] = state[s] === P_CTX && info.size === 4 && insn.off === 0 ? 0
          : state[s] === P_CTX && info.size === 4 && insn.off === 4 ? P_END : P_UNKNOWN;
        break;
      case 'end': case 'ldxsx': case 'lddw':
        state[d] = P_UNKNOWN;
        break;
      case 'atomic':
        state[0] = state[s] = state[d] = P_UNKNOWN;
        break;
      case 'call': {
        state.fill(P_UNKNOWN, 0, 6);
        if (!(insn.src === CALL_HELPER && KEEPS_PACKET.has(insn.imm))) {
          for (let r = 6; r < 11; r++) if (state[r] !== P_CTX) state[r] = P_UNKNOWN;
          state[11] = 0;
        }
        break;
      }
      default:
        break;
    }
    switch (info.kind) {
      case 'jump': {
        // A 64-bit unsigned compare of data + k with data_end: the side where data + k <= data_end gets range k.
        taken.set(state);
        const op = info.jmp;
        if (info.cls === 'jmp' && info.srcReg && (op === 'jgt' || op === 'jge' || op === 'jlt' || op === 'jle')) {
          const a = state[d]!;
          const b = state[s]!;
          // pkt > end, pkt >= end: not taken; pkt < end, pkt <= end: taken; and the mirrored forms.
          if (isOff(a) && b === P_END && a >= 0) {
            if (op === 'jgt' || op === 'jge') state[11] = Math.max(state[11]!, a);
            else taken[11] = Math.max(taken[11]!, a);
          } else if (a === P_END && isOff(b) && b >= 0) {
            if (op === 'jgt' || op === 'jge') taken[11] = Math.max(taken[11]!, b);
            else state[11] = Math.max(state[11]!, b);
          }
        }
        flow(pc + 1 + insn.off, taken);
        flow(pc + 1, state);
        break;
      }
      case 'jcond':
        flow(pc + 1 + insn.off, state);
        flow(pc + 1, state);
        break;
      case 'ja':
        flow(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off), state);
        break;
      case 'lddw':
        flow(pc + 2, state);
        break;
      case 'exit': case 'ld-abs': case 'ld-ind':
        break;
      default:
        flow(pc + 1, state);
    }
  }
  return { off, range };
}
