// The verifier's complexity limit, decided only where it is certain: a program whose verification must process more
// than 1,000,000 instructions is refused ("BPF program is too large. Processed 1000001 insn"), typically a bounded
// loop with a large trip count, which the verifier walks iteration by iteration. Counting what the verifier processes
// exactly (state pruning, precision) is not attempted; instead a lower bound that holds whatever it prunes:
//
// The verifier explores paths depth first, continuing with the fall-through of a branch it cannot decide and pushing
// the other side. It prunes a state only against an equivalent state whose exploration is complete (branches == 0),
// or, inside loops, at an open-coded iterator's next call, a may_goto or a callback call. On its very first path no
// state is complete yet, so (without those three) nothing on that path is pruned: every instruction of it is
// processed. This walk follows that first path with registers either unknown or a constant the verifier certainly
// knows too (constants folded by the ALU operations it tracks exactly). A branch both of whose operands are such
// constants is decided as the verifier decides it; at any other branch the first path takes one of the two sides
// (which one is not claimed), so both are walked to the branch's immediate post-dominator and the shorter counts,
// registers kept only where both sides agree. A static function is walked at each call (a global one is verified on
// its own: its call is one instruction). Anything the walk does not model (a kfunc, a callback helper, may_goto, a
// branch with no post-dominator, a bound on its own work) ends it with what it has proved so far. If the proved length exceeds the limit, the kernel refuses the program: with that message, or with
// another complexity error ("The sequence of 8193 jumps is too complex") or a refusal it meets first.
import type { Insn } from './isa/insn.ts';
import type { LoadedProgram } from './elf/types.ts';
import { CALL_HELPER, CALL_LOCAL, OPCODES, PSEUDO_IMM64, aluVariant, type OpcodeInfo } from './isa/opcodes.ts';
import { alu32, alu64, jumpTaken } from './isa/alu.ts';

/** BPF_COMPLEXITY_LIMIT_INSNS: instructions the verifier processes before it gives up (privileged loaders). */
export const VERIFIER_INSN_LIMIT = 1_000_000;

/** Helpers whose callback the verifier handles with its own pruning (bpf_calls_callback): the walk stops there. */
const CALLBACK_HELPERS: ReadonlySet<number> = new Set([164 /* for_each_map_elem */, 170 /* timer_set_callback */, 180 /* find_vma */, 181 /* loop */, 209 /* user_ringbuf_drain */]);

const EXIT = -1;
const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

/** Bounds on the walk's own work (abstract instructions, nested branch sides). */
const WORK_LIMIT = 3_000_000;
const DEPTH_LIMIT = 48;
/** Work allowed for the two sides of one branch of the first path (nested branches included). */
const ARM_WORK = 50_000;

type Regs = (bigint | undefined)[];

export interface ComplexityRefusal {
  /** Instructions the first path certainly processes (> VERIFIER_INSN_LIMIT). */
  processed: number;
  /** The backward jump the first path took most often (its line is the loop's), and how often. */
  loopPc: number;
  iterations: number;
  message: string;
}

interface Walker {
  insns: Insn[];
  infos: (OpcodeInfo | undefined)[];
  ipdom: Int32Array;
  /** Functions by their first slot. */
  funcs: Map<number, { insn: number; global?: boolean }>;
  work: number;
  /** W.work beyond which the sides being walked end (Infinity on the first path itself). */
  armLimit: number;
  visits: Map<number, number> | undefined;
}

type Outcome = { kind: 'reached'; count: number; r: Regs } | { kind: 'stop'; count: number };

/** Successors of slot `pc` inside its function (EXIT for an exit). */
function successors(insns: Insn[], infos: (OpcodeInfo | undefined)[], pc: number): number[] {
  const insn = insns[pc]!;
  const info = infos[pc];
  if (!info) return [];
  switch (info.kind) {
    case 'exit': return [EXIT];
    case 'ja': return [pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off)];
    case 'jump':
    case 'jcond': return [pc + 1, pc + 1 + insn.off];
    case 'lddw': return [pc + 2];
    default: return [pc + 1];
  }
}

/** Immediate post-dominators (Cooper, Harvey, Kennedy on the reverse graph); -2 where none (cannot reach an exit). */
function postDominators(insns: Insn[], infos: (OpcodeInfo | undefined)[]): Int32Array {
  const n = insns.length;
  const X = n; // the virtual exit node
  const preds: number[][] = Array.from({ length: n + 1 }, () => []); // predecessors in the reverse graph = successors
  const rsucc: number[][] = Array.from({ length: n + 1 }, () => []); // successors in the reverse graph
  for (let pc = 0; pc < n; pc++) {
    if (pc > 0 && infos[pc - 1]?.kind === 'lddw') continue;
    for (const s of successors(insns, infos, pc)) {
      const t = s === EXIT ? X : s;
      if (t < 0 || t > n) continue;
      preds[pc]!.push(t);
      rsucc[t]!.push(pc);
    }
  }
  // Postorder of the reverse graph from X.
  const order: number[] = [];
  const seen = new Uint8Array(n + 1);
  const stack: [number, number][] = [[X, 0]];
  seen[X] = 1;
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const next = rsucc[top[0]]![top[1]++];
    if (next === undefined) {
      order.push(top[0]);
      stack.pop();
    } else if (!seen[next]) {
      seen[next] = 1;
      stack.push([next, 0]);
    }
  }
  const po = new Int32Array(n + 1).fill(-1);
  order.forEach((v, i) => (po[v] = i));
  const idom = new Int32Array(n + 1).fill(-2);
  idom[X] = X;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (po[a]! < po[b]!) a = idom[a]!;
      while (po[b]! < po[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = order.length - 2; i >= 0; i--) {
      const v = order[i]!;
      let d = -2;
      for (const p of preds[v]!) {
        if (idom[p] === -2) continue;
        d = d === -2 ? p : intersect(p, d);
      }
      if (d !== -2 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const out = new Int32Array(n);
  for (let pc = 0; pc < n; pc++) out[pc] = idom[pc] === X ? EXIT : idom[pc]!;
  return out;
}

/** The branch's outcome when both operands are constants the verifier knows: true = taken. */
function decide(info: OpcodeInfo, a: bigint | undefined, b: bigint | undefined): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  return info.jmp ? jumpTaken(info.jmp, info.width === 32, a, b) : undefined;
}

/** ALU operations on two constants the verifier folds exactly (tnum arithmetic on constants); others: unknown. */
const EXACT_ALU: ReadonlySet<string> = new Set(['add', 'sub', 'mul', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov']);

function aluStep(insn: Insn, info: OpcodeInfo, r: Regs): void {
  const op = aluVariant(info, insn.off);
  const w = info.width === 64 ? 64 : 32;
  const b = info.srcReg ? r[insn.src] : w === 64 ? BigInt.asUintN(64, BigInt(insn.imm)) : BigInt(insn.imm >>> 0);
  if (op === 'mov' && b !== undefined) {
    r[insn.dst] = w === 64 ? b & M64 : b & M32;
    return;
  }
  const a = r[insn.dst];
  // A shift by a register of the width or more: the verifier makes the result unknown.
  if (op === undefined || !EXACT_ALU.has(op) || a === undefined || b === undefined || ((op === 'lsh' || op === 'rsh' || op === 'arsh') && (b & M64) >= BigInt(w))) {
    r[insn.dst] = undefined;
    return;
  }
  r[insn.dst] = w === 64 ? alu64(op, a, b, insn.off) & M64 : alu32(op, a, b, insn.off) & M32;
}

function merge(a: Regs, b: Regs): Regs {
  return a.map((v, i) => (v !== undefined && v === b[i] ? v : undefined));
}

/** Walk from `pc` with `r` until `stopAt` (a slot, or EXIT: the path ends). */
function walk(W: Walker, pc: number, r: Regs, stopAt: number, depth: number, cap: number): Outcome {
  let count = 0;
  const { insns, infos } = W;
  for (;;) {
    if (pc === stopAt) return { kind: 'reached', count, r };
    if (count > cap || ++W.work > WORK_LIMIT || W.work > W.armLimit || pc < 0 || pc >= insns.length) return { kind: 'stop', count };
    const insn = insns[pc]!;
    const info = infos[pc];
    if (!info) return { kind: 'stop', count };
    count++;
    switch (info.kind) {
      case 'alu':
        aluStep(insn, info, r);
        pc++;
        break;
      case 'end':
      case 'ldx':
      case 'ldxsx':
        r[insn.dst] = undefined;
        pc++;
        break;
      case 'st':
      case 'stx':
        pc++;
        break;
      case 'atomic':
        r[0] = r[insn.src] = r[insn.dst] = undefined;
        pc++;
        break;
      case 'lddw':
        r[insn.dst] = insn.src === PSEUDO_IMM64 ? (BigInt(insn.imm >>> 0) | (BigInt((insn.nextImm ?? 0) >>> 0) << 32n)) : undefined;
        pc += 2;
        break;
      case 'ja': {
        const to = pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off);
        if (to <= pc && W.visits) W.visits.set(pc, (W.visits.get(pc) ?? 0) + 1);
        pc = to;
        break;
      }
      case 'call': {
        // Helpers and global functions (verified on their own): r0 unknown, r1-r5 unreadable. A static function is
        // walked at each call, as the verifier does, from a frame with the caller's r1-r5; r6-r9 come back as they
        // were. kfuncs (iterators, bpf_throw ending the path) and callback helpers are not modelled: the walk ends
        // with what it proved.
        if (insn.src === CALL_LOCAL) {
          const fn = W.funcs.get(pc + 1 + insn.imm);
          if (fn === undefined || depth >= DEPTH_LIMIT) return { kind: 'stop', count: count - 1 };
          if (!fn.global) {
            const callee: Regs = [r[0], r[1], r[2], r[3], r[4], r[5], undefined, undefined, undefined, undefined, undefined];
            const sub = walk(W, fn.insn, callee, EXIT, depth + 1, cap - count);
            count += sub.count;
            if (sub.kind === 'stop') return { kind: 'stop', count };
          }
        } else if (insn.src !== CALL_HELPER || CALLBACK_HELPERS.has(insn.imm)) return { kind: 'stop', count: count - 1 };
        r[0] = r[1] = r[2] = r[3] = r[4] = r[5] = undefined;
        pc++;
        break;
      }
      case 'exit':
        // The end of the function being walked (the path's, in the entry function).
        return stopAt === EXIT ? { kind: 'reached', count, r } : { kind: 'stop', count: count - 1 };
      case 'jump': {
        const taken = decide(info, r[insn.dst], info.srcReg ? r[insn.src] : BigInt.asUintN(64, BigInt(insn.imm)));
        const target = pc + 1 + insn.off;
        if (taken !== undefined) {
          const to = taken ? target : pc + 1;
          if (to <= pc && W.visits) W.visits.set(pc, (W.visits.get(pc) ?? 0) + 1);
          pc = to;
          break;
        }
        // Either side may be the first path's: both walked to where they meet, the shorter counted.
        const join = W.ipdom[pc]!;
        if (join === -2 || depth >= DEPTH_LIMIT) return { kind: 'stop', count: count - 1 };
        // (A side that ends the walk early still proves its prefix: the first path walks at least the shorter.)
        const visits = W.visits;
        W.visits = undefined;
        const top = W.armLimit === Infinity;
        if (top) W.armLimit = W.work + ARM_WORK;
        const x = walk(W, pc + 1, r.slice(), join, depth + 1, cap - count);
        const y = walk(W, target, r.slice(), join, depth + 1, x.kind === 'stop' ? Math.min(cap - count, x.count) : cap - count);
        W.visits = visits;
        if (top) W.armLimit = Infinity;
        count += Math.min(x.count, y.count);
        if (x.kind === 'stop' || y.kind === 'stop') return { kind: 'stop', count };
        if (join === EXIT) return { kind: 'reached', count, r };
        r = merge(x.r, y.r);
        pc = join;
        break;
      }
      default:
        // may_goto (its own pruning in loops), legacy packet loads: not modelled.
        return { kind: 'stop', count: count - 1 };
    }
  }
}

/** Whether the program has a backward jump (without one, every path is shorter than the program). */
function hasBackEdge(insns: Insn[], infos: (OpcodeInfo | undefined)[]): boolean {
  for (let pc = 0; pc < insns.length; pc++) {
    const info = infos[pc];
    if (!info) continue;
    if (info.kind === 'jump' || info.kind === 'jcond' ? insns[pc]!.off < 0 : info.kind === 'ja' && (info.cls === 'jmp32' ? insns[pc]!.imm : insns[pc]!.off) < 0) return true;
  }
  return false;
}

/**
 * When the verifier certainly processes more than VERIFIER_INSN_LIMIT instructions on `program` (see above), what is
 * known about it; otherwise undefined (which proves nothing: the kernel may still refuse it).
 */
export function complexityRefusal(program: Pick<LoadedProgram, 'insns' | 'funcs'>): ComplexityRefusal | undefined {
  const insns = program.insns;
  const infos = insns.map((i) => OPCODES[i.opcode]);
  if (!hasBackEdge(insns, infos)) return undefined;
  const funcs = new Map((program.funcs ?? []).map((f) => [f.insn, f]));
  const W: Walker = { insns, infos, ipdom: postDominators(insns, infos), funcs, work: 0, armLimit: Infinity, visits: new Map() };
  const r: Regs = new Array(11).fill(undefined);
  const out = walk(W, 0, r, EXIT, 0, VERIFIER_INSN_LIMIT + 1);
  if (out.count <= VERIFIER_INSN_LIMIT) return undefined;
  let loopPc = 0;
  let iterations = 0;
  for (const [pc, n] of W.visits!) if (n > iterations) [loopPc, iterations] = [pc, n];
  return {
    processed: out.count,
    loopPc,
    iterations,
    message: `BPF program is too large: the verifier walks this loop iteration by iteration (${iterations.toLocaleString('en-US')} iterations before ` +
      `its first path alone passes ${VERIFIER_INSN_LIMIT.toLocaleString('en-US')} instructions) and refuses the program ` +
      `("BPF program is too large. Processed 1000001 insn", or another complexity limit reached first). Fewer iterations, ` +
      'bpf_loop or an open-coded iterator (bpf_for) are verified once.',
  };
}
