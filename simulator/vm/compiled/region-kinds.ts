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
