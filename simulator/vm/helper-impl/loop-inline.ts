// Whether the verifier inlines a bpf_loop call (kernel/bpf/verifier.c optimize_bpf_loop / inline_bpf_loop), which
// changes two results the program can see:
//   - too many turns: the inlined code sets `w0 = -E2BIG` (BPF_MOV32_IMM), so r0 is 0x00000000fffffff9, not the
//     helper's sign-extended -7: `long r = bpf_loop(1 << 24, ...); if (r < 0)` is false in the kernel;
//   - the inlined code compares all 64 bits of r1 with BPF_MAX_LOOPS, while the helper takes a u32 (a count with
//     high bits set is -E2BIG inlined, its low 32 bits of turns as a helper call).
// The verifier inlines a call site when on every path it walked the flags (r4) were the known constant 0 and the
// callback the same function (update_loop_inline_state). Decided here from the bytecode, conservatively: r4 set to
// the immediate 0 (64- or 32-bit mov) in the call's basic block after its last entry point (no jump lands between),
// and r2 not set in that block by anything but an lddw of a function. Anything else counts as a helper call.
import type { Insn } from '../../isa/insn.ts';
import { PSEUDO_FUNC } from '../../isa/opcodes.ts';

const CLASS_JMP = 0x05;
const CLASS_JMP32 = 0x06;
const OP_CALL = 0x80;
const OP_EXIT = 0x90;
const MOV_K64 = 0xb7;
const MOV_K32 = 0xb4;
const LDDW = 0x18;

const CACHE = new WeakMap<readonly Insn[], Map<number, boolean>>();
const TARGETS = new WeakMap<readonly Insn[], Set<number>>();

/** Slots some jump lands on, and the slot after every call (a bpf-to-bpf call returns there with r1-r5 scratched). */
function jumpTargets(insns: readonly Insn[]): Set<number> {
  let t = TARGETS.get(insns);
  if (t) return t;
  t = new Set();
  insns.forEach((insn, pc) => {
    const cls = insn.opcode & 0x07;
    if (cls !== CLASS_JMP && cls !== CLASS_JMP32) return;
    const op = insn.opcode & 0xf0;
    if (op === OP_EXIT) return;
    if (op === OP_CALL) {
      t!.add(pc + 1);
      if (insn.src === 1) t!.add(pc + insn.imm + 1);
      return;
    }
    // gotol (JMP32 | JA) carries its offset in imm.
    t!.add(pc + 1 + (cls === CLASS_JMP32 && op === 0x00 ? insn.imm : insn.off));
  });
  TARGETS.set(insns, t);
  return t;
}

/** True when the bpf_loop call at `pc` of `insns` is one the verifier inlines (see above). */
export function bpfLoopInlined(insns: readonly Insn[], pc: number): boolean {
  let m = CACHE.get(insns);
  if (!m) CACHE.set(insns, (m = new Map()));
  const known = m.get(pc);
  if (known !== undefined) return known;
  const targets = jumpTargets(insns);
  let flagsZero = false;
  let callbackOk = true;
  let sawR2 = false;
  // Walk back to the block's start; the first write of a register met is its value at the call.
  for (let i = pc - 1; i >= 0; i--) {
    const insn = insns[i]!;
    // The second slot of an lddw (opcode 0) belongs to the slot before it.
    const isLddwTail = insn.opcode === 0 && i > 0 && insns[i - 1]!.opcode === LDDW;
    if (!isLddwTail) {
      const cls = insn.opcode & 0x07;
      if (cls === CLASS_JMP || cls === CLASS_JMP32) break; // a jump or call ends the block above
      const writes = (cls === 0x04 || cls === 0x07 || cls === 0x00 || cls === 0x01 || cls === 0x03) ? insn.dst : -1;
      // Loads (class 1) and lddw (class 0) write dst; stores (class 2, 3 except atomics' fetch) write memory.
      const atomicFetch = cls === 0x03 && (insn.opcode & 0xe0) === 0xc0 && (insn.imm & 0x01) !== 0;
      const dst = cls === 0x03 ? (atomicFetch ? insn.src : -1) : cls === 0x02 ? -1 : writes;
      if (dst === 4 && !flagsZero) {
        // Already decided by a later write? The walk goes backwards: the first write met wins.
        flagsZero = (insn.opcode === MOV_K64 || insn.opcode === MOV_K32) && insn.imm === 0;
        if (!flagsZero) break;
      }
      if (dst === 2 && !sawR2) {
        sawR2 = true;
        callbackOk = insn.opcode === LDDW && insn.src === PSEUDO_FUNC;
      }
    }
    if (targets.has(i)) break; // control can arrive here from elsewhere
  }
  const inlined = flagsZero && callbackOk;
  m.set(pc, inlined);
  return inlined;
}
