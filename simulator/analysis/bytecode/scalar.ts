// The value domain for scalar registers: an unsigned and a signed 64-bit interval kept consistent with each other,
// the way the verifier's reg_bounds_sync keeps umin/umax and smin/smax in step (kernel/bpf/verifier.c). There is no
// known-bits (tnum) part; masks and shifts by constants are covered by the interval rules below, which is enough for
// the questions the analysis asks (is this return value an XDP action, which branch can be taken).
//
// `opaque` marks a value the analysis does not want to reason about in findings: contents of maps (set by user space,
// usually meant to hold valid values), stack bytes it did not track, results of helpers it does not model. A finding
// about a value (e.g. `invalid-action`) is reported only when the value is not opaque.
import { s32, s64, u32, u64 } from '../../isa/width.ts';
import type { AluVariant, JmpOp } from '../../isa/opcodes.ts';
import { alu32 as exactAlu32, alu64 as exactAlu64 } from '../../isa/alu.ts';

export const U64_MAX = 0xffffffffffffffffn;
export const U32_MAX = 0xffffffffn;
export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
const S32_LIMIT = 1n << 31n;

export interface Scalar {
  readonly umin: bigint;
  readonly umax: bigint;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly opaque: boolean;
}

/** Make umin/umax and smin/smax agree; undefined when the intervals are empty (an infeasible branch). */
export function norm(umin: bigint, umax: bigint, smin: bigint, smax: bigint, opaque: boolean): Scalar | undefined {
  for (let round = 0; round < 2; round++) {
    if (umin > umax || smin > smax) return undefined;
    // Unsigned interval within one signed half: it bounds the signed view too.
    if (umax <= S64_MAX) {
      if (umin > smin) smin = umin;
      if (umax < smax) smax = umax;
    } else if (umin > S64_MAX) {
      if (s64(umin) > smin) smin = s64(umin);
      if (s64(umax) < smax) smax = s64(umax);
    }
    // Signed interval within one sign: it bounds the unsigned view.
    if (smin >= 0n) {
      if (smin > umin) umin = smin;
      if (smax < umax) umax = smax;
    } else if (smax < 0n) {
      if (u64(smin) > umin) umin = u64(smin);
      if (u64(smax) < umax) umax = u64(smax);
    }
  }
  if (umin > umax || smin > smax) return undefined;
  return { umin, umax, smin, smax, opaque };
}

export function constant(v: bigint, opaque = false): Scalar {
  const u = u64(v);
  return { umin: u, umax: u, smin: s64(u), smax: s64(u), opaque };
}

export function unknown(opaque: boolean): Scalar {
  return { umin: 0n, umax: U64_MAX, smin: S64_MIN, smax: S64_MAX, opaque };
}

export function unsignedRange(lo: bigint, hi: bigint, opaque: boolean): Scalar {
  return norm(lo, hi, S64_MIN, S64_MAX, opaque) ?? unknown(opaque);
}

export function signedRange(lo: bigint, hi: bigint, opaque: boolean): Scalar {
  return norm(0n, U64_MAX, lo, hi, opaque) ?? unknown(opaque);
}

/** An unknown value of `bytes` bytes, zero-extended (what a load of unknown memory gives). */
export function unknownBytes(bytes: number, opaque: boolean): Scalar {
  return bytes >= 8 ? unknown(opaque) : unsignedRange(0n, (1n << BigInt(bytes * 8)) - 1n, opaque);
}

export const isConst = (s: Scalar): boolean => s.umin === s.umax;

/** Interval `a` contains interval `b` (in both views), and `a` reports no less than `b`. */
export function covers(a: Scalar, b: Scalar): boolean {
  return a.umin <= b.umin && a.umax >= b.umax && a.smin <= b.smin && a.smax >= b.smax && (!a.opaque || b.opaque);
}

/** The smallest 2^n - 1 at or above x. */
function fillBits(x: bigint): bigint {
  let m = 0n;
  while (m < x) m = (m << 1n) | 1n;
  return m;
}

/** The low 32 bits of a value, as a zero-extended interval (what an ALU32 operation sees). */
export function low32(s: Scalar): Scalar {
  if (s.umax <= U32_MAX) return s;
  if (isConst(s)) return constant(u32(s.umin), s.opaque);
  if (s.umin >> 32n === s.umax >> 32n) return unsignedRange(u32(s.umin), u32(s.umax), s.opaque);
  return unsignedRange(0n, U32_MAX, s.opaque);
}

/** Truncate a 64-bit result to the 32-bit register write of an ALU32 operation. */
function to32(s: Scalar): Scalar {
  return low32(s);
}

/** Keep the low `bytes` bytes (a narrow store or load of a register value). */
export function truncate(s: Scalar, bytes: number): Scalar {
  if (bytes >= 8) return s;
  const mask = (1n << BigInt(bytes * 8)) - 1n;
  if (isConst(s)) return constant(s.umin & mask, s.opaque);
  if (s.umax <= mask) return s;
  return unsignedRange(0n, mask, s.opaque);
}

const UNFOLLOWED: ReadonlySet<AluVariant> = new Set<AluVariant>(['div', 'mod', 'sdiv', 'smod']);

/** dst OP src on intervals, 64-bit. Opaqueness spreads from either operand. */
export function alu64(op: AluVariant, a: Scalar, b: Scalar, off: number): Scalar {
  const opaque = a.opaque || b.opaque;
  // The verifier (6.18 is_safe_to_compute_dst_reg_range) follows no division or modulo, not even of two constants, and
  // no shift by an amount it does not know: the result is any number (measured: `r5 = 10; r5 /= 2; r2 += r5` on a
  // packet pointer is refused for an unbounded min value).
  if (UNFOLLOWED.has(op) || ((op === 'lsh' || op === 'rsh' || op === 'arsh') && !isConst(b))) return unknown(opaque);
  if (isConst(a) && isConst(b)) return constant(exactAlu64(op, a.umin, b.umin, off), opaque);
  if (op === 'mov') return b;
  if (op === 'neg' && isConst(a)) return constant(-a.umin, opaque);
  if (op === 'movsx') {
    const bits = BigInt(off);
    if (isConst(b)) return constant(exactAlu64(op, 0n, b.umin, off), opaque);
    if (b.umax < 1n << (bits - 1n)) return { ...b, opaque };
    return signedRange(-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n, opaque);
  }
  const full = unknown(opaque);
  switch (op) {
    case 'add': {
      const ulo = a.umin + b.umin, uhi = a.umax + b.umax;
      const slo = a.smin + b.smin, shi = a.smax + b.smax;
      const uOk = uhi <= U64_MAX;
      const sOk = slo >= S64_MIN && shi <= S64_MAX;
      return norm(uOk ? ulo : 0n, uOk ? uhi : U64_MAX, sOk ? slo : S64_MIN, sOk ? shi : S64_MAX, opaque) ?? full;
    }
    case 'sub': {
      const uOk = a.umin >= b.umax;
      const slo = a.smin - b.smax, shi = a.smax - b.smin;
      const sOk = slo >= S64_MIN && shi <= S64_MAX;
      return norm(uOk ? a.umin - b.umax : 0n, uOk ? a.umax - b.umin : U64_MAX, sOk ? slo : S64_MIN, sOk ? shi : S64_MAX, opaque) ?? full;
    }
    case 'mul':
      return a.umax * b.umax <= U64_MAX ? unsignedRange(a.umin * b.umin, a.umax * b.umax, opaque) : full;
    case 'div':
      if (b.umin > 0n) return unsignedRange(a.umin / b.umax, a.umax / b.umin, opaque);
      return unsignedRange(0n, a.umax, opaque);
    case 'mod':
      if (b.umin > 0n && a.umax < b.umin) return { ...a, opaque };
      if (b.umin > 0n) return unsignedRange(0n, a.umax < b.umax - 1n ? a.umax : b.umax - 1n, opaque);
      return unsignedRange(0n, a.umax, opaque);
    case 'and':
      return unsignedRange(0n, a.umax < b.umax ? a.umax : b.umax, opaque);
    case 'or':
      return unsignedRange(a.umin > b.umin ? a.umin : b.umin, fillBits(a.umax > b.umax ? a.umax : b.umax), opaque);
    case 'xor':
      return unsignedRange(0n, fillBits(a.umax > b.umax ? a.umax : b.umax), opaque);
    case 'lsh':
      if (isConst(b)) {
        const k = b.umin & 63n;
        if (a.umax << k <= U64_MAX) return unsignedRange(a.umin << k, a.umax << k, opaque);
        // Every value of the interval loses the same top bits (a small negative errno shifted up by 32, clang's
        // sign or zero extension of an int): the kept bits stay an interval.
        if (k > 0n && a.umin >> (64n - k) === a.umax >> (64n - k)) return unsignedRange((a.umin << k) & U64_MAX, (a.umax << k) & U64_MAX, opaque);
      }
      return full;
    case 'rsh':
      if (isConst(b)) {
        const k = b.umin & 63n;
        return unsignedRange(a.umin >> k, a.umax >> k, opaque);
      }
      return unsignedRange(0n, a.umax, opaque);
    case 'arsh':
      if (isConst(b)) {
        const k = b.umin & 63n;
        return signedRange(a.smin >> k, a.smax >> k, opaque);
      }
      return signedRange(a.smin < 0n ? a.smin : 0n, a.smax > 0n ? a.smax : 0n, opaque);
    case 'neg':
      return a.smin > S64_MIN ? signedRange(-a.smax, -a.smin, opaque) : full;
    default:
      return full;
  }
}

/** dst OP src on intervals, 32-bit: both operands seen through their low 32 bits, the result zero-extended. */
export function alu32(op: AluVariant, a64: Scalar, b64: Scalar, off: number): Scalar {
  const a = low32(a64);
  const b = low32(b64);
  const opaque = a.opaque || b.opaque;
  const any32 = unsignedRange(0n, U32_MAX, opaque);
  if (UNFOLLOWED.has(op) || ((op === 'lsh' || op === 'rsh' || op === 'arsh') && !isConst(b))) return any32;
  if (isConst(a) && isConst(b)) return constant(exactAlu32(op, a.umin, b.umin, off), opaque);
  if (op === 'mov') return b;
  switch (op) {
    case 'arsh':
    case 'sdiv':
    case 'smod':
    case 'movsx':
    case 'neg':
      // Signed 32-bit views agree with the unsigned ones only for values below 2^31.
      if (op === 'movsx') {
        const bits = BigInt(off);
        return b.umax < 1n << (bits - 1n) ? b : any32;
      }
      if (op === 'neg') return isConst(a) ? constant(u32(-a.umin), opaque) : any32;
      if (a.umax < S32_LIMIT && b.umax < S32_LIMIT) return to32(alu64(op === 'arsh' ? 'rsh' : op === 'sdiv' ? 'div' : 'mod', a, b, 0));
      return any32;
    case 'lsh':
      if (isConst(b)) return to32(alu64('lsh', a, constant(b.umin & 31n), 0));
      return any32;
    case 'rsh':
      if (isConst(b)) return alu64('rsh', a, constant(b.umin & 31n), 0);
      return unsignedRange(0n, a.umax, opaque);
    case 'sub':
      if (a.umin >= b.umax) return alu64('sub', a, b, 0);
      return any32;
    default: {
      const r = alu64(op, a, b, off);
      return r.umax <= U32_MAX ? r : any32;
    }
  }
}

/** Byte swap / truncation (BPF_END). */
export function endian(s: Scalar, kind: 'le' | 'be' | 'bswap', bits: number): Scalar {
  const mask = bits >= 64 ? U64_MAX : (1n << BigInt(bits)) - 1n;
  if (isConst(s)) {
    const v = s.umin & mask;
    if (kind === 'le') return constant(v, s.opaque);
    let out = 0n;
    for (let i = 0n; i < BigInt(bits); i += 8n) out = (out << 8n) | ((v >> i) & 0xffn);
    return constant(out, s.opaque);
  }
  if (kind === 'le') return truncate(s, bits / 8);
  return unknownBytes(bits / 8, s.opaque);
}

/** What a comparison tells about its operands on one side of the branch; undefined when that side cannot happen. */
export type Refined = [Scalar, Scalar] | undefined;

const withU = (s: Scalar, lo: bigint, hi: bigint) => norm(lo > s.umin ? lo : s.umin, hi < s.umax ? hi : s.umax, s.smin, s.smax, s.opaque);
const withS = (s: Scalar, lo: bigint, hi: bigint) => norm(s.umin, s.umax, lo > s.smin ? lo : s.smin, hi < s.smax ? hi : s.smax, s.opaque);

function both(a: Scalar | undefined, b: Scalar | undefined): Refined {
  return a && b ? [a, b] : undefined;
}

/** Refine (a, b) assuming `a op b` is true (64-bit comparison). */
export function assume(op: JmpOp, a: Scalar, b: Scalar): Refined {
  switch (op) {
    case 'jeq': {
      const x = norm(
        a.umin > b.umin ? a.umin : b.umin, a.umax < b.umax ? a.umax : b.umax,
        a.smin > b.smin ? a.smin : b.smin, a.smax < b.smax ? a.smax : b.smax, a.opaque,
      );
      return x ? [x, { ...x, opaque: b.opaque }] : undefined;
    }
    case 'jne': {
      if (isConst(a) && isConst(b)) return a.umin !== b.umin ? [a, b] : undefined;
      // Shave a constant off an interval's ends.
      const shave = (s: Scalar, c: Scalar): Scalar | undefined => {
        if (!isConst(c)) return s;
        let r: Scalar | undefined = s;
        if (r.umin === c.umin) r = withU(r, c.umin + 1n, U64_MAX);
        if (r && r.umax === c.umin) r = withU(r, 0n, c.umin - 1n);
        return r;
      };
      return both(shave(a, b), shave(b, a));
    }
    case 'jgt': return both(withU(a, b.umin + 1n, U64_MAX), withU(b, 0n, a.umax - 1n));
    case 'jge': return both(withU(a, b.umin, U64_MAX), withU(b, 0n, a.umax));
    case 'jlt': { const r = assume('jgt', b, a); return r && [r[1], r[0]]; }
    case 'jle': { const r = assume('jge', b, a); return r && [r[1], r[0]]; }
    case 'jsgt': return both(withS(a, b.smin + 1n, S64_MAX), withS(b, S64_MIN, a.smax - 1n));
    case 'jsge': return both(withS(a, b.smin, S64_MAX), withS(b, S64_MIN, a.smax));
    case 'jslt': { const r = assume('jsgt', b, a); return r && [r[1], r[0]]; }
    case 'jsle': { const r = assume('jsge', b, a); return r && [r[1], r[0]]; }
    case 'jset':
      if (isConst(a) && isConst(b)) return (a.umin & b.umin) !== 0n ? [a, b] : undefined;
      if (a.umax === 0n || b.umax === 0n) return undefined;
      if (isConst(b)) return both(withU(a, 1n, U64_MAX), b);
      return [a, b];
  }
}

const NEGATION: Record<JmpOp, JmpOp | undefined> = {
  jeq: 'jne', jne: 'jeq', jgt: 'jle', jle: 'jgt', jge: 'jlt', jlt: 'jge',
  jsgt: 'jsle', jsle: 'jsgt', jsge: 'jslt', jslt: 'jsge', jset: undefined,
};

/** Refine (a, b) assuming `a op b` is false. */
export function assumeNot(op: JmpOp, a: Scalar, b: Scalar): Refined {
  const neg = NEGATION[op];
  if (neg) return assume(neg, a, b);
  // !(a & b): with both constant it is decided; a single-bit constant mask tells nothing about an interval.
  if (isConst(a) && isConst(b)) return (a.umin & b.umin) === 0n ? [a, b] : undefined;
  return [a, b];
}

/**
 * The same for a JMP32 comparison. The refinement is exact when both values fit in 32 bits (and, for signed
 * comparisons, below 2^31); otherwise both sides stay possible and nothing is learned, unless both are constant.
 */
export function assume32(op: JmpOp, a: Scalar, b: Scalar, truth: boolean): Refined {
  const signed = op.startsWith('js');
  const limit = signed ? S32_LIMIT - 1n : U32_MAX;
  if (a.umax <= limit && b.umax <= limit) return truth ? assume(op, a, b) : assumeNot(op, a, b);
  const la = low32(a), lb = low32(b);
  if (isConst(la) && isConst(lb)) {
    const x = la.umin, y = lb.umin;
    const sx = s32(x), sy = s32(y);
    const r = ({
      jeq: x === y, jne: x !== y, jgt: x > y, jge: x >= y, jlt: x < y, jle: x <= y, jset: (x & y) !== 0n,
      jsgt: sx > sy, jsge: sx >= sy, jslt: sx < sy, jsle: sx <= sy,
    } as Record<JmpOp, boolean>)[op];
    return r === truth ? [a, b] : undefined;
  }
  return [a, b];
}
