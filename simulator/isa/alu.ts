// The arithmetic of ALU and ALU64 instructions on concrete values, written once: the interpreter executes with it and
// the bytecode analysis folds constants with it (RFC 9669 §4.1 as the kernel implements it, including the results
// the verifier patches in for register divisors: x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0).
// alu64's result is not reduced to 64 bits: callers store it into a BigUint64Array or pass it through u64().
import { s16, s32, s64, s8, u32 } from './width.ts';
import type { AluVariant, JmpOp } from './opcodes.ts';

export function alu64(op: AluVariant, a: bigint, b: bigint, off: number): bigint {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return b === 0n ? 0n : a / b;
    case 'sdiv': return b === 0n ? 0n : s64(a) / s64(b);
    case 'or': return a | b;
    case 'and': return a & b;
    case 'lsh': return a << (b & 63n);
    case 'rsh': return a >> (b & 63n);
    case 'arsh': return s64(a) >> (b & 63n);
    case 'neg': return -a;
    case 'mod': return b === 0n ? a : a % b;
    case 'smod': return b === 0n ? a : s64(a) % s64(b);
    case 'xor': return a ^ b;
    case 'mov': return b;
    case 'movsx': return off === 8 ? s8(b) : off === 16 ? s16(b) : s32(b);
  }
}

/** The 32-bit form: operands are the low 32 bits, the result is zero-extended. */
export function alu32(op: AluVariant, a64: bigint, b64: bigint, off: number): bigint {
  const a = u32(a64);
  const b = u32(b64);
  switch (op) {
    case 'add': return u32(a + b);
    case 'sub': return u32(a - b);
    case 'mul': return u32(a * b);
    case 'div': return b === 0n ? 0n : a / b;
    case 'sdiv': return b === 0n ? 0n : u32(s32(a) / s32(b));
    case 'or': return a | b;
    case 'and': return a & b;
    case 'lsh': return u32(a << (b & 31n));
    case 'rsh': return a >> (b & 31n);
    case 'arsh': return u32(s32(a) >> (b & 31n));
    case 'neg': return u32(-a);
    case 'mod': return b === 0n ? a : a % b;
    case 'smod': return b === 0n ? a : u32(s32(a) % s32(b));
    case 'xor': return a ^ b;
    case 'mov': return b;
    case 'movsx': return u32(off === 8 ? s8(b) : s16(b));
  }
}

/**
 * Instruction arrays run as the ISA alone (runRaw: the conformance suite's programs, which no kernel loads): RFC 9669's
 * results (a constant shift masked, x / 0 = 0) instead of the verifier's refusals below.
 */
/** Whether a conditional jump on two concrete values is taken (JMP on 64 bits, JMP32 on the low 32). */
export function jumpTaken(op: JmpOp, w32: boolean, a: bigint, b: bigint): boolean {
  const ua = w32 ? a & 0xffffffffn : BigInt.asUintN(64, a);
  const ub = w32 ? b & 0xffffffffn : BigInt.asUintN(64, b);
  switch (op) {
    case 'jeq': return ua === ub;
    case 'jne': return ua !== ub;
    case 'jgt': return ua > ub;
    case 'jge': return ua >= ub;
    case 'jlt': return ua < ub;
    case 'jle': return ua <= ub;
    case 'jset': return (ua & ub) !== 0n;
  }
  const sa = BigInt.asIntN(w32 ? 32 : 64, ua);
  const sb = BigInt.asIntN(w32 ? 32 : 64, ub);
  switch (op) {
    case 'jsgt': return sa > sb;
    case 'jsge': return sa >= sb;
    case 'jslt': return sa < sb;
    case 'jsle': return sa <= sb;
  }
}

export const ISA_ONLY: WeakSet<readonly unknown[]> = new WeakSet();

/**
 * What the verifier refuses about an ALU instruction with an immediate operand when a path reaches it (check_alu_op,
 * in its words): a division or modulo by the constant 0, a shift by a constant outside [0, width). Not a load-time
 * error: on a branch the verifier proves never taken the instruction is never checked, and the program loads. The
 * engines fault on it (kind invalid-insn) when a packet reaches it; register operands are never refused.
 */
export function refusedWhenReached(op: AluVariant, srcReg: boolean, width: 32 | 64 | undefined, imm: number): string | undefined {
  if (srcReg) return undefined;
  if ((op === 'div' || op === 'sdiv' || op === 'mod' || op === 'smod') && imm === 0) return 'div by zero: the verifier refuses a division or modulo by the constant 0 on any path it reaches';
  if ((op === 'lsh' || op === 'rsh' || op === 'arsh') && (imm < 0 || imm >= (width ?? 64))) return `invalid shift ${imm}: the verifier refuses a shift by a constant outside [0, ${width ?? 64}) on any path it reaches`;
  return undefined;
}
