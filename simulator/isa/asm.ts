// Assembler for the text form used by the bpf_conformance and uBPF test data (`mov %r0, 1`, `ldxw %r0, [%r1+4]`,
// `stxdw [%r10-8], %r1`, `lock fetch add [%r10-8], %r1`, `jne %r1, 0x2, label`, `call local f`, `be16 %r0`, `movsx832`,
// `ja32 L`, ...). It accepts what disasm.ts prints, so the two round-trip.
//
// Rules follow the bpf_conformance assembler (lib/src/bpf_assembler.cc), re-derived here: `#` starts a comment
// anywhere; `name:` on its own line defines a label at the next slot; the first `exit` also defines the label `exit`;
// jump targets are labels or signed offsets (`+3`, `-1`); 32-bit immediates are decimal in [-2^31, 2^31) or hex up to
// 0xffffffff (reinterpreted as signed); offsets are decimal int16 or hex up to 0xffff; `%r0`..`%r15` parse (r11-r15
// exist so that negative tests reach the validator), anything else is an error. The assembler is total: it returns
// every error with its 1-based line number instead of throwing.
import type { Insn } from './insn.ts';
import {
  CALL_HELPER, CALL_KFUNC, CALL_LOCAL, CLS_ALU, CLS_ALU64, CLS_JMP, CLS_JMP32, CLS_LDX, CLS_ST, CLS_STX, END_TO_BE,
  END_TO_LE, JMP_CALL, JMP_EXIT, JMP_JA, MODE_ATOMIC, MODE_MEM, MODE_MEMSX, OP_END, OPCODE_LIST, SIZE_B, SIZE_DW,
  SIZE_H, SIZE_W, SRC_K, SRC_X, PSEUDO_FUNC, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, atomicImm, type AtomicOp,
} from './opcodes.ts';
import { LDDW, lddwFiller } from './decode.ts';

export interface AsmError {
  /** 1-based line number in the source text. */
  line: number;
  message: string;
}

export interface AsmResult {
  insns: Insn[];
  errors: AsmError[];
  /** Label name -> slot index. */
  labels: Map<string, number>;
}

class AsmLineError extends Error {}

const fail = (message: string): never => {
  throw new AsmLineError(message);
};

function parseRegister(tok: string): number {
  const m = /^%r(\d+)$/.exec(tok);
  if (!m || Number(m[1]) > 15) fail(`Invalid register: ${tok}`);
  return Number(m![1]);
}

function parseInteger(tok: string): bigint {
  const m = /^([+-]?)(0x[0-9a-fA-F]+|\d+)$/.exec(tok);
  if (!m) fail(`Invalid number: ${tok}`);
  const v = BigInt(m![2]);
  return m![1] === '-' ? -v : v;
}

/** A 32-bit immediate: decimal must fit int32; hex may be up to 0xffffffff and is reinterpreted as signed. */
function parseImm32(tok: string): number {
  const isHex = /0x/i.test(tok);
  const v = parseInteger(tok);
  if (isHex ? v < -0x80000000n || v > 0xffffffffn : v < -0x80000000n || v > 0x7fffffffn) fail(`Immediate out of 32-bit range: ${tok}`);
  return Number(BigInt.asIntN(32, v));
}

/** A 16-bit offset: decimal must fit int16; hex may be up to 0xffff. */
function parseOff16(tok: string): number {
  const isHex = /0x/i.test(tok);
  const v = parseInteger(tok);
  if (isHex ? v < -0x8000n || v > 0xffffn : v < -0x8000n || v > 0x7fffn) fail(`Offset out of 16-bit range: ${tok}`);
  return Number(BigInt.asIntN(16, v));
}

function parseImm64(tok: string): bigint {
  const v = parseInteger(tok);
  if (v < -(1n << 63n) || v > (1n << 64n) - 1n) fail(`Immediate out of 64-bit range: ${tok}`);
  return BigInt.asUintN(64, v);
}

/** `[%rN]`, `[%rN+off]`, `[%rN-off]`. */
function parseMem(tok: string): { reg: number; off: number } {
  const m = /^\[\s*(%r\d+)\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?\s*\]$/.exec(tok);
  if (!m) fail(`Failed to decode register and offset: ${tok}`);
  return { reg: parseRegister(m![1]), off: m![2] ? parseOff16(m![2] + m![3]) : 0 };
}

const SIZE_BY_SUFFIX: Record<string, number> = { b: SIZE_B, h: SIZE_H, w: SIZE_W, dw: SIZE_DW };

const ALU_CODES = new Map<string, number>();
for (const o of OPCODE_LIST) if (o.kind === 'alu' && o.cls === 'alu64') ALU_CODES.set(o.alu!, o.code & 0xf0);
const JMP_CODES = new Map<string, number>();
for (const o of OPCODE_LIST) if (o.kind === 'jump' && o.cls === 'jmp') JMP_CODES.set(o.jmp!, o.code & 0xf0);

interface Pending {
  /** Index of the instruction whose target is a label. */
  slot: number;
  label: string;
  line: number;
  /** Patch imm (calls, ja32) rather than off. */
  inImm: boolean;
}

export function assemble(text: string): AsmResult {
  const insns: Insn[] = [];
  const errors: AsmError[] = [];
  const labels = new Map<string, number>();
  const pending: Pending[] = [];
  let sawExit = false;

  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    try {
      const label = /^([A-Za-z_.$][\w.$]*):$/.exec(line);
      if (label) {
        if (labels.has(label[1]) && label[1] !== 'exit') fail(`Duplicate label: ${label[1]}`);
        labels.set(label[1], insns.length);
        return;
      }
      const sp = line.search(/\s/);
      const mnemonic = sp < 0 ? line : line.slice(0, sp);
      const rest = sp < 0 ? '' : line.slice(sp + 1).trim();
      if (mnemonic === 'exit' && !sawExit) {
        sawExit = true;
        if (!labels.has('exit')) labels.set('exit', insns.length);
      }
      const target = (tok: string, inImm: boolean): number => {
        if (/^[+-]/.test(tok)) return inImm ? parseImm32(tok) : parseOff16(tok);
        if (!/^[A-Za-z_.$][\w.$]*$/.test(tok)) fail(`Invalid label: ${tok}`);
        pending.push({ slot: insns.length, label: tok, line: lineNo, inImm });
        return 0;
      };
      for (const insn of encodeLine(mnemonic, rest, target)) insns.push(insn);
    } catch (e) {
      if (!(e instanceof AsmLineError)) throw e;
      errors.push({ line: lineNo, message: `line ${lineNo}: ${e.message}` });
    }
  });

  for (const p of pending) {
    const at = labels.get(p.label);
    if (at === undefined) {
      errors.push({ line: p.line, message: `line ${p.line}: Invalid label: ${p.label}` });
      continue;
    }
    const rel = at - p.slot - 1;
    if (p.inImm) insns[p.slot].imm = rel;
    else if (rel < -0x8000 || rel > 0x7fff) errors.push({ line: p.line, message: `line ${p.line}: jump to ${p.label} is out of 16-bit range` });
    else insns[p.slot].off = rel;
  }
  if (insns.length === 0 && errors.length === 0) errors.push({ line: 0, message: 'no instructions' });
  return { insns, errors, labels };
}

function operands(rest: string, count: number, mnemonic: string): string[] {
  const ops = rest === '' ? [] : rest.split(',').map((s) => s.trim());
  if (ops.length !== count || ops.some((o) => o === '')) fail(`Invalid number of operands for mnemonic: ${mnemonic}`);
  return ops;
}

const insn = (opcode: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ opcode, dst, src, off, imm });

function encodeLine(mnemonic: string, rest: string, target: (tok: string, inImm: boolean) => number): Insn[] {
  let m: RegExpExecArray | null;

  if (mnemonic === 'exit') {
    operands(rest, 0, mnemonic);
    return [insn(CLS_JMP | JMP_EXIT)];
  }
  if (mnemonic === 'ja') {
    const [t] = operands(rest, 1, mnemonic);
    return [insn(CLS_JMP | JMP_JA, 0, 0, target(t, false))];
  }
  if (mnemonic === 'ja32' || mnemonic === 'gotol') {
    const [t] = operands(rest, 1, mnemonic);
    return [insn(CLS_JMP32 | JMP_JA, 0, 0, 0, target(t, true))];
  }
  if (mnemonic === 'call') {
    const words = rest.split(/\s+/).filter(Boolean);
    if (words.length === 1) words.unshift('helper');
    if (words.length !== 2) fail('Invalid number of operands for mnemonic: call');
    const [mode, t] = words;
    if (mode === 'helper') {
      // `call %rN` is callx (BPF_CALL | BPF_X, target register in dst): not part of RFC 9669; validation rejects it.
      if (t.startsWith('%')) return [insn(CLS_JMP | SRC_X | JMP_CALL, parseRegister(t))];
      return [insn(CLS_JMP | JMP_CALL, 0, CALL_HELPER, 0, parseImm32(t))];
    }
    if (mode === 'local') return [insn(CLS_JMP | JMP_CALL, 0, CALL_LOCAL, 0, target(t, true))];
    if (mode === 'runtime') return [insn(CLS_JMP | JMP_CALL, 0, CALL_KFUNC, 0, parseImm32(t))];
    return fail(`Invalid call mode: ${mode}`);
  }
  if (mnemonic === 'lddw') {
    const [d, v] = operands(rest, 2, mnemonic);
    // Pseudo sources as disasm.ts prints them: map[N] (src 1), map_value[N]+off (src 2), func label|+N (src 4).
    const pm = /^map\[(\d+)\]$/.exec(v);
    if (pm) return [{ opcode: LDDW, dst: parseRegister(d), src: PSEUDO_MAP_FD, off: 0, imm: Number(pm[1]), nextImm: 0 }, lddwFiller(0)];
    const pv = /^map_value\[(\d+)\]\s*(?:([+-])\s*(\d+))?$/.exec(v);
    if (pv) {
      const off = pv[2] ? Number(pv[2] + pv[3]) : 0;
      return [{ opcode: LDDW, dst: parseRegister(d), src: PSEUDO_MAP_VALUE, off: 0, imm: Number(pv[1]), nextImm: off }, lddwFiller(off)];
    }
    const pf = /^func\s+(\S+)$/.exec(v);
    if (pf) return [{ opcode: LDDW, dst: parseRegister(d), src: PSEUDO_FUNC, off: 0, imm: target(pf[1], true), nextImm: 0 }, lddwFiller(0)];
    const value = parseImm64(v);
    const lo = Number(BigInt.asIntN(32, value));
    const hi = Number(BigInt.asIntN(32, value >> 32n));
    return [{ opcode: LDDW, dst: parseRegister(d), src: 0, off: 0, imm: lo, nextImm: hi }, lddwFiller(hi)];
  }
  if (mnemonic === 'lock') {
    const words = rest.split(/\s+/).filter(Boolean);
    if (words.length === 0) fail('Invalid number of operands for lock');
    let fetch = false;
    if (words[0] === 'fetch') {
      fetch = true;
      words.shift();
    }
    const opName = words.shift() ?? fail('Invalid number of operands for lock');
    const om = /^(add|or|and|xor|xchg|cmpxchg)(32|64)?$/.exec(opName) ?? fail(`Invalid atomic operation: ${opName}`);
    const ops = operands(words.join(' '), 2, 'lock');
    const { reg, off } = parseMem(ops[0]);
    const op = om[1] as AtomicOp;
    const size = om[2] === '32' ? SIZE_W : SIZE_DW;
    return [insn(CLS_STX | MODE_ATOMIC | size, reg, parseRegister(ops[1]), off, atomicImm(op, fetch || op === 'xchg' || op === 'cmpxchg'))];
  }
  if ((m = /^(be|le|swap|bswap)(16|32|64)$/.exec(mnemonic))) {
    const [d] = operands(rest, 1, mnemonic);
    const opcode = m[1] === 'be' ? CLS_ALU | END_TO_BE | OP_END : m[1] === 'le' ? CLS_ALU | END_TO_LE | OP_END : CLS_ALU64 | OP_END;
    return [insn(opcode, parseRegister(d), 0, 0, Number(m[2]))];
  }
  if ((m = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic))) {
    if (m[1] && m[2] === 'dw') fail(`Invalid mnemonic: ${mnemonic}`);
    const [d, a] = operands(rest, 2, mnemonic);
    const { reg, off } = parseMem(a);
    return [insn(CLS_LDX | (m[1] ? MODE_MEMSX : MODE_MEM) | SIZE_BY_SUFFIX[m[2]], parseRegister(d), reg, off)];
  }
  if ((m = /^st(x?)(b|h|w|dw)$/.exec(mnemonic))) {
    const [a, v] = operands(rest, 2, mnemonic);
    const { reg, off } = parseMem(a);
    if (m[1]) return [insn(CLS_STX | MODE_MEM | SIZE_BY_SUFFIX[m[2]], reg, parseRegister(v), off)];
    return [insn(CLS_ST | MODE_MEM | SIZE_BY_SUFFIX[m[2]], reg, 0, off, parseImm32(v))];
  }
  if ((m = /^movsx(8|16|32)(32|64)$/.exec(mnemonic))) {
    const [d, s] = operands(rest, 2, mnemonic);
    const cls = m[2] === '32' ? CLS_ALU : CLS_ALU64;
    return [insn(cls | SRC_X | ALU_CODES.get('mov')!, parseRegister(d), parseRegister(s), Number(m[1]))];
  }
  if ((m = /^(neg)(32|64)?$/.exec(mnemonic))) {
    const [d] = operands(rest, 1, mnemonic);
    return [insn((m[2] === '32' ? CLS_ALU : CLS_ALU64) | ALU_CODES.get('neg')!, parseRegister(d))];
  }
  if ((m = /^(add|sub|mul|div|sdiv|or|and|lsh|rsh|mod|smod|xor|mov|arsh)(32|64)?$/.exec(mnemonic))) {
    const [d, s] = operands(rest, 2, mnemonic);
    const signed = m[1] === 'sdiv' || m[1] === 'smod';
    const base = signed ? m[1].slice(1) : m[1];
    const cls = m[2] === '32' ? CLS_ALU : CLS_ALU64;
    const code = ALU_CODES.get(base)!;
    if (s.startsWith('%')) return [insn(cls | SRC_X | code, parseRegister(d), parseRegister(s), signed ? 1 : 0)];
    return [insn(cls | SRC_K | code, parseRegister(d), 0, signed ? 1 : 0, parseImm32(s))];
  }
  if ((m = /^(jeq|jgt|jge|jset|jne|jsgt|jsge|jlt|jle|jslt|jsle)(32)?$/.exec(mnemonic))) {
    const [d, s, t] = operands(rest, 3, mnemonic);
    const cls = m[2] ? CLS_JMP32 : CLS_JMP;
    const code = JMP_CODES.get(m[1])!;
    const dst = parseRegister(d);
    if (s.startsWith('%')) {
      const src = parseRegister(s);
      return [insn(cls | SRC_X | code, dst, src, target(t, false))];
    }
    const imm = parseImm32(s);
    return [insn(cls | SRC_K | code, dst, 0, target(t, false), imm)];
  }
  return fail(`Invalid mnemonic: ${mnemonic}`);
}
