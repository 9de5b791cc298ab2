// The one opcode table of the eBPF instruction set (RFC 9669 plus the Linux extensions clang emits for cpu v4).
//
// Decode, validation, disassembly, the assembler and the interpreter all look instructions up here, so that a new
// opcode is added once. The model is the kernel's BPF_INSN_MAP feeding `jumptable[256]` (kernel/bpf/core.c) and uBPF's
// ebpf.h; opcodes are composed from named parts exactly as the RFC draws them:
//
//   opcode byte (LSB first on the wire)
//   ┌───────────────┬───┬───────────┐
//   │  7   6   5   4│  3│  2   1   0│   ALU / ALU64 / JMP / JMP32
//   │   operation   │ s │   class   │   s: 0 = K (use imm), 1 = X (use src register)
//   ├───────┬───────┼───┴───────────┤
//   │ 7 6 5 │  4 3  │  2   1   0    │   LD / LDX / ST / STX
//   │ mode  │ size  │   class       │   size: W 00, H 01, B 10, DW 11
//   └───────┴───────┴───────────────┘
//
//   slot: opcode:8 | dst:4 (low nibble of byte 1) | src:4 (high nibble) | off:16 (signed) | imm:32 (signed)
//
// Variants that share an opcode byte are told apart by other fields: SDIV/SMOD by off = 1, MOVSX by off = 8/16/32,
// atomics by imm, lddw pseudo sources by src, call kinds by src. Those are resolved by the small functions at the end
// of this file (aluVariant, atomicOp), which validation and the interpreter share.

// ---- classes (bits 0-2) ----
export const CLS_LD = 0x00;
export const CLS_LDX = 0x01;
export const CLS_ST = 0x02;
export const CLS_STX = 0x03;
export const CLS_ALU = 0x04;
export const CLS_JMP = 0x05;
export const CLS_JMP32 = 0x06;
export const CLS_ALU64 = 0x07;

// ---- source bit (bit 3) for ALU/JMP ----
export const SRC_K = 0x00;
export const SRC_X = 0x08;

// ---- ALU operations (bits 4-7) ----
export const OP_ADD = 0x00;
export const OP_SUB = 0x10;
export const OP_MUL = 0x20;
export const OP_DIV = 0x30;
export const OP_OR = 0x40;
export const OP_AND = 0x50;
export const OP_LSH = 0x60;
export const OP_RSH = 0x70;
export const OP_NEG = 0x80;
export const OP_MOD = 0x90;
export const OP_XOR = 0xa0;
export const OP_MOV = 0xb0;
export const OP_ARSH = 0xc0;
export const OP_END = 0xd0;

// ---- JMP operations (bits 4-7) ----
export const JMP_JA = 0x00;
export const JMP_JEQ = 0x10;
export const JMP_JGT = 0x20;
export const JMP_JGE = 0x30;
export const JMP_JSET = 0x40;
export const JMP_JNE = 0x50;
export const JMP_JSGT = 0x60;
export const JMP_JSGE = 0x70;
export const JMP_CALL = 0x80;
export const JMP_EXIT = 0x90;
export const JMP_JLT = 0xa0;
export const JMP_JLE = 0xb0;
export const JMP_JSLT = 0xc0;
export const JMP_JSLE = 0xd0;
export const JMP_JCOND = 0xe0;

// ---- sizes (bits 3-4) and modes (bits 5-7) for loads and stores ----
export const SIZE_W = 0x00;
export const SIZE_H = 0x08;
export const SIZE_B = 0x10;
export const SIZE_DW = 0x18;
export const MODE_IMM = 0x00;
export const MODE_ABS = 0x20;
export const MODE_IND = 0x40;
export const MODE_MEM = 0x60;
export const MODE_MEMSX = 0x80;
export const MODE_ATOMIC = 0xc0;

// ---- byte-swap direction: shares the source bit ----
export const END_TO_LE = 0x00;
export const END_TO_BE = 0x08;

// ---- atomic operations (imm of STX|ATOMIC) [RFC §5.3; Linux load-acquire/store-release] ----
export const ATOMIC_FETCH = 0x01;
export const ATOMIC_ADD = 0x00;
export const ATOMIC_OR = 0x40;
export const ATOMIC_AND = 0x50;
export const ATOMIC_XOR = 0xa0;
export const ATOMIC_XCHG = 0xe0 | ATOMIC_FETCH;
export const ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;
export const ATOMIC_LOAD_ACQ = 0x100;
export const ATOMIC_STORE_REL = 0x110;

// ---- lddw pseudo sources (src register of opcode 0x18) [RFC §5.4; include/uapi/linux/bpf.h] ----
export const PSEUDO_IMM64 = 0;
export const PSEUDO_MAP_FD = 1;
export const PSEUDO_MAP_VALUE = 2;
export const PSEUDO_BTF_ID = 3;
export const PSEUDO_FUNC = 4;
export const PSEUDO_MAP_IDX = 5;
export const PSEUDO_MAP_IDX_VALUE = 6;

// ---- call kinds (src register of JMP|CALL) ----
export const CALL_HELPER = 0;
export const CALL_LOCAL = 1;
export const CALL_KFUNC = 2;

export type InsnClass = 'ld' | 'ldx' | 'st' | 'stx' | 'alu' | 'jmp' | 'jmp32' | 'alu64';

export type AluOp = 'add' | 'sub' | 'mul' | 'div' | 'or' | 'and' | 'lsh' | 'rsh' | 'neg' | 'mod' | 'xor' | 'mov' | 'arsh';
export type JmpOp = 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt' | 'jsle';

/** What an opcode does, in the terms the interpreter dispatches on. */
export type OpKind =
  | 'alu'       // dst = dst OP src (op, width, srcReg)
  | 'end'       // byte swap: le/be (ALU class) or unconditional bswap (ALU64 class)
  | 'ja'        // unconditional jump (JMP: off; JMP32 "gotol": imm)
  | 'jump'      // conditional jump (op, width, srcReg)
  | 'call'
  | 'exit'
  | 'lddw'      // 64-bit immediate, two slots
  | 'ldx'       // dst = *(size *)(src + off), zero-extended
  | 'ldxsx'     // dst = *(ssize *)(src + off), sign-extended (cpu v4)
  | 'st'        // *(size *)(dst + off) = imm
  | 'stx'       // *(size *)(dst + off) = src
  | 'atomic'    // atomic read-modify-write, op in imm
  | 'ld-abs'    // legacy packet loads (socket filters only)
  | 'ld-ind'
  | 'jcond';    // may_goto (Linux only)

export interface OpcodeInfo {
  /** The opcode byte. */
  code: number;
  /** Base mnemonic in the bpf_conformance assembler's spelling (`add32`, `jeq`, `ldxw`, `stxdw`, `lddw`, ...). */
  mnemonic: string;
  cls: InsnClass;
  kind: OpKind;
  alu?: AluOp;
  jmp?: JmpOp;
  /** ALU/JMP operand width in bits. */
  width?: 32 | 64;
  /** ALU/JMP: the X form (source register rather than immediate). */
  srcReg?: boolean;
  /** Loads/stores: access size in bytes. */
  size?: 1 | 2 | 4 | 8;
  /** END: 'le' / 'be' for the ALU class, 'bswap' for ALU64 (cpu v4). */
  end?: 'le' | 'be' | 'bswap';
  /** One-line description for hover text. */
  summary: string;
}

const ALU_OPS: [AluOp, number, string][] = [
  ['add', OP_ADD, 'dst += src'],
  ['sub', OP_SUB, 'dst -= src'],
  ['mul', OP_MUL, 'dst *= src'],
  ['div', OP_DIV, 'dst /= src (unsigned; off=1: signed sdiv); division by zero gives 0'],
  ['or', OP_OR, 'dst |= src'],
  ['and', OP_AND, 'dst &= src'],
  ['lsh', OP_LSH, 'dst <<= src (shift masked to width-1)'],
  ['rsh', OP_RSH, 'dst >>= src, logical'],
  ['neg', OP_NEG, 'dst = -dst'],
  ['mod', OP_MOD, 'dst %= src (unsigned; off=1: signed smod); modulo by zero leaves dst'],
  ['xor', OP_XOR, 'dst ^= src'],
  ['mov', OP_MOV, 'dst = src (off=8/16/32: movsx, sign-extend src)'],
  ['arsh', OP_ARSH, 'dst >>= src, arithmetic (sign-filling)'],
];

const JMP_OPS: [JmpOp, number, string][] = [
  ['jeq', JMP_JEQ, '=='],
  ['jgt', JMP_JGT, '> (unsigned)'],
  ['jge', JMP_JGE, '>= (unsigned)'],
  ['jset', JMP_JSET, '& (any common bit)'],
  ['jne', JMP_JNE, '!='],
  ['jsgt', JMP_JSGT, '> (signed)'],
  ['jsge', JMP_JSGE, '>= (signed)'],
  ['jlt', JMP_JLT, '< (unsigned)'],
  ['jle', JMP_JLE, '<= (unsigned)'],
  ['jslt', JMP_JSLT, '< (signed)'],
  ['jsle', JMP_JSLE, '<= (signed)'],
];

const SIZES: [number, 1 | 2 | 4 | 8, string][] = [
  [SIZE_B, 1, 'b'],
  [SIZE_H, 2, 'h'],
  [SIZE_W, 4, 'w'],
  [SIZE_DW, 8, 'dw'],
];

function buildTable(): OpcodeInfo[] {
  const t: OpcodeInfo[] = [];
  for (const [cls, clsName, width, suffix] of [
    [CLS_ALU64, 'alu64', 64, ''],
    [CLS_ALU, 'alu', 32, '32'],
  ] as const) {
    for (const [alu, op, summary] of ALU_OPS) {
      t.push({ code: cls | SRC_K | op, mnemonic: alu + suffix, cls: clsName, kind: 'alu', alu, width, srcReg: false, summary });
      // NEG has only the K form [RFC §4.1].
      if (alu !== 'neg') t.push({ code: cls | SRC_X | op, mnemonic: alu + suffix, cls: clsName, kind: 'alu', alu, width, srcReg: true, summary });
    }
  }
  t.push({ code: CLS_ALU | END_TO_LE | OP_END, mnemonic: 'le', cls: 'alu', kind: 'end', end: 'le', summary: 'convert to little-endian (truncate to imm bits on an LE host)' });
  t.push({ code: CLS_ALU | END_TO_BE | OP_END, mnemonic: 'be', cls: 'alu', kind: 'end', end: 'be', summary: 'convert to big-endian (byte-swap imm bits on an LE host)' });
  t.push({ code: CLS_ALU64 | OP_END, mnemonic: 'bswap', cls: 'alu64', kind: 'end', end: 'bswap', summary: 'unconditional byte swap of imm bits (cpu v4)' });

  for (const [cls, clsName, width, suffix] of [
    [CLS_JMP, 'jmp', 64, ''],
    [CLS_JMP32, 'jmp32', 32, '32'],
  ] as const) {
    for (const [jmp, op, rel] of JMP_OPS) {
      t.push({ code: cls | SRC_K | op, mnemonic: jmp + suffix, cls: clsName, kind: 'jump', jmp, width, srcReg: false, summary: `jump if dst ${rel} imm` });
      t.push({ code: cls | SRC_X | op, mnemonic: jmp + suffix, cls: clsName, kind: 'jump', jmp, width, srcReg: true, summary: `jump if dst ${rel} src` });
    }
  }
  t.push({ code: CLS_JMP | JMP_JA, mnemonic: 'ja', cls: 'jmp', kind: 'ja', summary: 'jump by off' });
  t.push({ code: CLS_JMP32 | JMP_JA, mnemonic: 'ja32', cls: 'jmp32', kind: 'ja', summary: 'gotol: jump by the 32-bit imm (cpu v4)' });
  t.push({ code: CLS_JMP | JMP_CALL, mnemonic: 'call', cls: 'jmp', kind: 'call', summary: 'call a helper (src 0), a bpf function (src 1) or a kfunc (src 2)' });
  t.push({ code: CLS_JMP | JMP_EXIT, mnemonic: 'exit', cls: 'jmp', kind: 'exit', summary: 'return r0 to the caller' });
  t.push({ code: CLS_JMP | JMP_JCOND, mnemonic: 'may_goto', cls: 'jmp', kind: 'jcond', summary: 'may_goto (Linux extension): bounded loop escape' });

  t.push({ code: CLS_LD | MODE_IMM | SIZE_DW, mnemonic: 'lddw', cls: 'ld', kind: 'lddw', size: 8, summary: 'dst = 64-bit immediate (two slots); src selects map/value/function pseudo forms' });
  for (const [sz, size, s] of SIZES) {
    t.push({ code: CLS_LD | MODE_ABS | sz, mnemonic: `ldabs${s}`, cls: 'ld', kind: 'ld-abs', size, summary: 'legacy packet load (socket filters only)' });
    t.push({ code: CLS_LD | MODE_IND | sz, mnemonic: `ldind${s}`, cls: 'ld', kind: 'ld-ind', size, summary: 'legacy packet load (socket filters only)' });
    t.push({ code: CLS_LDX | MODE_MEM | sz, mnemonic: `ldx${s}`, cls: 'ldx', kind: 'ldx', size, summary: `dst = *(u${size * 8} *)(src + off)` });
    if (size !== 8) t.push({ code: CLS_LDX | MODE_MEMSX | sz, mnemonic: `ldxs${s}`, cls: 'ldx', kind: 'ldxsx', size, summary: `dst = *(s${size * 8} *)(src + off), sign-extended (cpu v4)` });
    t.push({ code: CLS_ST | MODE_MEM | sz, mnemonic: `st${s}`, cls: 'st', kind: 'st', size, summary: `*(u${size * 8} *)(dst + off) = imm` });
    t.push({ code: CLS_STX | MODE_MEM | sz, mnemonic: `stx${s}`, cls: 'stx', kind: 'stx', size, summary: `*(u${size * 8} *)(dst + off) = src` });
    // W and DW carry the RMW atomics; B and H exist only for load-acquire/store-release (checked in validation).
    t.push({ code: CLS_STX | MODE_ATOMIC | sz, mnemonic: `atomic${s}`, cls: 'stx', kind: 'atomic', size, summary: 'atomic operation on *(dst + off), op in imm' });
  }
  return t;
}

/** Every opcode the simulator knows, in table order. */
export const OPCODE_LIST: readonly OpcodeInfo[] = buildTable();

/** Opcode byte -> info; undefined for bytes that are not instructions. */
export const OPCODES: readonly (OpcodeInfo | undefined)[] = (() => {
  const a: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  for (const info of OPCODE_LIST) {
    if (a[info.code]) throw new Error(`opcode table: duplicate opcode 0x${info.code.toString(16)}`);
    a[info.code] = info;
  }
  return a;
})();

export function opcodeInfo(code: number): OpcodeInfo | undefined {
  return OPCODES[code & 0xff];
}

/** The ALU operation after resolving the variants selected by `off`. */
export type AluVariant = AluOp | 'sdiv' | 'smod' | 'movsx';

/**
 * Resolve an ALU opcode plus its `off` field to the operation it performs, or undefined if `off` is not allowed
 * (the kernel's `BPF_ALU uses reserved fields`). div/mod: off 0 or 1 (signed); mov: off 0, or 8/16 (and 32 for
 * ALU64) for movsx, X form only; everything else: off 0.
 */
export function aluVariant(info: OpcodeInfo, off: number): AluVariant | undefined {
  const alu = info.alu!;
  if (off === 0) return alu;
  if (off === 1 && alu === 'div') return 'sdiv';
  if (off === 1 && alu === 'mod') return 'smod';
  if (alu === 'mov' && info.srcReg && (off === 8 || off === 16 || (off === 32 && info.width === 64))) return 'movsx';
  return undefined;
}

export type AtomicOp = 'add' | 'or' | 'and' | 'xor' | 'xchg' | 'cmpxchg' | 'load_acq' | 'store_rel';

/** Decode the atomic operation in imm: which op and whether the old value is fetched into src. */
export function atomicOp(imm: number): { op: AtomicOp; fetch: boolean } | undefined {
  switch (imm) {
    case ATOMIC_ADD: return { op: 'add', fetch: false };
    case ATOMIC_ADD | ATOMIC_FETCH: return { op: 'add', fetch: true };
    case ATOMIC_OR: return { op: 'or', fetch: false };
    case ATOMIC_OR | ATOMIC_FETCH: return { op: 'or', fetch: true };
    case ATOMIC_AND: return { op: 'and', fetch: false };
    case ATOMIC_AND | ATOMIC_FETCH: return { op: 'and', fetch: true };
    case ATOMIC_XOR: return { op: 'xor', fetch: false };
    case ATOMIC_XOR | ATOMIC_FETCH: return { op: 'xor', fetch: true };
    case ATOMIC_XCHG: return { op: 'xchg', fetch: true };
    case ATOMIC_CMPXCHG: return { op: 'cmpxchg', fetch: true };
    case ATOMIC_LOAD_ACQ: return { op: 'load_acq', fetch: false };
    case ATOMIC_STORE_REL: return { op: 'store_rel', fetch: false };
    default: return undefined;
  }
}

/** Atomic op -> imm, for the assembler. */
export function atomicImm(op: AtomicOp, fetch: boolean): number {
  switch (op) {
    case 'add': return ATOMIC_ADD | (fetch ? ATOMIC_FETCH : 0);
    case 'or': return ATOMIC_OR | (fetch ? ATOMIC_FETCH : 0);
    case 'and': return ATOMIC_AND | (fetch ? ATOMIC_FETCH : 0);
    case 'xor': return ATOMIC_XOR | (fetch ? ATOMIC_FETCH : 0);
    case 'xchg': return ATOMIC_XCHG;
    case 'cmpxchg': return ATOMIC_CMPXCHG;
    case 'load_acq': return ATOMIC_LOAD_ACQ;
    case 'store_rel': return ATOMIC_STORE_REL;
  }
}

/** Find the opcode for a class-specific mnemonic (used by the assembler). */
export function findOpcode(mnemonic: string, srcReg?: boolean): OpcodeInfo | undefined {
  return OPCODE_LIST.find((o) => o.mnemonic === mnemonic && (srcReg === undefined || o.srcReg === undefined || o.srcReg === srcReg));
}
