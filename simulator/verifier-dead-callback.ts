// A load failure of the kernel itself (6.18, root): "verifier bug: No program to jit at insn N (subprog < 0)", EFAULT.
//
// The verifier walks a bpf_loop callback only when the call's count may be above 0 (check_helper_call: the callback
// state is pushed while callback_depth < R1.umax_value), so a callback whose only uses are `bpf_loop(0, cb, ...)` is
// never walked: all of its instructions stay unseen, and the dead code removal that follows the walk (privileged
// loads) deletes the whole function, and every function after it that is never walked either. The `r2 = cb ll` before
// the call is live code and stays, still naming the callback's old slot number, which after the removal is past the
// program's end when the callback is among its last functions (or follows another deleted function that a walked
// one follows); jit_subprogs, run when at least one function besides the main one is left, finds no function starting
// there and fails the load. (When the callback is the first of the deleted functions and a walked one follows, the
// stale reference lands on that one's first instruction and the program loads: the count is 0, nothing calls it.)
//
// Decided only where certain: the functions never walked are static ones whose every use is such a call (the count
// written by `mov r1, 0` and the callback by `r2 = cb ll` in the call's straight line, r2 used by nothing else) or lies
// inside functions never walked themselves; the bpf_loop call is one the bounds walk reached (it follows only paths the
// verifier certainly walks, verifier-bounds.ts) or a run executed (the verifier walks every slot a run can reach:
// verifier-refusals.ts runs a few probe packets when the bounds walk missed the call), and so is some other function
// that stays (its first instruction reached so, a global function, or the callback of a bpf_for_each_map_elem call
// reached: always walked).
// A program with a kfunc call is left alone (exception and kfunc callbacks are walked on other grounds).
import type { Insn } from './isa/insn.ts';
import type { LoadedProgram } from './elf/types.ts';
import { CALL_HELPER, CALL_KFUNC, CALL_LOCAL, OPCODES, PSEUDO_FUNC, type OpcodeInfo } from './isa/opcodes.ts';

const BPF_FUNC_LOOP = 181;
const BPF_FUNC_FOR_EACH_MAP_ELEM = 164;
const MOV_K64 = 0xb7;
const MOV_K32 = 0xb4;

export interface DeadCallbackRefusal {
  /** The bpf_loop call whose callback is deleted. */
  pc: number;
  callback: string;
  message: string;
}

/** Slots control reaches from elsewhere than the slot before: jump targets and the slot after a call. */
function entryPoints(insns: readonly Insn[], infos: readonly (OpcodeInfo | undefined)[]): Set<number> {
  const t = new Set<number>();
  insns.forEach((insn, pc) => {
    const info = infos[pc];
    if (!info) return;
    if (info.kind === 'call') t.add(pc + 1);
    else if (info.kind === 'ja') t.add(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
    else if (info.kind === 'jump' || info.kind === 'jcond') t.add(pc + 1 + insn.off);
  });
  return t;
}

/** The second slot of an lddw. */
const lddwTail = (infos: readonly (OpcodeInfo | undefined)[], pc: number) => pc > 0 && infos[pc - 1]?.kind === 'lddw';

/**
 * The slot of `rN = <function> ll` giving the helper call at `callPc` its register `reg`, when it is in the call's
 * straight line and nothing between them reads or writes that register; and for bpf_loop whether r1 is the immediate 0
 * there (written by a mov of 0 in the same straight line).
 */
function callbackLoad(insns: readonly Insn[], infos: readonly (OpcodeInfo | undefined)[], entries: ReadonlySet<number>, callPc: number, reg: number): number | undefined {
  for (let pc = callPc - 1; pc >= 0; pc--) {
    if (lddwTail(infos, pc)) continue;
    const insn = insns[pc]!, info = infos[pc];
    if (!info || info.kind === 'call' || info.kind === 'exit' || info.kind === 'ja' || info.kind === 'jump' || info.kind === 'jcond') return undefined;
    if (info.kind === 'lddw') {
      if (insn.dst === reg) return insn.src === PSEUDO_FUNC ? pc : undefined;
    } else if (insn.dst === reg || insn.src === reg) return undefined;
    if (entries.has(pc)) return undefined;
  }
  return undefined;
}

function countIsZero(insns: readonly Insn[], infos: readonly (OpcodeInfo | undefined)[], entries: ReadonlySet<number>, callPc: number): boolean {
  for (let pc = callPc - 1; pc >= 0; pc--) {
    if (lddwTail(infos, pc)) continue;
    const insn = insns[pc]!, info = infos[pc];
    if (!info || info.kind === 'call' || info.kind === 'exit' || info.kind === 'ja' || info.kind === 'jump' || info.kind === 'jcond') return false;
    // Stores read their registers; an atomic with fetch writes its source; everything else writes dst.
    if (info.kind === 'atomic' && insn.src === 1) return false;
    if (info.kind !== 'st' && info.kind !== 'stx' && info.kind !== 'atomic' && insn.dst === 1) {
      return (insn.opcode === MOV_K64 || insn.opcode === MOV_K32) && insn.imm === 0;
    }
    if (entries.has(pc)) return false;
  }
  return false;
}

/**
 * The bpf_loop calls whose count is the immediate 0 and whose callback is named by `r2 = cb ll` in the call's straight
 * line: the only calls deadCallbackRefusal can blame (empty for almost every program).
 */
export function zeroCountLoopCalls(program: Pick<LoadedProgram, 'insns' | 'funcs'>): number[] {
  const insns = program.insns;
  if ((program.funcs ?? []).length < 3) return [];
  const infos = insns.map((i) => OPCODES[i.opcode]);
  let entries: Set<number> | undefined;
  const out: number[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc]!;
    if (infos[pc]?.kind !== 'call' || insn.src !== CALL_HELPER || insn.imm !== BPF_FUNC_LOOP) continue;
    entries ??= entryPoints(insns, infos);
    if (callbackLoad(insns, infos, entries, pc, 2) !== undefined && countIsZero(insns, infos, entries, pc)) out.push(pc);
  }
  return out;
}

/**
 * bpf_loop calls whose callback is named by `r2 = cb ll` in the call's straight line: call slot -> the callback's first
 * slot. A run that makes such a call with a count above 0 runs the callback, so the verifier walked it.
 */
export function loopCallbacks(program: Pick<LoadedProgram, 'insns'>): Map<number, number> {
  const insns = program.insns;
  const infos = insns.map((i) => OPCODES[i.opcode]);
  let entries: Set<number> | undefined;
  const out = new Map<number, number>();
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc]!;
    if (infos[pc]?.kind !== 'call' || insn.src !== CALL_HELPER || insn.imm !== BPF_FUNC_LOOP) continue;
    entries ??= entryPoints(insns, infos);
    const ld = callbackLoad(insns, infos, entries, pc, 2);
    if (ld !== undefined) out.set(pc, ld + 1 + insns[ld]!.imm);
  }
  return out;
}

/**
 * The kernel's failure described above, or undefined. `reached`: the slots the bounds walk processed (slots the
 * verifier certainly walks).
 */
export function deadCallbackRefusal(program: Pick<LoadedProgram, 'insns' | 'funcs'>, reached: ReadonlySet<number>): DeadCallbackRefusal | undefined {
  const insns = program.insns;
  const funcs = [...(program.funcs ?? [])].sort((a, b) => a.insn - b.insn);
  if (funcs.length < 3 || funcs[0]!.insn !== 0) return undefined; // main, one that stays, one deleted
  const infos = insns.map((i) => OPCODES[i.opcode]);
  if (insns.some((i, pc) => infos[pc]?.kind === 'call' && i.src === CALL_KFUNC)) return undefined;
  const entries = entryPoints(insns, infos);
  const index = new Map(funcs.map((f, i) => [f.insn, i]));
  const funcOf = (pc: number) => {
    let lo = 0;
    for (let i = 1; i < funcs.length; i++) if (funcs[i]!.insn <= pc) lo = i;
    return lo;
  };

  // Every use of a function: a bpf-to-bpf call or an lddw of its address; `zeroLoop`: the lddw of a bpf_loop call's
  // callback whose count is the immediate 0 (the call slot kept).
  interface Use { from: number; target: number; zeroLoopCall?: number }
  const uses: Use[] = [];
  const zeroLoopOf = new Map<number, number>(); // lddw slot -> its bpf_loop call
  const forEachCallbacks: { call: number; target: number }[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    const insn = insns[pc]!, info = infos[pc];
    if (info?.kind !== 'call' || insn.src !== CALL_HELPER) continue;
    if (insn.imm !== BPF_FUNC_LOOP && insn.imm !== BPF_FUNC_FOR_EACH_MAP_ELEM) continue;
    const ld = callbackLoad(insns, infos, entries, pc, 2);
    if (ld === undefined) continue;
    const target = ld + 1 + insns[ld]!.imm;
    if (insn.imm === BPF_FUNC_FOR_EACH_MAP_ELEM) forEachCallbacks.push({ call: pc, target });
    else if (countIsZero(insns, infos, entries, pc)) zeroLoopOf.set(ld, pc);
  }
  for (let pc = 0; pc < insns.length; pc++) {
    if (lddwTail(infos, pc)) continue;
    const insn = insns[pc]!, info = infos[pc];
    if (info?.kind === 'lddw' && insn.src === PSEUDO_FUNC) uses.push({ from: pc, target: pc + 1 + insn.imm, zeroLoopCall: zeroLoopOf.get(pc) });
    else if (info?.kind === 'call' && insn.src === CALL_LOCAL) uses.push({ from: pc, target: pc + 1 + insn.imm });
  }
  if (uses.some((u) => !index.has(u.target))) return undefined;

  // Functions never walked: the largest set of static functions (not main) used only by zero-count bpf_loop calls
  // or from inside the set.
  const dead = new Set<number>();
  funcs.forEach((f, i) => { if (i > 0 && !f.global) dead.add(i); });
  for (let changed = true; changed;) {
    changed = false;
    for (const u of uses) {
      const t = index.get(u.target)!;
      if (!dead.has(t) || u.zeroLoopCall !== undefined || dead.has(funcOf(u.from))) continue;
      dead.delete(t);
      changed = true;
    }
  }
  // A function that certainly stays besides main (so that jit_subprogs runs).
  const stays = funcs.slice(1).some((f, i) => !dead.has(i + 1) && (f.global || reached.has(f.insn) ||
    forEachCallbacks.some((c) => c.target === f.insn && reached.has(c.call))));
  if (!stays) return undefined;
  // Where a stale reference lands. Dead code removal deletes each run of unseen slots [off, off + cnt): a reference to
  // a slot T inside the run keeps the number T while everything after the run moves down by cnt; runs before T move T
  // and everything after them alike. So after all removals T is past the program's end when T >= len - cnt - after
  // (after: the slots deleted beyond the run); the run holds at least the consecutive never-walked functions around
  // T's function, and `after` at least the never-walked functions beyond them: if T passes that bound with these
  // lower bounds, it certainly passes it. No function starts past the end, and the load fails.
  const end = (i: number) => funcs[i + 1]?.insn ?? insns.length;
  const lands = (t: number) => {
    let a = t, b = t;
    while (a > 1 && dead.has(a - 1)) a--;
    while (b + 1 < funcs.length && dead.has(b + 1)) b++;
    let after = 0;
    for (let i = b + 1; i < funcs.length; i++) if (dead.has(i)) after += end(i) - funcs[i]!.insn;
    return funcs[t]!.insn >= insns.length - (end(b) - funcs[a]!.insn) - after;
  };
  // A reached zero-count bpf_loop call whose callback is never walked (no other use keeps it) and whose stale
  // reference lands past the end.
  const use = uses.find((u) => u.zeroLoopCall !== undefined && reached.has(u.zeroLoopCall) && dead.has(index.get(u.target)!) &&
    lands(index.get(u.target)!));
  if (!use) return undefined;
  const name = funcs[index.get(use.target)!]!.name;
  return {
    pc: use.zeroLoopCall!,
    callback: name,
    message: `The kernel fails to load this program: verifier bug: No program to jit at insn N (subprog < 0) (6.18: the count given to ` +
      `bpf_loop here is 0, so the verifier never checks ${name}() and deletes it as dead code, while this call still names it; ` +
      `remove the call, or give a count that is not always 0).`,
  };
}
