// Register liveness per instruction slot (classic backward data flow), so that states compared for pruning ignore
// registers no later instruction reads. This stands in for the verifier's REG_LIVE_READ marks: without it two paths
// that differ only in a dead temporary would both be explored.
import type { Insn } from '../../isa/insn.ts';
import { OPCODES, atomicOp } from '../../isa/opcodes.ts';

const ARGS = 0b111110; // r1..r5
const CALL_DEFS = 0b111111; // r0..r5

interface UseDef {
  use: number;
  def: number;
  succ: number[];
}

function useDef(insns: Insn[], pc: number): UseDef {
  const insn = insns[pc];
  const info = OPCODES[insn.opcode];
  const bit = (r: number) => 1 << r;
  if (!info) return { use: 0, def: 0, succ: [] };
  switch (info.kind) {
    case 'alu': {
      const mov = info.alu === 'mov';
      let use = mov ? 0 : bit(insn.dst);
      if (info.srcReg) use |= bit(insn.src);
      return { use, def: bit(insn.dst), succ: [pc + 1] };
    }
    case 'end': return { use: bit(insn.dst), def: bit(insn.dst), succ: [pc + 1] };
    case 'ja': return { use: 0, def: 0, succ: [pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off)] };
    case 'jcond': return { use: 0, def: 0, succ: [pc + 1, pc + 1 + insn.off] };
    case 'jump': return { use: bit(insn.dst) | (info.srcReg ? bit(insn.src) : 0), def: 0, succ: [pc + 1, pc + 1 + insn.off] };
    case 'call': return { use: ARGS, def: CALL_DEFS, succ: [pc + 1] };
    case 'exit': return { use: 1, def: 0, succ: [] };
    case 'lddw': return { use: 0, def: bit(insn.dst), succ: [pc + 2] };
    case 'ldx':
    case 'ldxsx': return { use: bit(insn.src), def: bit(insn.dst), succ: [pc + 1] };
    case 'st': return { use: bit(insn.dst), def: 0, succ: [pc + 1] };
    case 'stx': return { use: bit(insn.dst) | bit(insn.src), def: 0, succ: [pc + 1] };
    case 'atomic': {
      const a = atomicOp(insn.imm);
      if (a?.op === 'cmpxchg') return { use: bit(insn.dst) | bit(insn.src) | 1, def: 1, succ: [pc + 1] };
      if (a?.op === 'load_acq') return { use: bit(insn.src), def: bit(insn.dst), succ: [pc + 1] };
      return { use: bit(insn.dst) | bit(insn.src), def: a?.fetch ? bit(insn.src) : 0, succ: [pc + 1] };
    }
    default: return { use: 0, def: 0, succ: [] };
  }
}

/** Live-in register mask (bit i = ri) per slot. Local calls are treated like helper calls: args in, r0-r5 out. */
export function liveness(insns: Insn[]): Uint16Array {
  const n = insns.length;
  const ud = insns.map((_, pc) => useDef(insns, pc));
  const live = new Uint16Array(n);
  const preds: number[][] = insns.map(() => []);
  ud.forEach((u, pc) => u.succ.forEach((s) => { if (s >= 0 && s < n) preds[s].push(pc); }));
  const work: number[] = [];
  for (let pc = n - 1; pc >= 0; pc--) work.push(pc);
  const queued = new Uint8Array(n).fill(1);
  while (work.length) {
    const pc = work.pop()!;
    queued[pc] = 0;
    const u = ud[pc];
    let out = 0;
    for (const s of u.succ) if (s >= 0 && s < n) out |= live[s];
    const inn = (out & ~u.def) | u.use;
    if (inn !== live[pc]) {
      live[pc] = inn;
      for (const p of preds[pc]) if (!queued[p]) { queued[p] = 1; work.push(p); }
    }
  }
  return live;
}

/** Slots where states are kept for pruning: jump targets and the fall-through of conditional jumps. */
export function prunePoints(insns: Insn[]): Uint8Array {
  const n = insns.length;
  const marks = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    const u = useDef(insns, pc);
    const info = OPCODES[insns[pc].opcode];
    if (!info || (info.kind !== 'jump' && info.kind !== 'ja' && info.kind !== 'jcond' && info.kind !== 'call')) continue;
    for (const s of u.succ) if (s >= 0 && s < n) marks[s] = 1;
  }
  return marks;
}

/** Number of control-flow predecessors of each slot (merge points have more than one). */
export function predecessorCounts(insns: Insn[]): Uint16Array {
  const n = insns.length;
  const counts = new Uint16Array(n);
  for (let pc = 0; pc < n; pc++) for (const s of useDef(insns, pc).succ) if (s >= 0 && s < n && counts[s] < 0xffff) counts[s]++;
  return counts;
}
