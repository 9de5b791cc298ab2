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

/**
 * The heads of the loops of each function: slots of a strongly connected part of the control flow (calls not
 * followed: a function called again is a new frame) that a jump back within that part enters. Every turn of a loop
 * passes one. A backward jump alone is no loop: clang jumps back to a shared exit block.
 */
export function loopSlots(insns: Insn[]): Uint8Array {
  const n = insns.length;
  const succ: number[][] = new Array(n);
  for (let pc = 0; pc < n; pc++) {
    const info = OPCODES[insns[pc].opcode];
    const u = useDef(insns, pc).succ.filter((s) => s >= 0 && s < n);
    // A call's successor is the next slot (the callee's body is its own function).
    succ[pc] = info?.kind === 'call' ? (pc + 1 < n ? [pc + 1] : []) : u;
  }
  // Tarjan's algorithm, iterative.
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const marks = new Uint8Array(n);
  const comp = new Uint32Array(n);
  let comps = 0;
  let next = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const call: [number, number][] = [[root, 0]];
    index[root] = low[root] = next++;
    stack.push(root);
    onStack[root] = 1;
    while (call.length > 0) {
      const top = call[call.length - 1]!;
      const [v, i] = top;
      const out = succ[v]!;
      if (i < out.length) {
        top[1] = i + 1;
        const w = out[i]!;
        if (index[w] === -1) {
          index[w] = low[w] = next++;
          stack.push(w);
          onStack[w] = 1;
          call.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      call.pop();
      if (call.length > 0) {
        const u = call[call.length - 1]![0];
        low[u] = Math.min(low[u], low[v]);
      }
      if (low[v] !== index[v]) continue;
      let w: number;
      let size = 0;
      const members: number[] = [];
      do {
        w = stack.pop()!;
        onStack[w] = 0;
        members.push(w);
        size++;
      } while (w !== v);
      if (size > 1 || out.includes(v)) for (const m of members) comp[m] = ++comps;
    }
  }
  // Each turn of a loop passes a slot that a jump back (to a lower or the same slot) of the same loop enters.
  for (let pc = 0; pc < n; pc++) {
    if (!comp[pc]) continue;
    for (const s of succ[pc]!) if (s <= pc && comp[s] === comp[pc]) marks[s] = 1;
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
