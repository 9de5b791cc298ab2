// The compiled engine's WebAssembly tier: one program image (entry plus subprograms, or a tail-call target) becomes
// one WebAssembly function, written here as bytes by a small encoder (no toolchain, no dependency), compiled once per
// instruction array. engine.ts runs it and falls back to the JavaScript form (and the interpreter's steps) for
// everything it hands over.
//
// - registers are i64 locals, ALU is native i64/i32 with the kernel's results for x/0, x%0, INT_MIN/-1 and
//   INT_MIN%-1, shifts masked, 32-bit results zero-extended;
// - basic blocks are the JavaScript form's (same leaders, same cut at MAX_BLOCK, so the same `after` table): block k's
//   code follows the end of the k-th of nested blocks, a forward jump is a `br` to it, a backward jump goes through a
//   `br_table` over slots at the top of a loop. Each block pays its instructions on entry from the budget (a local,
//   stored in linear memory before anything that can fault); a block that cannot be paid hands over to the
//   JavaScript form at its start, which runs its counting form;
// - loads and stores read the region table in linear memory (memory.ts WASM_LAYOUT): an access of the packet frame
//   or a call frame inside its window (stores: writable; stack loads: every byte written) is done inline, marking
//   written bytes and lowering the frame's dirty offset as Memory does; anything else (map values, ctx, scratch, an
//   unwritten stack byte, every fault) calls Memory.ld*/st* with the same halves, so results and faults are the
//   JavaScript form's by construction;
// - helpers, kfuncs and atomics are imports run on the registers spilled into linear memory (the engine's S.R is a
//   view of it); exits and bpf-to-bpf calls return to engine.ts with the slot.
//
// A big image is cut into chunks of consecutive blocks (at most `wasmChunkSlots()` slots each), one function each, and
// a small dispatcher function `run` calls the chunk of the slot it starts at: a jump or fall-through into another
// chunk's block leaves its chunk with the registers and budget in linear memory (as every exit does) and the slot
// to go on at, and the dispatcher enters that chunk, which reloads them. V8 optimises a function at a time, and the
// time it takes grows faster than the function: an 18,000-instruction image as one function took its optimising
// compiler ~7 s of CPU; chunks keep that in proportion to the code that runs hot.
//
// A program with anything else (may_goto, legacy packet loads, unknown opcodes or lddw kinds, bad registers) gets no
// WebAssembly form and runs in JavaScript. Generated code can only touch its own linear memory (bounds-checked by the
// engine) and call the imports; the budget bounds every loop.
import type { Insn } from '../../isa/insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX,
  PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, type OpcodeInfo,
} from '../../isa/opcodes.ts';
import { REGION_FUNC, REGION_MAP_HANDLE, STACK_SIZE, WASM_LAYOUT as L, addrOf } from '../memory.ts';
import { refusedWhenReached } from '../../isa/alu.ts';

/** The imports, in function-index order (engine.ts provides them per Memory). */
export const WASM_IMPORTS = ['ld1', 'ld2', 'ld4', 'ld8', 'ldsx', 'st1', 'st2', 'st4', 'st8', 'helper', 'mark', 'atomic', 'mapValue'] as const;
const F = Object.fromEntries(WASM_IMPORTS.map((n, i) => [n, i])) as Record<(typeof WASM_IMPORTS)[number], number>;

/** What `run(pc)` returns: (slot << 2) | code. */
export const W_HANDOVER = 0; // run the JavaScript form from the slot (a block start, or a slot no block starts at)
export const W_OUTCOME = 1; // a helper's outcome other than a value was applied (S.code says what next)
export const W_EXIT = 2; // `exit` at the slot, registers spilled
export const W_CALL = 3; // a bpf-to-bpf call at the slot, registers spilled
// A chunk's function returns ~slot (negative) to go on at a block start of another chunk (state in linear memory).

let chunkSlots = 1024;
/** The most slots a chunk's function holds (a block longer than that is a chunk of its own); set it for tests. */
export function wasmChunkSlots(slots?: number): number {
  if (slots !== undefined && Number.isInteger(slots) && slots >= 1) chunkSlots = slots;
  return chunkSlots;
}
/** Modules made of more than one chunk so far in this process (tests check that the chunked form ran). */
export const wasmChunkStats = { chunked: 0, chunks: 0 };

// ---- encoder
const uleb = (out: number[], n: number) => {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
};
const sleb32 = (out: number[], v: number) => {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
};
const sleb64 = (out: number[], v: bigint) => {
  v = BigInt.asIntN(64, v);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
};

// Opcodes used below.
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, BR_TABLE = 0x0e, RETURN = 0x0f, CALL = 0x10;
const LGET = 0x20, LSET = 0x21;
const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_LOAD8_U = 0x2d, I32_LOAD16_U = 0x2f;
const I32_STORE = 0x36, I64_STORE = 0x37, I32_STORE8 = 0x3a, I32_STORE16 = 0x3b;
const I32_CONST = 0x41, I64_CONST = 0x42;
const I32_EQZ = 0x45, I32_NE = 0x47, I32_LT_S = 0x48, I32_GT_S = 0x4a, I32_GE_U = 0x4f, I32_LT_U = 0x49;
const I64_EQZ = 0x50, I64_NE = 0x52;
const I32_ADD = 0x6a, I32_SUB = 0x6b, I32_AND = 0x71, I32_OR = 0x72, I32_XOR = 0x73, I32_SHL = 0x74, I32_SHR_U = 0x76;
const I64_AND = 0x83, I64_OR = 0x84, I64_SHL = 0x86, I64_SHR_U = 0x88;
const I32_WRAP = 0xa7, I64_EXT_S = 0xac, I64_EXT_U = 0xad;
const T_I32 = 0x7f, T_I64 = 0x7e, T_VOID = 0x40;

// Locals: param 0 is the slot to start at; registers r0..r10 are 1..11.
const PC = 0;
const RL = (r: number) => 1 + r;
const H = 12, O = 13, E = 14, A = 15, FB = 16, LEFT = 17, T1 = 18, T2 = 19; // i32
const X1 = 20, X2 = 21; // i64

const ALU64: Record<string, number> = { add: 0x7c, sub: 0x7d, mul: 0x7e, and: 0x83, or: 0x84, xor: 0x85, lsh: 0x86, rsh: 0x88, arsh: 0x87 };
const ALU32: Record<string, number> = { add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, or: 0x72, xor: 0x73, lsh: 0x74, rsh: 0x76, arsh: 0x75 };
const CMP64: Record<string, number> = { jeq: 0x51, jne: 0x52, jgt: 0x56, jge: 0x5a, jlt: 0x54, jle: 0x58, jsgt: 0x55, jsge: 0x59, jslt: 0x53, jsle: 0x57 };
const CMP32: Record<string, number> = { jeq: 0x46, jne: 0x47, jgt: 0x4b, jge: 0x4f, jlt: 0x49, jle: 0x4d, jsgt: 0x4a, jsge: 0x4e, jslt: 0x48, jsle: 0x4c };
const LOAD_U: Record<number, number> = { 1: 0x31, 2: 0x33, 4: 0x35, 8: 0x29 };
const LOAD_S: Record<number, number> = { 1: 0x30, 2: 0x32, 4: 0x34 };
const STORE64: Record<number, number> = { 1: 0x3c, 2: 0x3d, 4: 0x3e, 8: 0x37 };
const ONES: Record<number, bigint> = { 1: 0x01n, 2: 0x0101n, 4: 0x01010101n, 8: 0x0101010101010101n };

const LDDW_OK = new Set([PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_VALUE, PSEUDO_MAP_IDX_VALUE, PSEUDO_FUNC]);
const STRAIGHT_KINDS = new Set(['alu', 'end', 'ldx', 'ldxsx', 'st', 'stx', 'atomic', 'lddw']);

/** Whether every instruction is one the WebAssembly form implements (else the program stays JavaScript). */
function eligible(insns: Insn[], infos: (OpcodeInfo | undefined)[]): boolean {
  if (insns.length >= 1 << 28) return false;
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc];
    const info = infos[pc];
    if (!info) return false;
    if (insn.dst > 10 || insn.src > 10 || insn.dst < 0 || insn.src < 0) return false;
    switch (info.kind) {
      case 'alu': {
        const v = aluVariant(info, insn.off);
        if (v === undefined) return false;
        // Refused where reached (constant divisor 0, shift out of range): the JavaScript form faults as the interpreter.
        if (refusedWhenReached(v, !!info.srcReg, info.width, insn.imm) !== undefined) return false;
        break;
      }
      case 'end': case 'ldx': case 'ldxsx': case 'st': case 'stx': case 'atomic': case 'jump': case 'ja': case 'exit':
        break;
      case 'lddw':
        if (!LDDW_OK.has(insn.src)) return false;
        pc++;
        break;
      case 'call':
        if (insn.src !== CALL_HELPER && insn.src !== CALL_KFUNC && insn.src !== CALL_LOCAL) return false;
        break;
      default:
        return false; // jcond (may_goto), ld-abs, ld-ind, anything new
    }
  }
  return true;
}

export interface WasmForm {
  module: WebAssembly.Module;
  /** Bytes of the module and generation time (benchmark, tests). */
  size: number;
  compileMs: number;
}

/**
 * Generate the WebAssembly module of a program image, or undefined when it uses something the tier does not do.
 * `starts`: the first slot of each of the JavaScript form's basic blocks (engine.ts `blockSlots`), which this follows.
 */
export function generateWasm(insns: Insn[], starts: number[], r10Fixed: boolean): Uint8Array<ArrayBuffer> | undefined {
  const infos = insns.map((i) => OPCODES[i.opcode]);
  if (!eligible(insns, infos)) return undefined;
  const n = starts.length;
  const blockOf = new Int32Array(insns.length + 1).fill(-1);
  starts.forEach((s, k) => (blockOf[s] = k));
  // The chunk being written: blocks [kb, ke) of `starts`, slots [lo, hi); its code goes to `c`.
  let kb = 0, ke = n, lo = 0, hi = insns.length;
  let c: number[] = [];
  const op = (...b: number[]) => c.push(...b);
  const get = (l: number) => op(LGET, l);
  const set = (l: number) => op(LSET, l);
  const i32 = (v: number) => {
    op(I32_CONST);
    sleb32(c, v);
  };
  const i64 = (v: bigint | number) => {
    op(I64_CONST);
    sleb64(c, BigInt(v));
  };
  const mem = (code: number, offset: number) => {
    op(code, 0);
    uleb(c, offset);
  };
  const call = (f: number) => op(CALL, f);
  const spill = (from = 0, to = 10) => {
    for (let r = from; r <= to; r++) {
      i32(0);
      get(RL(r));
      mem(I64_STORE, L.R + 8 * r);
    }
  };
  const reload = (from = 0, to = 10) => {
    for (let r = from; r <= to; r++) {
      i32(0);
      mem(I64_LOAD, L.R + 8 * r);
      set(RL(r));
    }
  };
  const saveLeft = () => {
    i32(0);
    get(LEFT);
    mem(I32_STORE, L.LEFT);
  };
  /** The frame base of r10's region (valid while r10 is a frame pointer, i.e. in a program that never writes it). */
  const computeFb = () => {
    get(RL(10));
    i64(32);
    op(I64_SHR_U, I32_WRAP);
    i32(L.FRAME_STRIDE);
    op(0x6c); // i32.mul
    i32(L.FRAMES - 8 * L.FRAME_STRIDE);
    op(I32_ADD);
    set(FB);
  };
  /** h and the biased-away offset of register r + off into H and O. */
  const addr = (r: number, off: number) => {
    get(RL(r));
    i64(32);
    op(I64_SHR_U, I32_WRAP);
    set(H);
    get(RL(r));
    op(I32_WRAP);
    i32(0x80000000 | 0);
    op(I32_XOR);
    i32(off);
    op(I32_ADD);
    set(O);
  };
  /**
   * Register r + off as a region entry's window check: branch to the enclosing block (the slow path) unless the region
   * id is in the table and [O, O + size) lies in [lo, the entry's field at `hiAt`: the read or the write limit); then
   * the linear address into A and the entry's offset into E.
   */
  const inWindow = (r: number, off: number, size: number, hiAt: number) => {
    addr(r, off);
    get(H);
    i32(16);
    op(I32_GE_U, BR_IF, 0);
    get(H);
    i32(5);
    op(I32_SHL);
    set(E);
    get(O);
    get(E);
    mem(I32_LOAD, L.TABLE + 4);
    op(I32_LT_S, BR_IF, 0);
    get(O);
    get(E);
    mem(I32_LOAD, hiAt);
    i32(size);
    op(I32_SUB, I32_GT_S, BR_IF, 0);
    get(E);
    mem(I32_LOAD, L.TABLE);
    get(O);
    op(I32_ADD);
    set(A);
  };
  /** Slow-path call arguments h, l, off. */
  const slowArgs = (r: number, off: number) => {
    get(H);
    get(RL(r));
    op(I32_WRAP);
    i32(off);
  };
  /** Before a call that may fault: the budget and r0 where engine.ts finds them. */
  const beforeFault = () => {
    saveLeft();
    i32(0);
    get(RL(0));
    mem(I64_STORE, L.R);
  };
  /** (high word from TH << 32) | extend_u(value on the stack) into register d. */
  const withTh = (d: number) => {
    op(I64_EXT_U);
    i32(0);
    mem(I32_LOAD, L.TH);
    op(I64_EXT_U);
    i64(32);
    op(I64_SHL, I64_OR);
    set(RL(d));
  };
  // Depth bookkeeping: `extra` counts blocks/ifs opened inside the current segment's code.
  let extra = 0;
  const stackSlot = (r: number, off: number, size: number) => (r10Fixed && r === 10 && off >= -STACK_SIZE && off + size <= 0 ? STACK_SIZE + off : undefined);

  function load(d: number, s: number, off: number, size: number, signed: boolean, pc: number): void {
    const slot = stackSlot(s, off, size);
    op(BLOCK, T_VOID); // $done
    op(BLOCK, T_VOID); // $slow
    extra += 2;
    if (slot !== undefined) {
      // The current frame, in window: only the written-byte check.
      get(FB);
      mem(size === 8 ? I64_LOAD : size === 4 ? I32_LOAD : size === 2 ? I32_LOAD16_U : I32_LOAD8_U, slot + STACK_SIZE);
      if (size === 8) {
        i64(ONES[8]);
        op(I64_NE);
      } else {
        i32(Number(ONES[size]));
        op(I32_NE);
      }
      op(BR_IF, 0);
      get(FB);
      mem(signed ? LOAD_S[size]! : LOAD_U[size]!, slot);
      set(RL(d));
      op(BR, 1);
    } else {
      inWindow(s, off, size, L.TABLE + 8);
      // A stack frame: every byte written (else the slow path records the uninitialised read).
      get(E);
      mem(I32_LOAD, L.TABLE + 16);
      op(IF, T_VOID);
      get(A);
      mem(size === 8 ? I64_LOAD : size === 4 ? I32_LOAD : size === 2 ? I32_LOAD16_U : I32_LOAD8_U, STACK_SIZE);
      if (size === 8) {
        i64(ONES[8]);
        op(I64_NE);
      } else {
        i32(Number(ONES[size]));
        op(I32_NE);
      }
      op(BR_IF, 1);
      op(END);
      get(A);
      mem(signed ? LOAD_S[size]! : LOAD_U[size]!, 0);
      set(RL(d));
      op(BR, 1);
    }
    op(END); // $slow
    beforeFault();
    if (slot !== undefined) {
      get(RL(10));
      i64(32);
      op(I64_SHR_U, I32_WRAP);
      get(RL(10));
      op(I32_WRAP);
      i32(off);
    } else slowArgs(s, off);
    if (signed) {
      i32(size);
      i32(pc);
      call(F.ldsx);
      op(I64_EXT_S);
      set(RL(d));
    } else {
      i32(pc);
      call(size === 1 ? F.ld1 : size === 2 ? F.ld2 : size === 4 ? F.ld4 : F.ld8);
      if (size <= 2) {
        op(I64_EXT_U);
        set(RL(d));
      } else withTh(d);
    }
    op(END); // $done
    extra -= 2;
  }

  /** Push the value to store (i64) for a register or an immediate. */
  const pushValue = (v: { reg?: number; imm?: number }) => (v.reg !== undefined ? get(RL(v.reg)) : i64(v.imm!));
  /** Push the value's low 32 bits (i32). */
  const pushLow = (v: { reg?: number; imm?: number }) => {
    if (v.reg !== undefined) {
      get(RL(v.reg));
      op(I32_WRAP);
    } else i32(v.imm!);
  };

  function store(d: number, off: number, size: number, v: { reg?: number; imm?: number }, pc: number): void {
    const slot = stackSlot(d, off, size);
    if (slot !== undefined) {
      get(FB);
      pushValue(v);
      mem(STORE64[size]!, slot);
      get(FB);
      i64(ONES[size]!);
      mem(STORE64[size]!, slot + STACK_SIZE);
      // dirty = min(dirty, slot)
      get(FB);
      mem(I32_LOAD, L.DIRTY);
      i32(slot);
      op(I32_GT_S, IF, T_VOID);
      get(FB);
      i32(slot);
      mem(I32_STORE, L.DIRTY);
      op(END);
      return;
    }
    op(BLOCK, T_VOID); // $done
    op(BLOCK, T_VOID); // $slow
    extra += 2;
    inWindow(d, off, size, L.TABLE + 12);
    get(A);
    pushValue(v);
    mem(STORE64[size]!, 0);
    // The region was written (word 5 of its entry: Memory.packetWrites reads the packet's).
    get(E);
    i32(1);
    mem(I32_STORE, L.TABLE + 20);
    get(E);
    mem(I32_LOAD, L.TABLE + 16);
    op(IF, T_VOID);
    get(A);
    i64(ONES[size]!);
    mem(STORE64[size]!, STACK_SIZE);
    // The frame's base is A - O; its dirty word after the two halves.
    get(E);
    mem(I32_LOAD, L.TABLE);
    set(T1);
    get(T1);
    mem(I32_LOAD, L.DIRTY);
    get(O);
    op(I32_GT_S, IF, T_VOID);
    get(T1);
    get(O);
    mem(I32_STORE, L.DIRTY);
    op(END);
    op(END);
    op(BR, 1);
    op(END); // $slow
    beforeFault();
    slowArgs(d, off);
    if (size === 8) {
      pushLow(v);
      if (v.reg !== undefined) {
        get(RL(v.reg));
        i64(32);
        op(I64_SHR_U, I32_WRAP);
      } else i32(v.imm! < 0 ? -1 : 0);
      i32(pc);
      call(F.st8);
    } else {
      pushLow(v);
      i32(pc);
      call(size === 1 ? F.st1 : size === 2 ? F.st2 : F.st4);
    }
    op(END); // $done
    extra -= 2;
  }

  /** dst = dst OP operand, 64-bit. */
  function alu64(opName: string, d: number, b: { reg?: number; imm?: number }, off: number): void {
    const D = RL(d);
    const push = () => pushValue(b);
    switch (opName) {
      case 'mov':
        push();
        set(D);
        return;
      case 'neg':
        i64(0);
        get(D);
        op(0x7d);
        set(D);
        return;
      case 'movsx':
        get(RL(b.reg!));
        op(off === 8 ? 0xc2 : off === 16 ? 0xc3 : 0xc4);
        set(D);
        return;
      case 'div': case 'mod': case 'sdiv': case 'smod': {
        push();
        set(X1);
        get(X1);
        op(I64_EQZ, IF, T_I64);
        if (opName === 'div' || opName === 'sdiv') i64(0);
        else get(D);
        op(ELSE);
        if (opName === 'sdiv') {
          // INT_MIN / -1 is INT_MIN (the kernel's result; WebAssembly would trap): 0 - dst for a divisor of -1.
          get(X1);
          i64(-1);
          op(0x51, IF, T_I64); // i64.eq
          i64(0);
          get(D);
          op(0x7d, ELSE);
          get(D);
          get(X1);
          op(0x7f, END);
        } else {
          get(D);
          get(X1);
          op(opName === 'div' ? 0x80 : opName === 'mod' ? 0x82 : 0x81);
        }
        op(END);
        set(D);
        return;
      }
      default:
        get(D);
        push();
        op(ALU64[opName]!);
        set(D);
    }
  }

  /** dst = zext32(low32(dst) OP low32(operand)). */
  function alu32(opName: string, d: number, b: { reg?: number; imm?: number }, off: number): void {
    const D = RL(d);
    const push = () => pushLow(b);
    switch (opName) {
      case 'mov':
        push();
        break;
      case 'neg':
        i32(0);
        get(D);
        op(I32_WRAP, I32_SUB);
        break;
      case 'movsx':
        push();
        op(off === 8 ? 0xc0 : 0xc1);
        break;
      case 'div': case 'mod': case 'sdiv': case 'smod':
        push();
        set(T1);
        get(D);
        op(I32_WRAP);
        set(T2);
        get(T1);
        op(I32_EQZ, IF, T_I32);
        if (opName === 'div' || opName === 'sdiv') i32(0);
        else get(T2);
        op(ELSE);
        if (opName === 'sdiv') {
          get(T1);
          i32(-1);
          op(0x46, IF, T_I32);
          i32(0);
          get(T2);
          op(I32_SUB, ELSE);
          get(T2);
          get(T1);
          op(0x6d, END);
        } else {
          get(T2);
          get(T1);
          op(opName === 'div' ? 0x6e : opName === 'mod' ? 0x70 : 0x6f);
        }
        op(END);
        break;
      default:
        get(D);
        op(I32_WRAP);
        push();
        op(ALU32[opName]!);
    }
    op(I64_EXT_U);
    set(D);
  }

  /** bswap of the low `bits` of register d (zero-extended), on i64. */
  function bswap(d: number, bits: number): void {
    const D = RL(d);
    const bytes = bits / 8;
    // result = OR over bytes i of ((d >> 8i) & 0xff) << 8(bytes-1-i)
    for (let i = 0; i < bytes; i++) {
      get(D);
      if (i) {
        i64(8 * i);
        op(I64_SHR_U);
      }
      i64(0xff);
      op(I64_AND);
      const sh = 8 * (bytes - 1 - i);
      if (sh) {
        i64(sh);
        op(I64_SHL);
      }
      if (i) op(I64_OR);
    }
    set(D);
  }

  function straight(insn: Insn, info: OpcodeInfo, pc: number): void {
    const d = insn.dst;
    const b = info.srcReg ? { reg: insn.src } : { imm: insn.imm | 0 };
    switch (info.kind) {
      case 'alu': {
        const v = aluVariant(info, insn.off)!;
        if (info.width === 64) alu64(v, d, b, insn.off);
        else alu32(v, d, b, insn.off);
        return;
      }
      case 'end': {
        const bits = insn.imm;
        if (info.end === 'le') {
          if (bits === 64) return;
          get(RL(d));
          i64(bits === 32 ? 0xffffffffn : 0xffffn);
          op(I64_AND);
          set(RL(d));
          return;
        }
        bswap(d, bits === 16 ? 16 : bits === 32 ? 32 : 64);
        return;
      }
      case 'ldx':
        return load(d, insn.src, insn.off, info.size!, false, pc);
      case 'ldxsx':
        return load(d, insn.src, insn.off, info.size!, true, pc);
      case 'st':
        return store(d, insn.off, info.size!, { imm: insn.imm | 0 }, pc);
      case 'stx':
        return store(d, insn.off, info.size!, { reg: insn.src }, pc);
      case 'atomic':
        // The interpreter's execAtomic on the spilled registers (engine.ts), then every register back.
        beforeFault();
        spill();
        i32(pc);
        call(F.atomic);
        reload();
        return;
      case 'lddw': {
        const value = (v: bigint) => {
          i64(v);
          set(RL(d));
        };
        switch (insn.src) {
          case PSEUDO_IMM64:
            return value((BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0));
          case PSEUDO_MAP_FD:
          case PSEUDO_MAP_IDX:
            return value(addrOf(REGION_MAP_HANDLE, insn.imm));
          case PSEUDO_FUNC:
            return value(addrOf(REGION_FUNC, pc + 1 + insn.imm));
          default:
            beforeFault();
            i32(insn.imm);
            i32(insn.nextImm ?? 0);
            i32(pc);
            call(F.mapValue);
            withTh(d);
            return;
        }
      }
    }
  }

  // ---- a chunk's function
  // Labels, innermost first: D (the dispatcher), X_1..X_n (block k's code follows the end of X_k, X_0 = D), E
  // (hand over to JavaScript at the slot in local PC), the loop; n, k: the chunk's own block count and indices.
  /** The chunk's own index of the block starting at slot t, or -1 (no block starts there, or another chunk's). */
  const local = (t: number) => {
    const j = t >= 0 && t <= insns.length ? blockOf[t]! : -1;
    return j >= kb && j < ke ? j - kb : -1;
  };
  /** Leave the chunk to go on at slot t, a block start of another chunk: state to linear memory, ~t to `run`. */
  const leaveFor = (t: number) => {
    saveLeft();
    spill();
    i32(~t);
    op(RETURN);
  };
  /** Jump from block i's top level (of n in the chunk) to slot t. */
  const jumpTo = (i: number, n: number, t: number) => {
    const j = local(t);
    if (j > i) {
      op(BR);
      uleb(c, j - i - 1 + extra);
    } else if (j < 0 && t >= 0 && t <= insns.length && blockOf[t]! >= 0) {
      leaveFor(t);
    } else {
      i32(t);
      set(PC);
      op(BR);
      uleb(c, (j >= 0 ? n - i + 1 : n - i) + extra); // the loop (dispatch again), or E (not a block: hand over)
    }
  };
  const ret = (pcv: number, code: number) => {
    i32(pcv * 4 + code);
    op(RETURN);
  };

  function chunk(): number[] {
    c = [];
    extra = 0;
    const n = ke - kb;
    // Entry: registers and budget from linear memory.
    reload();
    i32(0);
    mem(I32_LOAD, L.LEFT);
    set(LEFT);
    if (r10Fixed) computeFb();
    op(LOOP, T_VOID);
    op(BLOCK, T_VOID); // E
    for (let k = n; k >= 1; k--) op(BLOCK, T_VOID); // X_n .. X_1
    op(BLOCK, T_VOID); // D
    get(PC);
    if (lo !== 0) {
      i32(lo);
      op(I32_SUB);
    }
    op(BR_TABLE);
    const span = kb === 0 && ke === starts.length ? insns.length + 1 : hi - lo;
    uleb(c, span);
    for (let s = lo; s < lo + span; s++) uleb(c, local(s) >= 0 ? local(s) : n + 1);
    uleb(c, n + 1);
    op(END); // D
    for (let k = 0; k < n; k++) {
      const start = starts[kb + k]!;
      const end = kb + k + 1 < starts.length ? starts[kb + k + 1]! : insns.length;
      // The slots of the block (an lddw takes two).
      const slots: number[] = [];
      for (let s = start; s < end; s += infos[s]?.kind === 'lddw' ? 2 : 1) slots.push(s);
      // Pay the block, or hand over at its start (the JavaScript form runs its counting form).
      get(LEFT);
      i32(slots.length);
      op(I32_LT_S, IF, T_VOID);
      i32(start);
      set(PC);
      op(BR);
      uleb(c, n - k + 1); // E, from inside the if
      op(END);
      get(LEFT);
      i32(slots.length);
      op(I32_SUB);
      set(LEFT);
      for (const s of slots) {
        const insn = insns[s]!;
        const info = infos[s]!;
        if (STRAIGHT_KINDS.has(info.kind)) {
          straight(insn, info, s);
          continue;
        }
        switch (info.kind) {
          case 'jump': {
            const cmp = info.jmp!;
            const w64 = info.width === 64;
            get(RL(insn.dst));
            if (!w64) op(I32_WRAP);
            if (info.srcReg) {
              get(RL(insn.src));
              if (!w64) op(I32_WRAP);
            } else if (w64) i64(insn.imm | 0);
            else i32(insn.imm | 0);
            if (cmp === 'jset') {
              op(w64 ? I64_AND : I32_AND);
              if (w64) {
                i64(0);
                op(I64_NE);
              }
            } else op((w64 ? CMP64 : CMP32)[cmp]!);
            const t = s + 1 + insn.off;
            const j = local(t);
            if (j > k) {
              op(BR_IF);
              uleb(c, j - k - 1);
            } else {
              op(IF, T_VOID);
              extra = 1;
              jumpTo(k, n, t);
              extra = 0;
              op(END);
            }
            break;
          }
          case 'ja':
            if (info.cls !== 'jmp32' && insn.off === 0) {
              // `ja +0`: the return-line marker (ExecOptions.onMark).
              saveLeft();
              i32(s);
              call(F.mark);
              break;
            }
            jumpTo(k, n, s + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
            break;
          case 'exit':
            saveLeft();
            spill();
            ret(s, W_EXIT);
            break;
          case 'call':
            if (insn.src === CALL_LOCAL) {
              saveLeft();
              spill();
              ret(s, W_CALL);
              break;
            }
            // A helper or kfunc on the spilled registers: 0 = a value in R[0] (r1-r5 cleared), else engine.ts applied
            // another outcome and continues.
            saveLeft();
            spill();
            i32(s);
            i32(insn.imm);
            i32(insn.src === CALL_KFUNC ? 1 : 0);
            call(F.helper);
            op(IF, T_VOID);
            ret(s, W_OUTCOME);
            op(END);
            reload(0, 0);
            if (insn.src === CALL_KFUNC) {
              // An open-coded iterator's call may have given instructions back (engine.ts wasmHelper).
              i32(0);
              mem(I32_LOAD, L.LEFT);
              set(LEFT);
            }
            for (let r = 1; r <= 5; r++) {
              i64(0);
              set(RL(r));
            }
            break;
        }
      }
      op(END); // X_{k+1}
    }
    // After the chunk's last block the `end` closed X_n. Falling off it: into the next chunk's first block, or, after
    // the image's last block, slot insns.length, then E's end, which hands over at PC (the JavaScript form faults
    // there as the interpreter does).
    if (hi < insns.length && blockOf[hi]! >= 0) leaveFor(hi);
    else {
      i32(hi);
      set(PC);
    }
    op(END); // E
    saveLeft();
    spill();
    return handOverAtPc();
  }

  // ---- the chunks: consecutive blocks up to chunkSlots slots (a longer block alone)
  const bounds: [number, number][] = [];
  for (let k = 0; k < n; ) {
    let e = k + 1;
    while (e < n && (e + 1 < n ? starts[e + 1]! : insns.length) - starts[k]! <= chunkSlots) e++;
    bounds.push([k, e]);
    k = e;
  }
  if (bounds.length === 0) bounds.push([0, 0]);
  const bodies: number[][] = [];
  for (const [a, b] of bounds) {
    kb = a;
    ke = b;
    lo = a < n ? starts[a]! : 0;
    hi = b < n ? starts[b]! : insns.length;
    bodies.push(chunk());
  }
  if (bodies.length > 1) {
    wasmChunkStats.chunked++;
    wasmChunkStats.chunks += bodies.length;
  }
  return moduleBytes(bodies, bodies.length > 1 ? dispatcher(bounds.map(([a]) => starts[a]!)) : undefined);

  /**
   * `run(pc)` of a chunked image: calls the chunk holding the block that starts at pc; a chunk's ~slot goes on there;
   * anything else is returned. A slot no block starts at hands over at once (the state is still in linear memory).
   * Labels, innermost first: D, C_0..C_{m-2} (chunk i's call follows the end of D for i = 0, of C_{i-1} else), H
   * (hand over at pc), the loop. Locals: 0 pc, 1 the chunk's result.
   */
  function dispatcher(firsts: number[]): number[] {
    const m = firsts.length;
    c = [];
    const chunkOf = (t: number) => {
      let i = m - 1;
      while (i > 0 && firsts[i]! > t) i--;
      return i;
    };
    op(LOOP, T_VOID);
    op(BLOCK, T_VOID); // H
    for (let i = m - 2; i >= 0; i--) op(BLOCK, T_VOID); // C_{m-2} .. C_0
    op(BLOCK, T_VOID); // D
    get(PC);
    op(BR_TABLE);
    uleb(c, insns.length + 1);
    for (let t = 0; t <= insns.length; t++) uleb(c, blockOf[t]! >= 0 ? chunkOf(t) : m);
    uleb(c, m);
    op(END); // D
    for (let i = 0; i < m; i++) {
      get(PC);
      call(WASM_IMPORTS.length + i);
      op(0x22, 1); // local.tee 1
      i32(0);
      op(I32_LT_S, IF, T_VOID);
      i32(-1);
      get(1);
      op(I32_SUB);
      set(PC);
      op(BR);
      uleb(c, m - i + 1); // the loop, from inside the if
      op(END);
      get(1);
      op(RETURN);
      if (i < m - 1) op(END); // C_i
    }
    op(END); // H
    return handOverAtPc();
  }

  /** A function's end: return a hand-over at local PC (the state already in linear memory), close its loop and it. */
  function handOverAtPc(): number[] {
    get(PC);
    i32(2);
    op(I32_SHL);
    op(RETURN);
    op(END); // loop
    op(0x00); // unreachable
    op(END); // function
    return c;
  }
}

function moduleBytes(chunks: number[][], dispatch: number[] | undefined): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, bytes: number[]) => {
    out.push(id);
    uleb(out, bytes.length);
    for (const b of bytes) out.push(b);
  };
  const fn = (params: number[], results: number[]) => [0x60, params.length, ...params, results.length, ...results];
  const I = T_I32;
  // Types: 0 (i32 x4) -> i32; 1 (i32 x5) -> i32; 2 (i32 x5) -> (); 3 (i32 x6) -> (); 4 (i32 x3) -> i32; 5 (i32) -> (); 6 (i32) -> i32
  const types = [fn([I, I, I, I], [I]), fn([I, I, I, I, I], [I]), fn([I, I, I, I, I], []), fn([I, I, I, I, I, I], []), fn([I, I, I], [I]), fn([I], []), fn([I], [I])];
  section(1, [types.length, ...types.flat()]);
  const typeOf: Record<string, number> = { ld1: 0, ld2: 0, ld4: 0, ld8: 0, ldsx: 1, st1: 2, st2: 2, st4: 2, st8: 3, helper: 4, mark: 5, atomic: 5, mapValue: 4 };
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const imports: number[] = [];
  uleb(imports, WASM_IMPORTS.length + 1);
  for (const n of WASM_IMPORTS) imports.push(...name('e'), ...name(n), 0x00, typeOf[n]!);
  imports.push(...name('e'), ...name('m'), 0x02, 0x01, L.PAGES, L.PAGES); // memory, min = max
  section(2, imports);
  // Functions: the chunks, then (chunked) the dispatcher; all (i32) -> i32. `run` is the dispatcher, or the one chunk.
  const bodies: number[][] = [
    // Locals: r0..r10 (i64 x11), 8 i32, 2 i64.
    ...chunks.map((b) => [3, 11, T_I64, 8, T_I32, 2, T_I64, ...b]),
    ...(dispatch ? [[1, 1, T_I32, ...dispatch]] : []),
  ];
  const funcs: number[] = [];
  uleb(funcs, bodies.length);
  for (let i = 0; i < bodies.length; i++) funcs.push(6);
  section(3, funcs);
  const exp = [1, ...name('run'), 0x00];
  uleb(exp, WASM_IMPORTS.length + bodies.length - 1);
  section(7, exp);
  const code: number[] = [];
  uleb(code, bodies.length);
  for (const body of bodies) {
    uleb(code, body.length);
    for (const b of body) code.push(b);
  }
  section(10, code);
  return new Uint8Array(out);
}

export const WASM_STRAIGHT = STRAIGHT_KINDS;
