// Disassembly in the bpf_conformance assembler's syntax (`ldxw %r0, [%r1+4]`, `jne %r1, 0x2, +3`, `lock fetch add
// [%r10-8], %r1`), so that a disassembled program can be fed back to asm.ts. One style is used everywhere in the
// project (traces, hovers, fault messages). Jump targets are printed as relative offsets `+N`/`-N`; the caller may ask
// for absolute targets (`-> 12`) as a trailing comment. lddw pseudo sources that the assembler does not know are
// printed as `lddw %r1, map[3]`, `lddw %r1, map_value[3]+16`, `lddw %r1, func +5`.
import type { Insn } from './insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, PSEUDO_FUNC, PSEUDO_IMM64, PSEUDO_MAP_FD, PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE,
  PSEUDO_MAP_VALUE, aluVariant, atomicOp, opcodeInfo,
} from './opcodes.ts';
import { helperName } from './helper-names.ts';

export interface DisasmOptions {
  /** Names of maps by index, for lddw map references. */
  mapNames?: readonly string[];
  /** Append `# -> N` with the absolute target slot to jumps and local calls. */
  absoluteTargets?: boolean;
  /** Append `# bpf_name` to helper calls. */
  helperNames?: boolean;
  /** Names of the program's kfuncs by index (LoadedProgram.kfuncs), appended to kfunc calls as `# kfunc name`. */
  kfuncNames?: readonly string[];
}

const reg = (r: number) => `%r${r}`;
const signed = (n: number) => (n < 0 ? `-${-n}` : `+${n}`);
const mem = (r: number, off: number) => `[${reg(r)}${signed(off)}]`;
const imm = (n: number) => (n < 0 || n < 10 ? String(n) : `0x${n.toString(16)}`);

/** One instruction (at slot `pc`, for absolute targets). */
export function disassembleInsn(insn: Insn, pc = 0, opts: DisasmOptions = {}): string {
  const info = opcodeInfo(insn.opcode);
  if (!info) return `.raw 0x${insn.opcode.toString(16).padStart(2, '0')} ; unknown opcode`;
  const target = (rel: number) => (opts.absoluteTargets ? ` # -> ${pc + 1 + rel}` : '');
  switch (info.kind) {
    case 'alu': {
      const v = aluVariant(info, insn.off);
      const w = info.width === 32 ? '32' : '';
      if (v === undefined) return `${info.mnemonic} ${reg(insn.dst)} ; invalid off ${insn.off}`;
      if (v === 'neg') return `neg${w} ${reg(insn.dst)}`;
      const name = v === 'movsx' ? `movsx${insn.off}${info.width}` : `${v}${w}`;
      return `${name} ${reg(insn.dst)}, ${info.srcReg ? reg(insn.src) : imm(insn.imm)}`;
    }
    case 'end':
      return `${info.end}${insn.imm} ${reg(insn.dst)}`;
    case 'ja':
      return info.cls === 'jmp32' ? `ja32 ${signed(insn.imm)}${target(insn.imm)}` : `ja ${signed(insn.off)}${target(insn.off)}`;
    case 'jcond':
      return `may_goto ${signed(insn.off)}${target(insn.off)}`;
    case 'jump':
      return `${info.mnemonic} ${reg(insn.dst)}, ${info.srcReg ? reg(insn.src) : imm(insn.imm)}, ${signed(insn.off)}${target(insn.off)}`;
    case 'call':
      if (insn.src === CALL_LOCAL) return `call local ${signed(insn.imm)}${target(insn.imm)}`;
      if (insn.src === CALL_KFUNC) {
        const name = opts.kfuncNames?.[insn.imm];
        return `call runtime ${insn.imm}${name ? ` # kfunc ${name}` : ''}`;
      }
      if (insn.src === CALL_HELPER) {
        const name = opts.helperNames ? helperName(insn.imm) : undefined;
        return `call ${insn.imm}${name ? ` # ${name}` : ''}`;
      }
      return `call ${insn.imm} ; invalid src ${insn.src}`;
    case 'exit':
      return 'exit';
    case 'lddw': {
      const value = (BigInt(insn.nextImm ?? 0) << 32n) | BigInt(insn.imm >>> 0);
      const mapName = (i: number) => opts.mapNames?.[i] ?? String(i);
      switch (insn.src) {
        case PSEUDO_IMM64: return `lddw ${reg(insn.dst)}, 0x${BigInt.asUintN(64, value).toString(16)}`;
        case PSEUDO_MAP_FD:
        case PSEUDO_MAP_IDX: return `lddw ${reg(insn.dst)}, map[${mapName(insn.imm)}]`;
        case PSEUDO_MAP_VALUE:
        case PSEUDO_MAP_IDX_VALUE: return `lddw ${reg(insn.dst)}, map_value[${mapName(insn.imm)}]${signed(insn.nextImm ?? 0)}`;
        case PSEUDO_FUNC: return `lddw ${reg(insn.dst)}, func ${signed(insn.imm)}${target(insn.imm)}`;
        default: return `lddw ${reg(insn.dst)}, pseudo${insn.src}(${insn.imm}, ${insn.nextImm ?? 0})`;
      }
    }
    case 'ldx':
    case 'ldxsx':
      return `${info.mnemonic} ${reg(insn.dst)}, ${mem(insn.src, insn.off)}`;
    case 'st':
      return `${info.mnemonic} ${mem(insn.dst, insn.off)}, ${imm(insn.imm)}`;
    case 'stx':
      return `${info.mnemonic} ${mem(insn.dst, insn.off)}, ${reg(insn.src)}`;
    case 'atomic': {
      const a = atomicOp(insn.imm);
      const w = info.size === 4 ? '32' : '';
      if (!a) return `lock ${mem(insn.dst, insn.off)} ; invalid atomic imm 0x${(insn.imm >>> 0).toString(16)}`;
      if (a.op === 'load_acq') return `load_acq${info.size! * 8} ${reg(insn.dst)}, ${mem(insn.src, insn.off)}`;
      if (a.op === 'store_rel') return `store_rel${info.size! * 8} ${mem(insn.dst, insn.off)}, ${reg(insn.src)}`;
      const fetch = a.fetch && a.op !== 'xchg' && a.op !== 'cmpxchg' ? 'fetch ' : '';
      return `lock ${fetch}${a.op}${w} ${mem(insn.dst, insn.off)}, ${reg(insn.src)}`;
    }
    case 'ld-abs':
      return `${info.mnemonic} ${imm(insn.imm)}`;
    case 'ld-ind':
      return `${info.mnemonic} ${reg(insn.src)}, ${imm(insn.imm)}`;
  }
}

/** A whole program, one line per executed instruction, prefixed with the slot index. lddw fillers are skipped. */
export function disassemble(insns: readonly Insn[], opts: DisasmOptions = {}): string {
  const lines: string[] = [];
  for (let pc = 0; pc < insns.length; pc++) {
    lines.push(`${String(pc).padStart(4)}: ${disassembleInsn(insns[pc], pc, opts)}`);
    if (opcodeInfo(insns[pc].opcode)?.kind === 'lddw') pc++;
  }
  return lines.join('\n');
}
