// Load-time validation: everything about a program that can be judged without running it, checked once so that the
// interpreter's loop only has to check memory bounds and the instruction budget. Modelled on uBPF's validate() and on
// the structural part of the kernel verifier (kernel/bpf/verifier.c: check_subprogs, check_cfg, resolve_pseudo_ldimm64,
// do_check's reserved-field checks). Messages reuse the kernel's wording where the kernel has one, and every error
// names the slot index.
//
// This is not the verifier: no value tracking, no pointer provenance, no path sensitivity. So nothing here may refuse
// a program the kernel would load: what the kernel decides per path (a register read before it is written, `R%d
// !read_ok`) is only narrowed down here (`mayReadUninitialized`) and checked by the interpreter on the paths packets
// take; what the kernel decides over the whole program without paths (the combined stack of a call chain,
// `stackLimits`) is reported as the kernel's refusal, not as an error the simulator stops on.
import type { Insn } from './insn.ts';
import { isKernelHelper } from './helper-names.ts';
import { kfuncInfo } from './kfunc-names.ts';
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
  /**
   * The program's kfunc list (LoadedProgram.kfuncs): a kfunc call's imm must index it. Default: kfunc calls are not
   * checked (a bare instruction stream has no list).
   */
  kfuncs?: readonly { name: string }[];
  /**
   * The kernel's check_cfg rules (every instruction reachable, no cycle nothing can leave). Default true; the ISA alone
   * (RFC 9669, the conformance suite's raw programs, which no kernel loads) has no such rule: false.
   */
  kernelCfg?: boolean;
}

/** Helpers whose proto returns RET_VOID: bpf_tail_call, bpf_spin_lock/unlock, bpf_ringbuf_submit/discard and their
 * dynptr forms. */
const VOID_HELPERS: ReadonlySet<number> = new Set([12, 93, 94, 132, 133, 199, 200]);

/** A kfunc or helper returning void leaves r0 unreadable (check_kfunc_call marks only a non-void r0; check_helper_call
 * marks r0 NOT_INIT for RET_VOID: a failed bpf_tail_call's r0 read is `R0 !read_ok`). */
export function kfuncVoidCall(kfuncs: readonly { name: string }[] | undefined): (insn: Insn) => boolean {
  return (insn: Insn) => (insn.src === CALL_KFUNC && kfuncInfo(kfuncs?.[insn.imm]?.name ?? '')?.ret === 'void') ||
    (insn.src === CALL_HELPER && VOID_HELPERS.has(insn.imm));
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
  // A jump to itself: the kernel refuses an unconditional one wherever it is (reached: an infinite loop; not reached:
  // an unreachable instruction). A conditional one loads when the verifier proves the branch never taken, so it is
  // left to the instruction budget at run time.
  const checkTarget = (pc: number, target: number, selfLoopRefused = false) => {
    if (target < 0 || target >= n) err(pc, `jump out of range from insn ${pc} to ${target}`);
    else if (filler[target]) err(pc, `jump into the middle of ldimm64 insn ${target - 1}`);
    else if (target === pc && selfLoopRefused) err(pc, `infinite loop: the jump targets itself`);
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
        checkTarget(pc, pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off), true);
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
        if (insn.src === CALL_KFUNC && opts.kfuncs && (insn.imm < 0 || insn.imm >= opts.kfuncs.length)) {
          err(pc, `kfunc call ${insn.imm} does not name one of the program's ${opts.kfuncs.length} kfunc(s) (an unlinked kfunc call?)`);
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
  if (opts.kernelCfg !== false && checkCfg(insns, filler, err)) return errors;

  const voidCall = kfuncVoidCall(opts.kfuncs);
  if (opts.checkUninitialized ?? true) checkInitialized(insns, opts.entryRegs ?? [1, 10], err, voidCall);
  return errors;
}

/** The kernel's check_cfg rules; true when one refused the program (the error is reported through err). */
function checkCfg(insns: readonly Insn[], filler: Uint8Array, err: (pc: number, m: string) => void): boolean {
  const n = insns.length;
  // Kernel check_cfg: a depth-first walk from insn 0 over every edge (both ways of each conditional jump, the callee of
  // each local call, the function an lddw names) must reach every instruction (`unreachable insn %d`). And a cycle
  // that nothing can leave (only fall-throughs and unconditional jumps, calls included) never ends on any path that
  // enters it: the verifier refuses it there (`infinite loop detected`, or the complexity limit when a value changes
  // each time round).
  const reached = new Uint8Array(n);
  const work = [0];
  reached[0] = 1;
  while (work.length) {
    const pc = work.pop()!;
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode)!;
    const next = successors(insns, pc);
    if (info.kind === 'call' && insn.src === CALL_LOCAL) next.push(pc + 1 + insn.imm);
    if (info.kind === 'lddw' && insn.src === PSEUDO_FUNC) next.push(pc + 1 + insn.imm);
    for (const t of next) {
      if (t >= 0 && t < n && !reached[t]) {
        reached[t] = 1;
        work.push(t);
      }
    }
  }
  for (let pc = 0; pc < n; pc++) {
    if (filler[pc]) continue;
    if (!reached[pc]) {
      err(pc, `unreachable insn ${pc}`);
      return true;
    }
  }
  // Only a cycle in the entry function is certainly walked: one in a static function may sit behind an argument the
  // verifier knows at every call (clang at -O3 leaves `for (i = 0; i < 16; i++) { if (i >= n) break; ... }` as a
  // cycle with no exit when every call passes n of 0 or 1: the kernel loads it; cfuzz seed 541200016).
  let entryEnd = n;
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc];
    const kind = opcodeInfo(insn.opcode)?.kind;
    if ((kind === 'call' && insn.src === CALL_LOCAL) || (kind === 'lddw' && insn.src === PSEUDO_FUNC)) {
      const t = pc + 1 + insn.imm;
      if (t > 0 && t < entryEnd) entryEnd = t;
    }
  }
  // 0: not visited, 1: on the current chain, 2: done (leads to an exit or a branch).
  const color = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    if (filler[s] || color[s]) continue;
    const chain: number[] = [];
    let pc = s;
    for (;;) {
      if (color[pc] === 2) break;
      if (color[pc] === 1) {
        if (pc >= entryEnd) break;
        err(pc, `infinite loop detected at insn ${pc}`);
        return true;
      }
      color[pc] = 1;
      chain.push(pc);
      const next = successors(insns, pc);
      if (next.length !== 1 || next[0] < 0 || next[0] >= n) break;
      pc = next[0];
    }
    for (const c of chain) color[c] = 2;
  }
  return false;
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
        // 0xbad2310 is libbpf's poisoned CO-RE relocation: the verifier refuses it only where it is reachable, so it
        // faults when executed instead (elf/core.ts).
        if (!isHelperKnown(insn.imm) && insn.imm !== 0xbad2310) err(pc, `invalid func unknown#${insn.imm} (call to nonexistent helper ${insn.imm})`);
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
          // The kernel loads these; the simulator cannot run one, which is a fault for the packets that reach it
          // (interpreter), not a reason to refuse packets that never do.
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

/**
 * Number of arguments of the helpers XDP programs call most, from their struct bpf_func_proto (arguments past these are
 * ARG_DONTCARE, never read). Helpers not listed are taken to read none (never a false refusal).
 */
const HELPER_ARG_COUNT: ReadonlyMap<number, number> = new Map([
  [1, 2], [2, 4], [3, 2], // map_lookup_elem, map_update_elem, map_delete_elem
  [12, 3], [23, 2], [25, 5], [28, 5], // tail_call, redirect, perf_event_output, csum_diff
  [44, 2], [51, 3], [54, 2], [65, 2], [69, 4], // xdp_adjust_head, redirect_map, xdp_adjust_meta, xdp_adjust_tail, fib_lookup
  [87, 3], [88, 2], [89, 2], [113, 3], [121, 5], // map_push/pop/peek_elem, probe_read_kernel, xdp_output
  [130, 4], [131, 3], [132, 2], [133, 2], [163, 5], // ringbuf_output/reserve/submit/discard, check_mtu
  [164, 4], [181, 4], [188, 1], [189, 4], [190, 4], // for_each_map_elem, loop, xdp_get_buff_len, xdp_load/store_bytes
]);

/** Registers an instruction reads and writes, as bit masks. */
/** The registers an instruction reads, writes and makes unreadable (check_reg_arg's view; an exit's r0 read is the
 * caller's business: only the main function's and callbacks' exits read it). */
export function regUse(insn: Insn, info: OpcodeInfo): { reads: number; writes: number; clobbers: number } {
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
    case 'call': {
      // check_func_arg reads every argument the helper's proto declares (`R2 !read_ok` for one never written).
      const n = insn.src === CALL_HELPER ? HELPER_ARG_COUNT.get(insn.imm) ?? 0 : 0;
      return { reads: ARG_REGS & ((1 << (n + 1)) - 1), writes: 1, clobbers: ARG_REGS };
    }
    case 'exit': return { reads: 1, writes: 0, clobbers: 0 };
    case 'ld-abs': return { reads: 1 << 6, writes: 1, clobbers: ARG_REGS };
    case 'ld-ind': return { reads: (1 << 6) | s, writes: 1, clobbers: ARG_REGS };
    default: return { reads: 0, writes: 0, clobbers: 0 };
  }
}

/**
 * Registers that may be read before they are written, per slot: the "definitely initialised" analysis of the kernel's
 * `R%d !read_ok` (check_reg_arg), made interprocedural the way do_check is (meet = intersection, greatest fixpoint):
 *   - the main function starts with `entryRegs` and r10; a subprogram with what every call site passes in r1-r5 (the
 *     kernel copies the caller's r1-r5, initialised or not, into the callee); a callback (a function whose address is
 *     taken, bpf_loop's) with r1, r2 and r10;
 *   - a helper or kfunc call leaves r1-r5 unreadable and r0 written (not written for a kfunc returning void);
 *   - the exit of a subprogram reads nothing: r0 goes back to the caller as it is, written or not (prepare_func_exit),
 *     so after a local call r0 is readable only if the callee wrote it on every path to its exits; r6-r9 keep the
 *     caller's state;
 *   - only the exits of the main function and of callbacks read r0 (check_return_code; a callback's r0 must be a
 *     scalar).
 * The kernel walks paths and never visits a branch it proves dead, so a read flagged here is a read that *may* be
 * uninitialised, not a refusal: the interpreter checks these slots as the program runs (see `registerChecks`).
 * Returns, per reached slot, the mask of registers it may read uninitialised (0 almost everywhere).
 */
export function mayReadUninitialized(
  insns: readonly Insn[], entryRegs: readonly number[] = [1, 10], voidCall: (insn: Insn) => boolean = () => false,
): Uint16Array {
  const n = insns.length;
  const suspect = new Uint16Array(n);
  if (n === 0) return suspect;
  const starts = subprogramStarts(insns);
  const funcOf = new Int32Array(n);
  for (let f = 0; f < starts.length; f++) funcOf.fill(f, starts[f], f + 1 < starts.length ? starts[f + 1] : n);
  const callbacks = new Set<number>();
  const callers: number[][] = starts.map(() => []);
  for (let pc = 0; pc < n; pc++) {
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode);
    if (info?.kind === 'lddw') {
      if (insn.src === PSEUDO_FUNC) callbacks.add(pc + 1 + insn.imm);
      pc++;
    } else if (info?.kind === 'call' && insn.src === CALL_LOCAL) {
      const f = starts.indexOf(pc + 1 + insn.imm);
      if (f >= 0) callers[f].push(pc);
    }
  }
  const R10 = 1 << 10;
  const state = new Int32Array(n).fill(-1); // -1 = not reached yet
  // r0 written on every exit reached so far, per function (optimistic until an exit says otherwise).
  const exitR0 = starts.map(() => 1);
  const work: number[] = [];
  const meet = (t: number, v: number) => {
    if (t < 0 || t >= n) return;
    const merged = state[t] === -1 ? v : state[t] & v;
    if (merged !== state[t]) {
      state[t] = merged;
      work.push(t);
    }
  };
  let entry = R10;
  for (const r of entryRegs) entry |= 1 << r;
  meet(0, entry);
  for (const cb of callbacks) if (cb > 0 && cb < n) meet(cb, 0b110 | R10);
  while (work.length) {
    const pc = work.pop()!;
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode);
    if (!info) continue;
    const have = state[pc];
    const f = funcOf[pc];
    if (info.kind === 'exit') {
      const readsR0 = starts[f] === 0 || callbacks.has(starts[f]);
      if (readsR0) {
        if (!(have & 1)) suspect[pc] |= 1;
      } else if (!(have & 1) && exitR0[f]) {
        exitR0[f] = 0;
        for (const c of callers[f]) work.push(c);
      }
      continue;
    }
    if (info.kind === 'call' && insn.src === CALL_LOCAL) {
      const target = pc + 1 + insn.imm;
      const g = starts.indexOf(target);
      meet(target, (have & ARG_REGS) | R10);
      meet(pc + 1, (have & ~ARG_REGS & ~1) | (g >= 0 ? exitR0[g] : 1));
      continue;
    }
    let use = regUse(insn, info);
    if (info.kind === 'call' && voidCall(insn)) use = { reads: 0, writes: 0, clobbers: ARG_REGS | 1 };
    const missing = use.reads & ~have & ALL_REGS;
    if (missing) suspect[pc] |= missing;
    const out = ((have | use.reads) & ~use.clobbers) | use.writes;
    for (const t of successors(insns, pc)) meet(t, out);
  }
  return suspect;
}

/** What the interpreter needs to check register reads as the program runs; undefined when no read can fail. */
export interface RegisterChecks {
  /** Per slot: registers to check before executing it (from `mayReadUninitialized`). */
  reads: Uint16Array;
  /** Per slot: registers it makes unreadable (r0-r5 at a helper or kfunc call), applied before `writes`. */
  clears: Uint16Array;
  /** Per slot: registers it writes (r0 at a helper call; local calls and exits are the interpreter's business). */
  writes: Uint16Array;
}

export function registerChecks(
  insns: readonly Insn[], entryRegs: readonly number[] = [1, 10], voidCall: (insn: Insn) => boolean = () => false,
): RegisterChecks | undefined {
  const reads = mayReadUninitialized(insns, entryRegs, voidCall);
  if (!reads.some((m) => m !== 0)) return undefined;
  const writes = new Uint16Array(insns.length);
  const clears = new Uint16Array(insns.length);
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode);
    if (!info) continue;
    if (info.kind === 'call') {
      if (insn.src === CALL_LOCAL) continue;
      clears[pc] = ARG_REGS | 1;
      writes[pc] = voidCall(insn) ? 0 : 1;
      continue;
    }
    if (info.kind !== 'exit') writes[pc] = regUse(insn, info).writes;
    if (info.kind === 'lddw') pc++;
  }
  return { reads, clears, writes };
}

/** Static form of the same analysis (conformance mode): every possibly uninitialised read is an error. */
function checkInitialized(
  insns: readonly Insn[], entryRegs: number[], err: (pc: number, m: string) => void, voidCall: (insn: Insn) => boolean,
): void {
  const suspect = mayReadUninitialized(insns, entryRegs, voidCall);
  for (let pc = 0; pc < suspect.length; pc++) {
    const missing = suspect[pc];
    if (!missing) continue;
    const r = Math.log2(missing & -missing);
    err(pc, `R${r} !read_ok (r${r} is read before it is written)`);
  }
}

/** MAX_BPF_STACK: the stack of one call chain, all frames together. */
export const MAX_BPF_STACK = 512;
/** MAX_CALL_FRAMES. */
export const MAX_CALL_FRAMES = 8;
const BPF_FUNC_TAIL_CALL = 12;
const NOT_STACK = 0x7fff;

export interface StackLimits {
  /** Function starts (slot indexes), as `subprogramStarts`. */
  starts: number[];
  /** Per function: the deepest stack byte it touches below its r10 (the verifier's subprog stack_depth). */
  depths: number[];
  /** The kernel's refusal, in its words, at the call that made the chain too deep (slot 0 for the entry itself). */
  refusal?: { insn: number; message: string };
}

/**
 * The verifier's check_max_stack_depth: each function's stack depth (update_stack_depth: the lowest r10-relative byte
 * any access or helper argument reaches) rounded as the kernel rounds a frame (to 16 bytes when the program is JITed,
 * the kernel's default; to 32, and at least 32, for the interpreter), summed along every call chain from the entry in
 * the order the kernel walks it (local calls and callback addresses alike); more than 512 bytes is refused with
 * "combined stack size of N calls is M. Too large", more than 8 frames with "the call stack of N frames is too
 * deep !", a function that tail-calls with 256 bytes or more of callers' frames below it with "tail_calls are not
 * allowed ...". Depths come from a path-insensitive walk of stack pointers (r10 plus constants, copied and adjusted);
 * a pointer the walk loses (a variable offset, a spilled pointer) counts for nothing, so this can miss a refusal but
 * never invents one.
 */
export function stackLimits(insns: readonly Insn[], opts: { jit?: boolean } = {}): StackLimits {
  const n = insns.length;
  const starts = subprogramStarts(insns);
  const depths = functionStackDepths(insns, starts);
  const jit = opts.jit ?? true;
  const round = (d: number) => (jit ? Math.ceil(d / 16) * 16 : Math.ceil(Math.max(d, 1) / 32) * 32);
  const funcAt = new Map(starts.map((s, f) => [s, f]));
  const hasTailCall = starts.map((s, f) => {
    const end = f + 1 < starts.length ? starts[f + 1] : n;
    for (let pc = s; pc < end; pc++) {
      const i = insns[pc];
      if (opcodeInfo(i.opcode)?.kind === 'call' && i.src === CALL_HELPER && i.imm === BPF_FUNC_TAIL_CALL) return true;
    }
    return false;
  });
  let exceeded: { depth: number; frames: number; insn: number } | undefined;
  let refusal: StackLimits['refusal'];
  // Iterative walk with an explicit stack of (function, next slot) frames, as the kernel's loop does.
  const stack: { f: number; pc: number; via: number }[] = [];
  let depth = 0;
  const enter = (f: number, via: number): boolean => {
    if (f > 0 && hasTailCall[f] && depth >= 256) {
      refusal = { insn: via, message: `tail_calls are not allowed when call stack of previous frames is ${depth} bytes. Too large` };
      return false;
    }
    depth += round(depths[f]);
    if (depth > MAX_BPF_STACK && !exceeded) exceeded = { depth, frames: stack.length + 1, insn: via };
    stack.push({ f, pc: starts[f], via });
    return true;
  };
  if (n > 0 && enter(0, 0)) {
    while (stack.length && !refusal) {
      const top = stack[stack.length - 1];
      const end = top.f + 1 < starts.length ? starts[top.f + 1] : n;
      let callee = -1;
      let via = -1;
      for (; top.pc < end; top.pc++) {
        const i = insns[top.pc];
        const info = opcodeInfo(i.opcode);
        const isCall = info?.kind === 'call' && i.src === CALL_LOCAL;
        const isFunc = info?.kind === 'lddw' && i.src === PSEUDO_FUNC;
        if (!isCall && !isFunc) continue;
        callee = funcAt.get(top.pc + 1 + i.imm) ?? -1;
        via = top.pc;
        top.pc++;
        if (callee >= 0) break;
      }
      if (callee < 0) {
        stack.pop();
        depth -= round(depths[top.f]);
        continue;
      }
      if (stack.length >= MAX_CALL_FRAMES) {
        refusal = { insn: via, message: `the call stack of ${stack.length} frames is too deep !` };
        break;
      }
      enter(callee, via);
    }
  }
  if (!refusal && exceeded) {
    refusal = { insn: exceeded.insn, message: `combined stack size of ${exceeded.frames} calls is ${exceeded.depth}. Too large` };
  }
  return { starts, depths, refusal };
}

/** Every function's stack depth; what a callee reaches through a pointer argument counts in its caller's frame, so
 * functions are walked again until no callee's reach changes (callees first: they usually follow their callers). */
function functionStackDepths(insns: readonly Insn[], starts: readonly number[]): number[] {
  const n = insns.length;
  const index = new Map(starts.map((s, f) => [s, f]));
  const reach: (ArgReach | undefined)[] = starts.map(() => undefined);
  const depths = starts.map(() => 0);
  for (let round = 0; round <= MAX_CALL_FRAMES + 1; round++) {
    let changed = false;
    for (let f = starts.length - 1; f >= 0; f--) {
      const out = functionStackDepth(insns, starts[f], f + 1 < starts.length ? starts[f + 1] : n, (t) => {
        const g = index.get(t);
        return g === undefined ? undefined : reach[g];
      });
      depths[f] = out.depth;
      const before = reach[f];
      if (!before || out.reach.some((v, i) => v !== before[i])) changed = true;
      reach[f] = out.reach;
    }
    if (!changed) break;
  }
  return depths;
}

/** What a function reaches through each argument register r1..r5 that holds a stack pointer at entry: the lowest
 * offset from that pointer it (or a function it passes the pointer on to) accesses, or NOT_STACK. */
type ArgReach = Int16Array;

/** A register in the stack walk: unknown, a pointer into this function's frame, a pointer an argument brought (r1..r5
 * at entry: a caller's frame), or a scalar with a known lower bound (smin). */
const R_UNKNOWN = 0;
const R_FRAME = 1;
const R_ARG = 2; // R_ARG + (r - 1) for r1..r5
const R_SCALAR = 7;
const R_CONST = 8;
const R_FUNC = 9; // a callback's address (ld_imm64 BPF_PSEUDO_FUNC): its first slot
/** Helpers that call a callback with a context pointer: helper id -> [callback register, context register, the
 * callback's argument register that receives the context]. */
const CALLBACK_HELPERS: ReadonlyMap<number, readonly [number, number, number]> = new Map([
  [181, [2, 3, 2]], // bpf_loop(nr, cb, ctx, flags): cb(index, ctx)
  [164, [2, 3, 4]], // bpf_for_each_map_elem(map, cb, ctx, flags): cb(map, key, value, ctx)
  [209, [2, 3, 2]], // bpf_user_ringbuf_drain(map, cb, ctx, flags): cb(dynptr, ctx)
] as const);

/**
 * The deepest r10-relative byte one function's accesses and helper/callee pointer arguments reach (0 if none), and
 * what it reaches through its arguments. A pointer moved by a register the walk knows a lower bound of (a constant,
 * a value masked by a non-negative constant, a zero-extended load or 32-bit result) reaches from its lowest offset, as
 * the verifier's min_off (smin + off); a pointer passed to a local call reaches what the callee reaches through it.
 */
function functionStackDepth(insns: readonly Insn[], start: number, end: number,
  calleeReach: (target: number) => ArgReach | undefined): { depth: number; reach: ArgReach } {
  const reach: ArgReach = new Int16Array(6).fill(NOT_STACK);
  const len = end - start;
  if (len <= 0) return { depth: 0, reach };
  // Per slot and register: the kind (R_*) and its offset or lower bound. Unreached slots: reached[] = 0.
  const kinds = new Uint8Array(len * 11);
  const vals = new Int32Array(len * 11);
  const reached = new Uint8Array(len);
  const work: number[] = [];
  let depth = 0;
  // The verifier grows a frame's stack in whole 8-byte slots (grow_stack_state), and its depth with it.
  const touchFrame = (off: number) => {
    if (off < 0 && off >= -MAX_BPF_STACK && -off > depth) depth = Math.ceil(-off / 8) * 8;
  };
  const touch = (r: number, off: number) => {
    const k = ck[r];
    if (k === R_FRAME) touchFrame(cv[r] + off);
    else if (k >= R_ARG && k < R_SCALAR) {
      const a = k - R_ARG + 1;
      const o = cv[r] + off;
      if (o >= -MAX_BPF_STACK && o <= MAX_BPF_STACK && o < reach[a]) reach[a] = o;
    }
  };
  const ck = new Uint8Array(11);
  const cv = new Int32Array(11);
  const flow = (t: number) => {
    const i = t - start;
    if (i < 0 || i >= len) return;
    let changed = false;
    if (!reached[i]) {
      reached[i] = 1;
      kinds.set(ck, i * 11);
      vals.set(cv, i * 11);
      changed = true;
    } else {
      for (let r = 0; r < 11; r++) {
        const ka = kinds[i * 11 + r];
        if (ka === R_UNKNOWN) continue;
        if (ka !== ck[r] && (ka === R_CONST || ka === R_SCALAR) && (ck[r] === R_CONST || ck[r] === R_SCALAR)) {
          // Two numbers: a lower bound of both.
          kinds[i * 11 + r] = R_SCALAR;
          if (cv[r] < vals[i * 11 + r]) vals[i * 11 + r] = cv[r];
          changed = true;
          continue;
        }
        if (ka === R_CONST && cv[r] !== vals[i * 11 + r]) {
          kinds[i * 11 + r] = R_SCALAR;
          if (cv[r] < vals[i * 11 + r]) vals[i * 11 + r] = cv[r];
          changed = true;
          continue;
        }
        if (ka !== ck[r] || (ka === R_FUNC && cv[r] !== vals[i * 11 + r])) {
          kinds[i * 11 + r] = R_UNKNOWN;
          changed = true;
          continue;
        }
        // A pointer on two paths: keep the deepest offset; a scalar: the lower bound of both.
        if (cv[r] < vals[i * 11 + r]) {
          vals[i * 11 + r] = cv[r];
          changed = true;
        }
      }
    }
    if (changed) work.push(t);
  };
  ck.fill(R_UNKNOWN);
  cv.fill(0);
  for (let r = 1; r <= 5; r++) ck[r] = R_ARG + r - 1;
  ck[10] = R_FRAME;
  flow(start);
  while (work.length) {
    const pc = work.pop()!;
    const insn = insns[pc];
    const info = opcodeInfo(insn.opcode);
    if (!info) continue;
    ck.set(kinds.subarray((pc - start) * 11, (pc - start + 1) * 11));
    cv.set(vals.subarray((pc - start) * 11, (pc - start + 1) * 11));
    ck[10] = R_FRAME;
    cv[10] = 0;
    const d = insn.dst;
    const set = (k: number, v: number) => {
      ck[d] = k;
      cv[d] = v;
    };
    const isPtr = (r: number) => ck[r] !== R_UNKNOWN && ck[r] !== R_SCALAR && ck[r] !== R_CONST && ck[r] !== R_FUNC;
    const isNum = (r: number) => ck[r] === R_SCALAR || ck[r] === R_CONST;
    const adjust = (delta: number) => {
      const w = cv[d] + delta;
      if (w < -MAX_BPF_STACK || w > (ck[d] === R_FRAME ? 0 : MAX_BPF_STACK)) ck[d] = R_UNKNOWN;
      else cv[d] = w;
    };
    switch (info.kind) {
      case 'ldx':
      case 'ldxsx':
        touch(insn.src, insn.off);
        // A zero-extended load of 1, 2 or 4 bytes is at least 0.
        if (info.kind === 'ldx' && info.size !== 8) set(R_SCALAR, 0);
        else set(R_UNKNOWN, 0);
        break;
      case 'st':
      case 'stx':
        touch(d, insn.off);
        break;
      case 'atomic': {
        const base = atomicOp(insn.imm)?.op === 'load_acq' ? insn.src : d;
        touch(base, insn.off);
        const w = regUse(insn, info).writes;
        for (let r = 0; r < 11; r++) if (w & (1 << r)) ck[r] = R_UNKNOWN;
        break;
      }
      case 'call': {
        const local = insn.src === CALL_LOCAL ? calleeReach(pc + 1 + insn.imm) : undefined;
        for (let r = 1; r <= 5; r++) {
          if (!isPtr(r)) continue;
          touch(r, 0);
          if (local && local[r] !== NOT_STACK) touch(r, local[r]);
        }
        // A callback given a context pointer reaches through it as a callee would.
        const cbh = insn.src === CALL_HELPER ? CALLBACK_HELPERS.get(insn.imm) : undefined;
        if (cbh && ck[cbh[0]] === R_FUNC && isPtr(cbh[1])) {
          const cb = calleeReach(cv[cbh[0]]);
          if (cb && cb[cbh[2]] !== NOT_STACK) touch(cbh[1], cb[cbh[2]]);
        }
        for (let r = 0; r <= 5; r++) ck[r] = R_UNKNOWN;
        break;
      }
      case 'lddw':
        set(insn.src === 0 ? R_CONST : insn.src === PSEUDO_FUNC ? R_FUNC : R_UNKNOWN, insn.src === PSEUDO_FUNC ? pc + 1 + insn.imm : 0);
        if (insn.src === 0) {
          const hi = insn.nextImm ?? 0;
          // A 64-bit constant: its lower bound when it fits 32 bits signed, else unknown.
          if ((hi === 0 && insn.imm >= 0) || (hi === -1 && insn.imm < 0)) cv[d] = insn.imm;
          else ck[d] = R_UNKNOWN;
        }
        break;
      case 'alu': {
        const src = info.srcReg ? insn.src : -1;
        if (info.width === 64 && info.alu === 'mov' && insn.off === 0) {
          if (src >= 0) set(ck[src], cv[src]);
          else set(R_CONST, insn.imm);
        } else if (info.width === 64 && (info.alu === 'add' || info.alu === 'sub') && isPtr(d)) {
          if (src < 0) adjust(info.alu === 'add' ? insn.imm : -insn.imm);
          // ptr += scalar: the lowest offset is off + smin (ptr -= scalar is not followed).
          else if (info.alu === 'add' && isNum(src)) adjust(cv[src]);
          else ck[d] = R_UNKNOWN;
        } else if (info.width === 64 && info.alu === 'add' && src >= 0 && isPtr(src) && isNum(d)) {
          const k = ck[src];
          const v = cv[src] + cv[d];
          set(k, v);
          if (v < -MAX_BPF_STACK || v > (k === R_FRAME ? 0 : MAX_BPF_STACK)) ck[d] = R_UNKNOWN;
        } else if (info.alu === 'and' && src < 0 && insn.imm >= 0) {
          // Masked by a non-negative constant: 0 .. imm (exactly c & imm when the value was the constant c).
          if (ck[d] === R_CONST) set(R_CONST, cv[d] & insn.imm);
          else set(R_SCALAR, 0);
        } else if (info.width === 64 && info.alu === 'add' && src < 0 && ck[d] === R_CONST && Math.abs(cv[d] + insn.imm) < 0x40000000) {
          cv[d] += insn.imm;
        } else if (info.width === 32) {
          if (info.alu === 'mov' && src < 0 && insn.off === 0 && insn.imm >= 0) set(R_CONST, insn.imm);
          else set(R_SCALAR, 0);
        }
        else if (info.alu === 'rsh' && src < 0 && (insn.imm & 63) > 0) set(R_SCALAR, 0);
        else set(R_UNKNOWN, 0);
        break;
      }
      default: {
        const w = regUse(insn, info).writes;
        for (let r = 0; r < 11; r++) if (w & (1 << r)) ck[r] = R_UNKNOWN;
      }
    }
    if (info.kind === 'exit') continue;
    for (const t of successors(insns, pc)) flow(t);
  }
  return { depth, reach };
}

/** Format errors one per line. */
export function formatValidationErrors(errors: readonly ValidationError[]): string {
  return errors.map((e) => e.message).join('\n');
}
