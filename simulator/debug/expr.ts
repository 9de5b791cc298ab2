// C-like expressions over the state of a paused program: breakpoint conditions, watch and hover expressions.
//
// Values are 64-bit, unsigned as the registers hold them (comparisons are unsigned, as C compares __u64). Names are
// resolved by the caller (registers r0-r10, `data`, `data_end`, `data_meta`, the C locals DWARF describes); memory is
// read through the caller's `read`, so the same evaluator serves a live run (breakpoint conditions) and a snapshot.
//   r1 == 2 && r0 != 0        *(u32 *)(data + 26)        pkt[23]        (u8)r3        ctx->ingress_ifindex
// An expression that cannot be evaluated (unknown name, unreadable memory, bad syntax) throws ExprError.

export class ExprError extends Error {}

export interface ExprScope {
  /** The value of a name, or undefined when the name is unknown. */
  name(id: string): bigint | undefined;
  /** Little-endian unsigned load of `size` bytes; throws ExprError when nothing is readable there. */
  read(addr: bigint, size: number): bigint;
  /** `base->field` for names the scope knows the type of (ctx, locals); undefined: not a struct pointer it knows. */
  member?(base: string, field: string): bigint | undefined;
}

const TYPES: Record<string, { size: number; signed: boolean }> = {};
for (const [names, size, signed] of [
  [['u8', '__u8', 'uint8_t', 'unsigned char', 'char', 'bool', '_Bool'], 1, false],
  [['s8', '__s8', 'int8_t', 'signed char'], 1, true],
  [['u16', '__u16', '__be16', '__le16', 'uint16_t', 'unsigned short'], 2, false],
  [['s16', '__s16', 'int16_t', 'short'], 2, true],
  [['u32', '__u32', '__be32', '__le32', 'uint32_t', 'unsigned int', 'unsigned', '__wsum', '__sum16'], 4, false],
  [['s32', '__s32', 'int32_t', 'int'], 4, true],
  [['u64', '__u64', '__be64', 'uint64_t', 'unsigned long', 'unsigned long long', 'size_t'], 8, false],
  [['s64', '__s64', 'int64_t', 'long', 'long long'], 8, true],
] as const) {
  for (const n of names) TYPES[n] = { size, signed };
}

type Tok = { t: 'num'; v: bigint; at: number } | { t: 'id'; v: string; at: number } | { t: 'op'; v: string; at: number };

const OPS = ['->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '(', ')', '[', ']', '.'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|0b[01]+|\d+)[uUlL]*/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: BigInt(num[1]), at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(`unexpected '${c}' at column ${i + 1}`);
    out.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  return out;
}

const M64 = (1n << 64n) - 1n;
const u64 = (v: bigint) => v & M64;
const s64 = (v: bigint) => BigInt.asIntN(64, v);

function convert(v: bigint, ty: { size: number; signed: boolean }): bigint {
  const bits = ty.size * 8;
  return u64(ty.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
}

/** Evaluate `src` to a 64-bit unsigned value. */
export function evaluate(src: string, scope: ExprScope): bigint {
  const toks = tokenize(src);
  let k = 0;
  const peek = (v?: string) => (k < toks.length && (v === undefined || (toks[k].t === 'op' && toks[k].v === v)) ? toks[k] : undefined);
  const expect = (v: string) => {
    if (!peek(v)) throw new ExprError(`expected '${v}' at column ${k < toks.length ? toks[k].at + 1 : src.length + 1}`);
    k++;
  };
  // A type name at k (possibly two words, e.g. `unsigned int`), without consuming it.
  const typeAt = (j: number): { ty: { size: number; signed: boolean }; len: number } | undefined => {
    const a = toks[j];
    const b = toks[j + 1];
    if (a?.t !== 'id') return undefined;
    if (b?.t === 'id' && TYPES[`${a.v} ${b.v}`]) {
      const c = toks[j + 2];
      if (c?.t === 'id' && TYPES[`${a.v} ${b.v} ${c.v}`]) return { ty: TYPES[`${a.v} ${b.v} ${c.v}`], len: 3 };
      return { ty: TYPES[`${a.v} ${b.v}`], len: 2 };
    }
    return TYPES[a.v] ? { ty: TYPES[a.v], len: 1 } : undefined;
  };
  const load = (addr: bigint, ty: { size: number; signed: boolean }) => convert(scope.read(u64(addr), ty.size), ty);

  const binary = (levels: string[][], i: number): bigint => {
    if (i === levels.length) return unary();
    let a = binary(levels, i + 1);
    for (;;) {
      const t = toks[k];
      if (!t || t.t !== 'op' || !levels[i].includes(t.v)) return a;
      k++;
      if (t.v === '&&') {
        const b = binary(levels, i + 1);
        a = a !== 0n && b !== 0n ? 1n : 0n;
        continue;
      }
      if (t.v === '||') {
        const b = binary(levels, i + 1);
        a = a !== 0n || b !== 0n ? 1n : 0n;
        continue;
      }
      const b = binary(levels, i + 1);
      a = apply(t.v, a, b);
    }
  };
  const apply = (op: string, a: bigint, b: bigint): bigint => {
    switch (op) {
      case '+': return u64(a + b);
      case '-': return u64(a - b);
      case '*': return u64(a * b);
      case '/': if (b === 0n) throw new ExprError('division by zero'); return a / b;
      case '%': if (b === 0n) throw new ExprError('division by zero'); return a % b;
      case '<<': return u64(a << (b & 63n));
      case '>>': return a >> (b & 63n);
      case '&': return a & b;
      case '|': return a | b;
      case '^': return a ^ b;
      case '==': return a === b ? 1n : 0n;
      case '!=': return a !== b ? 1n : 0n;
      case '<': return a < b ? 1n : 0n;
      case '<=': return a <= b ? 1n : 0n;
      case '>': return a > b ? 1n : 0n;
      case '>=': return a >= b ? 1n : 0n;
    }
    throw new ExprError(`unknown operator ${op}`);
  };
  const LEVELS = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  const unary = (): bigint => {
    const t = toks[k];
    if (t?.t === 'op') {
      if (t.v === '-') return k++, u64(-unary());
      if (t.v === '!') return k++, unary() === 0n ? 1n : 0n;
      if (t.v === '~') return k++, u64(~unary());
      if (t.v === '*') {
        k++;
        // `*(T *)expr` reads a T; a plain `*expr` reads 8 bytes.
        if (peek('(')) {
          const ty = typeAt(k + 1);
          if (ty && toks[k + 1 + ty.len]?.v === '*' && toks[k + 2 + ty.len]?.v === ')') {
            k += ty.len + 3;
            return load(unary(), ty.ty);
          }
        }
        return load(unary(), TYPES.u64);
      }
      if (t.v === '(') {
        const ty = typeAt(k + 1);
        if (ty && toks[k + 1 + ty.len]?.v === ')') {
          k += ty.len + 2;
          return convert(unary(), ty.ty);
        }
      }
    }
    return postfix();
  };
  const postfix = (): bigint => {
    const t = toks[k];
    let v: bigint;
    if (t?.t === 'id' && toks[k + 1]?.v === '->' && scope.member && toks[k + 2]?.t === 'id') {
      const m = scope.member(t.v, toks[k + 2].v as string);
      if (m === undefined) throw new ExprError(`${t.v} has no field ${toks[k + 2].v}`);
      k += 3;
      v = m;
    } else if (t?.t === 'id' && t.v === 'pkt' && toks[k + 1]?.v === '[') {
      // pkt[i]: byte i of the packet, from data.
      k += 2;
      const i = binary(LEVELS, 0);
      expect(']');
      const data = scope.name('data');
      if (data === undefined) throw new ExprError('no packet here');
      return load(data + i, TYPES.u8);
    } else v = primary();
    while (peek('[')) {
      // p[i]: a byte array index (the registers carry no element type).
      k++;
      const i = binary(LEVELS, 0);
      expect(']');
      v = load(v + i, TYPES.u8);
    }
    return v;
  };
  const primary = (): bigint => {
    const t = toks[k];
    if (!t) throw new ExprError('unexpected end of expression');
    k++;
    if (t.t === 'num') return u64(t.v);
    if (t.t === 'id') {
      const v = scope.name(t.v);
      if (v === undefined) throw new ExprError(`unknown name '${t.v}'`);
      return u64(v);
    }
    if (t.v === '(') {
      const v = binary(LEVELS, 0);
      expect(')');
      return v;
    }
    throw new ExprError(`unexpected '${t.v}' at column ${t.at + 1}`);
  };

  if (toks.length === 0) throw new ExprError('empty expression');
  const v = binary(LEVELS, 0);
  if (k < toks.length) throw new ExprError(`unexpected '${(toks[k] as { v: unknown }).v}' at column ${toks[k].at + 1}`);
  return v;
}

/** A value shown as the debugger shows scalars: decimal (signed when negative as s64) and hex. */
export function formatScalar(v: bigint): string {
  const s = s64(v);
  const hex = `0x${u64(v).toString(16)}`;
  return s < 0n ? `${s} (${hex})` : v < 10n ? `${v}` : `${v} (${hex})`;
}
