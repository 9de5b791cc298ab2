// The helper-argument refusals that can be decided from the bytecode before any packet runs (protos.ts has the rules):
// a map of a type the helper does not take, and a size argument whose value, as the verifier tracks it, may be
// negative, zero where the helper needs one byte or more, unbounded, past the stack frame, or (bpf_ringbuf_reserve) not
// a known constant. Also one pointer rule of the same kind: a packet pointer plus a register holding a 32-bit
// difference of pointers (what clang -mcpu=v3 makes of `data + (data_end - data)`-style arithmetic).
//
// Only what holds on every way of reaching the call is reported, so that a program the kernel loads is never called
// refused:
//   - a map argument is followed back through register moves to an lddw of a map of the wrong type, along a path from
//     the program's entry whose every conditional jump the verifier cannot decide (wrongMapAcrossJumps: a packet byte
//     against a constant, some value of which takes the path; a bounds check on its in-bounds side). A straight line
//     from the lddw alone is not enough: it may sit behind a test the verifier decides (a const volatile flag);
//   - a size is evaluated only inside the call's basic block (no jump lands between its definition and the call, no
//     conditional jump in between that could narrow it), from instructions whose result range the verifier knows
//     exactly as computed here: constants, moves, loads from the packet, masks, shifts, additions.
import type { LoadedObject, LoadedProgram } from '../../elf/types.ts';
import type { Insn } from '../../isa/insn.ts';
import { CALL_HELPER, OPCODES, PSEUDO_MAP_FD, PSEUDO_MAP_IDX } from '../../isa/opcodes.ts';
import { helperName } from '../../isa/helper-names.ts';
import { HELPER_PROTOS, MAX_VAR_SIZE, mapFuncCompatible, mapFuncMessage } from './protos.ts';

export interface StaticArgRefusal {
  insn: number;
  message: string;
  /** `helper-arg`, or `pointer-arith` for packet-pointer arithmetic the verifier refuses. */
  rule: string;
}

interface Range { min: bigint; max: bigint }

/**
 * Helpers whose memory argument (this register) they write: the verifier names a stack range past the frame "invalid
 * write to stack", any other "invalid read from stack" (measured on 6.18: bpf_xdp_load_bytes and bpf_probe_read_kernel
 * write; perf/ringbuf output, bpf_xdp_store_bytes and bpf_csum_diff read).
 */
export const WRITTEN_MEM: ReadonlyMap<number, number> = new Map([
  [4, 1], [45, 1], [112, 1], [113, 1], [114, 1], [115, 1], // probe_read*
  [16, 1], // get_current_comm
  [67, 2], // get_stack
  [148, 1], [191, 1], // copy_from_user(_task)
  [165, 1], // snprintf
  [189, 3], // xdp_load_bytes
]);

const U32_MAX = 0xffffffffn;
/** `c <op> x` is `x <SWAPPED[op]> c`. */
const SWAPPED: Record<string, string> = { jeq: 'jeq', jne: 'jne', jgt: 'jlt', jge: 'jle', jlt: 'jgt', jle: 'jge' };
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

/** Slots where control can arrive from somewhere other than the slot before (jump targets, function entries). */
function entries(prog: LoadedProgram): Set<number> {
  const out = new Set<number>(prog.funcs.map((f) => f.insn));
  prog.insns.forEach((insn, pc) => {
    const info = OPCODES[insn.opcode];
    if (!info) return;
    if (info.kind === 'jump' || info.kind === 'jcond') out.add(pc + 1 + insn.off);
    else if (info.kind === 'ja') out.add(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off));
  });
  return out;
}

/** Whether `insn` writes register `reg` (calls write r0-r5). */
export function writes(insn: Insn, reg: number): boolean {
  const info = OPCODES[insn.opcode];
  if (!info) return false;
  switch (info.kind) {
    case 'alu': case 'end': case 'lddw': case 'ldx': case 'ldxsx':
      return insn.dst === reg;
    case 'call':
      return reg <= 5;
    case 'atomic':
      // cmpxchg writes r0; fetch forms write src.
      return (insn.imm === 0xf1 && reg === 0) || ((insn.imm & 1) !== 0 && insn.src === reg);
    default:
      return false;
  }
}

/** Ends a straight line backwards: control does not fall through this instruction. */
function noFallThrough(insn: Insn): boolean {
  const k = OPCODES[insn.opcode]?.kind;
  return k === 'exit' || k === 'ja';
}

export function staticArgRefusals(obj: LoadedObject, prog: LoadedProgram): StaticArgRefusal[] {
  return analyse(obj, prog).refusals();
}

/**
 * Whether the verifier certainly walks a path from the program's entry to a slot (the same walk as a wrong map's, every
 * conditional jump on it one it cannot decide). Used by the other before-the-run checks that assume their
 * instruction is reached (vm/helper-impl/special-access.ts).
 */
export function reachability(obj: LoadedObject, prog: LoadedProgram): (pc: number) => boolean {
  return analyse(obj, prog).reached;
}

function analyse(obj: LoadedObject, prog: LoadedProgram): { refusals: () => StaticArgRefusal[]; reached: (pc: number) => boolean } {
  const insns = prog.insns;
  const targets = entries(prog);
  const funcStarts = new Set(prog.funcs.map((f) => f.insn));
  const out: StaticArgRefusal[] = [];

  /** The value range of `reg` just before `pc`, when its definition is in the same basic block. */
  const rangeAt = (pc: number, reg: number, depth = 0): Range | undefined => {
    if (depth > 16) return undefined;
    for (let j = pc - 1; j >= 0; j--) {
      if (targets.has(j + 1)) return undefined;
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info) continue;
      if (info.kind === 'jump' || info.kind === 'jcond' || noFallThrough(insn)) return undefined;
      if (!writes(insn, reg)) continue;
      return defRange(j, insn, depth);
    }
    return undefined;
  };

  const defRange = (j: number, insn: Insn, depth: number): Range | undefined => {
    const info = OPCODES[insn.opcode]!;
    if (info.kind === 'ldx') {
      // A load from the packet: every value of its width. Loads from the stack (spilled constants), map values
      // (read-only maps give constants) and the context are left alone.
      if (!packetPointer(j, insn.src)) return undefined;
      return { min: 0n, max: (1n << BigInt(8 * info.size!)) - 1n };
    }
    if (info.kind !== 'alu' || insn.off !== 0) return undefined;
    const w32 = info.width === 32;
    // A 32-bit subtraction with a packet or context pointer in it (data_end - data in 32 bits): the verifier lets root
    // do it and knows nothing of the result, not even its sign.
    if (w32 && info.alu === 'sub' && info.srcReg && (packetPointer(j, insn.src, true) || packetPointer(j, insn.dst, true))) {
      return { min: S64_MIN, max: S64_MAX };
    }
    const imm = w32 ? BigInt(insn.imm >>> 0) : BigInt(insn.imm);
    let r: Range | undefined;
    if (info.alu === 'mov') {
      r = info.srcReg ? rangeAt(j, insn.src, depth + 1) : { min: imm, max: imm };
    } else {
      if (info.srcReg) return undefined;
      const a = rangeAt(j, insn.dst, depth + 1);
      switch (info.alu) {
        case 'and':
          // x & c for c >= 0 is in [0, c], whatever x was.
          if (imm >= 0n) r = a && a.min >= 0n ? { min: 0n, max: a.max < imm ? a.max : imm } : { min: 0n, max: imm };
          break;
        case 'add':
          if (a) r = { min: a.min + imm, max: a.max + imm };
          break;
        case 'sub':
          if (a) r = { min: a.min - imm, max: a.max - imm };
          break;
        case 'lsh':
          if (a && a.min >= 0n && imm < 32n) r = { min: a.min << imm, max: a.max << imm };
          break;
        case 'rsh':
          if (a && a.min >= 0n && imm < 64n) r = { min: a.min >> imm, max: a.max >> imm };
          break;
        default:
          return undefined;
      }
    }
    if (!r) return undefined;
    // A 32-bit result that leaves [0, 2^32) wraps: the verifier then knows only the 32-bit range, zero-extended.
    if (w32 && (r.min < 0n || r.max > U32_MAX)) return { min: 0n, max: U32_MAX };
    if (!w32 && (r.min < S64_MIN || r.max > S64_MAX)) return undefined;
    return r;
  };

  /** The offset from r10 that `reg` holds just before `pc` (r10 plus constants, in the call's block), or undefined. */
  const stackOffsetAt = (pc: number, reg: number): number | undefined => {
    let off = 0;
    for (let j = pc - 1; j >= 0; j--) {
      if (targets.has(j + 1)) return undefined;
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info) continue;
      if (info.kind === 'jump' || info.kind === 'jcond' || noFallThrough(insn)) return undefined;
      if (!writes(insn, reg)) continue;
      if (info.kind !== 'alu' || info.width !== 64 || insn.off !== 0) return undefined;
      if (info.alu === 'add' && !info.srcReg) {
        off += insn.imm;
        continue;
      }
      if (info.alu === 'mov' && info.srcReg) {
        if (insn.src === 10) return off;
        reg = insn.src;
        continue;
      }
      return undefined;
    }
    return undefined;
  };

  /**
   * Whether `reg` at `pc` is a packet pointer: traced back (through moves and constant offsets, over any path) to a
   * load of ctx->data or ctx->data_meta from r1 as the program's entry received it.
   */
  const packetPointer = (pc: number, reg: number, orEnd = false): boolean => {
    for (let j = pc - 1, steps = 0; j >= 0 && steps < 4096; j--, steps++) {
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info || !writes(insn, reg)) continue;
      if (info.kind === 'alu' && insn.off === 0 && (info.width === 64 || orEnd) && (info.alu === 'mov' || info.alu === 'add')) {
        if (info.alu === 'add') continue; // an offset added to the pointer
        if (info.alu === 'mov' && info.srcReg) {
          reg = insn.src;
          continue;
        }
        return false;
      }
      if (info.kind === 'ldx' && info.size === 4 && (insn.off === 0 || insn.off === 8 || (orEnd && insn.off === 4))) return ctxPointer(j, insn.src);
      return false;
    }
    return false;
  };

  /** r1 at the entry, unchanged (moves followed) up to `pc`. */
  const ctxPointer = (pc: number, reg: number): boolean => {
    for (let j = pc - 1; j >= 0; j--) {
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info || !writes(insn, reg)) continue;
      if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) {
        reg = insn.src;
        continue;
      }
      return false;
    }
    return reg === 1;
  };

  // Predecessors of each slot: [from, edge], the edge a conditional jump's (taken or not) or unconditional.
  const preds = new Map<number, { from: number; jump?: boolean; taken?: boolean }[]>();
  const addPred = (to: number, e: { from: number; jump?: boolean; taken?: boolean }) => {
    let l = preds.get(to);
    if (!l) preds.set(to, (l = []));
    l.push(e);
  };
  insns.forEach((insn, pc) => {
    const info = OPCODES[insn.opcode];
    if (!info) return;
    const next = info.kind === 'lddw' ? pc + 2 : pc + 1;
    if (info.kind === 'exit') return;
    if (info.kind === 'ja') {
      addPred(pc + 1 + (info.cls === 'jmp32' ? insn.imm : insn.off), { from: pc });
      return;
    }
    if (info.kind === 'jump') {
      const to = pc + 1 + insn.off;
      if (to === next) addPred(next, { from: pc });
      else {
        addPred(to, { from: pc, jump: true, taken: true });
        addPred(next, { from: pc, jump: true, taken: false });
      }
      return;
    }
    if (info.kind === 'jcond') return; // may_goto: not followed
    addPred(next, { from: pc });
  });

  /** The first slot of the function holding `pc`. */
  const funcOf = (pc: number): number => {
    let start = 0;
    for (const f of prog.funcs) if (f.insn <= pc && f.insn > start) start = f.insn;
    return start;
  };

  /** Whether `reg` at `pc` is ctx->data_end: traced back (through moves) to its load from the entry's r1. */
  const endPointer = (pc: number, reg: number): boolean => {
    for (let j = pc - 1, steps = 0; j >= 0 && steps < 4096; j--, steps++) {
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info || !writes(insn, reg)) continue;
      if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) {
        reg = insn.src;
        continue;
      }
      return info.kind === 'ldx' && info.size === 4 && insn.off === 4 && ctxPointer(j, insn.src);
    }
    return false;
  };

  /** The constant `reg` holds just before `pc`, set in the same basic block. */
  const constOf = (pc: number, reg: number): bigint | undefined => {
    const r = rangeAt(pc, reg);
    return r && r.min === r.max && r.min >= 0n ? r.min : undefined;
  };

  /** Whether `reg` at `pc` is what a map lookup returned, in the same basic block (moves followed). */
  const lookupResult = (pc: number, reg: number): boolean => {
    for (let j = pc - 1; j >= 0; j--) {
      if (targets.has(j + 1)) return false;
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info) continue;
      if (info.kind === 'jump' || info.kind === 'jcond' || noFallThrough(insn)) return false;
      if (!writes(insn, reg)) continue;
      if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) {
        reg = insn.src;
        continue;
      }
      return info.kind === 'call' && insn.src === CALL_HELPER && reg === 0 && (insn.imm === 1 || insn.imm === 195);
    }
    return false;
  };

  /** Whether `v` satisfies `v <jmp> imm` (unsigned and equality tests only). */
  const holds = (jmp: string | undefined, imm: bigint, v: bigint): boolean | undefined => {
    switch (jmp) {
      case 'jeq': return v === imm;
      case 'jne': return v !== imm;
      case 'jgt': return v > imm;
      case 'jge': return v >= imm;
      case 'jlt': return v < imm;
      case 'jle': return v <= imm;
      default: return undefined;
    }
  };

  /**
   * A map of a type the helper does not take, reaching the call at `callPc` in `reg` along a path that goes through
   * conditional jumps: found by walking back from the call over every predecessor. A path counts only when every
   * conditional jump on it tests (against a constant, unsigned or equality) a value loaded from the packet on that
   * same path, after the map's lddw or before it, with no other write in between: the verifier knows such a value
   * only by its width and by the tests on the path, so when one value of that width passes all of them (checked on
   * the constants' boundaries) the verifier walks the path, and the call there gets the wrong map.
   */
  // Steps of the path walks, over all the calls of the program: a walk cut short reports nothing.
  let totalBudget = 100_000;
  const wrongMapAcrossJumps = (callPc: number, reg: number, helper: number, reachOnly = false): number | undefined => {
    const entry = prog.funcs.length ? Math.min(...prog.funcs.map((f) => f.insn)) : 0;
    if (funcOf(callPc) !== entry) return undefined;
    type Tests = { jmp: string; imm: bigint; taken: boolean }[];
    let budget = Math.min(10_000, totalBudget);
    let found: number | undefined;
    const walk = (pc: number, mapReg: number, mapIdx: number | undefined, pending: Map<number, Tests>, onPath: Set<number>): boolean => {
      if (--budget < 0) return false;
      if (pc === entry) {
        if (mapIdx === undefined || pending.size !== 0) return false;
        found = mapIdx;
        return true;
      }
      if (funcStarts.has(pc)) return false;
      for (const e of preds.get(pc) ?? []) {
        if (onPath.has(e.from)) continue;
        const insn = insns[e.from]!;
        const info = OPCODES[insn.opcode]!;
        let p = pending;
        let mr = mapReg;
        let mi = mapIdx;
        let ok = true;
        const cSrc = e.jump && info.srcReg && info.width === 64 ? constOf(e.from, insn.src) : undefined;
        const cDst = e.jump && info.srcReg && info.width === 64 && cSrc === undefined ? constOf(e.from, insn.dst) : undefined;
        if (cSrc !== undefined || cDst !== undefined) {
          // A value against a register holding a constant (clang's `r2 = 4; if r2 > r1`): the same test against an
          // immediate, the operands swapped when the constant is on the left.
          const reg = cSrc !== undefined ? insn.dst : insn.src;
          const jmp = cSrc !== undefined ? info.jmp : SWAPPED[info.jmp ?? ''];
          const imm = cSrc ?? cDst!;
          if (!jmp || holds(jmp, imm, 0n) === undefined || reg === mr) continue;
          p = new Map(p);
          p.set(reg, [...(p.get(reg) ?? []), { jmp, imm, taken: e.taken! }]);
        } else if (e.jump && info.srcReg) {
          // A packet bounds check, followed only on its in-bounds side (which the verifier always walks).
          const j = info.jmp;
          const less = j === 'jlt' || j === 'jle';
          const greater = j === 'jgt' || j === 'jge';
          if (!less && !greater) continue;
          if (packetPointer(e.from, insn.dst) && endPointer(e.from, insn.src)) {
            if (e.taken !== less) continue;
          } else if (endPointer(e.from, insn.dst) && packetPointer(e.from, insn.src)) {
            if (e.taken !== greater) continue;
          } else continue;
          if (pending.has(insn.dst) || pending.has(insn.src) || insn.dst === mr || insn.src === mr) continue;
        } else if (e.jump && (info.jmp === 'jeq' || info.jmp === 'jne') && info.width === 64 && insn.imm === 0 && lookupResult(e.from, insn.dst)) {
          // A map lookup's NULL check: the verifier always walks its non-NULL side.
          if (e.taken !== (info.jmp === 'jne')) continue;
        } else if (e.jump) {
          const imm = info.width === 32 ? BigInt(insn.imm >>> 0) : BigInt.asUintN(64, BigInt(insn.imm));
          if (holds(info.jmp, imm, 0n) === undefined || insn.dst === mr) continue;
          p = new Map(p);
          p.set(insn.dst, [...(p.get(insn.dst) ?? []), { jmp: info.jmp!, imm, taken: e.taken! }]);
        } else if (info.kind !== 'ja') {
          // The effect of the instruction on what is tracked.
          if (mr >= 0 && writes(insn, mr)) {
            if (info.kind === 'lddw' && (insn.src === PSEUDO_MAP_FD || insn.src === PSEUDO_MAP_IDX)) {
              const m = obj.maps[insn.imm];
              if (!m || mapFuncCompatible(m.type, helper)) continue;
              mi = insn.imm;
              mr = -1;
            } else if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) mr = insn.src;
            else continue;
          }
          for (const [r, tests] of p) {
            if (!writes(insn, r)) continue;
            if (p === pending) p = new Map(p);
            p.delete(r);
            if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) {
              p.set(insn.src, [...(p.get(insn.src) ?? []), ...tests]);
            } else if (info.kind === 'ldx' && info.size! <= 4 && packetPointer(e.from, insn.src)) {
              // Some value of the load's width passes every test: try the constants' boundaries.
              const max = (1n << BigInt(8 * info.size!)) - 1n;
              const cands = new Set<bigint>([0n, max]);
              for (const t of tests) for (const c of [t.imm - 1n, t.imm, t.imm + 1n]) if (c >= 0n && c <= max) cands.add(c);
              if (![...cands].some((v) => tests.every((t) => holds(t.jmp, t.imm, v) === t.taken))) ok = false;
            } else ok = false;
            if (!ok) break;
          }
          if (!ok) continue;
        }
        onPath.add(e.from);
        const r = walk(e.from, mr, mi, p, onPath);
        onPath.delete(e.from);
        if (r) return true;
        if (budget < 0) return false;
      }
      return false;
    };
    walk(callPc, reg, reachOnly ? -1 : undefined, new Map(), new Set([callPc]));
    totalBudget -= Math.min(10_000, totalBudget) - Math.max(budget, 0);
    return found;
  };

  const reached = (pc: number): boolean => wrongMapAcrossJumps(pc, -1, -1, true) !== undefined;

  const refusals = (): StaticArgRefusal[] => {
    insns.forEach((insn, pc) => {
      const info = OPCODES[insn.opcode];
      // A packet pointer plus a register the verifier knows nothing of.
      if (info?.kind === 'alu' && info.alu === 'add' && info.width === 64 && info.srcReg && insn.off === 0 && packetPointer(pc, insn.dst)) {
        const r = rangeAt(pc, insn.src);
        if (r && r.min === S64_MIN) {
          out.push({ insn: pc, rule: 'pointer-arith', message: 'math between pkt pointer and register with unbounded min value is not allowed (the register holds a 32-bit difference of packet pointers, which the verifier does not track: compute it in 64 bits)' });
        }
        return;
      }
      if (info?.kind !== 'call' || insn.src !== CALL_HELPER) return;
      const id = insn.imm;
      const proto = HELPER_PROTOS.get(id);
      if (!proto) return;
      const hname = helperName(id) ?? `helper ${id}`;
      if (proto.map !== undefined) {
        // Only along a path from the program's entry that the verifier certainly walks: a straight line from the lddw
        // may itself sit behind a test the verifier decides (a const volatile flag).
        const far = wrongMapAcrossJumps(pc, proto.map, id);
        const m = far === undefined ? undefined : obj.maps[far];
        if (m) out.push({ insn: pc, rule: 'helper-arg', message: mapFuncMessage(m.type, id, hname, m.name) });
      }
      for (const s of proto.sizes ?? []) {
        const r = rangeAt(pc, s.reg);
        if (!r) continue;
        let why: string | undefined;
        if (s.constant) {
          if (r.min !== r.max) why = `R${s.reg} is not a known constant`;
        } else if (r.min < 0n) why = `R${s.reg} min value is negative, either use unsigned or 'var &= const'`;
        else if (r.min === 0n && !s.zeroOk) why = `R${s.reg} invalid zero-sized read: u64=[${r.min},${r.max}]`;
        else if (r.max >= BigInt(MAX_VAR_SIZE)) why = `R${s.reg} unbounded memory access, use 'var &= const' or 'if (var < const)'`;
        if (why) {
          out.push({ insn: pc, rule: 'helper-arg', message: `${why} (size argument of ${hname})` });
          continue;
        }
        // The memory argument before the size, on the stack: the verifier checks [off, off + max size) against the
        // frame (r10-512 .. r10), whatever object the C code meant.
        if (s.constant || !proto.mem?.includes(s.reg - 1)) continue;
        const off = stackOffsetAt(pc, s.reg - 1);
        if (off === undefined) continue;
        if (off + Number(r.max) > 0 || off < -512) {
          const dir = WRITTEN_MEM.get(id) === s.reg - 1 ? 'write to' : 'read from';
          out.push({ insn: pc, rule: 'helper-arg', message: `invalid ${dir} stack R${s.reg - 1} off=${off} size=${r.max} (argument of ${hname}: past the stack frame)` });
        }
      }
    });
    return out;
  };
  return { refusals, reached };
}
