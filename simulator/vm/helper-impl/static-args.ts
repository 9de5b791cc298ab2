// The helper-argument refusals that can be decided from the bytecode before any packet runs (protos.ts has the rules):
// a map of a type the helper does not take, and a size argument whose value, as the verifier tracks it, may be
// negative, zero where the helper needs one byte or more, unbounded, past the stack frame, or (bpf_ringbuf_reserve) not
// a known constant. Also one pointer rule of the same kind: a packet pointer plus a register holding a 32-bit
// difference of pointers (what clang -mcpu=v3 makes of `data + (data_end - data)`-style arithmetic).
//
// Only what holds on every way of reaching the call is reported, so that a program the kernel loads is never called
// refused:
//   - a map argument is followed back through register moves to its lddw; a path that brings it exists whenever that
//     lddw falls through to the call, so any reaching definition of the wrong type is a refusal;
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

const U32_MAX = 0xffffffffn;
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
function writes(insn: Insn, reg: number): boolean {
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
  const insns = prog.insns;
  const targets = entries(prog);
  const funcStarts = new Set(prog.funcs.map((f) => f.insn));
  const out: StaticArgRefusal[] = [];

  /** The map an argument register holds at `pc`, following moves back through fall-through paths. */
  const mapAt = (pc: number, reg: number): number | undefined => {
    for (let j = pc - 1, steps = 0; j >= 0 && steps < 4096; j--, steps++) {
      if (funcStarts.has(j + 1)) return undefined;
      const insn = insns[j]!;
      const info = OPCODES[insn.opcode];
      if (!info) continue; // the second slot of lddw
      if (noFallThrough(insn)) return undefined;
      if (!writes(insn, reg)) continue;
      if (info.kind === 'lddw') return insn.src === PSEUDO_MAP_FD || insn.src === PSEUDO_MAP_IDX ? insn.imm : undefined;
      if (info.kind === 'alu' && info.alu === 'mov' && info.srcReg && info.width === 64 && insn.off === 0) {
        reg = insn.src;
        continue;
      }
      return undefined;
    }
    return undefined;
  };

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
      const index = mapAt(pc, proto.map);
      const map = index === undefined ? undefined : obj.maps[index];
      if (map && !mapFuncCompatible(map.type, id)) {
        out.push({ insn: pc, rule: 'helper-arg', message: mapFuncMessage(map.type, id, hname, map.name) });
      }
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
        out.push({ insn: pc, rule: 'helper-arg', message: `invalid indirect access to stack R${s.reg - 1} off=${off} size=${r.max} (argument of ${hname}: past the stack frame)` });
      }
    }
  });
  return out;
}
