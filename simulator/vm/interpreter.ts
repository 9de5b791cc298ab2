// The reference interpreter: executes validated, slot-indexed instructions with exact 64-bit semantics
// (RFC 9669 §4-5 as the kernel implements them in kernel/bpf/core.c ___bpf_prog_run, including the results the
// verifier's do_misc_fixups patches in for register divisors: x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0).
//
// Registers are a BigUint64Array, so every write wraps to 64 bits by construction; 32-bit ALU results go through u32()
// and comparisons through the named width conversions. The loop checks only what validation cannot: memory bounds
// (in memory.ts), the instruction budget, call depth. Helpers are not known here: the caller passes a dispatch
// function, which may ask for a tail call, a bpf_loop callback, or an early stop (uBPF's unwind helper).
import type { Insn, SourceLoc } from '../isa/insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX,
  PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, atomicOp, type AluVariant, type OpcodeInfo,
} from '../isa/opcodes.ts';
import { bswap, immToU32, immToU64, s16, s32, s64, s8, u16, u32 } from '../isa/width.ts';
import { ISA_ONLY, alu32, alu64, refusedWhenReached } from '../isa/alu.ts';
import { MAX_CALL_FRAMES, Memory, REGION_CTX, REGION_FUNC, REGION_MAP_HANDLE, REGION_PACKET, VmFault, addrOf, regionOf, type UninitRead } from './memory.ts';
import type { RegisterChecks } from '../isa/validate.ts';
import type { FaultKind } from './types.ts';

/** What the interpreter runs: a linked program (entry function plus its subprograms). */
export interface ProgramImage {
  name: string;
  insns: Insn[];
  lines?: (SourceLoc | undefined)[];
  /** Kernel functions by the index a kfunc call carries (LoadedProgram.kfuncs). */
  kfuncs?: readonly { name: string; missing?: boolean }[];
}

/** What a helper call may ask the interpreter to do instead of returning a value. */
export type HelperOutcome =
  | bigint
  | { tailCall: ProgramImage }
  | { loop: { fnPc: number; count: number; ctxArg: bigint; args?: (index: number) => bigint[]; then?: CallbackThen } }
  | { stop: bigint };

/**
 * A callback the kfunc steers by its results (bpf_rbtree_add's `less`): given what invocation `index` returned, the
 * r1-r4 of the next invocation, or the kfunc's own result (a bigint) to end the call with.
 */
export type CallbackThen = (r0: bigint, index: number) => bigint[] | bigint;

export interface HelperCall {
  id: number;
  /** r1..r5 (and r0 etc.): read-only view of the registers at the call. */
  regs: BigUint64Array;
  pc: number;
  program: ProgramImage;
  /** Tail calls taken so far in this run. */
  tailCalls: number;
  /** A kfunc call (src_reg 2): `id` indexes program.kfuncs instead of naming a helper. */
  kfunc?: boolean;
}

/** Slots to watch for (ExecOptions.probe); `key` names the set (the compiled variant is cached by it). */
export interface Probe {
  key: string;
  slots: ReadonlyMap<string, ReadonlySet<number>>;
  reached: boolean;
}

export interface ExecOptions {
  budget: number;
  callHelper(call: HelperCall): HelperOutcome;
  /** Address for lddw src 2/6 (global data / map value + offset). */
  mapValueAddress?(mapIndex: number, offset: number, pc: number): bigint;
  /**
   * Called before each instruction. The extra arguments are the live state (registers, the call frames below the
   * current one, the memory) for a debugger to read; they are references, valid only during the call. A hook may
   * throw an error of its own (not a VmFault) to stop the run where it is (the debugger's pause).
   */
  onStep?(program: string, pc: number, regs: BigUint64Array, frames: readonly Frame[], mem: Memory): void;
  /**
   * Called at each `ja +0` (a no-op jump: the marker return-lines.ts places before every returned value) as it
   * executes, by either engine; costs nothing elsewhere.
   */
  onMark?(program: string, pc: number): void;
  /**
   * The compiled engine only (the interpreter ignores it): set `reached` when execution reaches one of these slots
   * (program name -> slots). The debugger's cheap breakpoint probe; runs without it compile and run as before.
   */
  probe?: Probe;
  /**
   * Register reads to check as the program runs (validate.ts registerChecks), per program; undefined when none of
   * its reads can find a register unwritten, and then the loop checks nothing.
   */
  registerChecks?(program: ProgramImage): RegisterChecks | undefined;
  /** The compiled engine only: helpers it may call on int32 halves before callHelper (see FastHelpers). */
  fast?: FastHelpers;
}

/**
 * Helpers the compiled engine calls with the argument registers as int32 halves (r1..r5 as h1, l1, ..., h5, l5): no
 * BigInt, no HelperCall. One returns the low half of r0 and sets `h` to its high half; or, for anything but the
 * plain case (a fault, an uninitialised read to record, a map type it does not handle), it sets `miss` having changed
 * nothing, and the call goes through callHelper as before. So results are callHelper's by construction.
 */
export interface FastHelpers {
  h: number;
  miss: boolean;
  /** By helper id. */
  byId: readonly (FastHelper | undefined)[];
  /** lddw of a map value (ExecOptions.mapValueAddress), the same way. */
  mapValue?(mapIndex: number, offset: number): number;
}
export type FastHelper = (h1: number, l1: number, h2: number, l2: number, h3: number, l3: number, h4: number, l4: number, h5: number, l5: number) => number;

export interface ExecFault {
  kind: FaultKind;
  message: string;
  insn: number;
  program: ProgramImage;
}

export interface ExecResult {
  r0: bigint;
  exitInsn: number;
  exitProgram: ProgramImage;
  steps: number;
  tailCalls: number;
  fault?: ExecFault;
  /** The first read of stack bytes never written in this run (the value read is undefined in the kernel). */
  uninitStackRead?: UninitRead;
  /** r0 mod 2^32, when the engine has it as a number (the compiled engine's exits): saves a BigInt per run. */
  r0lo?: number;
}

/** Per-slot decoded facts, computed once per program image. */
interface Prepared {
  infos: (OpcodeInfo | undefined)[];
  variants: (AluVariant | undefined)[];
  /** ALU slots the verifier refuses when a path reaches them (isa/alu.ts refusedWhenReached), with why. */
  refused: (string | undefined)[];
}
const prepared = new WeakMap<Insn[], Prepared>();
function prepare(insns: Insn[]): Prepared {
  let p = prepared.get(insns);
  if (!p) {
    const infos = insns.map((i) => OPCODES[i.opcode]);
    const variants = insns.map((i, pc) => (infos[pc]?.kind === 'alu' ? aluVariant(infos[pc]!, i.off) : undefined));
    const isaOnly = ISA_ONLY.has(insns);
    const refused = insns.map((i, pc) => {
      if (isaOnly) return undefined;
      const info = infos[pc];
      const op = variants[pc];
      return info && op ? refusedWhenReached(op, !!info.srcReg, info.width, i.imm) : undefined;
    });
    p = { infos, variants, refused };
    prepared.set(insns, p);
  }
  return p;
}

export interface Frame {
  program: ProgramImage;
  returnPc: number;
  saved: bigint[]; // r6..r9
  /** The caller's initialised-register mask (register checks). */
  init: number;
  /**
   * The caller's program's first frame (1-based depth): 1, or the frame a tail call started it in. A program may
   * hold MAX_CALL_FRAMES frames from there (the verifier's limit is per program; a tail call from a subprogram keeps
   * the frames below it).
   */
  base: number;
  /** bpf_loop (r1 = index, r2 = ctx) or, with `args`, a callback given r1-r4 by `args(index)` (bpf_for_each_map_elem). */
  loop?: { fnPc: number; count: number; ctxArg: bigint; index: number; args?: (index: number) => bigint[]; then?: CallbackThen; mark?: number };
}

/**
 * Instructions run inside bpf_loop / bpf_for_each_map_elem callbacks are given back to the budget when each invocation
 * returns (the kernel verifies the callback once and bpf_loop may call it 8M times, so a program the kernel loads can
 * run far more than the budget's instructions in callbacks), up to this many per run; each invocation itself still
 * runs within what is left of the budget, so an endless loop inside a callback stops as anywhere else.
 */
export const CALLBACK_REFUND_LIMIT = 100_000_000;

/**
 * Open-coded numeric iterators (bpf_for / bpf_repeat): the kernel runs bpf_iter_num_next up to 8M times per iterator
 * with no instruction count at run time, so each bpf_iter_num_next call gives back the instructions run since the
 * previous call on the same iterator (or its bpf_iter_num_new), within the callbacks' CALLBACK_REFUND_LIMIT. A loop
 * that never calls bpf_iter_num_next still runs out of the budget. `marks` maps an iterator's address to the budget
 * consumed at its last call; returns the steps to give back at this call (`consumed` counts the call itself).
 */
export function iterRefund(marks: Map<bigint, number>, name: string | undefined, it: bigint, consumed: number, refunded: number): number {
  if (name === 'bpf_iter_num_new') marks.set(it, consumed);
  else if (name === 'bpf_iter_num_destroy') marks.delete(it);
  if (name !== 'bpf_iter_num_next') return 0;
  const mark = marks.get(it);
  if (mark === undefined) return 0;
  let spent = consumed - mark;
  if (spent < 0 || refunded + spent > CALLBACK_REFUND_LIMIT) spent = 0;
  marks.set(it, consumed - spent);
  return spent;
}

/** may_goto's per-run allowance (kernel BPF_MAX_LOOPS). */
export const MAY_GOTO_BUDGET = 8 * 1024 * 1024;

/**
 * may_goto bounds a loop the verifier walks once (cond_break, can_loop), and the kernel counts no instructions at run
 * time (6.18 on x86-64: the loop runs until its allowance or a quarter second is spent), so a program it loads may run
 * far more than the budget's instructions in such a loop. As for callbacks and open-coded iterators, each may_goto gives
 * back the instructions run since the previous one in this run (none before the first; `mark` < 0), within
 * CALLBACK_REFUND_LIMIT; `consumed` counts the may_goto itself. Returns the steps to give back.
 */
export function mayGotoRefund(consumed: number, mark: number, refunded: number): number {
  if (mark < 0) return 0;
  const spent = consumed - mark;
  return spent > 0 && refunded + spent <= CALLBACK_REFUND_LIMIT ? spent : 0;
}

export const ALL_REGS = 0x7ff;
export const ARG_REGS = 0b111110;
export const R10 = 1 << 10;

/** A bpf_loop / bpf_for_each_map_elem callback returned other than 0 or 1: the verifier refuses the program. */
export function callbackReturn(r0: bigint, pc: number): VmFault {
  return new VmFault('invalid-insn', `At callback return the register R0 has value ${BigInt.asIntN(64, r0)} should have been in [0, 1]: the verifier refuses the program`, pc);
}

/**
 * A call that would give the running program `frames` call frames, more than the verifier's MAX_CALL_FRAMES (counted
 * from its entry, or from the frame a tail call started it in).
 */
export function callDepth(frames: number, pc: number): VmFault {
  return new VmFault('call-depth', `the call stack of ${frames} frames is too deep (at most ${MAX_CALL_FRAMES})`, pc);
}

/** A read of a register no path to here has written: the kernel's `R%d !read_ok`, which refuses the program. */
export function uninitRegister(missing: number, pc: number, exit: boolean): VmFault {
  const r = Math.log2(missing & -missing);
  const what = exit
    ? `the program exits without having set r${r} on this packet's path`
    : `r${r} is read before anything wrote it on this packet's path`;
  return new VmFault('uninit-register', `R${r} !read_ok: ${what}; the kernel verifier refuses such a program`, pc);
}

function compare(op: string, a: bigint, b: bigint, width: 32 | 64): boolean {
  if (width === 32) {
    a = u32(a);
    b = u32(b);
  }
  const sa = () => (width === 32 ? s32(a) : s64(a));
  const sb = () => (width === 32 ? s32(b) : s64(b));
  switch (op) {
    case 'jeq': return a === b;
    case 'jne': return a !== b;
    case 'jgt': return a > b;
    case 'jge': return a >= b;
    case 'jlt': return a < b;
    case 'jle': return a <= b;
    case 'jset': return (a & b) !== 0n;
    case 'jsgt': return sa() > sb();
    case 'jsge': return sa() >= sb();
    case 'jslt': return sa() < sb();
    case 'jsle': return sa() <= sb();
    default: return false;
  }
}

/**
 * Run `entry` from slot 0 with the registers `init` sets up. The caller has reset `mem` and validated the program.
 * Never throws for program errors: faults come back in the result.
 */
export function execute(entry: ProgramImage, mem: Memory, init: (r: BigUint64Array) => void, opts: ExecOptions): ExecResult {
  const r = new BigUint64Array(11);
  let program = entry;
  let { infos, variants, refused } = prepare(program.insns);
  let insns = program.insns;
  let pc = 0;
  let steps = 0;
  // Steps given back to the budget at the end of callback invocations (CALLBACK_REFUND_LIMIT); `steps` stays the count run.
  let refunded = 0;
  // Open-coded iterators' last calls (iterRefund), made at the first bpf_iter_num_* call.
  let iterMarks: Map<bigint, number> | undefined;
  let tailCalls = 0;
  let mayGoto = MAY_GOTO_BUDGET;
  // Budget consumed at the last may_goto (mayGotoRefund); -1 before the first.
  let mayGotoMark = -1;
  const frames: Frame[] = [];
  // The running program's first frame (Frame.base).
  let base = 1;
  const budget = opts.budget;
  const onStep = opts.onStep;
  // Register checks: `checks` is the current program's (undefined: nothing to check), `live` the registers written.
  let checks = opts.registerChecks?.(program);
  let live = checks ? (1 << 1) | R10 : ALL_REGS;

  r[10] = mem.framePointer(1);
  mem.program = program;
  init(r);

  const enterFunction = (fnPc: number) => {
    const depth = frames.length + 1;
    if (depth - base >= MAX_CALL_FRAMES) throw callDepth(depth - base + 1, pc);
    mem.clearFrame(depth);
    r[10] = mem.framePointer(depth);
    pc = fnPc;
  };
  const switchProgram = (p: ProgramImage) => {
    program = p;
    insns = p.insns;
    ({ infos, variants, refused } = prepare(insns));
    mem.program = p;
    checks = opts.registerChecks?.(p);
    if (!checks) live = ALL_REGS;
  };

  try {
    for (;;) {
      if (steps - refunded >= budget) throw new VmFault('budget-exhausted', `the instruction budget of ${budget} ran out (a loop that does not end?)`, pc);
      steps++;
      if (onStep) onStep(program.name, pc, r, frames, mem);
      const insn = insns[pc];
      const info = infos[pc];
      if (!info) throw new VmFault('invalid-insn', `unknown opcode 0x${insn?.opcode.toString(16)}`, pc);
      if (checks !== undefined) {
        const missing = checks.reads[pc] & ~live;
        if (missing) throw uninitRegister(missing, pc, info.kind === 'exit');
        live = (live & ~checks.clears[pc]) | checks.writes[pc];
      }
      switch (info.kind) {
        case 'alu': {
          const b = info.srcReg ? r[insn.src] : info.width === 64 ? immToU64(insn.imm) : immToU32(insn.imm);
          const op = variants[pc]!;
          if (refused[pc] !== undefined) throw new VmFault('invalid-insn', refused[pc]!, pc);
          r[insn.dst] = info.width === 64 ? alu64(op, r[insn.dst], b, insn.off) : alu32(op, r[insn.dst], b, insn.off);
          pc++;
          break;
        }
        case 'end': {
          const a = r[insn.dst];
          const bits = insn.imm as 16 | 32 | 64;
          r[insn.dst] = info.end === 'le' ? (bits === 16 ? u16(a) : bits === 32 ? u32(a) : a) : bswap(a, bits);
          pc++;
          break;
        }
        case 'jump': {
          const b = info.srcReg ? r[insn.src] : info.width === 64 ? immToU64(insn.imm) : immToU32(insn.imm);
          pc += compare(info.jmp!, r[insn.dst], b, info.width!) ? 1 + insn.off : 1;
          break;
        }
        case 'ja':
          if (insn.off === 0 && opts.onMark && info.cls !== 'jmp32') opts.onMark(program.name, pc);
          pc += 1 + (info.cls === 'jmp32' ? insn.imm : insn.off);
          break;
        case 'jcond': {
          // may_goto: fall through while the allowance lasts, then take the jump (kernel BPF_JCOND handling); the
          // instructions since the previous may_goto go back to the budget (mayGotoRefund).
          refunded += mayGotoRefund(steps - refunded, mayGotoMark, refunded);
          mayGotoMark = steps - refunded;
          pc += --mayGoto <= 0 ? 1 + insn.off : 1;
          break;
        }
        case 'lddw': {
          switch (insn.src) {
            case PSEUDO_IMM64:
              r[insn.dst] = (BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0);
              break;
            case PSEUDO_MAP_FD:
            case PSEUDO_MAP_IDX:
              r[insn.dst] = addrOf(REGION_MAP_HANDLE, insn.imm);
              break;
            case PSEUDO_MAP_VALUE:
            case PSEUDO_MAP_IDX_VALUE:
              if (!opts.mapValueAddress) throw new VmFault('unsupported', 'lddw of a map value: no maps in this run', pc);
              r[insn.dst] = opts.mapValueAddress(insn.imm, insn.nextImm ?? 0, pc);
              break;
            case PSEUDO_FUNC:
              r[insn.dst] = addrOf(REGION_FUNC, pc + 1 + insn.imm);
              break;
            default:
              throw new VmFault('unsupported', insn.src === 3
                ? 'lddw of a kernel variable (BPF_PSEUDO_BTF_ID, a __ksym) is not supported by the simulator'
                : `lddw with src ${insn.src} is not supported`, pc);
          }
          pc += 2;
          break;
        }
        case 'ldx':
          r[insn.dst] = mem.load(r[insn.src] + BigInt(insn.off), info.size!, pc);
          pc++;
          break;
        case 'ldxsx': {
          const v = mem.load(r[insn.src] + BigInt(insn.off), info.size!, pc, true);
          r[insn.dst] = info.size === 1 ? s8(v) : info.size === 2 ? s16(v) : s32(v);
          pc++;
          break;
        }
        case 'st':
          mem.store(r[insn.dst] + BigInt(insn.off), info.size!, immToU64(insn.imm), pc);
          pc++;
          break;
        case 'stx':
          mem.store(r[insn.dst] + BigInt(insn.off), info.size!, r[insn.src], pc);
          pc++;
          break;
        case 'atomic':
          execAtomic(insn, info, r, mem, pc);
          pc++;
          break;
        case 'call': {
          if (insn.src === CALL_LOCAL) {
            frames.push({ program, returnPc: pc + 1, saved: [r[6], r[7], r[8], r[9]], init: live, base });
            // The callee gets the caller's r1-r5 as they are, written or not (the kernel copies their state).
            if (checks) live = (live & ARG_REGS) | R10;
            enterFunction(pc + 1 + insn.imm);
            break;
          }
          if (insn.src !== CALL_HELPER && insn.src !== CALL_KFUNC) throw new VmFault('invalid-insn', `call with src ${insn.src}`, pc);
          const iterArg = r[1];
          const outcome = opts.callHelper({ id: insn.imm, regs: r, pc, program, tailCalls, ...(insn.src === CALL_KFUNC ? { kfunc: true } : {}) });
          if (insn.src === CALL_KFUNC && typeof outcome === 'bigint') {
            const name = program.kfuncs?.[insn.imm]?.name;
            if (name?.startsWith('bpf_iter_num_')) refunded += iterRefund(iterMarks ??= new Map(), name, iterArg, steps - refunded, refunded);
          }
          if (typeof outcome === 'bigint') {
            r[0] = outcome;
            // The verifier makes r1-r5 unreadable after a helper call (caller-saved); zero them so a stale value
            // can never be mistaken for a result.
            r[1] = r[2] = r[3] = r[4] = r[5] = 0n;
            pc++;
          } else if ('tailCall' in outcome) {
            // bpf_tail_call: the callee replaces the current function (same frame, same stack), starting at slot 0
            // with r1 = ctx (kernel bpf_tail_call / emit_bpf_tail_call_indirect). Made from a subprogram, the frames
            // below stay and the next program's own frames count from this one; its exit returns to their caller.
            tailCalls++;
            base = frames.length + 1;
            switchProgram(outcome.tailCall);
            for (let i = 0; i < 10; i++) r[i] = 0n;
            r[1] = addrOf(REGION_CTX, 0);
            if (checks) live = (1 << 1) | R10;
            // The next program starts with a stack it has not written (its own verifier state starts empty).
            mem.forgetFrame(frames.length + 1, false);
            pc = 0;
          } else if ('loop' in outcome) {
            const { fnPc, count, ctxArg, args, then } = outcome.loop;
            frames.push({ program, returnPc: pc + 1, saved: [r[6], r[7], r[8], r[9]], init: live, base, loop: { fnPc, count, ctxArg, index: 0, args, then, mark: steps - refunded } });
            r[1] = 0n;
            r[2] = ctxArg;
            r[3] = r[4] = r[5] = 0n;
            if (checks) live = 0b110 | R10;
            if (args) {
              [r[1], r[2], r[3], r[4]] = args(0);
              if (checks) live = 0b11110 | R10;
            }
            enterFunction(fnPc);
          } else {
            r[0] = outcome.stop;
            return { r0: r[0], exitInsn: pc, exitProgram: program, steps, tailCalls, uninitStackRead: mem.uninitRead };
          }
          break;
        }
        case 'exit': {
          const frame = frames.pop();
          if (!frame) return { r0: r[0], exitInsn: pc, exitProgram: program, steps, tailCalls, uninitStackRead: mem.uninitRead };
          [r[6], r[7], r[8], r[9]] = frame.saved;
          base = frame.base;
          // r0 goes back as the callee left it, written or not; r1-r5 are the caller's no more; r6-r9 as they were.
          live = (frame.init & ~(ARG_REGS | 1)) | (live & 1);
          const loop = frame.loop;
          if (loop) {
            // check_return_code: a bpf_loop / bpf_for_each_map_elem callback returns 0 or 1; a value outside proves
            // the verifier's range for r0 was wider (measured: `return 2;` is refused).
            if (r[0] > 1n) throw callbackReturn(r[0], pc);
            const spent = steps - refunded - loop.mark!;
            if (refunded + spent <= CALLBACK_REFUND_LIMIT) refunded += spent;
            // bpf_loop (kernel/bpf/bpf_iter.c): stop when the callback returns non-zero, returning the number of
            // callback invocations; otherwise run it again with the next index.
            loop.index++;
            const next = loop.then?.(r[0], loop.index - 1);
            if (typeof next === 'object') {
              frames.push(frame);
              [r[1], r[2], r[3], r[4]] = next;
              r[5] = 0n;
              if (checks) live = 0b11110 | R10;
              mem.clearFrame(frames.length + 1);
              r[10] = mem.framePointer(frames.length + 1);
              pc = loop.fnPc;
              break;
            }
            if (next === undefined && r[0] === 0n && loop.index < loop.count) {
              frames.push(frame);
              r[1] = BigInt(loop.index);
              r[2] = loop.ctxArg;
              r[3] = r[4] = r[5] = 0n;
              if (checks) live = 0b110 | R10;
              if (loop.args) {
                [r[1], r[2], r[3], r[4]] = loop.args(loop.index);
                if (checks) live = 0b11110 | R10;
              }
              mem.clearFrame(frames.length + 1);
              r[10] = mem.framePointer(frames.length + 1);
              pc = loop.fnPc;
              break;
            }
            r[0] = next ?? BigInt(loop.index);
            r[1] = r[2] = r[3] = r[4] = r[5] = 0n;
            live |= 1;
          }
          mem.forgetFrame(frames.length + 2, true);
          if (frame.program !== program) switchProgram(frame.program);
          r[10] = mem.framePointer(frames.length + 1);
          pc = frame.returnPc;
          break;
        }
        case 'ld-abs':
        case 'ld-ind':
          throw new VmFault('unsupported', 'legacy BPF_LD_ABS/BPF_LD_IND packet loads are not supported (not allowed in XDP)', pc);
      }
    }
  } catch (e) {
    if (!(e instanceof VmFault)) throw e;
    return {
      r0: r[0], exitInsn: -1, exitProgram: program, steps, tailCalls, uninitStackRead: mem.uninitRead,
      fault: { kind: e.kind, message: e.message, insn: e.insn, program },
    };
  }
}

export function execAtomic(insn: Insn, info: OpcodeInfo, r: BigUint64Array, mem: Memory, pc: number): void {
  const a = atomicOp(insn.imm);
  if (!a) throw new VmFault('invalid-insn', `invalid atomic operation imm=0x${(insn.imm >>> 0).toString(16)}`, pc);
  const size = info.size!;
  if (a.op === 'load_acq') {
    // check_atomic_load: not through a ctx or packet pointer (measured on 6.18: "BPF_ATOMIC loads from R2 pkt is not
    // allowed", "... R1 ctx ...").
    const from = r[insn.src] + BigInt(insn.off);
    const reg = regionOf(from);
    if (reg === REGION_PACKET || reg === REGION_CTX) {
      throw new VmFault('invalid-insn', `BPF_ATOMIC loads from R${insn.src} ${reg === REGION_PACKET ? 'pkt' : 'ctx'} is not allowed: the verifier refuses the program`, pc);
    }
    r[insn.dst] = mem.load(from, size, pc);
    return;
  }
  const addr = r[insn.dst] + BigInt(insn.off);
  if (a.op === 'store_rel') {
    const reg = regionOf(addr);
    if (reg === REGION_PACKET || reg === REGION_CTX) {
      throw new VmFault('invalid-insn', `BPF_ATOMIC stores into R${insn.dst} ${reg === REGION_PACKET ? 'pkt' : 'ctx'} is not allowed: the verifier refuses the program`, pc);
    }
    mem.store(addr, size, r[insn.src], pc);
    return;
  }
  // check_atomic: read-modify-write atomics only on the stack and map values (and other plain memory), never on the
  // packet (nor ctx, which faults ctx-write below).
  if (regionOf(addr) === REGION_PACKET) throw new VmFault('invalid-insn', `BPF_ATOMIC stores into packet memory are not allowed: the verifier refuses the program`, pc);
  mem.resolve(addr, size, true, pc, 'atomic');
  const old = mem.load(addr, size, pc);
  const val = size === 4 ? u32(r[insn.src]) : r[insn.src];
  let next: bigint;
  switch (a.op) {
    case 'add': next = old + val; break;
    case 'or': next = old | val; break;
    case 'and': next = old & val; break;
    case 'xor': next = old ^ val; break;
    case 'xchg': next = val; break;
    case 'cmpxchg': {
      // Compare with r0 (low 32 bits for the W form); r0 always receives the old value, zero-extended.
      const expected = size === 4 ? u32(r[0]) : r[0];
      next = old === expected ? val : old;
      r[0] = old;
      mem.store(addr, size, next, pc);
      return;
    }
  }
  mem.store(addr, size, next, pc);
  if (a.fetch) r[insn.src] = old;
}

// ---------------------------------------------------------------------------------------------------------------
// Conformance mode: a bare program over one block of memory, as bpf_conformance and uBPF's test runner execute it.

/**
 * The helpers the uBPF / bpf_conformance test data call (uBPF ubpf_plugin/test_helpers.h): 0 gather_bytes,
 * 1 memfrob, 2 no_op, 3 sqrti, 4 strcmp_ext, 5 unwind (returning 0 ends the program with r0 = 0).
 */
export const CONFORMANCE_HELPERS: ReadonlyMap<number, string> = new Map([
  [0, 'gather_bytes'], [1, 'memfrob'], [2, 'no_op'], [3, 'sqrti'], [4, 'strcmp_ext'], [5, 'unwind'],
]);

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

function conformanceHelper(mem: Memory, call: HelperCall): HelperOutcome {
  if (call.kfunc) throw new VmFault('unsupported', `kfunc call ${call.id}: a bare program has no kfuncs`, call.pc);
  const [a, b] = [call.regs[1], call.regs[2]];
  switch (call.id) {
    case 0: {
      const r = call.regs;
      return ((r[1] & 0xffn) << 32n) | ((r[2] & 0xffn) << 24n) | ((r[3] & 0xffn) << 16n) | ((r[4] & 0xffn) << 8n) | (r[5] & 0xffn);
    }
    case 1: {
      const bytes = mem.bytes(a, Number(b), true, call.pc, 'memfrob buffer');
      for (let i = 0; i < bytes.length; i++) bytes[i] ^= 42;
      return 0n;
    }
    case 2: return 0n;
    case 3: return isqrt(a);
    case 4: {
      const x = mem.readString(a);
      const y = mem.readString(b);
      if (x === undefined || y === undefined) throw new VmFault('helper-misuse', 'strcmp_ext: argument is not a readable string', call.pc);
      return x === y ? 0n : BigInt.asUintN(64, x < y ? -1n : 1n);
    }
    case 5: return a === 0n ? { stop: 0n } : a;
    default: throw new VmFault('unsupported-helper', `helper ${call.id} is not a conformance helper`, call.pc);
  }
}

export interface RawResult {
  retval: bigint;
  fault?: { kind: FaultKind; message: string; insn: number; program: string };
}

/**
 * Run a bare program the way the conformance suites do: r1 = pointer to a copy-free view of `mem` (0 when `mem` is
 * empty, as uBPF passes NULL), r2 = its length, r10 = top of a 512-byte stack. The program is validated first (with
 * the conformance helper ids, uBPF's 65536-slot limit off by default); a validation error comes back as an
 * 'invalid-insn' fault naming the slot.
 */
export function runRaw(
  insns: Insn[],
  memBytes: Uint8Array,
  opts: { budget?: number; validate?: (insns: Insn[]) => { insn: number; message: string }[]; memory?: Memory; engine?: typeof execute } = {},
): RawResult {
  const errors = opts.validate?.(insns) ?? [];
  if (errors.length) return { retval: 0n, fault: { kind: 'invalid-insn', message: errors[0].message, insn: errors[0].insn, program: 'raw' } };
  // The ISA alone: no kernel loads these, so no verifier policy (ISA_ONLY).
  ISA_ONLY.add(insns);
  const mem = opts.memory ?? new Memory();
  mem.reset(undefined);
  const base = memBytes.length ? mem.scratch(memBytes, 'input memory') : 0n;
  const res = (opts.engine ?? execute)(
    { name: 'raw', insns },
    mem,
    (r) => {
      r[1] = base;
      r[2] = BigInt(memBytes.length);
    },
    { budget: opts.budget ?? 1_000_000, callHelper: (call) => conformanceHelper(mem, call) },
  );
  if (res.fault) return { retval: res.r0, fault: { kind: res.fault.kind, message: res.fault.message, insn: res.fault.insn, program: 'raw' } };
  return { retval: res.r0 };
}
