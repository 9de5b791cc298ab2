// Named width conversions for 64-bit register values held as BigInt.
//
// Every sign or width change in the ISA goes through one of these, so that a reader can see "low 32 bits, signed"
// instead of an inline mask or cast. They mirror the kernel interpreter's `(u32) DST`, `(s32) IMM` casts
// (kernel/bpf/core.c ___bpf_prog_run) and uBPF's u32()/i32() helpers.

const M8 = 0xffn;
const M16 = 0xffffn;
const M32 = 0xffffffffn;
const M64 = 0xffffffffffffffffn;

/** Low 64 bits, unsigned (wrap-around). */
export const u64 = (x: bigint): bigint => x & M64;
/** Low 64 bits, two's complement signed. */
export const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
/** Low 32 bits, unsigned: the value an ALU32 op writes (upper half zero). */
export const u32 = (x: bigint): bigint => x & M32;
/** Low 32 bits, signed. */
export const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);
export const u16 = (x: bigint): bigint => x & M16;
export const s16 = (x: bigint): bigint => BigInt.asIntN(16, x);
export const u8 = (x: bigint): bigint => x & M8;
export const s8 = (x: bigint): bigint => BigInt.asIntN(8, x);

/** A 32-bit immediate sign-extended to 64 bits and viewed unsigned (how ALU64/JMP use imm). */
export const immToU64 = (imm: number): bigint => BigInt.asUintN(64, BigInt(imm | 0));
/** A 32-bit immediate viewed as an unsigned 32-bit value (how ALU/JMP32 use imm). */
export const immToU32 = (imm: number): bigint => BigInt(imm >>> 0);

/** Byte-swap the low `bits` (16/32/64) bits of x; the result is zero-extended. */
export function bswap(x: bigint, bits: 16 | 32 | 64): bigint {
  let out = 0n;
  for (let i = 0; i < bits; i += 8) out = (out << 8n) | ((x >> BigInt(i)) & M8);
  return out;
}

/** Format a 64-bit value as 0x-prefixed hex. */
export const hex64 = (x: bigint): string => '0x' + u64(x).toString(16);
