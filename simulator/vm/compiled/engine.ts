// The compiled engine: each program image (an entry function with its subprograms, or a tail-call target) is turned
// once into JavaScript source and compiled by V8 (new Function); the result is cached per instruction array, i.e.
// per loaded object. It is a drop-in replacement for interpreter.ts `execute` (same arguments, same ExecResult) and
// agrees with it by construction:
//
// - each register is two int32 locals (lN low half, hN high half), so the hot path allocates no BigInt; arithmetic
//   is inlined on halves (carries by comparison, shifts across the halves, products in 16-bit limbs in A.mul) and
//   the interpreter's alu64/alu32 do the rest (div, mod, their signed forms) on joined values;
// - every load and store goes through the same Memory: its ld*/st* fast path reads a region's bytes only when the
//   access is inside an allowed window, and everything else (faults included) goes through Memory.load/store with the
//   same 64-bit address, so a wild pointer faults with the same kind, message and slot;
// - helpers and kfuncs are the same dispatch function the interpreter is given (ExecOptions.callHelper); calls,
//   exits, bpf_loop, tail calls and register checks run the interpreter's own steps (the frame stack, the live-register
//   masks) on the registers spilled into a BigUint64Array (written as int32 halves through an Int32Array over the same
//   buffer), and atomics are the interpreter's execAtomic.
//
// A program image of 300 instructions and more (every image with XDP_LENS_WASM=1) also runs as WebAssembly (wasm.ts):
// same blocks, same budget, the packet and the stack frames in one linear memory per Memory, everything else through
// this runtime (executeCompiled below hands over between the two forms).
//
// The instruction budget is counted per basic block: a block of N instructions entered with fewer than N left hands
// over to the counting form of the program (generated on first use), which stops at the exact slot where the
// interpreter would, and a fault in the middle of a block gives back the steps of the instructions after it, so
// `steps` equals the interpreter's at every exit and fault. Generated code touches nothing but its own locals, the
// Memory and the runtime objects below: the program's values are only ever numbers in locals, never property names
// or code, so an untrusted program cannot reach host memory, and the budget bounds every loop.
import type { Insn } from '../../isa/insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX,
  PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, atomicOp, type AluVariant, type OpcodeInfo,
} from '../../isa/opcodes.ts';
import { ISA_ONLY, alu32, alu64, refusedWhenReached } from '../../isa/alu.ts';
import { MAX_CALL_FRAMES, REGION_CTX, REGION_FUNC, REGION_MAP_HANDLE, REGION_PACKET, REGION_STACK0, STACK_SIZE, VmFault, WASM_FRAMES, WASM_LAYOUT, addrOf, initCtxRegister, type Memory, type UninitRead } from '../memory.ts';
import { W_CALL, W_EXIT, W_OUTCOME, generateWasm } from './wasm.ts';
import { K_CTX, K_MAP_VALUE, K_NONE, K_PACKET, K_STACK, P_UNKNOWN, packetRanges, regionKinds } from './region-kinds.ts';
import {
  ALL_REGS, ARG_REGS, CALLBACK_REFUND_LIMIT, MAY_GOTO_BUDGET, R10, callDepth, callbackReturn, execAtomic, iterRefund, mayGotoRefund, uninitRegister,
  type ExecOptions, type ExecResult, type Frame, type HelperCall, type HelperOutcome, type ProgramImage, type Probe,
} from '../interpreter.ts';

/**
 * Helper ids whose calls try ExecOptions.fast first (helpers.ts fastHelpers implements them; an id listed here without
 * a fast form just takes the generic call).
 */
const FAST_IDS: ReadonlySet<number> = new Set([1, 2, 5, 7, 8, 23, 28, 44, 51, 54, 65, 125, 160, 208]);
/** The fast helpers that may move the packet's window (adjust_head, adjust_meta, adjust_tail): after one of them the
 * generated code reads the packet's locals again; after the others only when the generic dispatch ran. */
const MOVES_PACKET: ReadonlySet<number> = new Set([44, 54, 65]);

/**
 * What a Machine adds to ExecOptions.fast for the generated code's inline array lookups (map_lookup_elem and lddw of
 * a map value on an ARRAY or PERCPU_ARRAY with 4-byte keys, maps.ts ArrayMap.lookupDirect): the helper host (its
 * `maps` by handle, as helpers.ts handleMap reads them, and its `env.cpu`) and the machine's own maps (lddw, as its
 * fast.mapValue reads them). Without it (runRaw, other callers) the generated code calls the fast helpers as before.
 */
export interface InlineMaps {
  host: { readonly maps: readonly BpfMap[]; readonly env: { readonly cpu: number } };
  own: readonly BpfMap[];
}
import type { RegisterChecks } from '../../isa/validate.ts';
import type { BpfMap } from '../maps.ts';

/** One run's state shared by the generated code and the runtime functions. */
interface State {
  mem: Memory;
  /** Registers when spilled (calls, exits, program switches, faults); R32 is the same memory as int32 halves. */
  R: BigUint64Array;
  R32: Int32Array;
  /** The same registers as 8-byte words (zeroed per run: +0 is all zero bits). */
  RF: Float64Array;
  frames: Frame[];
  /** The running program's first frame (the interpreter's Frame.base): 1, or where a tail call started it. */
  base: number;
  /** Instructions left in the budget. */
  left: number;
  budget: number;
  /** Instructions given back to the budget at the end of callback invocations (the interpreter's CALLBACK_REFUND_LIMIT). */
  refunded: number;
  /** Open-coded iterators' last calls (the interpreter's iterRefund), made at the first bpf_iter_num_* call. */
  iterMarks: Map<bigint, number> | undefined;
  tailCalls: number;
  mayGoto: number;
  /** Budget consumed at the last may_goto (the interpreter's mayGotoRefund); -1 before the first. */
  mayGotoMark: number;
  live: number;
  checks: RegisterChecks | undefined;
  program: ProgramImage;
  /** Where to continue after a runtime function changed control flow. */
  pc: number;
  /** Set when the run ended (exit of the outermost frame or a stopping helper). */
  done: boolean;
  /** Set when a budget-checked block (or the fallback) ran: its step count is exact, no correction at a fault. */
  slow: boolean;
  opts: ExecOptions;
  /** In use by a run (a run started from a helper on the same Memory takes another state). */
  busy: boolean;
  /** The HelperCall handed to callHelper, refilled per call. */
  call: HelperCall;
  /** The result of a run that exited, refilled per run. */
  exit: ExitResult;
  /** Set when a block was entered with fewer instructions left than it holds (its counting form must run). */
  counting: boolean;
  /** The register checks of the last entry program, and which options' function gave them. */
  checksFor?: ProgramImage;
  checksFrom?: ExecOptions['registerChecks'];
  entryChecks?: RegisterChecks;
  /** WebAssembly tier: the linear memory's words (undefined: this state runs JavaScript only), what a helper's
   * outcome said (H.outcome's code), the instance of each module on this Memory, their imports. */
  W32?: Int32Array;
  code: number;
  wasmRuns?: Map<WebAssembly.Module, (pc: number) => number>;
  /** The WebAssembly form of the last program run (skips the lookups): its image and run function (null: none). */
  wasmFor?: ProgramImage;
  wasmRun?: ((pc: number) => number) | null;
  wasmImports?: Record<string, unknown>;
  /** The entry program's compiled form at the last run (skips the cache lookups). */
  compiled?: CompiledProgram;
  compiledFor?: ProgramImage;
  compiledChecks?: RegisterChecks;
}

type CompiledFn = (S: State, pc: number) => void;

export interface CompiledProgram {
  fn: CompiledFn;
  /** The counting form (every instruction counted), for the block in which the budget runs out; made on first use. */
  counting(): CompiledFn;
  /** Per slot: instructions after it in its basic block (steps given back when it faults). */
  after: Uint16Array;
  /** Source length and generation time, for the benchmark and tests. */
  sourceLength: number;
  compileMs: number;
}

const DONE = 1;
const SWITCH = 2;

/** Thrown by a block entered with fewer instructions left than it holds (not an error: its counting form runs next). */
const COUNT = { counting: true };

/** The runtime the generated code calls. Everything here mirrors a step of interpreter.ts `execute`. */
const H = {
  COUNT,
  VmFault,
  execAtomic,
  uninit: uninitRegister,
  mayGotoRefund,
  budget(S: State, pc: number): VmFault {
    S.slow = true;
    return new VmFault('budget-exhausted', `the instruction budget of ${S.budget} ran out (a loop that does not end?)`, pc);
  },
  /** A slot no instruction occupies (falling off the end): the interpreter's unknown-opcode fault after its step. */
  badPc(S: State, pc: number): VmFault {
    S.slow = true;
    return new VmFault('invalid-insn', `unknown opcode 0x${S.program.insns[pc]?.opcode.toString(16)}`, pc);
  },
  /** lddw of a map value: the address's low half, T.h the high one. */
  mapValue(S: State, index: number, offset: number, pc: number): number {
    const F = S.opts.fast;
    if (F !== undefined && F.mapValue !== undefined) {
      F.miss = false;
      const v = F.mapValue(index, offset);
      if (!F.miss) {
        T.h = F.h;
        return v;
      }
    }
    if (!S.opts.mapValueAddress) throw new VmFault('unsupported', 'lddw of a map value: no maps in this run', pc);
    return split(S.opts.mapValueAddress(index, offset, pc));
  },
  enterFunction(S: State, fnPc: number, pc: number): void {
    const depth = S.frames.length + 1;
    if (depth - S.base >= MAX_CALL_FRAMES) throw callDepth(depth - S.base + 1, pc);
    S.mem.clearFrame(depth);
    S.R[10] = S.mem.framePointer(depth);
    S.pc = fnPc;
  },
  /** bpf-to-bpf call on spilled registers; sets the callee's r10. The frame keeps copies of r6-r9. */
  callLocal(S: State, pc: number, target: number, live: number): void {
    const r = S.R;
    S.frames.push({ program: S.program, returnPc: pc + 1, saved: [r[6], r[7], r[8], r[9]], init: live, base: S.base });
    S.live = S.checks ? (live & ARG_REGS) | R10 : live;
    H.enterFunction(S, target, pc);
  },
  switchProgram(S: State, p: ProgramImage): void {
    S.program = p;
    S.mem.program = p;
    S.checks = S.opts.registerChecks?.(p);
    if (!S.checks) S.live = ALL_REGS;
  },
  helper(S: State, pc: number, id: number, kfunc: boolean): HelperOutcome {
    // One HelperCall per run state, refilled per call (helpers do not keep it).
    const c = S.call;
    c.id = id;
    c.regs = S.R;
    c.pc = pc;
    c.program = S.program;
    c.tailCalls = S.tailCalls;
    c.kfunc = kfunc;
    if (!kfunc) return S.opts.callHelper(c);
    // A kfunc: S.left is current here (the generated code and wasmHelper sync it around kfunc calls).
    const it = S.R[1]!;
    const o = S.opts.callHelper(c);
    const name = typeof o === 'bigint' ? S.program.kfuncs?.[id]?.name : undefined;
    if (name !== undefined && name.startsWith('bpf_iter_num_')) {
      const back = iterRefund(S.iterMarks ??= new Map(), name, it, S.budget - S.left, S.refunded);
      S.refunded += back;
      S.left += back;
    }
    return o;
  },
  /** A helper outcome other than a value, on spilled registers: DONE, SWITCH, or 0 to continue at S.pc. */
  outcome(S: State, pc: number, outcome: Exclude<HelperOutcome, bigint>): number {
    const r = S.R;
    if ('tailCall' in outcome) {
      S.tailCalls++;
      S.base = S.frames.length + 1;
      H.switchProgram(S, outcome.tailCall);
      for (let i = 0; i < 10; i++) r[i] = 0n;
      r[1] = addrOf(REGION_CTX, 0);
      if (S.checks) S.live = (1 << 1) | R10;
      S.mem.forgetFrame(S.frames.length + 1, false);
      S.pc = 0;
      return SWITCH;
    }
    if ('loop' in outcome) {
      const { fnPc, count, ctxArg, args, then } = outcome.loop;
      S.frames.push({ program: S.program, returnPc: pc + 1, saved: [r[6], r[7], r[8], r[9]], init: S.live, base: S.base, loop: { fnPc, count, ctxArg, index: 0, args, then, mark: S.budget - S.left } });
      r[1] = 0n;
      r[2] = ctxArg;
      r[3] = r[4] = r[5] = 0n;
      if (S.checks) S.live = 0b110 | R10;
      if (args) {
        [r[1], r[2], r[3], r[4]] = args(0);
        if (S.checks) S.live = 0b11110 | R10;
      }
      H.enterFunction(S, fnPc, pc);
      return 0;
    }
    r[0] = outcome.stop;
    S.pc = pc;
    S.done = true;
    return DONE;
  },
  /** `exit` on spilled registers: DONE, SWITCH (return into another program), or 0 to continue at S.pc. */
  exit(S: State, pc: number): number {
    const r = S.R;
    const mem = S.mem;
    const frame = S.frames.pop();
    if (!frame) {
      S.pc = pc;
      S.done = true;
      return DONE;
    }
    if (!frame.loop) mem.checkReturn(r[0], pc);
    [r[6], r[7], r[8], r[9]] = frame.saved;
    S.base = frame.base;
    S.live = (frame.init & ~(ARG_REGS | 1)) | (S.live & 1);
    const loop = frame.loop;
    if (loop) {
      if (r[0] > 1n) throw callbackReturn(r[0], pc);
      const spent = S.budget - S.left - loop.mark!;
      if (S.refunded + spent <= CALLBACK_REFUND_LIMIT) {
        S.refunded += spent;
        S.left += spent;
      }
      loop.index++;
      const next = loop.then?.(r[0], loop.index - 1);
      if (typeof next === 'object') {
        S.frames.push(frame);
        [r[1], r[2], r[3], r[4]] = next;
        r[5] = 0n;
        if (S.checks) S.live = 0b11110 | R10;
        mem.clearFrame(S.frames.length + 1);
        r[10] = mem.framePointer(S.frames.length + 1);
        S.pc = loop.fnPc;
        return 0;
      }
      if (next === undefined && r[0] === 0n && loop.index < loop.count) {
        S.frames.push(frame);
        r[1] = BigInt(loop.index);
        r[2] = loop.ctxArg;
        r[3] = r[4] = r[5] = 0n;
        if (S.checks) S.live = 0b110 | R10;
        if (loop.args) {
          [r[1], r[2], r[3], r[4]] = loop.args(loop.index);
          if (S.checks) S.live = 0b11110 | R10;
        }
        mem.clearFrame(S.frames.length + 1);
        r[10] = mem.framePointer(S.frames.length + 1);
        S.pc = loop.fnPc;
        return 0;
      }
      r[0] = next ?? BigInt(loop.index);
      r[1] = r[2] = r[3] = r[4] = r[5] = 0n;
      S.live |= 1;
    }
    mem.forgetFrame(S.frames.length + 2, true);
    let code = 0;
    if (frame.program !== S.program) {
      H.switchProgram(S, frame.program);
      code = SWITCH;
    }
    r[10] = mem.framePointer(S.frames.length + 1);
    S.pc = frame.returnPc;
    return code;
  },
};

/** 64-bit values split into two int32 halves for the generated code; `T.h` carries a runtime function's high half. */
const T = { h: 0 };
const B64 = new BigUint64Array(1);
const B32 = new Int32Array(B64.buffer);
const join = (l: number, h: number): bigint => {
  B32[0] = l;
  B32[1] = h;
  return B64[0];
};
/** The low half of v mod 2^64; the high half goes to T.h. */
const split = (v: bigint): number => {
  B64[0] = v;
  T.h = B32[1];
  return B32[0];
};
const lo = (v: bigint): number => {
  B64[0] = v;
  return B32[0];
};
const hi = (v: bigint): number => {
  B64[0] = v;
  return B32[1];
};

/** 64-bit arithmetic on halves that is too long to inline: results are the low half, T.h the high one. */
const A = {
  T,
  /** Low 64 bits of a product, in 16-bit limbs (every partial product below 2^32, every sum below 2^53). */
  mul(al: number, ah: number, bl: number, bh: number): number {
    const a48 = ah >>> 16, a32 = ah & 0xffff, a16 = al >>> 16, a00 = al & 0xffff;
    const b48 = bh >>> 16, b32 = bh & 0xffff, b16 = bl >>> 16, b00 = bl & 0xffff;
    let c00 = a00 * b00;
    let c16 = c00 >>> 16;
    c00 &= 0xffff;
    c16 += a16 * b00;
    let c32 = c16 >>> 16;
    c16 &= 0xffff;
    c16 += a00 * b16;
    c32 += c16 >>> 16;
    c16 &= 0xffff;
    c32 += a32 * b00;
    let c48 = c32 >>> 16;
    c32 &= 0xffff;
    c32 += a16 * b16;
    c48 += c32 >>> 16;
    c32 &= 0xffff;
    c32 += a00 * b32;
    c48 += c32 >>> 16;
    c32 &= 0xffff;
    c48 += a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48;
    c48 &= 0xffff;
    T.h = (c48 << 16) | c32;
    return (c16 << 16) | c00;
  },
  shl(al: number, ah: number, n: number): number {
    n &= 63;
    if (n === 0) {
      T.h = ah;
      return al;
    }
    if (n < 32) {
      T.h = (ah << n) | (al >>> (32 - n));
      return al << n;
    }
    T.h = al << (n - 32);
    return 0;
  },
  shr(al: number, ah: number, n: number): number {
    n &= 63;
    if (n === 0) {
      T.h = ah;
      return al;
    }
    if (n < 32) {
      T.h = (ah >>> n) | 0;
      return (al >>> n) | (ah << (32 - n));
    }
    T.h = 0;
    return (ah >>> (n - 32)) | 0;
  },
  sar(al: number, ah: number, n: number): number {
    n &= 63;
    if (n === 0) {
      T.h = ah;
      return al;
    }
    if (n < 32) {
      T.h = ah >> n;
      return (al >>> n) | (ah << (32 - n));
    }
    T.h = ah >> 31;
    return ah >> (n - 32);
  },
  /** Everything else of ALU64 (div, mod and their signed forms) through the interpreter's alu64. */
  a64(op: AluVariant, al: number, ah: number, bl: number, bh: number, off: number): number {
    if (ah === 0 && bh === 0 && (op === 'div' || op === 'mod')) {
      T.h = 0;
      const a = al >>> 0;
      const b = bl >>> 0;
      if (b === 0) return op === 'div' ? 0 : al;
      return (op === 'div' ? Math.floor(a / b) : a % b) | 0;
    }
    return split(alu64(op, join(al, ah), join(bl, bh), off));
  },
  /** ALU32 signed div/mod through the interpreter's alu32 (the result is zero-extended). */
  a32(op: AluVariant, al: number, bl: number, off: number): number {
    return lo(alu32(op, join(al, 0), join(bl, 0), off));
  },
  bswap32(x: number): number {
    return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
  },
};

/** Slots that start a basic block. */
function leaders(insns: Insn[], infos: (OpcodeInfo | undefined)[]): boolean[] {
  const lead = new Array<boolean>(insns.length + 1).fill(false);
  lead[0] = true;
  const mark = (t: number) => {
    if (t >= 0 && t <= insns.length) lead[t] = true;
  };
  for (let pc = 0; pc < insns.length; pc++) {
    const info = infos[pc];
    const insn = insns[pc];
    if (!info) {
      mark(pc + 1);
      continue;
    }
    switch (info.kind) {
      case 'jump':
      case 'jcond':
        mark(pc + 1 + insn.off);
        mark(pc + 1);
        break;
      case 'ja':
        mark(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
        mark(pc + 1);
        break;
      case 'call':
        if (insn.src === CALL_LOCAL) mark(pc + 1 + insn.imm);
        mark(pc + 1);
        break;
      case 'exit':
      case 'ld-abs':
      case 'ld-ind':
        mark(pc + 1);
        break;
      case 'lddw':
        if (insn.src === PSEUDO_FUNC) mark(pc + 1 + insn.imm);
        if (![PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_VALUE, PSEUDO_MAP_IDX_VALUE, PSEUDO_FUNC].includes(insn.src)) mark(pc + 2);
        // Its second slot is not an instruction of its own (its opcode 0 would otherwise make the next slot a leader,
        // cutting the block after every lddw: a map lookup's call in a block of its own).
        pc++;
        break;
    }
  }
  return lead;
}

const reg = (r: number) => ({ l: `l${r}`, h: `h${r}`, r });

const SPILL = Array.from({ length: 11 }, (_, i) => `R32[${2 * i}]=l${i};R32[${2 * i + 1}]=h${i};`).join('');
/**
 * The packet region's window, store limit (-2^31: not writable inline), view and bytes in locals (pLo > pHi: no
 * packet), read at entry and again after anything that may move the window (helpers, kfuncs, the interpreter's
 * steps): a packet access tests these instead of the region table's entry.
 */
const PACKET = `pr = RG[${REGION_PACKET}]; if (pr !== undefined) { pLo = pr.lo; pHi = pr.hi; pW = pr.writeFault === undefined ? pr.hi : -2147483648; pV = pr.view; pB = pr.bytes; } else { pLo = 1; pHi = 0; pW = -2147483648; }`;
const LOAD_REGS = Array.from({ length: 11 }, (_, i) => `l${i}=R32[${2 * i}];h${i}=R32[${2 * i + 1}];`).join('') + PACKET;
/**
 * The stack frame r10 points at, its bytes, view, written-byte map and that map's view in locals (programs whose r10
 * is always the frame pointer, GEN.r10Fixed): an access at a constant offset from r10 uses these instead of the region
 * table's entry; read at entry and again wherever r10 is read back (a bpf-to-bpf call or return, the interpreter's steps).
 */
const FRAME = 'fr = RG[h10]; if (fr !== undefined) { fB = fr.bytes; fV = fr.view; fN = fr.init; fI = fr.initView; }';
/** The registers (and the packet's and the frame's locals) read back after the interpreter or a runtime function ran. */
const reload = (): string => LOAD_REGS + (GEN.r10Fixed ? ` ${FRAME}` : '');
const ARGS = Array.from({ length: 6 }, (_, i) => `R32[${2 * i}]=l${i};R32[${2 * i + 1}]=h${i};`).join('');

const SIGNED: Record<string, string> = { jsgt: '>', jsge: '>=', jslt: '<', jsle: '<=' };
const UNSIGNED: Record<string, string> = { jgt: '>', jge: '>=', jlt: '<', jle: '<=' };
const STRICT: Record<string, string> = { '>': '>', '>=': '>', '<': '<', '<=': '<' };

/** The second operand of an ALU or jump instruction as halves (a register's, or the immediate sign-extended). */
function operand(insn: Insn, info: OpcodeInfo): { l: string; h: string; ul: string; uh: string; k?: number } {
  if (info.srcReg) {
    const s = reg(insn.src);
    return { ...s, ul: `(${s.l} >>> 0)`, uh: `(${s.h} >>> 0)` };
  }
  const k = insn.imm | 0;
  const h = k < 0 ? -1 : 0;
  return { l: `${k}`, h: `${h}`, ul: `${k >>> 0}`, uh: `${h >>> 0}`, k };
}

function alu(insn: Insn, info: OpcodeInfo, pc: number): string {
  const op = aluVariant(info, insn.off)!;
  // Refused by the verifier where a path reaches it (a constant divisor 0, a constant shift out of range): the
  // interpreter's fault.
  const refused = GEN.isaOnly ? undefined : refusedWhenReached(op, !!info.srcReg, info.width, insn.imm);
  if (refused !== undefined) return `throw new H.VmFault('invalid-insn', ${JSON.stringify(refused)}, ${pc});`;
  const { l: dl, h: dh } = reg(insn.dst);
  const b = operand(insn, info);
  if (info.width === 64) {
    switch (op) {
      case 'mov': return `${dl} = ${b.l}; ${dh} = ${b.h};`;
      case 'add': return `{ const t = (${dl} >>> 0) + ${b.ul}; ${dh} = (${dh} + ${b.h} + (t > 4294967295 ? 1 : 0)) | 0; ${dl} = t | 0; }`;
      case 'sub': return `{ const t = (${dl} >>> 0) - ${b.ul}; ${dh} = (${dh} - ${b.h} - (t < 0 ? 1 : 0)) | 0; ${dl} = t | 0; }`;
      case 'and': return `${dl} &= ${b.l}; ${dh} &= ${b.h};`;
      case 'or': return `${dl} |= ${b.l}; ${dh} |= ${b.h};`;
      case 'xor': return `${dl} ^= ${b.l}; ${dh} ^= ${b.h};`;
      case 'neg': return `{ const t = -(${dl} >>> 0); ${dh} = (-${dh} - (t < 0 ? 1 : 0)) | 0; ${dl} = t | 0; }`;
      case 'mul': return `${dl} = A.mul(${dl}, ${dh}, ${b.l}, ${b.h}); ${dh} = T.h;`;
      case 'lsh':
      case 'rsh':
      case 'arsh': {
        if (b.k === undefined) return `${dl} = A.${op === 'lsh' ? 'shl' : op === 'rsh' ? 'shr' : 'sar'}(${dl}, ${dh}, ${b.l}); ${dh} = T.h;`;
        const n = b.k & 63;
        if (n === 0) return '';
        if (op === 'lsh') {
          if (n < 32) return `${dh} = (${dh} << ${n}) | (${dl} >>> ${32 - n}); ${dl} <<= ${n};`;
          return `${dh} = ${dl} << ${n - 32}; ${dl} = 0;`;
        }
        if (op === 'rsh') {
          if (n < 32) return `${dl} = (${dl} >>> ${n}) | (${dh} << ${32 - n}); ${dh} = (${dh} >>> ${n}) | 0;`;
          return `${dl} = (${dh} >>> ${n - 32}) | 0; ${dh} = 0;`;
        }
        if (n < 32) return `${dl} = (${dl} >>> ${n}) | (${dh} << ${32 - n}); ${dh} >>= ${n};`;
        return `${dl} = ${dh} >> ${n - 32}; ${dh} >>= 31;`;
      }
      case 'movsx':
        if (insn.off === 8) return `${dl} = (${b.l} << 24) >> 24; ${dh} = ${dl} >> 31;`;
        if (insn.off === 16) return `${dl} = (${b.l} << 16) >> 16; ${dh} = ${dl} >> 31;`;
        return `${dl} = ${b.l}; ${dh} = ${dl} >> 31;`;
      default:
        return `${dl} = A.a64('${op}', ${dl}, ${dh}, ${b.l}, ${b.h}, ${insn.off}); ${dh} = T.h;`;
    }
  }
  const z = `${dh} = 0;`;
  switch (op) {
    case 'mov': return `${dl} = ${b.l}; ${z}`;
    case 'add': return `${dl} = (${dl} + ${b.l}) | 0; ${z}`;
    case 'sub': return `${dl} = (${dl} - ${b.l}) | 0; ${z}`;
    case 'mul': return `${dl} = Math.imul(${dl}, ${b.l}); ${z}`;
    case 'and': return `${dl} &= ${b.l}; ${z}`;
    case 'or': return `${dl} |= ${b.l}; ${z}`;
    case 'xor': return `${dl} ^= ${b.l}; ${z}`;
    case 'neg': return `${dl} = (-${dl}) | 0; ${z}`;
    case 'lsh': return `${dl} <<= ${b.l}; ${z}`;
    case 'rsh': return `${dl} = (${dl} >>> ${b.l}) | 0; ${z}`;
    case 'arsh': return `${dl} >>= ${b.l}; ${z}`;
    case 'div': return `${dl} = ${b.l} === 0 ? 0 : (((${dl} >>> 0) / ${b.ul}) >>> 0) | 0; ${z}`;
    case 'mod': return `${dl} = ${b.l} === 0 ? ${dl} : ((${dl} >>> 0) % ${b.ul}) | 0; ${z}`;
    case 'movsx': return `${dl} = (${b.l} << ${insn.off === 8 ? 24 : 16}) >> ${insn.off === 8 ? 24 : 16}; ${z}`;
    default: return `${dl} = A.a32('${op}', ${dl}, ${b.l}, ${insn.off}); ${z}`;
  }
}

// Loads and stores inline Memory.ld*/st*'s fast path (the same conditions: a region, not ctx, inside its window,
// stores to a writable one, stack loads of written bytes until the run's first uninitialised read) and call them for
// everything else, which then takes their own fast path or Memory.load/store. RG is Memory's region table.
const FRAME_INIT_READ: Record<number, (o: string) => string> = {
  1: (o) => `fN[${o}] === 1`,
  2: (o) => `fI.getUint16(${o}) === 0x0101`,
  4: (o) => `fI.getUint32(${o}) === 0x01010101`,
  8: (o) => `(fI.getUint32(${o}) === 0x01010101 && fI.getUint32(${o} + 4) === 0x01010101)`,
};
const INIT_READ: Record<number, (o: string) => string> = {
  1: (o) => `r.init[${o}] === 1`,
  2: (o) => `r.initView.getUint16(${o}) === 0x0101`,
  4: (o) => `r.initView.getUint32(${o}) === 0x01010101`,
  8: (o) => `(r.initView.getUint32(${o}) === 0x01010101 && r.initView.getUint32(${o} + 4) === 0x01010101)`,
};

// The fast path inlined (the default) or calls (XDP_LENS_INLINE_MEMORY=0, for measuring). With the per-packet costs
// around the engine cut, inlining measured faster (engine alone, CPU ns/packet: p07 625 -> 440, p03 214 -> 200, p01
// about equal); an earlier measurement, with those costs still there, had it 10-25% slower. Both forms pass the
// engine, conformance, parity and fuzz suites.
const INLINE_MEMORY = !(typeof process !== 'undefined' && process.env.XDP_LENS_INLINE_MEMORY === '0');

/**
 * map_lookup_elem on an array with 4-byte keys, inline (ExecOptions.fast with InlineMaps): helpers.ts's fast form of
 * the helper step by step (handleMap: r1 a handle of host.maps; Memory.argOk: the 4 key bytes readable with nothing to
 * record; ArrayMap.lookupAt -> at: the value from `direct`; Memory.mapValueId with readonlyMap's flag, through
 * Memory.mapValueIdAt: a table per lookup site by the value's index), taken only
 * when the value's cell exists; everything else (no such map, another map type, a key to check or record, a cell
 * not made yet) falls to the fast helper, so the result is the helper's. The packet does not move: its locals stay.
 * Ends in `if (...) {...}` for an `else`.
 */
const INLINE_LOOKUP = (site: number): string =>
  `let mv;` +
  ` if (FH !== undefined && h1 === ${REGION_MAP_HANDLE}) {` +
  ` const m = FH.maps[(l1 ^ -2147483648) | 0], d = m === undefined ? undefined : m.lookupDirect;` +
  ` if (d !== undefined) { const r = RG[h2], o = (l2 ^ -2147483648) | 0;` +
  ` if (r !== undefined && r.fast && h2 < mem.nextDynamic && o >= r.lo && o <= r.hi - 4 && (r.init === undefined || mem.uninitRead !== undefined || r.initView.getUint32(o) === 0x01010101)) {` +
  ` const n = m.nSlots, s = m.perCpu ? FH.env.cpu : 0;` +
  ` if (s < n) { const at = r.view.getUint32(o, true) * n + s; mv = d[at];` +
  ` if (mv !== undefined) { h0 = mem.mapValueIdAt(${site}, at, mv, m); l0 = -2147483648; } } } } }` +
  ` if (mv !== undefined) { l1 = h1 = l2 = h2 = l3 = h3 = l4 = h4 = l5 = h5 = 0; }`;

/**
 * Facts of the program being generated: whether r10 is always the frame pointer (no instruction writes it: the
 * validator refuses such writes, but a bare program run without validation might have one), and whether it is run as
 * the ISA alone (isa/alu.ts ISA_ONLY: no verifier refusals).
 */
const GEN = {
  r10Fixed: false, isaOnly: false, blockOf: undefined as Int32Array | undefined, cur: 0, pos: 0,
  /** Inline lookups generated so far (each one's number: its site in Memory.mapValueIdAt). */
  sites: 0,
  /** The instructions, their opcode infos, the jump targets and entries (leaders), the blocks (stackKey). */
  insns: [] as Insn[], infos: [] as (OpcodeInfo | undefined)[], lead: [] as boolean[], blocks: [] as number[][],
  /** region-kinds.ts: the likely region of r0-r10 before each slot (kinds[pc * 11 + r]). */
  kinds: new Uint8Array(0) as Uint8Array,
  /** region-kinds.ts packetRanges: per access, its register's least offset from data and the bytes proven from it. */
  pkLow: new Int32Array(0) as Int32Array, pkAvail: new Int32Array(0) as Int32Array,
};

/**
 * The stack slot of r2 at the call in slot `pc` when the block computed it there as `r2 = r10; r2 += K` (what clang
 * emits for a key on the stack) with [K, K + 4) inside the frame and r10 always the frame pointer, else undefined.
 */
function stackKey(pc: number): number | undefined {
  if (!GEN.r10Fixed) return undefined;
  // The slots before the call in its block, and in the blocks before it while a block starts at a slot nothing jumps
  // to (a block cut at MAX_BLOCK: its only way in is from the one before).
  let b = GEN.cur;
  const slots = GEN.blocks[b]!.slice(0, GEN.blocks[b]!.indexOf(pc));
  while (b > 0 && !GEN.lead[GEN.blocks[b]![0]!]) slots.unshift(...GEN.blocks[--b]!);
  let j = slots.length - 1;
  const writer = (): Insn | undefined => {
    for (; j >= 0; j--) {
      const insn = GEN.insns[slots[j]!]!;
      const kind = GEN.infos[slots[j]!]?.kind;
      if (kind === 'call' || kind === undefined) return insn;
      if (kind === 'atomic' ? insn.src === 2 || insn.dst === 2 : insn.dst === 2 && (kind === 'alu' || kind === 'end' || kind === 'ldx' || kind === 'ldxsx' || kind === 'lddw')) return insn;
    }
    return undefined;
  };
  const add = writer();
  const addInfo = add && OPCODES[add.opcode];
  if (!add || addInfo?.kind !== 'alu' || addInfo.width !== 64 || addInfo.srcReg || aluVariant(addInfo, add.off) !== 'add') return undefined;
  j--;
  const mov = writer();
  const movInfo = mov && OPCODES[mov.opcode];
  if (!mov || movInfo?.kind !== 'alu' || movInfo.width !== 64 || !movInfo.srcReg || mov.src !== 10 || aluVariant(movInfo, mov.off) !== 'mov') return undefined;
  const k = add.imm | 0;
  return k >= -STACK_SIZE && k + 4 <= 0 ? STACK_SIZE + k : undefined;
}

/**
 * INLINE_LOOKUP with the key known to be 4 bytes at `slot` of r10's frame (stackKey): the frame's locals (FRAME) read
 * it, its window and presence known; the rest as INLINE_LOOKUP.
 */
const inlineLookupAt = (slot: number, site: number): string =>
  `let mv;` +
  ` if (FH !== undefined && h1 === ${REGION_MAP_HANDLE}) {` +
  ` const m = FH.maps[(l1 ^ -2147483648) | 0], d = m === undefined ? undefined : m.lookupDirect;` +
  ` if (d !== undefined && (mem.uninitRead !== undefined || fI.getUint32(${slot}) === 0x01010101)) {` +
  ` const n = m.nSlots, s = m.perCpu ? FH.env.cpu : 0;` +
  ` if (s < n) { const at = fV.getUint32(${slot}, true) * n + s; mv = d[at];` +
  ` if (mv !== undefined) { h0 = mem.mapValueIdAt(${site}, at, mv, m); l0 = -2147483648; } } } }` +
  ` if (mv !== undefined) { l1 = h1 = l2 = h2 = l3 = h3 = l4 = h4 = l5 = h5 = 0; }`;

/**
 * A jump to `target`: a `break` to the label whose end the target block's code follows when the function has that
 * structure (GEN.blockOf: slot -> block index) and the target comes after the current block; otherwise through the
 * dispatch `switch` at the top of the loop.
 */
function jumpTo(target: number): string {
  const b = GEN.blockOf?.[target] ?? -1;
  return b > GEN.pos ? `break L${b};` : `{ pc = ${target}; continue; }`;
}

/** A stack store at `o` lowers the frame's Region.dirtyFrom (what Memory.reset must zero). */
const DIRTY = (o: string) => `if (${o} < r.dirtyFrom) r.dirtyFrom = ${o};`;
const FRAME_DIRTY = (o: number) => `if (${o} < fr.dirtyFrom) fr.dirtyFrom = ${o};`;

/** Whether an instruction may write r10 (ALU, loads, lddw into r10; an atomic naming r10). */
function writesR10(insn: Insn, info: OpcodeInfo | undefined): boolean {
  if (!info) return false;
  switch (info.kind) {
    case 'alu': case 'end': case 'ldx': case 'ldxsx': case 'lddw': return insn.dst === 10;
    case 'atomic': return insn.dst === 10 || insn.src === 10;
    default: return false;
  }
}

/**
 * r10 + off with r10 the frame pointer and the access inside [r10 - 512, r10): the stack frame region RG[h10], at
 * 512 + off, known to be in its window and writable (the compiled engine drops those checks), or undefined.
 */
function stackSlot(r: { l: string; h: string }, off: number, size: number): number | undefined {
  return GEN.r10Fixed && r.l === 'l10' && off >= -STACK_SIZE && off + size <= 0 ? STACK_SIZE + off : undefined;
}

/** struct xdp_md fields Memory.ld4 reads without a fault by offset (egress_ifindex, 20, is left to it). */
const CTX_FIELDS: Record<number, string> = { 0: 'data', 4: 'dataEnd', 8: 'dataMeta', 12: 'ingressIfindex', 16: 'rxQueueIndex' };

/** The kind (region-kinds.ts) of register `r` before slot `pc`. */
const kindOf = (pc: number, r: number): number => GEN.kinds[pc * 11 + r] ?? K_NONE;

/**
 * Whether `size` bytes at register `r` + `off` in slot `pc` are inside [data, data_end) by the program's own compare
 * with data_end (region-kinds.ts packetRanges): then, with the register a packet address, inside the packet's window.
 */
function provenInPacket(pc: number, off: number, size: number): boolean {
  const low = GEN.pkLow[pc] ?? P_UNKNOWN;
  return low !== P_UNKNOWN && low + off >= 0 && off + size <= (GEN.pkAvail[pc] ?? P_UNKNOWN);
}

function load(size: number, d: { l: string; h: string }, s: { l: string; h: string; r: number }, off: number, pc: number, kind: number): string {
  const call = size === 8 || size === 4
    ? `${d.l} = mem.ld${size}(${s.h}, ${s.l}, ${off}, ${pc}); ${d.h} = mem.th;`
    : `${d.l} = mem.ld${size}(${s.h}, ${s.l}, ${off}, ${pc}); ${d.h} = 0;`;
  if (!INLINE_MEMORY) return call;
  const slot = stackSlot(s, off, size);
  // A slot no path reaches: the call alone (what the inline paths would end in).
  if (slot === undefined && kind === K_NONE) return call;
  const read = size === 1 ? `${d.l} = pB[o]; ${d.h} = 0;`
    : size === 2 ? `${d.l} = pV.getUint16(o, true); ${d.h} = 0;`
    : size === 4 ? `${d.l} = pV.getInt32(o, true); ${d.h} = 0;`
    : `${d.l} = pV.getInt32(o, true); ${d.h} = pV.getInt32(o + 4, true);`;
  // Proven inside the packet (packetRanges): no window test, only that the register is a packet address.
  if (slot === undefined && provenInPacket(pc, off, size)) {
    return `if (${s.h} === ${REGION_PACKET}) { const o = ((${s.l} ^ -2147483648) + ${off}) | 0; ${read} } else { ${call} }`;
  }
  // A packet pointer: only the packet's inline path (its locals) before the call.
  if (slot === undefined && kind === K_PACKET) {
    return `{ const o = ((${s.l} ^ -2147483648) + ${off}) | 0; if (${s.h} === ${REGION_PACKET} && o >= pLo && o <= pHi - ${size}) { ${read} } else { ${call} } }`;
  }
  // ctx: only its fields' inline path (Memory.ld4's ctx case) before the call.
  if (slot === undefined && kind === K_CTX) {
    const field = size === 4 ? CTX_FIELDS[off] : undefined;
    if (field === undefined) return call;
    return `if (${s.h} === ${REGION_CTX} && ${s.l} === -2147483648 && mem.ctx !== undefined) { const f = mem.ctx.buff.${field}; ` +
      (off <= 8 ? `if (f >= 0 && f < 2147483648) { ${d.l} = (-2147483648 + f) | 0; ${d.h} = ${REGION_PACKET}; } else { ${call} } } else { ${call} }`
        : `${d.l} = f | 0; ${d.h} = 0; } else { ${call} }`);
  }
  const table = slot === undefined && (kind === K_MAP_VALUE || kind === K_STACK);
  const head = slot !== undefined
    ? `{ const o = ${slot}; if (mem.uninitRead !== undefined || ${FRAME_INIT_READ[size]!('o')}) `
    : `{ const r = RG[${s.h}], o = ((${s.l} ^ -2147483648) + ${off}) | 0; ` +
      `if (r !== undefined && r.fast && ${s.h} < mem.nextDynamic && o >= r.lo && o <= r.hi - ${size} && (r.init === undefined || mem.uninitRead !== undefined || ${INIT_READ[size]!('o')})) `;
  const code = loadCode(size, d, s, off, pc, slot, head, table);
  // A stack slot of r10, a map value or another stack pointer: the region table's inline path, no packet's or ctx's.
  if (slot !== undefined || table) return code;
  // The packet first, through its locals (PACKET): the region's fast path with the same window.
  return `{ const o = ((${s.l} ^ -2147483648) + ${off}) | 0; if (${s.h} === ${REGION_PACKET} && o >= pLo && o <= pHi - ${size}) { ${read} } else ${code} }`;
}

function loadCode(size: number, d: { l: string; h: string }, s: { l: string; h: string }, off: number, pc: number, slot: number | undefined, head: string, noCtx = false): string {
  // A stack slot reads the frame's locals (FRAME), anything else the region `r` of the head.
  const B = slot === undefined ? 'r.bytes' : 'fB';
  const V = slot === undefined ? 'r.view' : 'fV';
  switch (size) {
    case 1: return `${head}${d.l} = ${B}[o]; else ${d.l} = mem.ld1(${s.h}, ${s.l}, ${off}, ${pc}); ${d.h} = 0; }`;
    case 2: return `${head}${d.l} = ${V}.getUint16(o, true); else ${d.l} = mem.ld2(${s.h}, ${s.l}, ${off}, ${pc}); ${d.h} = 0; }`;
    case 4: {
      const call = `{ ${d.l} = mem.ld4(${s.h}, ${s.l}, ${off}, ${pc}); ${d.h} = mem.th; }`;
      // struct xdp_md fields by their constant offset from ctx itself: Memory.ld4's ctx case, inline.
      const field = slot === undefined && !noCtx ? CTX_FIELDS[off] : undefined;
      const ctx = field === undefined ? call
        : `if (${s.h} === ${REGION_CTX} && ${s.l} === -2147483648 && mem.ctx !== undefined) { const f = mem.ctx.buff.${field}; ` +
          (off <= 8 ? `if (f >= 0 && f < 2147483648) { ${d.l} = (-2147483648 + f) | 0; ${d.h} = ${REGION_PACKET}; } else ${call} } else ${call}`
            : `${d.l} = f | 0; ${d.h} = 0; } else ${call}`);
      return `${head}{ ${d.l} = ${V}.getInt32(o, true); ${d.h} = 0; } else ${ctx} }`;
    }
    default: return `${head}{ ${d.l} = ${V}.getInt32(o, true); ${d.h} = ${V}.getInt32(o + 4, true); } else { ${d.l} = mem.ld8(${s.h}, ${s.l}, ${off}, ${pc}); ${d.h} = mem.th; } }`;
  }
}

function store(size: number, d: { l: string; h: string; r: number }, vl: string, vh: string, off: number, pc: number, kind: number): string {
  const slow = size === 8 ? `mem.st8(${d.h}, ${d.l}, ${off}, ${vl}, ${vh}, ${pc});` : `mem.st${size}(${d.h}, ${d.l}, ${off}, ${vl}, ${pc});`;
  if (!INLINE_MEMORY) return slow;
  const slot = stackSlot(d, off, size);
  // A slot no path reaches, or ctx (no store into it is allowed): the call alone.
  if (slot === undefined && (kind === K_NONE || kind === K_CTX)) return slow;
  if (slot !== undefined) {
    // A stack frame: always there, in its window, writable, with a written-byte map.
    switch (size) {
      case 1: return `{ fB[${slot}] = ${vl}; fN[${slot}] = 1; ${FRAME_DIRTY(slot)} }`;
      case 2: return `{ fV.setUint16(${slot}, ${vl}, true); fI.setUint16(${slot}, 0x0101); ${FRAME_DIRTY(slot)} }`;
      case 4: return `{ fV.setInt32(${slot}, ${vl}, true); fI.setUint32(${slot}, 0x01010101); ${FRAME_DIRTY(slot)} }`;
      default: return `{ fV.setInt32(${slot}, ${vl}, true); fV.setInt32(${slot + 4}, ${vh}, true); fI.setUint32(${slot}, 0x01010101); fI.setUint32(${slot + 4}, 0x01010101); ${FRAME_DIRTY(slot)} }`;
    }
  }
  // The region's own fast path; a store into the packet there (its window changed since pLo/pW were read) marks it.
  const head = `{ const r = RG[${d.h}], o = ((${d.l} ^ -2147483648) + ${off}) | 0; ` +
    `if (r !== undefined && r.fast && ${d.h} < mem.nextDynamic && o >= r.lo && o <= r.hi - ${size} && r.writeFault === undefined && (${d.h} !== ${REGION_PACKET} || (mem.packetWritten = 1) === 1)) `;
  const write = size === 1 ? `pB[o] = ${vl};`
    : size === 2 ? `pV.setUint16(o, ${vl}, true);`
    : size === 4 ? `pV.setInt32(o, ${vl}, true);`
    : `pV.setInt32(o, ${vl}, true); pV.setInt32(o + 4, ${vh}, true);`;
  // Proven inside the packet (packetRanges): only that it is a packet address on a writable page (pW: its end, or
  // -2^31 on a read-only page, whose store the call faults as before); the write is recorded as always.
  if (provenInPacket(pc, off, size)) {
    return `if (${d.h} === ${REGION_PACKET} && pW !== -2147483648) { const o = ((${d.l} ^ -2147483648) + ${off}) | 0; ${write} mem.packetWritten = 1; } else { ${slow} }`;
  }
  // A map value or a stack pointer other than r10: the region table's inline path only; a packet pointer: the
  // packet's only.
  if (kind === K_MAP_VALUE || kind === K_STACK) return storeCode(size, vl, vh, head, slow);
  const tail = kind === K_PACKET ? `{ ${slow} }` : storeCode(size, vl, vh, head, slow);
  return `{ const o = ((${d.l} ^ -2147483648) + ${off}) | 0; if (${d.h} === ${REGION_PACKET} && o >= pLo && o <= pW - ${size}) { ${write} mem.packetWritten = 1; } else ${tail} }`;
}

function storeCode(size: number, vl: string, vh: string, head: string, slow: string): string {
  switch (size) {
    case 1: return `${head}{ r.bytes[o] = ${vl}; if (r.init !== undefined) { r.init[o] = 1; ${DIRTY('o')} } } else ${slow} }`;
    case 2: return `${head}{ r.view.setUint16(o, ${vl}, true); if (r.initView !== undefined) { r.initView.setUint16(o, 0x0101); ${DIRTY('o')} } } else ${slow} }`;
    case 4: return `${head}{ r.view.setInt32(o, ${vl}, true); if (r.initView !== undefined) { r.initView.setUint32(o, 0x01010101); ${DIRTY('o')} } } else ${slow} }`;
    default: return `${head}{ r.view.setInt32(o, ${vl}, true); r.view.setInt32(o + 4, ${vh}, true); if (r.initView !== undefined) { r.initView.setUint32(o, 0x01010101); r.initView.setUint32(o + 4, 0x01010101); ${DIRTY('o')} } } else ${slow} }`;
  }
}

/**
 * An atomic instruction. add/or/and/xor (with or without fetch) of 4 or 8 bytes inline on halves when the memory is
 * in a region's window, writable, and (stack) written or the run's uninitialised read already recorded: what
 * execAtomic does then (resolve, load, store). Everything else spills the registers and runs execAtomic.
 */
function atomic(insn: Insn, info: OpcodeInfo, pc: number): string {
  const generic = `${SPILL} H.execAtomic(K[${pc}], I[${pc}], R, mem, ${pc}); ${reload()}`;
  const a = atomicOp(insn.imm);
  const size = info.size!;
  if (!INLINE_MEMORY || !a || (size !== 4 && size !== 8) || !(a.op === 'add' || a.op === 'or' || a.op === 'and' || a.op === 'xor')) return generic;
  const d = reg(insn.dst);
  const s = reg(insn.src);
  // Never inline on the packet: the interpreter's execAtomic refuses it (check_atomic).
  const head = `{ const r = RG[${d.h}], o = ((${d.l} ^ -2147483648) + ${insn.off}) | 0; ` +
    `if (r !== undefined && ${d.h} !== ${REGION_PACKET} && r.fast && ${d.h} < mem.nextDynamic && o >= r.lo && o <= r.hi - ${size} && r.writeFault === undefined && (r.init === undefined || mem.uninitRead !== undefined || ${INIT_READ[size]!('o')})) { const v = r.view; `;
  const js = { or: '|', and: '&', xor: '^' } as Record<string, string>;
  let body: string;
  if (size === 4) {
    const next = a.op === 'add' ? `(ol + ${s.l}) | 0` : `ol ${js[a.op]} ${s.l}`;
    body = `const ol = v.getInt32(o, true); v.setInt32(o, ${next}, true); if (r.initView !== undefined) { r.initView.setUint32(o, 0x01010101); ${DIRTY('o')} }` +
      (a.fetch ? ` ${s.l} = ol; ${s.h} = 0;` : '');
  } else {
    const next = a.op === 'add'
      ? `const t = (ol >>> 0) + (${s.l} >>> 0); v.setInt32(o, t | 0, true); v.setInt32(o + 4, (oh + ${s.h} + (t > 4294967295 ? 1 : 0)) | 0, true);`
      : `v.setInt32(o, ol ${js[a.op]} ${s.l}, true); v.setInt32(o + 4, oh ${js[a.op]} ${s.h}, true);`;
    body = `const ol = v.getInt32(o, true), oh = v.getInt32(o + 4, true); ${next} ` +
      `if (r.initView !== undefined) { r.initView.setUint32(o, 0x01010101); r.initView.setUint32(o + 4, 0x01010101); ${DIRTY('o')} }` +
      (a.fetch ? ` ${s.l} = ol; ${s.h} = oh;` : '');
  }
  return `${head}${body} } else { ${generic} } }`;
}

/** The code of one instruction that does not end its block (everything but jumps, calls, exit). */
function straight(insn: Insn, info: OpcodeInfo, pc: number): string {
  const d = reg(insn.dst);
  const s = reg(insn.src);
  switch (info.kind) {
    case 'alu':
      return alu(insn, info, pc);
    case 'end': {
      const bits = insn.imm;
      if (info.end === 'le') return bits === 64 ? '' : bits === 32 ? `${d.h} = 0;` : `${d.l} &= 0xffff; ${d.h} = 0;`;
      if (bits === 16) return `${d.l} = ((${d.l} & 0xff) << 8) | ((${d.l} >>> 8) & 0xff); ${d.h} = 0;`;
      if (bits === 32) return `${d.l} = A.bswap32(${d.l}); ${d.h} = 0;`;
      return `{ const t = A.bswap32(${d.l}); ${d.l} = A.bswap32(${d.h}); ${d.h} = t; }`;
    }
    case 'ldx':
      return load(info.size!, d, s, insn.off, pc, kindOf(pc, insn.src));
    case 'ldxsx':
      return `${d.l} = mem.ldsx(${s.h}, ${s.l}, ${insn.off}, ${info.size}, ${pc}); ${d.h} = ${d.l} >> 31;`;
    case 'st': {
      const k = insn.imm | 0;
      return store(info.size!, d, `${k}`, `${k < 0 ? -1 : 0}`, insn.off, pc, kindOf(pc, insn.dst));
    }
    case 'stx':
      return store(info.size!, d, s.l, s.h, insn.off, pc, kindOf(pc, insn.dst));
    case 'atomic':
      return atomic(insn, info, pc);
    case 'lddw': {
      const c = (v: bigint) => `${d.l} = ${lo(v)}; ${d.h} = ${hi(v)};`;
      switch (insn.src) {
        case PSEUDO_IMM64:
          return c((BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0));
        case PSEUDO_MAP_FD:
        case PSEUDO_MAP_IDX:
          return c(addrOf(REGION_MAP_HANDLE, insn.imm));
        case PSEUDO_MAP_VALUE:
        case PSEUDO_MAP_IDX_VALUE: {
          const call = `{ ${d.l} = H.mapValue(S, ${insn.imm}, ${insn.nextImm ?? 0}, ${pc}); ${d.h} = T.h; }`;
          const offset = insn.nextImm ?? 0;
          if (!INLINE_MEMORY || offset < 0 || offset >= 0x80000000) return call;
          // machine.ts fast.mapValue inline for an array with 4-byte keys whose element 0 exists (InlineMaps): its
          // value's region (Memory.mapValueIdAt, a site of its own), at the offset; anything else is H.mapValue's.
          return `{ const F = FS, m = F === undefined || F.own === undefined ? undefined : F.own[${insn.imm}], dv = m === undefined ? undefined : m.lookupDirect;` +
            ` const s = dv === undefined ? 0 : m.perCpu ? FH.env.cpu : 0, v = dv !== undefined && s < m.nSlots ? dv[s] : undefined;` +
            ` if (v !== undefined) { ${d.h} = mem.mapValueIdAt(${GEN.sites++}, s, v, m); ${d.l} = ${(0x80000000 + offset) | 0}; }` +
            ` else ${call} }`;
        }
        case PSEUDO_FUNC:
          return c(addrOf(REGION_FUNC, pc + 1 + insn.imm));
        default:
          return `throw new H.VmFault('unsupported', ${JSON.stringify(insn.src === 3
            ? 'lddw of a kernel variable (BPF_PSEUDO_BTF_ID, a __ksym) is not supported by the simulator'
            : `lddw with src ${insn.src} is not supported`)}, ${pc});`;
      }
    }
    default:
      throw new Error(`not a straight-line instruction: ${info.kind}`);
  }
}

/** Instructions per basic block at most. */
const MAX_BLOCK = 256;
/** Blocks at most for the form with forward jumps as `break`s (each block one more level of nested labels). */
const MAX_NESTED_BLOCKS = 1000;

const STRAIGHT = new Set(['alu', 'end', 'ldx', 'ldxsx', 'st', 'stx', 'atomic', 'lddw']);

/** The condition of a conditional jump, on halves. */
function condition(insn: Insn, info: OpcodeInfo): string {
  const op = info.jmp!;
  const a = reg(insn.dst);
  const b = operand(insn, info);
  if (info.width === 32) {
    if (op === 'jeq') return `${a.l} === ${b.l}`;
    if (op === 'jne') return `${a.l} !== ${b.l}`;
    if (op === 'jset') return `(${a.l} & ${b.l}) !== 0`;
    if (UNSIGNED[op]) return `(${a.l} >>> 0) ${UNSIGNED[op]} ${b.ul}`;
    return `${a.l} ${SIGNED[op]} ${b.l}`;
  }
  if (op === 'jeq') return `${a.l} === ${b.l} && ${a.h} === ${b.h}`;
  if (op === 'jne') return `(${a.l} !== ${b.l} || ${a.h} !== ${b.h})`;
  if (op === 'jset') return `((${a.l} & ${b.l}) | (${a.h} & ${b.h})) !== 0`;
  if (UNSIGNED[op]) {
    const o = UNSIGNED[op];
    return `((${a.h} >>> 0) ${STRICT[o]} ${b.uh} || (${a.h} === ${b.h} && (${a.l} >>> 0) ${o} ${b.ul}))`;
  }
  const o = SIGNED[op];
  return `(${a.h} ${STRICT[o]} ${b.h} || (${a.h} === ${b.h} && (${a.l} >>> 0) ${o} ${b.ul}))`;
}

/** The code of a block-ending instruction; it may fall through to the next slot (the next case). */
function terminal(insn: Insn, info: OpcodeInfo | undefined, pc: number): string {
  if (!info) return `throw new H.VmFault('invalid-insn', ${JSON.stringify(`unknown opcode 0x${insn?.opcode.toString(16)}`)}, ${pc});`;
  switch (info.kind) {
    case 'jump':
      return `if (${condition(insn, info)}) ${jumpTo(pc + 1 + insn.off)}`;
    case 'ja':
      // `ja +0`: the return-line marker (ExecOptions.onMark, return-lines.ts).
      if (info.cls !== 'jmp32' && insn.off === 0) return `if (S.opts.onMark !== undefined) S.opts.onMark(S.program.name, ${pc}); ${jumpTo(pc + 1)}`;
      return jumpTo(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
    case 'jcond':
      // The instructions since the previous may_goto go back to the budget (the interpreter's mayGotoRefund).
      return `{ const b = H.mayGotoRefund(S.budget - left, S.mayGotoMark, S.refunded); S.refunded += b; left += b; S.mayGotoMark = S.budget - left; } ` +
        `if (--S.mayGoto <= 0) ${jumpTo(pc + 1 + insn.off)}`;
    case 'call': {
      if (insn.src === CALL_LOCAL) return `${SPILL} H.callLocal(S, ${pc}, ${pc + 1 + insn.imm}, live); l10 = R32[20]; h10 = R32[21]; ${GEN.r10Fixed ? `${FRAME} ` : ''}live = S.live; pc = S.pc; continue;`;
      if (insn.src !== CALL_HELPER && insn.src !== CALL_KFUNC) return `throw new H.VmFault('invalid-insn', 'call with src ${insn.src}', ${pc});`;
      // A kfunc call syncs the budget with S.left (an open-coded iterator's call gives instructions back: iterRefund).
      const kf = insn.src === CALL_KFUNC;
      const generic =
        `${ARGS}` +
        `{ ${kf ? 'S.left = left; ' : ''}const o = H.helper(S, ${pc}, ${insn.imm}, ${kf});${kf ? ' left = S.left;' : ''}` +
        ` if (typeof o === 'bigint') { R[0] = o; l0 = R32[0]; h0 = R32[1]; l1 = h1 = l2 = h2 = l3 = h3 = l4 = h4 = l5 = h5 = 0; }` +
        ` else { ${SPILL} S.live = live; S.left = left; const c = H.outcome(S, ${pc}, o); if (c) return; ${reload()} live = S.live; pc = S.pc; continue; } }`;
      // The helper may have moved the packet's window (adjust_head/meta/tail): its locals are read again.
      if (insn.src === CALL_KFUNC || !FAST_IDS.has(insn.imm)) return `${generic} ${PACKET}`;
      // A helper with a fast form (ExecOptions.fast): called on the halves; a miss (or no fast helpers in this run)
      // takes the generic call, which then does everything (faults, records) itself.
      const fast =
        `{ const F = FS, f = F === undefined ? undefined : F.byId[${insn.imm}]; let v = 0;` +
        ` if (f !== undefined) { F.miss = false; v = f(h1, l1, h2, l2, h3, l3, h4, l4, h5, l5); }` +
        ` if (f !== undefined && !F.miss) { l0 = v; h0 = F.h; l1 = h1 = l2 = h2 = l3 = h3 = l4 = h4 = l5 = h5 = 0; }` +
        ` else { ${generic} ${PACKET} } }${MOVES_PACKET.has(insn.imm) ? ` ${PACKET}` : ''}`;
      if (insn.imm !== 1 || !INLINE_MEMORY) return fast;
      const key = stackKey(pc);
      const site = GEN.sites++;
      return `{ ${key === undefined ? INLINE_LOOKUP(site) : inlineLookupAt(key, site)} else { ${fast} } }`;
    }
    case 'exit':
      // The outermost frame's exit ends the run with r0 (the interpreter's exit with no frame to pop); others return
      // through the interpreter's frame step.
      return `if (S.frames.length === 0) { R32[0] = l0; R32[1] = h0; S.live = live; S.left = left; S.pc = ${pc}; S.done = true; return; } ` +
        `${SPILL} S.live = live; S.left = left; if (H.exit(S, ${pc})) return; ${reload()} live = S.live; left = S.left; pc = S.pc; continue;`;
    case 'ld-abs':
    case 'ld-ind':
      return `throw new H.VmFault('unsupported', 'legacy BPF_LD_ABS/BPF_LD_IND packet loads are not supported (not allowed in XDP)', ${pc});`;
    default:
      return straight(insn, info, pc);
  }
}

/** The register-check code of one slot (the interpreter's `checks` step), empty without checks. */
function checkCode(checks: RegisterChecks | undefined, pc: number, exit: boolean): string {
  if (!checks) return '';
  let code = '';
  const reads = checks.reads[pc];
  if (reads) code += `{ const m = ${reads} & ~live; if (m) throw H.uninit(m, ${pc}, ${exit}); }`;
  const clears = checks.clears[pc];
  const writes = checks.writes[pc];
  if (clears || writes) code += `live = (live & ${~clears & 0xffff}) | ${writes};`;
  return code;
}

/**
 * The basic blocks of a program, each as its slots (an lddw takes two): a block ends at a jump, call or exit, before
 * a leader, or after MAX_BLOCK instructions. The WebAssembly tier (wasm.ts) follows the same blocks.
 */
export function blockSlots(insns: Insn[], infos: (OpcodeInfo | undefined)[], lead: boolean[]): number[][] {
  const blocks: number[][] = [];
  let pc = 0;
  while (pc < insns.length) {
    const slots: number[] = [];
    let q = pc;
    for (;;) {
      slots.push(q);
      const info = infos[q];
      const next = q + (info?.kind === 'lddw' ? 2 : 1);
      const ends = !info || !STRAIGHT.has(info.kind) || (info.kind === 'lddw' && lead[q + 2]);
      q = next;
      // Long straight runs are cut (a case label in between costs nothing) to bound each block's checked copy.
      if (ends || q >= insns.length || lead[q] || slots.length >= MAX_BLOCK) break;
    }
    blocks.push(slots);
    pc = q;
  }
  return blocks;
}

/**
 * The order the nested form lays the blocks out in (block indexes): each function's blocks in reverse postorder from
 * its entry, a block's fall-through successor visited last so that it follows the block where it can, so every jump
 * but a loop's back edge goes forward (a `break`, not the dispatch `switch`); functions in slot order, the entry's
 * first. clang often puts a block many paths end in (a shared return) before some of the blocks that jump to it.
 */
function blockOrder(insns: Insn[], infos: (OpcodeInfo | undefined)[], blocks: number[][]): number[] {
  const n = blocks.length;
  const index = new Int32Array(insns.length + 1).fill(-1);
  blocks.forEach((b, k) => (index[b[0]!] = k));
  const succ = blocks.map((b, k): number[] => {
    const s = b[b.length - 1]!;
    const insn = insns[s]!;
    const info = infos[s];
    const next = k + 1 < n ? k + 1 : -1;
    const at = (t: number) => (t >= 0 && t <= insns.length ? index[t]! : -1);
    let out: number[];
    switch (info?.kind) {
      case undefined: case 'exit': case 'ld-abs': case 'ld-ind': out = []; break;
      case 'jump': case 'jcond': out = [at(s + 1 + insn.off), next]; break;
      case 'ja': out = [info.cls === 'jmp32' ? at(s + 1 + insn.imm) : at(s + 1 + insn.off)]; break;
      default: out = [next];
    }
    return out.filter((t) => t >= 0);
  });
  const seen = new Uint8Array(n);
  const order: number[] = [];
  for (let root = 0; root < n; root++) {
    if (seen[root]) continue;
    const post: number[] = [];
    const stack: [number, number][] = [[root, 0]];
    seen[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const list = succ[top[0]]!;
      if (top[1] < list.length) {
        const t = list[top[1]++]!;
        if (!seen[t]) {
          seen[t] = 1;
          stack.push([t, 0]);
        }
      } else {
        post.push(top[0]);
        stack.pop();
      }
    }
    for (let i = post.length - 1; i >= 0; i--) order.push(post[i]!);
  }
  return order;
}

/** Generate the JavaScript source of one program image. */
export function generate(p: ProgramImage, checks: RegisterChecks | undefined, counting = false, probe?: ReadonlySet<number>, flat = false): { source: string; after: Uint16Array } {
  const insns = p.insns;
  const infos = insns.map((i) => OPCODES[i.opcode]);
  GEN.r10Fixed = !insns.some((insn, pc) => writesR10(insn, infos[pc]));
  GEN.isaOnly = ISA_ONLY.has(insns);
  GEN.insns = insns;
  GEN.infos = infos;
  GEN.sites = 0;
  GEN.kinds = regionKinds(insns, infos);
  ({ low: GEN.pkLow, avail: GEN.pkAvail } = packetRanges(insns, infos));
  const lead = leaders(insns, infos);
  const after = new Uint16Array(insns.length + 1);
  const out: string[] = [];
  out.push('return function compiled(S, pc) {');
  // The fast helpers and their helper host (ExecOptions.fast: a Machine's, fixed for the run) read once per entry.
  out.push('const mem = S.mem, R = S.R, R32 = S.R32, RG = mem.regionTable, FS = S.opts.fast, FH = FS === undefined ? undefined : FS.host;');
  // pc -1: a fresh XDP entry at slot 0 (executeCompiled: registers zero but r1 = ctx and r10 the first frame's
  // pointer, as it has just written them): the locals from constants instead of 22 reads.
  out.push(`let ${Array.from({ length: 11 }, (_, i) => `l${i} = 0, h${i} = 0`).join(', ')};`);
  out.push(`if (pc >= 0) { ${Array.from({ length: 11 }, (_, i) => `l${i} = R32[${2 * i}]; h${i} = R32[${2 * i + 1}];`).join(' ')} }` +
    ` else { pc = 0; l1 = ${CTX_LO}; h1 = ${REGION_CTX}; l10 = ${FP1_LO}; h10 = ${FP1_HI}; }`);
  out.push('let left = S.left, live = S.live;');
  out.push(`let pr, pLo = 1, pHi = 0, pW = -2147483648, pV, pB; ${PACKET}`);
  if (GEN.r10Fixed) out.push(`let fr, fB, fV, fN, fI; ${FRAME}`);
  const blocks = blockSlots(insns, infos, lead);
  GEN.lead = lead;
  GEN.blocks = blocks;
  // Forward jumps as `break`s (no dispatch): block k's code follows the end of label Lk, the labels nested with L0
  // innermost around the dispatch `switch`, which only entries and backward jumps go through (the WebAssembly tier's
  // structure). The counting form and programs of very many blocks (nesting depth) keep a `switch` over every block.
  const nested = !counting && !flat && blocks.length <= MAX_NESTED_BLOCKS;
  GEN.blockOf = undefined;
  GEN.cur = GEN.pos = 0;
  // Emission order: slot order, or in the nested form blockOrder's (GEN.blockOf: a block's first slot -> its place).
  let order = blocks.map((_, k) => k);
  if (nested) {
    order = blockOrder(insns, infos, blocks);
    const blockOf = new Int32Array(insns.length + 1).fill(-1);
    order.forEach((k, e) => (blockOf[blocks[k]![0]!] = e));
    GEN.blockOf = blockOf;
    out.push('try { for (;;) {');
    out.push(blocks.map((_, k) => `L${blocks.length - 1 - k}: {`).join(' '));
    out.push('switch (pc) {');
    blocks.forEach((b) => out.push(`case ${b[0]}: break L${blockOf[b[0]!]};`));
    out.push('default: if (left <= 0) throw H.budget(S, pc); left--; throw H.badPc(S, pc);');
    out.push('}');
  } else {
    out.push('try { for (;;) { switch (pc) {');
  }
  for (const [e, k] of order.entries()) {
    const slots = blocks[k]!;
    const pc = slots[0]!;
    const n = slots.length;
    GEN.cur = k;
    GEN.pos = e;
    slots.forEach((s, j) => (after[s] = n - 1 - j));
    const code = (s: number) => {
      const info = infos[s];
      return (probe?.has(s) ? 'S.opts.probe.reached = true; ' : '') + checkCode(info ? checks : undefined, s, info?.kind === 'exit') + (info && STRAIGHT.has(info.kind) ? straight(insns[s], info, s) : terminal(insns[s], info, s));
    };
    out.push(nested ? `} // L${e}` : `case ${pc}:`);
    if (counting) {
      // The counting form of the block, entered with fewer instructions left than it holds: each one counted, to
      // fault at the interpreter's slot. The budget runs out at the last instruction at the latest: its code is never
      // reached, and the block never ends any other way than by a fault.
      const counted = slots.slice(0, -1).map((s) => `if (left <= 0) throw H.budget(S, ${s}); left--; ${code(s)}`).join(' ');
      out.push(`${counted} throw H.budget(S, ${slots[n - 1]});`);
    } else {
      // Fewer instructions left than the block holds: hand over to the counting form (a separate function, made
      // when first needed, so the form every packet runs stays small).
      // (Thrown: the catch below spills the registers, one copy of that code for the whole program.)
      out.push(`if (left < ${n}) { S.live = live; S.pc = ${pc}; throw H.COUNT; }`);
      out.push(`left -= ${n};`);
      for (const s of slots) out.push(code(s));
      // Laid out elsewhere than after this block: the next slot's block (where the block's code falls through to).
      // (Not after an exit, a `ja` or a bpf-to-bpf call, which never fall through.)
      const last = slots[n - 1]!;
      const kind = infos[last]?.kind;
      const through = kind !== undefined && kind !== 'exit' && kind !== 'ja' && kind !== 'ld-abs' && kind !== 'ld-ind' && !(kind === 'call' && insns[last]!.src === CALL_LOCAL);
      if (nested && through && order[e + 1] !== k + 1) out.push(jumpTo(k + 1 < blocks.length ? blocks[k + 1]![0]! : insns.length));
    }
  }
  // Falling off the end (validation refuses it): the interpreter's step, then its unknown-opcode fault.
  out.push(`pc = ${insns.length};`);
  if (nested) {
    out.push('if (left <= 0) throw H.budget(S, pc); left--; throw H.badPc(S, pc);');
    out.push('} } catch (e) { ' + SPILL + ' S.left = left; throw e; }');
  } else {
    out.push('default: if (left <= 0) throw H.budget(S, pc); left--; throw H.badPc(S, pc);');
    out.push('} } } catch (e) { ' + SPILL + ' S.left = left; throw e; }');
  }
  GEN.blockOf = undefined;
  out.push('};');
  return { source: out.join('\n'), after };
}

const cache = new WeakMap<Insn[], Map<RegisterChecks | null, CompiledProgram>>();

/** Program images compiled so far in this process (tests check that a setting reaches the engine). */
export const compileStats = { programs: 0 };

/** The compiled form of a program image (with its register checks, if any), generated once per instruction array. */
export function compileProgram(p: ProgramImage, checks: RegisterChecks | undefined, probe?: Probe): CompiledProgram {
  const slots = probe?.slots.get(p.name);
  if (probe && slots?.size) return compileProbed(p, checks, probe.key, slots);
  let byChecks = cache.get(p.insns);
  if (!byChecks) {
    byChecks = new Map();
    cache.set(p.insns, byChecks);
  }
  let c = byChecks.get(checks ?? null);
  if (!c) {
    const t0 = performance.now();
    const infos = p.insns.map((i) => OPCODES[i.opcode]);
    const make = (src: string): CompiledFn => {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      const factory = new Function('H', 'A', 'T', 'K', 'I', src) as (h: typeof H, a: typeof A, t: typeof T, k: Insn[], i: (OpcodeInfo | undefined)[]) => CompiledFn;
      return factory(H, A, T, p.insns, infos);
    };
    const { fn, source, after } = makeMain(p, checks, undefined, make);
    let counting: CompiledFn | undefined;
    c = { fn, counting: () => (counting ??= make(generate(p, checks, true).source)), after, sourceLength: source.length, compileMs: performance.now() - t0 };
    byChecks.set(checks ?? null, c);
    compileStats.programs++;
  }
  return c;
}

/**
 * The function every run enters: the form with nested labels, or the flat `switch` when V8's parser runs out of stack
 * on the nesting (a RangeError from new Function, possible for programs of many blocks compiled deep in a call stack).
 */
function makeMain(p: ProgramImage, checks: RegisterChecks | undefined, slots: ReadonlySet<number> | undefined, make: (src: string) => CompiledFn): { fn: CompiledFn; source: string; after: Uint16Array } {
  const g = generate(p, checks, false, slots);
  try {
    return { fn: make(g.source), ...g };
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const f = generate(p, checks, false, slots, true);
    return { fn: make(f.source), ...f };
  }
}

/** Variants with a probe (ExecOptions.probe), cached by the probe's key: the debugger's breakpoint probe. */
const probed = new WeakMap<Insn[], Map<string, CompiledProgram>>();
function compileProbed(p: ProgramImage, checks: RegisterChecks | undefined, key: string, slots: ReadonlySet<number>): CompiledProgram {
  let byKey = probed.get(p.insns);
  if (!byKey) probed.set(p.insns, (byKey = new Map()));
  const k = `${key}\0${checks ? byKeyChecks(checks) : ''}`;
  let c = byKey.get(k);
  if (!c) {
    const infos = p.insns.map((i) => OPCODES[i.opcode]);
    const make = (src: string): CompiledFn =>
      (new Function('H', 'A', 'T', 'K', 'I', src) as (h: typeof H, a: typeof A, t: typeof T, k: Insn[], i: (OpcodeInfo | undefined)[]) => CompiledFn)(H, A, T, p.insns, infos);
    const { fn, source, after } = makeMain(p, checks, slots, make);
    let counting: CompiledFn | undefined;
    c = { fn, counting: () => (counting ??= make(generate(p, checks, true, slots).source)), after, sourceLength: source.length, compileMs: 0 };
    byKey.set(k, c);
  }
  return c;
}
const checkIds = new WeakMap<RegisterChecks, number>();
function byKeyChecks(c: RegisterChecks): number {
  let id = checkIds.get(c);
  if (id === undefined) checkIds.set(c, (id = nextCheckId++));
  return id;
}
let nextCheckId = 1;

/**
 * interpreter.ts `execute` with compiled code: same arguments, same result. `opts.onStep` cannot be honoured per
 * instruction, so a run with a step hook is the interpreter's.
 */
// Module-level copies of the interpreter's constants (an import binding can be a getter under some loaders).
const MAY_GOTO = MAY_GOTO_BUDGET;
/** r1 at an XDP entry (ctx) and r10 of the first call frame as int32 halves. */
const CTX_LO = lo(addrOf(REGION_CTX, 0));
const FP1_LO = lo(addrOf(REGION_STACK0, STACK_SIZE));
const FP1_HI = hi(addrOf(REGION_STACK0, STACK_SIZE));
const LIVE_ALL = ALL_REGS;
const LIVE_R10 = R10;

/**
 * The result of a run that exited, one per run state, refilled by each run: its callers (Machine.run, runRaw) read it
 * at once. r0 is read from the registers (a BigInt only when asked); r0lo is r0 mod 2^32 as a number.
 */
class ExitResult implements ExecResult {
  exitInsn = 0;
  steps = 0;
  tailCalls = 0;
  uninitStackRead: UninitRead | undefined = undefined;
  r0lo = 0;
  constructor(private readonly R: BigUint64Array, public exitProgram: ProgramImage) {}
  get r0(): bigint {
    return this.R[0];
  }
}

// One run state per Memory (Memory.engineState), reused by its runs (a nested run on the same Memory gets a fresh one).

function newState(mem: Memory, entry: ProgramImage, opts: ExecOptions, wasm: boolean): State {
  // With the WebAssembly tier the registers live in its linear memory (WASM_LAYOUT.R), where generated code spills them.
  const lin = wasm ? mem.attachWasm().buffer : undefined;
  const R = lin ? new BigUint64Array(lin, WASM_LAYOUT.R, 11) : new BigUint64Array(11);
  return {
    mem, R, R32: new Int32Array(R.buffer, R.byteOffset, 22), RF: new Float64Array(R.buffer, R.byteOffset, 11), frames: [], base: 1, left: 0, budget: 0, refunded: 0, iterMarks: undefined, tailCalls: 0, mayGoto: 0, mayGotoMark: -1, live: 0, checks: undefined,
    program: entry, pc: 0, done: false, slow: false, opts, busy: false, counting: false,
    call: { id: 0, regs: R, pc: 0, program: entry, tailCalls: 0, kfunc: false },
    exit: new ExitResult(R, entry),
    W32: lin ? new Int32Array(lin) : undefined, code: 0, wasmRuns: lin ? new Map() : undefined,
  };
}

// ---- The WebAssembly tier (wasm.ts). XDP_LENS_WASM=0: off; =1: every program image that has a WebAssembly form;
// otherwise (auto) images of at least WASM_MIN_INSNS instructions. Measured (ARCHITECTURE.md): on small programs the
// JavaScript form is as fast or up to 10-20% faster (map values and helpers are calls out of WebAssembly, inline in
// JavaScript), from a few hundred instructions on the tier is faster, 3-11x on the big real-world programs.
export type WasmMode = 'off' | 'auto' | 'all';
const WASM_MIN_INSNS = 300;
let wasmMode: WasmMode = typeof WebAssembly === 'undefined' ? 'off'
  : typeof process === 'undefined' ? 'auto'
  : process.env.XDP_LENS_WASM === '0' ? 'off' : process.env.XDP_LENS_WASM === '1' ? 'all' : 'auto';
/** Whether the compiled engine may use its WebAssembly tier (XDP_LENS_WASM=0 turns it off). */
export const wasmTier = (): boolean => wasmMode !== 'off';
/** The tier's mode now, or set it (tests and benchmarks; takes effect for states and programs not yet set up). */
export function wasmTierMode(mode?: WasmMode): WasmMode {
  if (mode !== undefined && typeof WebAssembly !== 'undefined') wasmMode = mode;
  return wasmMode;
}
const TH = WASM_LAYOUT.TH >> 2;
const LEFT = WASM_LAYOUT.LEFT >> 2;

interface WasmCompiled {
  module: WebAssembly.Module;
  size: number;
  compileMs: number;
}
const wasmCache = new WeakMap<Insn[], WasmCompiled | null>();

/** Entries into WebAssembly forms so far in this process, and modules made (tests check that the tier ran). */
export const wasmStats = { entries: 0, modules: 0, handovers: 0 };

/** The WebAssembly form of a program image, generated once per instruction array; undefined when it has none. */
export function compileWasm(p: ProgramImage): WasmCompiled | undefined {
  if (wasmMode === 'auto' && p.insns.length < WASM_MIN_INSNS) return undefined;
  let w = wasmCache.get(p.insns);
  if (w === undefined) {
    const t0 = performance.now();
    const infos = p.insns.map((i) => OPCODES[i.opcode]);
    const starts = blockSlots(p.insns, infos, leaders(p.insns, infos)).map((b) => b[0]!);
    const bytes = generateWasm(p.insns, starts, !p.insns.some((insn, pc) => writesR10(insn, infos[pc])));
    let module: WebAssembly.Module | undefined;
    try {
      // An engine limit (function size, br_table length) refuses a huge program: it stays JavaScript.
      module = bytes ? new WebAssembly.Module(bytes) : undefined;
    } catch {
      module = undefined;
    }
    w = bytes && module ? { module, size: bytes.length, compileMs: performance.now() - t0 } : null;
    if (w) wasmStats.modules++;
    wasmCache.set(p.insns, w);
  }
  return w ?? undefined;
}

/** A helper or kfunc called from WebAssembly on the spilled registers: 0 when it returned a value (in R[0]). */
function wasmHelper(S: State, pc: number, id: number, kfunc: boolean): number {
  const R32 = S.R32;
  if (!kfunc && FAST_IDS.has(id)) {
    const F = S.opts.fast;
    const f = F === undefined ? undefined : F.byId[id];
    if (F !== undefined && f !== undefined) {
      F.miss = false;
      const v = f(R32[3]!, R32[2]!, R32[5]!, R32[4]!, R32[7]!, R32[6]!, R32[9]!, R32[8]!, R32[11]!, R32[10]!);
      if (!F.miss) {
        R32[0] = v;
        R32[1] = F.h;
        return 0;
      }
    }
  }
  if (kfunc) S.left = S.W32![LEFT]!;
  const o = H.helper(S, pc, id, kfunc);
  if (typeof o === 'bigint') {
    S.R[0] = o;
    // A kfunc may have given instructions back (iterRefund); wasm.ts reloads its budget after a kfunc call.
    if (kfunc) S.W32![LEFT] = S.left;
    return 0;
  }
  S.left = S.W32![LEFT]!;
  S.code = H.outcome(S, pc, o);
  return 1;
}

/**
 * An atomic add/or/and/xor (fetch or not) of 4 or 8 bytes done in place on the spilled registers when the memory is
 * in a region's window, writable and (stack) written or the uninitialised read already recorded: what the JavaScript
 * form inlines under the same conditions (map values are not in linear memory). False: execAtomic does it all.
 */
function atomicInPlace(S: State, insn: Insn, size: number): boolean {
  const a = atomicOp(insn.imm);
  if (a === undefined || (size !== 4 && size !== 8) || !(a.op === 'add' || a.op === 'or' || a.op === 'and' || a.op === 'xor')) return false;
  const R32 = S.R32;
  const mem = S.mem;
  // Never on the packet: execAtomic refuses it (check_atomic; found by the refusal fuzzer with the tier forced on).
  if (R32[2 * insn.dst + 1] === REGION_PACKET) return false;
  const r = mem.live(R32[2 * insn.dst + 1]!);
  const o = ((R32[2 * insn.dst]! ^ -2147483648) + insn.off) | 0;
  if (r === undefined || !r.fast || o < r.lo || o > r.hi - size || r.writeFault !== undefined) return false;
  const iv = r.initView;
  if (iv !== undefined && mem.uninitRead === undefined && (iv.getUint32(o) !== 0x01010101 || (size === 8 && iv.getUint32(o + 4) !== 0x01010101))) return false;
  const v = r.view;
  const sl = R32[2 * insn.src]!;
  const sh = R32[2 * insn.src + 1]!;
  const ol = v.getInt32(o, true);
  const oh = size === 8 ? v.getInt32(o + 4, true) : 0;
  if (a.op === 'add') {
    const t = (ol >>> 0) + (sl >>> 0);
    v.setInt32(o, t | 0, true);
    if (size === 8) v.setInt32(o + 4, (oh + sh + (t > 4294967295 ? 1 : 0)) | 0, true);
  } else {
    const f = a.op === 'or' ? (x: number, y: number) => x | y : a.op === 'and' ? (x: number, y: number) => x & y : (x: number, y: number) => x ^ y;
    v.setInt32(o, f(ol, sl), true);
    if (size === 8) v.setInt32(o + 4, f(oh, sh), true);
  }
  if (iv !== undefined) {
    iv.setUint32(o, 0x01010101);
    if (size === 8) iv.setUint32(o + 4, 0x01010101);
    if (o < r.dirtyFrom) r.dirtyFrom = o;
  }
  if (a.fetch) {
    R32[2 * insn.src] = ol;
    R32[2 * insn.src + 1] = oh;
  }
  return true;
}

function wasmImports(S: State): Record<string, unknown> {
  const mem = S.mem;
  const W32 = S.W32!;
  return {
    m: mem.wasmMemory,
    ld1: (h: number, l: number, off: number, pc: number) => mem.ld1(h, l, off, pc),
    ld2: (h: number, l: number, off: number, pc: number) => mem.ld2(h, l, off, pc),
    ld4: (h: number, l: number, off: number, pc: number) => {
      const v = mem.ld4(h, l, off, pc);
      W32[TH] = mem.th;
      return v;
    },
    ld8: (h: number, l: number, off: number, pc: number) => {
      const v = mem.ld8(h, l, off, pc);
      W32[TH] = mem.th;
      return v;
    },
    ldsx: (h: number, l: number, off: number, size: number, pc: number) => mem.ldsx(h, l, off, size, pc),
    st1: (h: number, l: number, off: number, v: number, pc: number) => mem.st1(h, l, off, v, pc),
    st2: (h: number, l: number, off: number, v: number, pc: number) => mem.st2(h, l, off, v, pc),
    st4: (h: number, l: number, off: number, v: number, pc: number) => mem.st4(h, l, off, v, pc),
    st8: (h: number, l: number, off: number, vl: number, vh: number, pc: number) => mem.st8(h, l, off, vl, vh, pc),
    helper: (pc: number, id: number, kfunc: number) => wasmHelper(S, pc, id, kfunc === 1),
    mark: (pc: number) => {
      const f = S.opts.onMark;
      if (f !== undefined) f(S.program.name, pc);
    },
    atomic: (pc: number) => {
      const insn = S.program.insns[pc]!;
      const info = OPCODES[insn.opcode]!;
      if (!atomicInPlace(S, insn, info.size!)) execAtomic(insn, info, S.R, mem, pc);
    },
    mapValue: (index: number, offset: number, pc: number) => {
      const v = H.mapValue(S, index, offset, pc);
      W32[TH] = T.h;
      return v;
    },
  };
}

function wasmRunner(S: State, w: WasmCompiled): (pc: number) => number {
  let run = S.wasmRuns!.get(w.module);
  if (run === undefined) {
    const imports = (S.wasmImports ??= wasmImports(S));
    run = new WebAssembly.Instance(w.module, { e: imports as WebAssembly.ModuleImports }).exports.run as (pc: number) => number;
    S.wasmRuns!.set(w.module, run);
  }
  return run;
}

export function executeCompiled(entry: ProgramImage, mem: Memory, init: (r: BigUint64Array) => void, opts: ExecOptions): ExecResult {
  let S = mem.engineState as State | undefined;
  if (S === undefined || S.busy) {
    const fresh = newState(mem, entry, opts, wasmMode !== 'off' && S === undefined);
    if (S === undefined) mem.engineState = fresh;
    S = fresh;
  }
  const R = S.R;
  const R32 = S.R32;
  // r0-r9 zero (as 8-byte words: half the stores of int32 halves), r10 the first frame's pointer. An XDP entry into
  // the JavaScript form takes its registers from constants (generate's pc -1) and every path out of it that leaves
  // registers for anyone to read spills them all (or r0 at the exit): its zeros are written only before the
  // WebAssembly form, which reads them (below).
  const RF = S.RF;
  if (init !== initCtxRegister) RF[0] = RF[1] = RF[2] = RF[3] = RF[4] = RF[5] = RF[6] = RF[7] = RF[8] = RF[9] = 0;
  mem.framePointer(1);
  R32[20] = FP1_LO;
  R32[21] = FP1_HI;
  // The entry's register checks, asked once per entry and checks function (a Machine's answer never changes).
  let checks: RegisterChecks | undefined;
  if (S.checksFor === entry && S.checksFrom === opts.registerChecks) checks = S.entryChecks;
  else {
    checks = opts.registerChecks?.(entry);
    S.checksFor = entry;
    S.checksFrom = opts.registerChecks;
    S.entryChecks = checks;
  }
  if (S.frames.length !== 0) S.frames.length = 0;
  S.left = S.budget = opts.budget;
  S.refunded = 0;
  if (S.iterMarks !== undefined) S.iterMarks.clear();
  S.tailCalls = 0;
  S.base = 1;
  S.mayGoto = MAY_GOTO;
  S.mayGotoMark = -1;
  S.live = checks ? (1 << 1) | LIVE_R10 : LIVE_ALL;
  S.checks = checks;
  S.program = entry;
  S.pc = 0;
  S.done = S.slow = S.counting = false;
  S.opts = opts;
  S.busy = true;
  mem.program = entry;
  // An XDP entry's r1 (the ctx pointer) as halves: no BigInt store.
  if (init === initCtxRegister) {
    R32[2] = CTX_LO;
    R32[3] = REGION_CTX;
  } else init(R);
  return loopCompiled(S, entry, mem, opts, init === initCtxRegister, undefined, undefined);
}

/**
 * executeCompiled(entry, mem, initCtxRegister, opts) for the next packet of a batch (Machine.runBatch), the same run
 * and result: when the last run on this Memory left its state set up for this entry in the JavaScript form (the
 * program's compiled form and register checks (none) at hand, no WebAssembly form, no probe), only what a run
 * changes is written again and the generated function is called straight; anything else is executeCompiled.
 */
export function executeXdpPacket(entry: ProgramImage, mem: Memory, opts: ExecOptions): ExecResult {
  return xdpPacketReady(entry, mem, opts) ? executeXdpReady(entry, mem, opts) : executeCompiled(entry, mem, initCtxRegister, opts);
}

/**
 * Whether executeXdpPacket would call the generated function straight (the last run on this Memory left its state set
 * up for this entry in the JavaScript form). Once true, it stays true for the next packet of a batch after a run that
 * exited at the entry with no tail call (only executeCompiled, loopCompiled and a tail call change what it reads, and
 * the options are the Machine's own, fixed for the batch), so Machine.runBatch asks it until it holds and then calls
 * executeXdpReady straight.
 */
export function xdpPacketReady(entry: ProgramImage, mem: Memory, opts: ExecOptions): boolean {
  const S = mem.engineState as State | undefined;
  return !(S === undefined || S.busy || S.compiledFor !== entry || S.checksFor !== entry || S.entryChecks !== undefined || S.compiledChecks !== undefined ||
    S.checksFrom !== opts.registerChecks || opts.probe !== undefined || (S.W32 !== undefined && (S.wasmFor !== entry || S.wasmRun !== null)));
}

/** executeXdpPacket when xdpPacketReady holds. */
export function executeXdpReady(entry: ProgramImage, mem: Memory, opts: ExecOptions): ExecResult {
  const S = mem.engineState as State;
  const compiled = S.compiled!;
  const R32 = S.R32;
  mem.useFirstFrame();
  R32[20] = FP1_LO;
  R32[21] = FP1_HI;
  if (S.frames.length !== 0) S.frames.length = 0;
  S.left = S.budget = opts.budget;
  S.refunded = 0;
  if (S.iterMarks !== undefined) S.iterMarks.clear();
  S.tailCalls = 0;
  S.base = 1;
  S.mayGoto = MAY_GOTO;
  S.mayGotoMark = -1;
  S.live = LIVE_ALL;
  S.checks = undefined;
  S.program = entry;
  S.pc = 0;
  S.done = S.slow = S.counting = false;
  S.opts = opts;
  S.busy = true;
  mem.program = entry;
  R32[2] = CTX_LO;
  R32[3] = REGION_CTX;
  let thrown: unknown;
  try {
    compiled.fn(S, -1);
    if (S.done) return exitResult(S, mem);
  } catch (e) {
    thrown = e;
  }
  return loopCompiled(S, entry, mem, opts, false, compiled, thrown);
}

/** executeCompiled's result for a run that exited (the state's one ExitResult, refilled). */
function exitResult(S: State, mem: Memory): ExecResult {
  S.busy = false;
  const x = S.exit;
  x.exitInsn = S.pc;
  x.exitProgram = S.program;
  x.steps = S.budget - S.left + S.refunded;
  x.tailCalls = S.tailCalls;
  x.uninitStackRead = mem.uninitRead;
  x.r0lo = S.R32[0]! >>> 0;
  return x;
}

/**
 * executeCompiled's run after its entry was set up: the program forms in turn until the run exits or faults.
 * `fresh`: the first entry into the JavaScript form starts from the XDP entry's constants. `ran`/`thrown`: the
 * JavaScript form of the entry (`ran`) already ran once (executeXdpPacket) and returned, or threw `thrown`.
 */
function loopCompiled(S: State, entry: ProgramImage, mem: Memory, opts: ExecOptions, fresh: boolean, ran: CompiledProgram | undefined, thrown: unknown): ExecResult {
  const R = S.R;
  const RF = S.RF;
  let compiled: CompiledProgram | undefined = ran;
  let inWasm = false;
  let skip = ran !== undefined;
  try {
    if (thrown !== undefined) {
      if (thrown !== COUNT) throw thrown;
      S.counting = true;
    }
    for (;;) {
      if (skip) skip = false;
      else {
        if (opts.probe === undefined && S.program === entry && S.compiled !== undefined && S.compiledFor === entry && S.compiledChecks === S.checks) compiled = S.compiled;
        else {
          compiled = compileProgram(S.program, S.checks, opts.probe);
          if (S.program === entry && opts.probe === undefined) {
            S.compiled = compiled;
            S.compiledFor = entry;
            S.compiledChecks = S.checks;
          }
        }
        let js = true;
        const W32 = S.W32;
        // (Frames past WASM_FRAMES are not in the linear memory: a run that deep takes the JavaScript form.)
        if (W32 !== undefined && opts.probe === undefined && S.checks === undefined && S.frames.length < WASM_FRAMES) {
          // The WebAssembly form, where the program has one: it returns at an exit, a bpf-to-bpf call, a helper
          // outcome other than a value, or to hand over to the JavaScript form at a slot (a block it cannot pay).
          let run = S.wasmRun;
          if (S.wasmFor !== S.program) {
            const w = compileWasm(S.program);
            run = w === undefined ? null : wasmRunner(S, w);
            S.wasmFor = S.program;
            S.wasmRun = run;
          }
          if (run) {
            if (fresh) RF[0] = RF[2] = RF[3] = RF[4] = RF[5] = RF[6] = RF[7] = RF[8] = RF[9] = 0;
            fresh = false;
            W32[LEFT] = S.left;
            inWasm = true;
            wasmStats.entries++;
            const r = run(S.pc);
            inWasm = false;
            S.left = W32[LEFT]!;
            const at = r >>> 2;
            js = false;
            switch (r & 3) {
              case W_EXIT:
                if (S.frames.length === 0) {
                  S.pc = at;
                  S.done = true;
                } else H.exit(S, at);
                break;
              case W_CALL:
                H.callLocal(S, at, at + 1 + S.program.insns[at]!.imm, S.live);
                break;
              case W_OUTCOME:
                break;
              default:
                S.pc = at;
                js = true;
                wasmStats.handovers++;
            }
          }
        }
        if (js) {
          try {
            if (fresh) {
              fresh = false;
              compiled.fn(S, -1);
            } else compiled.fn(S, S.pc);
          } catch (e) {
            if (e !== COUNT) throw e;
            S.counting = true;
          }
        }
      }
      if (S.counting) {
        // The budget runs out in the block at S.pc: its counting form ends the run with the interpreter's fault.
        S.slow = true;
        compiled!.counting()(S, S.pc);
        throw new Error(`compiled engine: the counting form of block ${S.pc} returned`);
      }
      if (S.done) return exitResult(S, mem);
    }
  } catch (e) {
    S.busy = false;
    if (inWasm) S.left = S.W32![LEFT]!;
    if (!(e instanceof VmFault)) throw e;
    // A fault in the middle of a block: the block counted all its instructions on entry, the interpreter only those
    // up to and including the faulting one.
    if (!S.slow && compiled) S.left += compiled.after[e.insn] ?? 0;
    return {
      r0: R[0], exitInsn: -1, exitProgram: S.program, steps: S.budget - S.left + S.refunded, tailCalls: S.tailCalls, uninitStackRead: mem.uninitRead,
      fault: { kind: e.kind, message: e.message, insn: e.insn, program: S.program },
    };
  }
}
