// Load-time validation: everything about a program that can be judged without running it, checked once so that the
// interpreter's loop only has to check memory bounds and the instruction budget. Modelled on uBPF's validate() and on
// the structural part of the kernel verifier (kernel/bpf/verifier.c: check_subprogs, check_cfg, resolve_pseudo_ldimm64,
// do_check's reserved-field checks). Messages reuse the kernel's wording where the kernel has one, and every error
// names the slot index.
//
// This is not the verifier: no value tracking, no pointer provenance. The one flow analysis done here is "must be
// initialised" for registers (the kernel's `R%d !read_ok`), which is cheap and catches reads of R0 after a tail call
// or of R1-R5 after a helper call.
import type { Insn } from './insn.ts';
import { isKernelHelper } from './helper-names.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, PSEUDO_BTF_ID, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX,
  PSEUDO_MAP_IDX_VALUE, PSEUDO_MAP_VALUE, aluVariant, atomicOp, opcodeInfo, type OpcodeInfo,
} from './opcodes.ts';

export interface ValidationError {
  /** Slot index of the offending instruction. */
  insn: number;
  /** Starts with `insn N: `. */
  message: string;
}

export interface ValidateOptions {
  /** Which `call imm` helper ids exist. Default: kernel helper ids 1..211. */
  isHelperKnown?: (id: number) => boolean;
  /** Number of maps an lddw map pseudo-source may name. Default: unlimited (not checked). */
  mapCount?: number;
  /** Program size limit. Default 1,000,000 (BPF_COMPLEXITY_LIMIT_INSNS for privileged loads). */
  maxInsns?: number;
  /** Legacy LD ABS/IND are only valid for socket filters; XDP rejects them. Default false. */
  allowLegacyPacketLoads?: boolean;
  /** Registers initialised at entry of the main function. Default [1, 10] (XDP: r1 = ctx, r10 = frame pointer). */
  entryRegs?: number[];
  /** Run the "must be initialised" register analysis. Default true. */
  checkUninitialized?: boolean;
}

/** Functions of a program: the entry plus every target of a local call or a function-address lddw, sorted. */
export function subprogramStarts(insns: readonly Insn[]): number[] {
  const starts = new Set<number>([0]);
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode);
    if (info?.kind === 'call' && insn.src === CALL_LOCAL) starts.add(pc + 1 + insn.imm);
    if (info?.kind === 'lddw') {
      if (insn.src === PSEUDO_FUNC) starts.add(pc + 1 + insn.imm);
      pc++;
    }
  }
  return [...starts].filter((s) => s >= 0 && s < insns.length).sort((a, b) => a - b);
}

/** Slots that are the second half of an lddw (never executed, never a jump target). */
export function fillerSlots(insns: readonly Insn[]): Uint8Array {
  const filler = new Uint8Array(insns.length);
  for (let pc = 0; pc < insns.length; pc++) {
    if (opcodeInfo(insns[pc].opcode)?.kind === 'lddw') {
      if (pc + 1 < insns.length) filler[pc + 1] = 1;
      pc++;
    }
  }
  return filler;
}

/** Where control may go after `pc` (excluding the callee of a call). Exit has no successors. */
export function successors(insns: readonly Insn[], pc: number): number[] {
  const insn = insns[pc];
  const info = opcodeInfo(insn.opcode);
  if (!info) return [];
  switch (info.kind) {
    case 'exit': return [];
    case 'lddw': return [pc + 2];
    case 'ja': return [pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off)];
    case 'jump':
    case 'jcond': return [pc + 1, pc + 1 + insn.off];
    default: return [pc + 1];
  }
}

export function validateProgram(insns: readonly Insn[], opts: ValidateOptions = {}): ValidationError[] {
  const errors: ValidationError[] = [];
  const err = (insn: number, message: string) => errors.push({ insn, message: `insn ${insn}: ${message}` });
  const n = insns.length;
  const maxInsns = opts.maxInsns ?? 1_000_000;
  const isHelperKnown = opts.isHelperKnown ?? isKernelHelper;

  if (n === 0) {
    errors.push({ insn: 0, message: 'insn 0: program has no instructions' });
    return errors;
  }
  if (n > maxInsns) {
    errors.push({ insn: maxInsns, message: `insn ${maxInsns}: too many instructions (${n} > ${maxInsns})` });
    return errors;
  }
  const filler = fillerSlots(insns);
  const checkTarget = (pc: number, target: number) => {
    if (target < 0 || target >= n) err(pc, `jump out of range from insn ${pc} to ${target}`);
    else if (filler[target]) err(pc, `jump into the middle of ldimm64 insn ${target - 1}`);
    else if (target === pc) err(pc, `infinite loop: the jump targets itself`);
  };

  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode);
    if (!info) {
      err(pc, `unknown opcode 0x${insn.opcode.toString(16).padStart(2, '0')}`);
      continue;
    }
    if (insn.dst > 10) err(pc, `invalid destination register r${insn.dst}`);
    if (insn.src > 10 && !(info.kind === 'lddw' || info.kind === 'call')) err(pc, `invalid source register r${insn.src}`);
    checkFields(info, insn, pc, err, isHelperKnown, opts);

    switch (info.kind) {
      case 'lddw': {
        if (pc + 1 >= n) {
          err(pc, 'incomplete lddw: the program ends after its first slot');
          break;
        }
        const second = insns[pc + 1];
        if (second.opcode !== 0 || second.dst !== 0 || second.src !== 0 || second.off !== 0) {
          err(pc + 1, `invalid bpf_ld_imm64 insn: the second slot of the lddw at insn ${pc} must have opcode, registers and offset 0`);
        }
        if (insn.src === PSEUDO_FUNC) checkTarget(pc, pc + 1 + insn.imm);
        pc++;
        break;
      }
      case 'ja':
        checkTarget(pc, pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
        break;
      case 'jump':
      case 'jcond':
        checkTarget(pc, pc + 1 + insn.off);
        break;
      case 'call':
        if (insn.src === CALL_LOCAL) {
          const target = pc + 1 + insn.imm;
          if (target < 0 || target >= n) err(pc, `call to local function out of range (target ${target})`);
          else if (filler[target]) err(pc, `call into the middle of ldimm64 insn ${target - 1}`);
        }
        break;
    }
  }
  if (errors.length) return errors;

  // Function boundaries: each function must end in exit or an unconditional jump, and no jump may leave its function
  // (kernel check_subprogs: `last insn is not an exit or jmp`, `jump out of range`).
  const starts = subprogramStarts(insns);
  for (let f = 0; f < starts.length; f++) {
    const start = starts[f];
    const end = f + 1 < starts.length ? starts[f + 1] : n;
    const last = end - 1;
    const lastInfo = filler[last] ? undefined : opcodeInfo(insns[last].opcode);
    if (!lastInfo || (lastInfo.kind !== 'exit' && lastInfo.kind !== 'ja')) {
      err(last, `last insn is not an exit or jmp (function starting at insn ${start} ends at insn ${last})`);
    }
    for (let pc = start; pc < end; pc++) {
      const info = opcodeInfo(insns[pc].opcode)!;
      if (info.kind === 'ja' || info.kind === 'jump' || info.kind === 'jcond') {
        for (const t of successors(insns, pc)) if (t < start || t >= end) err(pc, `jump out of range from insn ${pc} to ${t} (leaves the function starting at insn ${start})`);
      }
      if (info.kind === 'lddw') pc++;
    }
  }
  if (errors.length) return errors;

  if (opts.checkUninitialized ?? true) checkInitialized(insns, starts, opts.entryRegs ?? [1, 10], err);
  return errors;
}

function checkFields(
  info: OpcodeInfo,
  insn: Insn,
  pc: number,
  err: (pc: number, m: string) => void,
  isHelperKnown: (id: number) => boolean,
  opts: ValidateOptions,
): void {
  const reserved = (what: string) => err(pc, `${what} uses reserved fields`);
  switch (info.kind) {
    case 'alu': {
      const v = aluVariant(info, insn.off);
      if (v === undefined) return reserved(`BPF_${info.alu!.toUpperCase()}`);
      if (info.alu === 'neg') {
        if (insn.src !== 0 || insn.imm !== 0) reserved('BPF_NEG');
      } else if (info.srcReg ? insn.imm !== 0 : insn.src !== 0) {
        reserved(info.alu === 'mov' ? 'BPF_MOV' : 'BPF_ALU');
      }
      if (insn.dst === 10) err(pc, 'frame pointer is read only');
      return;
    }
    case 'end':
      if (insn.src !== 0 || insn.off !== 0 || (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64)) reserved('BPF_END');
      if (insn.dst === 10) err(pc, 'frame pointer is read only');
      return;
    case 'ja':
      if (info.cls === 'jmp32' ? insn.off !== 0 : insn.imm !== 0) reserved('BPF_JA');
      if (insn.src !== 0 || insn.dst !== 0) reserved('BPF_JA');
      return;
    case 'jcond':
      if (insn.src !== 0 || insn.dst !== 0 || insn.imm !== 0) reserved('BPF_JCOND');
      return;
    case 'jump':
      if (info.srcReg ? insn.imm !== 0 : insn.src !== 0) reserved('BPF_JMP/JMP32');
      return;
    case 'exit':
      if (insn.src !== 0 || insn.dst !== 0 || insn.off !== 0 || insn.imm !== 0) reserved('BPF_EXIT');
      return;
    case 'call':
      if (insn.dst !== 0 || (insn.off !== 0 && insn.src !== CALL_KFUNC)) reserved('BPF_CALL');
      if (insn.src === CALL_HELPER) {
        if (!isHelperKnown(insn.imm)) err(pc, `invalid func unknown#${insn.imm} (call to nonexistent helper ${insn.imm})`);
      } else if (insn.src !== CALL_LOCAL && insn.src !== CALL_KFUNC) {
        err(pc, `call with invalid src ${insn.src} (0 = helper, 1 = bpf function, 2 = kfunc)`);
      }
      return;
    case 'lddw':
      if (insn.off !== 0) reserved('BPF_LD_IMM64');
      if (insn.dst === 10) err(pc, 'frame pointer is read only');
      switch (insn.src) {
        case PSEUDO_IMM64:
        case PSEUDO_FUNC:
          break;
        case PSEUDO_MAP_FD:
        case PSEUDO_MAP_IDX:
        case PSEUDO_MAP_VALUE:
        case PSEUDO_MAP_IDX_VALUE:
          if (opts.mapCount !== undefined && (insn.imm < 0 || insn.imm >= opts.mapCount)) {
            err(pc, `lddw refers to map ${insn.imm} but the program has ${opts.mapCount} map(s)`);
          }
          if ((insn.src === PSEUDO_MAP_FD || insn.src === PSEUDO_MAP_IDX) && (insn.nextImm ?? 0) !== 0) {
            err(pc, 'unrecognized bpf_ld_imm64 insn: a map reference must have 0 in the second slot');
          }
          break;
        case PSEUDO_BTF_ID:
          err(pc, 'lddw of a kernel variable (BPF_PSEUDO_BTF_ID, __ksym) is not supported by the simulator');
          break;
        default:
          err(pc, `invalid source register for lddw: ${insn.src}`);
      }
      return;
    case 'ldx':
    case 'ldxsx':
      if (insn.imm !== 0) reserved('BPF_LDX');
      if (insn.dst === 10) err(pc, 'frame pointer is read only');
      return;
    case 'st':
      if (insn.src !== 0) reserved('BPF_ST');
      return;
    case 'stx':
      if (insn.imm !== 0) reserved('BPF_STX');
      return;
    case 'atomic': {
      const a = atomicOp(insn.imm);
      if (!a) return err(pc, `invalid atomic operation imm=0x${(insn.imm >>> 0).toString(16)}`);
      if ((info.size === 1 || info.size === 2) && a.op !== 'load_acq' && a.op !== 'store_rel') err(pc, 'invalid atomic operand size');
      if (a.op === 'load_acq' && insn.dst === 10) err(pc, 'frame pointer is read only');
      if (a.fetch && insn.src === 10) err(pc, 'frame pointer is read only');
      return;
    }
    case 'ld-abs':
    case 'ld-ind':
      if (!opts.allowLegacyPacketLoads) err(pc, 'BPF_LD_[ABS|IND] instructions not allowed for this program type');
      return;
  }
}

const ALL_REGS = 0x7ff;
const ARG_REGS = 0b111110; // r1..r5

/** Registers an instruction reads and writes, as bit masks. */
function regUse(insn: Insn, info: OpcodeInfo): { reads: number; writes: number; clobbers: number } {
  const d = 1 << insn.dst;
  const s = 1 << insn.src;
  switch (info.kind) {
    case 'alu':
      if (info.alu === 'mov') return { reads: info.srcReg ? s : 0, writes: d, clobbers: 0 };
      return { reads: d | (info.srcReg ? s : 0), writes: d, clobbers: 0 };
    case 'end': return { reads: d, writes: d, clobbers: 0 };
    case 'jump': return { reads: d | (info.srcReg ? s : 0), writes: 0, clobbers: 0 };
    case 'lddw': return { reads: 0, writes: d, clobbers: 0 };
    case 'ldx':
    case 'ldxsx': return { reads: s, writes: d, clobbers: 0 };
    case 'st': return { reads: d, writes: 0, clobbers: 0 };
    case 'stx': return { reads: d | s, writes: 0, clobbers: 0 };
    case 'atomic': {
      const a = atomicOp(insn.imm);
      if (a?.op === 'load_acq') return { reads: s, writes: d, clobbers: 0 };
      if (a?.op === 'cmpxchg') return { reads: d | s | 1, writes: 1, clobbers: 0 };
      return { reads: d | s, writes: a?.fetch ? s : 0, clobbers: 0 };
    }
    case 'call': return { reads: 0, writes: 1, clobbers: ARG_REGS };
    case 'exit': return { reads: 1, writes: 0, clobbers: 0 };
    case 'ld-abs': return { reads: 1 << 6, writes: 1, clobbers: ARG_REGS };
    case 'ld-ind': return { reads: (1 << 6) | s, writes: 1, clobbers: ARG_REGS };
    default: return { reads: 0, writes: 0, clobbers: 0 };
  }
}

/**
 * Forward "definitely initialised" analysis per function (meet = intersection). Function entries other than the main
 * one start with r1-r5 (arguments) and r10; a call leaves r0 written and r1-r5 unreadable, as the kernel verifier does.
 */
function checkInitialized(insns: readonly Insn[], starts: number[], entryRegs: number[], err: (pc: number, m: string) => void): void {
  const n = insns.length;
  const state = new Int32Array(n).fill(-1); // -1 = not reached yet
  const work: number[] = [];
  let entry = 1 << 10;
  for (const r of entryRegs) entry |= 1 << r;
  for (const s of starts) {
    state[s] = s === 0 ? entry : ARG_REGS | (1 << 10);
    work.push(s);
  }
  const reported = new Set<number>();
  while (work.length) {
    const pc = work.pop()!;
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode)!;
    const have = state[pc];
    const use = regUse(insn, info);
    const missing = use.reads & ~have & ALL_REGS;
    if (missing && !reported.has(pc)) {
      reported.add(pc);
      const r = Math.log2(missing & -missing);
      err(pc, `R${r} !read_ok (r${r} is read before it is written)`);
    }
    const out = ((have | use.reads) & ~use.clobbers) | use.writes;
    for (const t of successors(insns, pc)) {
      if (t < 0 || t >= n) continue;
      const merged = state[t] === -1 ? out : state[t] & out;
      if (merged !== state[t]) {
        state[t] = merged;
        work.push(t);
      }
    }
  }
}

/** Format errors one per line. */
export function formatValidationErrors(errors: readonly ValidationError[]): string {
  return errors.map((e) => e.message).join('\n');
}
