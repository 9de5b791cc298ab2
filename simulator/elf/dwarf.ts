// DWARF 5 as clang emits it for BPF (-g), and DWARF 4 (-gdwarf-4): enough of .debug_info, .debug_abbrev,
// .debug_str(_offsets), .debug_addr, .debug_loclists and .debug_rnglists (DWARF 4: .debug_loc and .debug_ranges) to
// name the C variables of each function, their types and where each lives at a given instruction (a register, a stack
// slot, a constant, or nowhere: optimized out). The debugger reads them (simulator/debug/). Addresses in a relocatable
// object are offsets within each function's section (REL relocations against section symbols carry the offset in
// place), and they are only ever compared with the same function's low_pc, so no relocation needs applying. Total:
// malformed input gives `undefined`/problems, never an exception.

export interface DwarfType {
  kind: 'base' | 'pointer' | 'struct' | 'union' | 'array' | 'enum' | 'void' | 'func' | 'unknown';
  name: string;
  size: number;
  /** base: DW_ATE_* encoding (5/13 signed, 7/8 unsigned, 2 boolean, 6/8 char). */
  encoding?: number;
  /** pointer/array: the element type. */
  target?: DwarfType;
  members?: { name: string; offset: number; type: DwarfType; bitSize?: number; bitOffset?: number }[];
  /** array: number of elements (undefined: flexible). */
  count?: number;
  enumerators?: { name: string; value: bigint }[];
}

/** Where a variable is over a range of instruction offsets (bytes from its function's start). */
export interface LocRange {
  lo: number;
  hi: number;
  /** A DWARF expression; empty: optimized out in this range. */
  expr: Uint8Array;
}

export interface DwarfVariable {
  name: string;
  type: DwarfType;
  param: boolean;
  /** Location ranges (offsets from the function start); `always` for a single expression valid everywhere. */
  ranges?: LocRange[];
  always?: Uint8Array;
  /** Range of instruction offsets (from the function start) where the variable is in scope (lexical/inlined block). */
  scope?: { lo: number; hi: number }[];
  /** The function it was inlined from, when it belongs to an inlined call. */
  inlinedFrom?: string;
}

export interface DwarfFunction {
  name: string;
  /** low_pc in its section, bytes. */
  lowPc: number;
  highPc: number;
  vars: DwarfVariable[];
  /**
   * The calls inlined into the function itself (not those inlined into an inlined callee): their instruction ranges
   * (offsets from the function start) and the line of the call (DW_AT_call_line), in the function's own file.
   */
  calls?: { lo: number; hi: number; line: number }[];
}

export interface DwarfInfo {
  functions: Map<string, DwarfFunction>;
}

export type SectionMap = Map<string, Uint8Array>;

class Reader {
  pos: number;
  constructor(readonly b: Uint8Array, pos = 0, readonly end = b.length) {
    this.pos = pos;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  private need(n: number): void {
    if (this.pos + n > this.end) throw new DwarfError(`read past the end at ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.b[this.pos] | (this.b[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }
  u24(): number {
    return this.u16() | (this.u8() << 16);
  }
  u32(): number {
    this.need(4);
    const v = (this.b[this.pos] | (this.b[this.pos + 1] << 8) | (this.b[this.pos + 2] << 16) | (this.b[this.pos + 3] << 24)) >>> 0;
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const lo = BigInt(this.u32());
    return (BigInt(this.u32()) << 32n) | lo;
  }
  uleb(): number {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) break;
    }
    return Number(BigInt.asUintN(53, v));
  }
  sleb(): bigint {
    let v = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.u8();
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (b & 0x40) v -= 1n << shift;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  cstr(): string {
    let e = this.pos;
    while (e < this.end && this.b[e] !== 0) e++;
    const s = Buffer.from(this.b.subarray(this.pos, e)).toString('utf8');
    this.pos = e + 1;
    return s;
  }
}

export class DwarfError extends Error {}

interface Abbrev {
  tag: number;
  children: boolean;
  attrs: { at: number; form: number; implicit?: bigint }[];
}

type AttrValue = number | bigint | string | Uint8Array | { ref: number } | { strx: number } | { addrx: number } | { loclistx: number } | { rnglistx: number } | { secOffset: number };

interface Die {
  offset: number;
  tag: number;
  attrs: Map<number, AttrValue>;
  children: Die[];
  parent?: Die;
}

const TAG = {
  compile_unit: 0x11, subprogram: 0x2e, formal_parameter: 0x05, variable: 0x34, inlined_subroutine: 0x1d, lexical_block: 0x0b,
  base_type: 0x24, pointer_type: 0x0f, typedef: 0x16, const_type: 0x26, volatile_type: 0x35, restrict_type: 0x37,
  structure_type: 0x13, union_type: 0x17, member: 0x0d, array_type: 0x01, subrange_type: 0x21, enumeration_type: 0x04,
  enumerator: 0x28, subroutine_type: 0x15, atomic_type: 0x47,
};
const AT = {
  name: 0x03, type: 0x49, location: 0x02, low_pc: 0x11, high_pc: 0x12, byte_size: 0x0b, encoding: 0x3e, data_member_location: 0x38,
  upper_bound: 0x2f, count: 0x37, abstract_origin: 0x31, ranges: 0x55, str_offsets_base: 0x72, addr_base: 0x73, loclists_base: 0x8c,
  rnglists_base: 0x74, const_value: 0x1c, bit_size: 0x0d, data_bit_offset: 0x6b, specification: 0x47, call_line: 0x59,
};

function readForm(r: Reader, form: number, addrSize: number, implicit: bigint | undefined, cuOffset: number): AttrValue {
  switch (form) {
    case 0x01: return addrSize === 8 ? r.u64() : r.u32();
    case 0x03: return r.bytes(r.u16());
    case 0x04: return r.bytes(r.u32());
    case 0x05: return r.u16();
    case 0x06: return r.u32();
    case 0x07: return r.u64();
    case 0x08: return r.cstr();
    case 0x09: return r.bytes(r.uleb());
    case 0x0a: return r.bytes(r.u8());
    case 0x0b: return r.u8();
    case 0x0c: return r.u8();
    case 0x0d: return r.sleb();
    case 0x0e: return { secOffset: r.u32() }; // strp
    case 0x0f: return r.uleb();
    case 0x10: return { ref: r.u32() };
    case 0x11: return { ref: cuOffset + r.u8() };
    case 0x12: return { ref: cuOffset + r.u16() };
    case 0x13: return { ref: cuOffset + r.u32() };
    case 0x14: return { ref: cuOffset + Number(r.u64()) };
    case 0x15: return { ref: cuOffset + r.uleb() };
    case 0x17: return { secOffset: r.u32() };
    case 0x18: return r.bytes(r.uleb());
    case 0x19: return 1;
    case 0x1a: return { strx: r.uleb() };
    case 0x1b: return { addrx: r.uleb() };
    case 0x1e: return r.bytes(16);
    case 0x1f: return { secOffset: r.u32() }; // line_strp: not needed
    case 0x20: return r.u64();
    case 0x21: return implicit ?? 0n;
    case 0x22: return { loclistx: r.uleb() };
    case 0x23: return { rnglistx: r.uleb() };
    case 0x25: return { strx: r.u8() };
    case 0x26: return { strx: r.u16() };
    case 0x27: return { strx: r.u24() };
    case 0x28: return { strx: r.u32() };
    case 0x29: return { addrx: r.u8() };
    case 0x2a: return { addrx: r.u16() };
    case 0x2b: return { addrx: r.u24() };
    case 0x2c: return { addrx: r.u32() };
  }
  throw new DwarfError(`unsupported DWARF form 0x${form.toString(16)}`);
}

/** Parse the DWARF of a BPF object (its sections by name). Undefined when there is none or it cannot be read. */
export function parseDwarf(sections: SectionMap): { info?: DwarfInfo; problem?: string } {
  const info = sections.get('.debug_info');
  const abbrev = sections.get('.debug_abbrev');
  if (!info || !abbrev) return { problem: 'no DWARF (.debug_info): compile with -g' };
  try {
    return { info: readInfo(sections, info, abbrev) };
  } catch (e) {
    if (e instanceof DwarfError) return { problem: `.debug_info: ${e.message}` };
    throw e;
  }
}

function readInfo(sections: SectionMap, infoBytes: Uint8Array, abbrevBytes: Uint8Array): DwarfInfo {
  const functions = new Map<string, DwarfFunction>();
  const r = new Reader(infoBytes);
  while (!r.done) {
    const cuOffset = r.pos;
    const len = r.u32();
    if (len >= 0xfffffff0) throw new DwarfError('64-bit DWARF is not supported');
    const end = r.pos + len;
    const version = r.u16();
    let addrSize: number;
    let abbrevOff: number;
    if (version >= 5) {
      const unitType = r.u8();
      addrSize = r.u8();
      abbrevOff = r.u32();
      if (unitType !== 1) {
        r.pos = end;
        continue;
      }
    } else {
      abbrevOff = r.u32();
      addrSize = r.u8();
    }
    const abbrevs = readAbbrevs(abbrevBytes, abbrevOff);
    const dies = new Map<number, Die>();
    const stack: Die[] = [];
    let root: Die | undefined;
    const ur = new Reader(infoBytes, r.pos, end);
    while (!ur.done) {
      const offset = ur.pos;
      const code = ur.uleb();
      if (code === 0) {
        stack.pop();
        continue;
      }
      const a = abbrevs.get(code);
      if (!a) throw new DwarfError(`DIE at 0x${offset.toString(16)}: unknown abbreviation ${code}`);
      const die: Die = { offset, tag: a.tag, attrs: new Map(), children: [], parent: stack[stack.length - 1] };
      for (const at of a.attrs) die.attrs.set(at.at, readForm(ur, at.form, addrSize, at.implicit, cuOffset));
      dies.set(offset, die);
      if (die.parent) die.parent.children.push(die);
      else root ??= die;
      if (a.children) stack.push(die);
    }
    r.pos = end;
    if (root) new Unit(sections, root, dies, addrSize, version).functions(functions);
  }
  return { functions };
}

function readAbbrevs(b: Uint8Array, off: number): Map<number, Abbrev> {
  const r = new Reader(b, off);
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = r.uleb();
    if (code === 0) break;
    const tag = r.uleb();
    const children = r.u8() === 1;
    const attrs: Abbrev['attrs'] = [];
    for (;;) {
      const at = r.uleb();
      const form = r.uleb();
      if (at === 0 && form === 0) break;
      attrs.push({ at, form, ...(form === 0x21 ? { implicit: r.sleb() } : {}) });
    }
    out.set(code, { tag, children, attrs });
  }
  return out;
}

class Unit {
  private readonly strOffBase: number;
  private readonly addrBase: number;
  private readonly locBase: number;
  private readonly rngBase: number;
  /** The unit's base address (its low_pc; 0 for a unit over several sections), for DWARF 4 lists. */
  private readonly cuBase: number;
  private readonly types = new Map<number, DwarfType>();

  constructor(private readonly s: SectionMap, private readonly root: Die, private readonly dies: Map<number, Die>, private readonly addrSize: number, private readonly version: number) {
    this.strOffBase = this.num(root, AT.str_offsets_base) ?? 8;
    this.addrBase = this.num(root, AT.addr_base) ?? 8;
    this.locBase = this.num(root, AT.loclists_base) ?? 12;
    this.rngBase = this.num(root, AT.rnglists_base) ?? 12;
    this.cuBase = this.addr(root.attrs.get(AT.low_pc)) ?? 0;
  }

  private num(d: Die, at: number): number | undefined {
    const v = d.attrs.get(at);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (v && typeof v === 'object' && 'secOffset' in v) return v.secOffset;
    return undefined;
  }

  private str(v: AttrValue | undefined): string | undefined {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object' && 'strx' in v) {
      const so = this.s.get('.debug_str_offsets');
      if (!so) return undefined;
      const off = new Reader(so, this.strOffBase + 4 * v.strx).u32();
      return this.cstrAt(off);
    }
    if (v && typeof v === 'object' && 'secOffset' in v) return this.cstrAt(v.secOffset);
    return undefined;
  }

  private cstrAt(off: number): string | undefined {
    const str = this.s.get('.debug_str');
    return str && off < str.length ? new Reader(str, off).cstr() : undefined;
  }

  private addr(v: AttrValue | undefined): number | undefined {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (v && typeof v === 'object' && 'addrx' in v) return this.addrx(v.addrx);
    return undefined;
  }

  private addrx(i: number): number | undefined {
    const a = this.s.get('.debug_addr');
    if (!a) return undefined;
    const r = new Reader(a, this.addrBase + i * this.addrSize);
    return this.addrSize === 8 ? Number(r.u64()) : r.u32();
  }

  /** A DIE's attribute, through abstract_origin / specification when it has none itself. */
  private attr(d: Die, at: number): AttrValue | undefined {
    for (let x: Die | undefined = d, n = 0; x && n < 8; n++) {
      const v = x.attrs.get(at);
      if (v !== undefined) return v;
      const o: AttrValue | undefined = x.attrs.get(AT.abstract_origin) ?? x.attrs.get(AT.specification);
      x = o && typeof o === 'object' && 'ref' in o ? this.dies.get(o.ref) : undefined;
    }
    return undefined;
  }

  private name(d: Die): string | undefined {
    return this.str(this.attr(d, AT.name));
  }

  private ref(d: Die, at: number): Die | undefined {
    const v = this.attr(d, at);
    return v && typeof v === 'object' && 'ref' in v ? this.dies.get(v.ref) : undefined;
  }

  type(d: Die | undefined, depth = 0): DwarfType {
    if (!d) return { kind: 'void', name: 'void', size: 0 };
    const cached = this.types.get(d.offset);
    if (cached) return cached;
    if (depth > 32) return { kind: 'unknown', name: '?', size: 0 };
    const name = this.name(d);
    const size = this.num(d, AT.byte_size) ?? 0;
    let t: DwarfType;
    switch (d.tag) {
      case TAG.base_type:
        t = { kind: 'base', name: name ?? '?', size, encoding: this.num(d, AT.encoding) };
        break;
      case TAG.pointer_type: {
        t = { kind: 'pointer', name: '', size: size || 8 };
        this.types.set(d.offset, t); // self-referencing structs
        t.target = this.type(this.ref(d, AT.type), depth + 1);
        t.name = `${t.target.name} *`;
        return t;
      }
      case TAG.typedef: {
        const target = this.type(this.ref(d, AT.type), depth + 1);
        t = { ...target, name: name ?? target.name };
        break;
      }
      case TAG.const_type:
      case TAG.volatile_type:
      case TAG.restrict_type:
      case TAG.atomic_type: {
        const target = this.type(this.ref(d, AT.type), depth + 1);
        const q = d.tag === TAG.const_type ? 'const ' : d.tag === TAG.volatile_type ? 'volatile ' : '';
        t = { ...target, name: `${q}${target.name}` };
        break;
      }
      case TAG.structure_type:
      case TAG.union_type: {
        const kind = d.tag === TAG.structure_type ? 'struct' : 'union';
        t = { kind, name: `${kind} ${name ?? '(anonymous)'}`, size, members: [] };
        this.types.set(d.offset, t);
        for (const m of d.children) {
          if (m.tag !== TAG.member) continue;
          const bitSize = this.num(m, AT.bit_size);
          const dbo = this.num(m, AT.data_bit_offset);
          const off = this.num(m, AT.data_member_location) ?? (dbo !== undefined ? Math.floor(dbo / 8) : 0);
          t.members!.push({ name: this.name(m) ?? '', offset: off, type: this.type(this.ref(m, AT.type), depth + 1), ...(bitSize ? { bitSize, bitOffset: (dbo ?? 0) - off * 8 } : {}) });
        }
        return t;
      }
      case TAG.array_type: {
        const elem = this.type(this.ref(d, AT.type), depth + 1);
        const sub = d.children.find((c) => c.tag === TAG.subrange_type);
        const count = sub ? this.num(sub, AT.count) ?? ((this.num(sub, AT.upper_bound) ?? -1) + 1) : undefined;
        t = { kind: 'array', name: `${elem.name}[${count ?? ''}]`, size: elem.size * (count ?? 0), target: elem, count: count || undefined };
        break;
      }
      case TAG.enumeration_type: {
        const base = this.type(this.ref(d, AT.type), depth + 1);
        t = {
          kind: 'enum', name: `enum ${name ?? '(anonymous)'}`, size: size || base.size || 4, encoding: base.encoding,
          enumerators: d.children.filter((c) => c.tag === TAG.enumerator).map((c) => {
            const v = c.attrs.get(AT.const_value);
            return { name: this.name(c) ?? '', value: typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? v : 0) };
          }),
        };
        break;
      }
      case TAG.subroutine_type:
        t = { kind: 'func', name: 'function', size: 0 };
        break;
      default:
        t = { kind: 'unknown', name: name ?? '?', size };
    }
    this.types.set(d.offset, t);
    return t;
  }

  /**
   * Location list at a .debug_loclists offset (DWARF 5); DWARF 4: a .debug_loc offset. Offset pairs before any base
   * address entry are relative to the unit's base address (not the function's low_pc: a second function of a
   * section starts at its offset there).
   */
  private loclist(off: number): LocRange[] {
    if (this.version < 5) return this.loc4(off);
    const b = this.s.get('.debug_loclists');
    if (!b) return [];
    const r = new Reader(b, off);
    const out: LocRange[] = [];
    let cur = this.cuBase;
    for (let n = 0; n < 4096; n++) {
      const kind = r.u8();
      switch (kind) {
        case 0x00: return out;
        case 0x01: cur = this.addrx(r.uleb()) ?? 0; break;
        case 0x02: { const lo = this.addrx(r.uleb()) ?? 0; const hi = this.addrx(r.uleb()) ?? 0; out.push({ lo, hi, expr: r.bytes(r.uleb()) }); break; }
        case 0x03: { const lo = this.addrx(r.uleb()) ?? 0; const len = r.uleb(); out.push({ lo, hi: lo + len, expr: r.bytes(r.uleb()) }); break; }
        case 0x04: { const lo = r.uleb(); const hi = r.uleb(); out.push({ lo: cur + lo, hi: cur + hi, expr: r.bytes(r.uleb()) }); break; }
        case 0x05: out.push({ lo: 0, hi: Number.MAX_SAFE_INTEGER, expr: r.bytes(r.uleb()) }); break;
        case 0x06: cur = this.addrSize === 8 ? Number(r.u64()) : r.u32(); break;
        case 0x07: { const lo = this.addrSize === 8 ? Number(r.u64()) : r.u32(); const hi = this.addrSize === 8 ? Number(r.u64()) : r.u32(); out.push({ lo, hi, expr: r.bytes(r.uleb()) }); break; }
        case 0x08: { const lo = this.addrSize === 8 ? Number(r.u64()) : r.u32(); const len = r.uleb(); out.push({ lo, hi: lo + len, expr: r.bytes(r.uleb()) }); break; }
        default: return out;
      }
    }
    return out;
  }

  /**
   * A DWARF 4 location list (.debug_loc): (begin, end) address pairs relative to the unit's base address, each with a
   * 2-byte expression length, a pair with begin all ones selecting a new base, (0, 0) ending the list. In a BPF object
   * the addresses are section offsets (REL relocations keep the addend in place), as everywhere else here.
   */
  private loc4(off: number): LocRange[] {
    const b = this.s.get('.debug_loc');
    if (!b) return [];
    const r = new Reader(b, off);
    const out: LocRange[] = [];
    const wide = this.addrSize === 8;
    const ones = wide ? 0xffffffffffffffffn : 0xffffffffn;
    let base = BigInt(this.cuBase);
    for (let n = 0; n < 4096; n++) {
      const lo = wide ? r.u64() : BigInt(r.u32());
      const hi = wide ? r.u64() : BigInt(r.u32());
      if (lo === 0n && hi === 0n) return out;
      if (lo === ones) {
        base = hi;
        continue;
      }
      out.push({ lo: Number(base + lo), hi: Number(base + hi), expr: r.bytes(r.u16()) });
    }
    return out;
  }

  /** A DWARF 4 range list (.debug_ranges), as loc4 without expressions; ranges relative to `fnLow`. */
  private ranges4(off: number, fnLow: number): { lo: number; hi: number }[] {
    const b = this.s.get('.debug_ranges');
    if (!b) return [];
    const r = new Reader(b, off);
    const out: { lo: number; hi: number }[] = [];
    const wide = this.addrSize === 8;
    const ones = wide ? 0xffffffffffffffffn : 0xffffffffn;
    let base = BigInt(this.cuBase);
    for (let n = 0; n < 4096; n++) {
      const lo = wide ? r.u64() : BigInt(r.u32());
      const hi = wide ? r.u64() : BigInt(r.u32());
      if (lo === 0n && hi === 0n) return out;
      if (lo === ones) {
        base = hi;
        continue;
      }
      out.push({ lo: Number(base + lo) - fnLow, hi: Number(base + hi) - fnLow });
    }
    return out;
  }

  private locOffset(v: AttrValue | undefined): number | undefined {
    if (v && typeof v === 'object' && 'loclistx' in v) {
      const b = this.s.get('.debug_loclists');
      if (!b) return undefined;
      return this.locBase + new Reader(b, this.locBase + 4 * v.loclistx).u32();
    }
    if (v && typeof v === 'object' && 'secOffset' in v) return v.secOffset;
    if (typeof v === 'number' && this.version < 5) return v;
    return undefined;
  }

  private ranges(d: Die, fnLow: number): { lo: number; hi: number }[] | undefined {
    const low = this.addr(d.attrs.get(AT.low_pc));
    const high = d.attrs.get(AT.high_pc);
    if (low !== undefined && high !== undefined) {
      const hi = typeof high === 'object' && !(high instanceof Uint8Array) ? this.addr(high) ?? low : low + Number(high);
      return [{ lo: low - fnLow, hi: hi - fnLow }];
    }
    const rv = d.attrs.get(AT.ranges);
    if (this.version < 5) {
      const off = typeof rv === 'number' ? rv : rv && typeof rv === 'object' && 'secOffset' in rv ? rv.secOffset : undefined;
      return off === undefined ? undefined : this.ranges4(off, fnLow);
    }
    const b = this.s.get('.debug_rnglists');
    if (rv === undefined || !b) return undefined;
    let off: number | undefined;
    if (typeof rv === 'object' && 'rnglistx' in rv) off = this.rngBase + new Reader(b, this.rngBase + 4 * rv.rnglistx).u32();
    else if (typeof rv === 'object' && 'secOffset' in rv) off = rv.secOffset;
    if (off === undefined) return undefined;
    const r = new Reader(b, off);
    const out: { lo: number; hi: number }[] = [];
    let base = this.cuBase;
    for (let n = 0; n < 4096; n++) {
      const kind = r.u8();
      if (kind === 0) break;
      if (kind === 0x01) base = this.addrx(r.uleb()) ?? 0;
      else if (kind === 0x02) { const lo = this.addrx(r.uleb()) ?? 0; out.push({ lo: lo - fnLow, hi: (this.addrx(r.uleb()) ?? 0) - fnLow }); }
      else if (kind === 0x03) { const lo = this.addrx(r.uleb()) ?? 0; out.push({ lo: lo - fnLow, hi: lo + r.uleb() - fnLow }); }
      else if (kind === 0x04) { const lo = r.uleb(); const hi = r.uleb(); out.push({ lo: base + lo - fnLow, hi: base + hi - fnLow }); }
      else if (kind === 0x05) base = this.addrSize === 8 ? Number(r.u64()) : r.u32();
      else break;
    }
    return out;
  }

  functions(out: Map<string, DwarfFunction>): void {
    const walk = (d: Die) => {
      if (d.tag === TAG.subprogram && d.attrs.has(AT.low_pc)) {
        const name = this.name(d);
        const low = this.addr(d.attrs.get(AT.low_pc));
        if (name && low !== undefined) {
          const high = d.attrs.get(AT.high_pc);
          const fn: DwarfFunction = { name, lowPc: low, highPc: typeof high === 'number' ? low + high : low, vars: [] };
          this.collect(d, fn, undefined, undefined);
          out.set(name, fn);
        }
      }
      for (const c of d.children) if (c.tag !== TAG.subprogram || c.attrs.has(AT.low_pc)) walk(c);
    };
    walk(this.root);
  }

  private collect(d: Die, fn: DwarfFunction, scope: { lo: number; hi: number }[] | undefined, inlinedFrom: string | undefined): void {
    for (const c of d.children) {
      if (c.tag === TAG.formal_parameter || c.tag === TAG.variable) {
        const name = this.name(c);
        if (!name) continue;
        const loc = c.attrs.get(AT.location);
        const v: DwarfVariable = { name, type: this.type(this.ref(c, AT.type)), param: c.tag === TAG.formal_parameter, ...(scope ? { scope } : {}), ...(inlinedFrom ? { inlinedFrom } : {}) };
        const cv = c.attrs.get(AT.const_value);
        if (loc instanceof Uint8Array) v.always = loc;
        else if (cv !== undefined && (typeof cv === 'number' || typeof cv === 'bigint')) v.always = constExpr(BigInt(cv));
        else {
          const off = this.locOffset(loc);
          v.ranges = off !== undefined ? this.loclist(off).map((x) => ({ lo: x.lo - fn.lowPc, hi: x.hi - fn.lowPc, expr: x.expr })) : [];
        }
        fn.vars.push(v);
      } else if (c.tag === TAG.lexical_block) {
        this.collect(c, fn, this.ranges(c, fn.lowPc) ?? scope, inlinedFrom);
      } else if (c.tag === TAG.inlined_subroutine) {
        const ranges = this.ranges(c, fn.lowPc);
        const line = c.attrs.get(AT.call_line);
        if (inlinedFrom === undefined && ranges && typeof line === 'number' && line > 0) {
          for (const r of ranges) (fn.calls ??= []).push({ ...r, line });
        }
        this.collect(c, fn, ranges ?? scope, this.name(c) ?? inlinedFrom);
      }
    }
  }
}

/** DW_OP_constu v, DW_OP_stack_value. */
function constExpr(v: bigint): Uint8Array {
  const out = [0x10];
  let x = BigInt.asUintN(64, v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  out.push(0x9f);
  return Uint8Array.from(out);
}

/** What a location expression says a variable is, given the registers of its frame. */
export type LocValue =
  | { kind: 'value'; value: bigint }
  | { kind: 'memory'; addr: bigint }
  | { kind: 'register'; reg: number }
  | { kind: 'optimized-out' }
  | { kind: 'unsupported'; why: string };

/**
 * clang's BPF backend writes a stack slot as an offset from the bottom of the function's frame, not from r10 (with a
 * 16-byte frame, the slot at r10-12 is `DW_OP_breg10 +4`), so the offsets it gives from r10 are positive, which no slot
 * can be. Such an offset is taken from r10 - frameSize; a negative one (a fixed compiler) from r10 as DWARF says.
 */
function stackOffset(reg: number, off: bigint, frameSize: number): bigint {
  return reg === 10 && off >= 0n ? off - BigInt(frameSize) : off;
}

/**
 * Evaluate a DWARF location expression (BPF: DWARF registers 0-10 are r0-r10; frame base r10). `isPointer` tells a
 * value the simulator made as a pointer into one of its memory regions (see DW_OP_and).
 */
export function evalLocation(expr: Uint8Array, reg: (n: number) => bigint | undefined, frameSize = 0, isPointer: (v: bigint) => boolean = () => false): LocValue {
  if (expr.length === 0) return { kind: 'optimized-out' };
  const r = new Reader(expr);
  const st: bigint[] = [];
  let value = false;
  const R = (n: number) => {
    const v = reg(n);
    if (v === undefined) throw new DwarfError(`r${n} is not known in this frame`);
    return v;
  };
  try {
    while (!r.done) {
      const op = r.u8();
      if (op >= 0x50 && op <= 0x6f) {
        if (!r.done) return { kind: 'unsupported', why: 'a register piece' };
        return { kind: 'register', reg: op - 0x50 };
      }
      if (op >= 0x70 && op <= 0x8f) { st.push(BigInt.asUintN(64, R(op - 0x70) + stackOffset(op - 0x70, r.sleb(), frameSize))); continue; }
      if (op >= 0x30 && op <= 0x4f) { st.push(BigInt(op - 0x30)); continue; }
      switch (op) {
        case 0x91: st.push(BigInt.asUintN(64, R(10) + stackOffset(10, r.sleb(), frameSize))); break; // fbreg (frame base r10)
        case 0x10: st.push(BigInt(r.uleb())); break;
        case 0x11: st.push(BigInt.asUintN(64, r.sleb())); break;
        case 0x08: st.push(BigInt(r.u8())); break;
        case 0x0a: st.push(BigInt(r.u16())); break;
        case 0x0c: st.push(BigInt(r.u32())); break;
        case 0x0e: st.push(r.u64()); break;
        case 0x9f: value = true; break; // stack_value
        case 0x23: st.push(BigInt.asUintN(64, st.pop()! + BigInt(r.uleb()))); break; // plus_uconst
        case 0x22: { const b = st.pop()!; st.push(BigInt.asUintN(64, st.pop()! + b)); break; }
        case 0x1c: { const b = st.pop()!; st.push(BigInt.asUintN(64, st.pop()! - b)); break; }
        case 0x1a: {
          // and. clang -gdwarf-4 spells a zero-extension of a u32 (`(void *)(long)ctx->data`) as `constu 0xffffffff;
          // and` where DWARF 5 has DW_OP_convert; on a 64-bit pointer into a region (the kernel's ctx->data is one) it
          // is a conversion, as DW_OP_convert is taken here.
          const b = st.pop()!;
          const a = st.pop()!;
          st.push(b === 0xffffffffn && isPointer(a) ? a : a & b);
          break;
        }
        case 0x21: { const b = st.pop()!; st.push(st.pop()! | b); break; } // or
        case 0x27: { const b = st.pop()!; st.push(st.pop()! ^ b); break; } // xor
        case 0x1e: { const b = st.pop()!; st.push(BigInt.asUintN(64, st.pop()! * b)); break; } // mul
        case 0x1f: st.push(BigInt.asUintN(64, -st.pop()!)); break; // neg
        case 0x20: st.push(BigInt.asUintN(64, ~st.pop()!)); break; // not
        case 0x24: { const b = st.pop()!; st.push(BigInt.asUintN(64, st.pop()! << (b & 63n))); break; } // shl
        case 0x25: { const b = st.pop()!; st.push(st.pop()! >> (b & 63n)); break; } // shr
        case 0x26: { const b = st.pop()!; st.push(BigInt.asUintN(64, BigInt.asIntN(64, st.pop()!) >> (b & 63n))); break; } // shra
        case 0x13: st.pop(); break; // drop
        case 0x14: st.push(st[st.length - 2]); break; // over
        case 0x12: st.push(st[st.length - 1]); break; // dup
        case 0xa8: r.uleb(); break; // convert to a base type: the variable's own type decides how the value is read
        case 0x16: { const b = st.pop()!; const a = st.pop()!; st.push(b, a); break; } // swap
        case 0xa3: return { kind: 'unsupported', why: 'the value at function entry (DW_OP_entry_value)' };
        case 0xa1: case 0x03: return { kind: 'unsupported', why: 'a global variable (see Maps: .data/.rodata/.bss)' };
        case 0x93: return { kind: 'unsupported', why: 'a variable split into pieces' };
        default: return { kind: 'unsupported', why: `DWARF operation 0x${op.toString(16)}` };
      }
    }
  } catch (e) {
    if (e instanceof DwarfError) return { kind: 'unsupported', why: e.message };
    throw e;
  }
  const top = st.pop();
  if (top === undefined) return { kind: 'optimized-out' };
  return value ? { kind: 'value', value: top } : { kind: 'memory', addr: top };
}

/** The variables of `fn` live at byte offset `off` from its start, each with its location expression there. */
export function variablesAt(fn: DwarfFunction, off: number): { v: DwarfVariable; expr: Uint8Array }[] {
  const out: { v: DwarfVariable; expr: Uint8Array }[] = [];
  for (const v of fn.vars) {
    if (v.scope && !v.scope.some((s) => off >= s.lo && off < s.hi)) continue;
    if (v.always) {
      out.push({ v, expr: v.always });
      continue;
    }
    const r = v.ranges?.find((x) => off >= x.lo && off < x.hi);
    out.push({ v, expr: r?.expr ?? new Uint8Array() });
  }
  return out;
}
