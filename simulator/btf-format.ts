// Map keys and values shown through their BTF types, as C-like text and as an expandable tree: the one formatter
// behind packet details, the jsonl summary's "mapsDecoded", the editor's maps view and the debugger's Variables.
//
// What is shown is what BTF says and nothing more: integers by their size and signedness, enumerators' names only for
// an `enum` type (a value no enumerator has is shown as a number), char arrays as text when they hold a
// NUL-terminated printable string (bpftool's rule; otherwise as an escaped string), other arrays element by element,
// structs and unions member by member (bitfields at their bits), pointers in hex, typedefs and qualifiers followed,
// global-data sections variable by variable. Without BTF a value is its bytes in hex. Output is bounded: a large
// array lists its first elements and counts the rest, and the text is cut at `maxChars`.
import { BTF_INT_SIGNED, BTF_KIND, btfEnumValues, resolveSize, type Btf, type BtfType } from './elf/btf.ts';
import type { MapDef } from './elf/types.ts';

const BTF_INT_CHAR = 2;
const BTF_INT_BOOL = 4;

export interface BtfNode {
  /** Member, variable or `[i]` element name; absent for the top value and anonymous members. */
  name?: string;
  /** C type as written (`__u32`, `struct flow_key`, `char[16]`). */
  type: string;
  /** C-like text of the value (bounded). */
  text: string;
  /**
   * What the value is, for tools that compare it (see test/maps/btf-format.test.ts): `int` (also bitfields, bools,
   * single chars), `enum`, `string` (a char array holding a string), `ptr`, `float`, `struct`, `union`, `array`,
   * `datasec`, `hex` (no usable type), `more` (the elements left out of a bounded array).
   */
  kind: 'int' | 'enum' | 'string' | 'ptr' | 'float' | 'struct' | 'union' | 'array' | 'datasec' | 'hex' | 'more';
  /** int/enum/ptr: the number (enum: its value even when it has a name). */
  num?: bigint;
  /** enum: the enumerator's name, when one has this value. */
  enumName?: string;
  /** int: a bitfield (or an INT with a bit offset or a bit count not a whole number of bytes), of this many bits. */
  bitfield?: number;
  /** string: the text up to its NUL. */
  str?: string;
  /** int: BTF_INT_BOOL / BTF_INT_CHAR encodings. */
  bool?: boolean;
  char?: boolean;
  children?: BtfNode[];
}

export interface FormatOptions {
  /** Elements of an array listed before the rest are counted (default 32). */
  maxElems?: number;
  /** Length of the text at most (default 1000); a longer one ends in `...`. */
  maxChars?: number;
}

const DEFAULT_ELEMS = 32;
const DEFAULT_CHARS = 1000;
const MODS: ReadonlySet<number> = new Set([BTF_KIND.TYPEDEF, BTF_KIND.VOLATILE, BTF_KIND.CONST, BTF_KIND.RESTRICT, BTF_KIND.TYPE_TAG]);

export const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The C spelling of a type (`struct flow_key`, `__u32`, `char[16]`, `const __u8 *`). */
export function typeName(btf: Btf, id: number, depth = 0): string {
  if (id === 0) return 'void';
  const t = btf.types[id];
  if (!t || depth > 16) return `type ${id}`;
  switch (t.kind) {
    case BTF_KIND.INT: case BTF_KIND.TYPEDEF: case BTF_KIND.FLOAT: return t.name || 'int';
    case BTF_KIND.STRUCT: return `struct ${t.name || '(anon)'}`;
    case BTF_KIND.UNION: return `union ${t.name || '(anon)'}`;
    case BTF_KIND.ENUM: case BTF_KIND.ENUM64: return `enum ${t.name || '(anon)'}`;
    case BTF_KIND.FWD: return `${t.kflag ? 'union' : 'struct'} ${t.name}`;
    case BTF_KIND.ARRAY: return `${typeName(btf, t.array!.type, depth + 1)}[${t.array!.nelems}]`;
    case BTF_KIND.PTR: return `${typeName(btf, t.sizeOrType, depth + 1)} *`;
    case BTF_KIND.CONST: return `const ${typeName(btf, t.sizeOrType, depth + 1)}`;
    case BTF_KIND.VOLATILE: return `volatile ${typeName(btf, t.sizeOrType, depth + 1)}`;
    case BTF_KIND.RESTRICT: return `${typeName(btf, t.sizeOrType, depth + 1)} restrict`;
    case BTF_KIND.TYPE_TAG: return typeName(btf, t.sizeOrType, depth + 1);
    case BTF_KIND.DATASEC: return `section ${t.name}`;
    case BTF_KIND.VAR: return typeName(btf, t.sizeOrType, depth + 1);
    default: return t.name || `type ${id}`;
  }
}

function resolved(btf: Btf, id: number): BtfType | undefined {
  let t = btf.types[id];
  for (let d = 0; t && MODS.has(t.kind) && d < 64; d++) t = btf.types[t.sizeOrType];
  return t;
}

/** Little-endian unsigned read of `n` bytes at `off` (zero past the end). */
function readLe(b: Uint8Array, off: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i] ?? 0);
  return v;
}

/** `bits` bits starting `bitOff` bits into the bytes at `off` (little-endian bit numbering, as on x86 and BPF). */
function readBits(b: Uint8Array, off: number, bitOff: number, bits: number): bigint {
  const bytes = Math.ceil((bitOff + bits) / 8);
  const raw = readLe(b, off, bytes);
  return (raw >> BigInt(bitOff)) & ((1n << BigInt(bits)) - 1n);
}

const printable = (c: number) => c > 0x1f && c < 0x7f;

function quoteBytes(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let s = '"';
  for (let i = 0; i < end; i++) {
    const c = bytes[i]!;
    if (c === 0x22 || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (printable(c)) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s + '"';
}

function charText(c: number, signed: boolean): string {
  const n = signed && c > 127 ? c - 256 : c;
  if (printable(c)) return `${n} '${c === 0x27 || c === 0x5c ? '\\' : ''}${String.fromCharCode(c)}'`;
  return String(n);
}

class Formatter {
  constructor(private readonly btf: Btf, private readonly maxElems: number) {}

  /** The value of type `id` at byte `off` (+ `bitOff` bits) of `b`. */
  node(id: number, b: Uint8Array, off: number, bitOff: number, depth: number, name?: string): BtfNode {
    const btf = this.btf;
    const type = typeName(btf, id);
    const base = { ...(name !== undefined ? { name } : {}), type };
    const t = resolved(btf, id);
    if (!t || depth > 32) return { ...base, kind: 'hex', text: '?' };
    switch (t.kind) {
      case BTF_KIND.INT: {
        const int = t.int!;
        const size = t.sizeOrType;
        const signed = (int.encoding & BTF_INT_SIGNED) !== 0;
        const totalBit = bitOff + int.offset;
        const isBits = totalBit !== 0 || int.bits % 8 !== 0;
        let v = isBits ? readBits(b, off + (totalBit >> 3), totalBit & 7, int.bits) : readLe(b, off, Math.min(size, int.bits / 8));
        if (signed && int.bits > 0) v = BigInt.asIntN(int.bits, v);
        if (int.encoding & BTF_INT_BOOL) return { ...base, kind: 'int', num: v, bool: true, text: v === 0n ? 'false' : 'true' };
        const isChar = (int.encoding & BTF_INT_CHAR) !== 0 || (size === 1 && t.name === 'char');
        if (isChar && !isBits) return { ...base, kind: 'int', num: v, char: true, text: charText(Number(readLe(b, off, 1)), signed) };
        return { ...base, kind: 'int', num: v, ...(isBits ? { bitfield: int.bits } : {}), text: v.toString() };
      }
      case BTF_KIND.ENUM: case BTF_KIND.ENUM64: {
        const size = t.sizeOrType;
        const raw = readLe(b, off, size);
        const vals = btfEnumValues(btf, t);
        // Enumerators compare by their bits (clang records a negative one of an ENUM without kflag as unsigned); a
        // value without a name reads as signed, as bpftool prints it.
        const hit = vals.find((e) => BigInt.asUintN(size * 8, e.value) === raw);
        const num = size > 0 ? BigInt.asIntN(size * 8, raw) : raw;
        return { ...base, kind: 'enum', num, ...(hit ? { enumName: hit.name } : {}), text: hit ? hit.name : num.toString() };
      }
      case BTF_KIND.PTR: {
        const v = readLe(b, off, 8);
        return { ...base, kind: 'ptr', num: v, text: `0x${v.toString(16)}` };
      }
      case BTF_KIND.FLOAT: {
        const size = t.sizeOrType;
        if (off + size > b.length || (size !== 4 && size !== 8)) return { ...base, kind: 'hex', text: hexOf(b.subarray(off, off + size)) };
        const dv = new DataView(b.buffer, b.byteOffset + off, size);
        const f = size === 4 ? dv.getFloat32(0, true) : dv.getFloat64(0, true);
        return { ...base, kind: 'float', text: String(f) };
      }
      case BTF_KIND.ARRAY: {
        const a = t.array!;
        const elSize = resolveSize(btf, a.type);
        if (typeof elSize === 'string') return { ...base, kind: 'hex', text: '?' };
        const el = resolved(btf, a.type);
        const isCharEl = el?.kind === BTF_KIND.INT && el.sizeOrType === 1 && ((el.int!.encoding & BTF_INT_CHAR) !== 0 || el.name === 'char');
        if (isCharEl) {
          const bytes = b.subarray(off, off + a.nelems);
          const nul = bytes.indexOf(0);
          const isStr = a.nelems > 0 && nul >= 0 && bytes.subarray(0, nul).every(printable);
          if (isStr) return { ...base, kind: 'string', str: String.fromCharCode(...bytes.subarray(0, nul)), text: quoteBytes(bytes.subarray(0, nul)) };
          return { ...base, kind: 'array', text: quoteBytes(bytes.subarray(0, Math.min(bytes.length, this.maxElems * 4))) + (a.nelems > this.maxElems * 4 ? `... (${a.nelems} bytes)` : ''), children: this.elems(a.type, elSize, a.nelems, b, off, depth) };
        }
        const children = this.elems(a.type, elSize, a.nelems, b, off, depth);
        return { ...base, kind: 'array', text: `{${children.map((c) => (c.kind === 'more' ? c.text : c.text)).join(', ')}}`, children };
      }
      case BTF_KIND.STRUCT: case BTF_KIND.UNION: {
        const children: BtfNode[] = [];
        for (const m of t.members ?? []) {
          const at = off + (m.bitOffset >> 3);
          if (m.bitfieldSize) {
            const mt = resolved(btf, m.type);
            const signed = mt?.kind === BTF_KIND.INT && (mt.int!.encoding & BTF_INT_SIGNED) !== 0;
            let v = readBits(b, at, m.bitOffset & 7, m.bitfieldSize);
            if (signed) v = BigInt.asIntN(m.bitfieldSize, v);
            const name = m.name || undefined;
            if (mt?.kind === BTF_KIND.ENUM || mt?.kind === BTF_KIND.ENUM64) {
              const hit = btfEnumValues(btf, mt).find((e) => BigInt.asUintN(m.bitfieldSize, e.value) === BigInt.asUintN(m.bitfieldSize, v));
              children.push({ ...(name !== undefined ? { name } : {}), type: `${typeName(btf, m.type)}:${m.bitfieldSize}`, kind: 'enum', num: v, bitfield: m.bitfieldSize, ...(hit ? { enumName: hit.name } : {}), text: hit ? hit.name : v.toString() });
            } else {
              children.push({ ...(name !== undefined ? { name } : {}), type: `${typeName(btf, m.type)}:${m.bitfieldSize}`, kind: 'int', num: v, bitfield: m.bitfieldSize, text: v.toString() });
            }
          } else {
            children.push(this.node(m.type, b, at, m.bitOffset & 7, depth + 1, m.name || undefined));
          }
        }
        const text = `{${children.map((c) => (c.name !== undefined ? `.${c.name} = ${c.text}` : c.text)).join(', ')}}`;
        return { ...base, kind: t.kind === BTF_KIND.STRUCT ? 'struct' : 'union', text, children };
      }
      case BTF_KIND.DATASEC: {
        const children = (t.secinfos ?? []).map((vi) => {
          const v = btf.types[vi.type];
          return this.node(v?.kind === BTF_KIND.VAR ? v.sizeOrType : vi.type, b, off + vi.offset, 0, depth + 1, v?.name ?? '?');
        });
        return { ...base, kind: 'datasec', text: `{${children.map((c) => `.${c.name} = ${c.text}`).join(', ')}}`, children };
      }
      case BTF_KIND.VAR:
        return this.node(t.sizeOrType, b, off, bitOff, depth + 1, name ?? t.name);
      default: {
        const size = resolveSize(btf, id);
        return { ...base, kind: 'hex', text: typeof size === 'number' ? hexOf(b.subarray(off, off + size)) : '?' };
      }
    }
  }

  private elems(elType: number, elSize: number, n: number, b: Uint8Array, off: number, depth: number): BtfNode[] {
    const shown = Math.min(n, this.maxElems);
    const out: BtfNode[] = [];
    for (let i = 0; i < shown; i++) out.push(this.node(elType, b, off + i * elSize, 0, depth + 1, `[${i}]`));
    if (n > shown) out.push({ name: '...', type: '', kind: 'more', text: `... ${n - shown} more` });
    return out;
  }
}

function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, Math.max(0, max - 3)) + '...' : text;
}

/** The value of BTF type `typeId` held in `bytes`, as a tree; hex without a type. */
export function btfTree(btf: Btf | undefined, typeId: number | undefined, bytes: Uint8Array, opts: FormatOptions = {}): BtfNode {
  if (!btf || !typeId) return { type: '', kind: 'hex', text: hexOf(bytes) };
  const size = resolveSize(btf, typeId);
  // A type whose size is not the value's (a stale or foreign BTF) would read past or short: show bytes instead.
  if (typeof size !== 'number' || size !== bytes.length) return { type: typeName(btf, typeId), kind: 'hex', text: hexOf(bytes) };
  const n = new Formatter(btf, opts.maxElems ?? DEFAULT_ELEMS).node(typeId, bytes, 0, 0, 0);
  n.text = cut(n.text, opts.maxChars ?? DEFAULT_CHARS);
  return n;
}

/** C-like text of a value of BTF type `typeId`; hex without a type. */
export function formatBtf(btf: Btf | undefined, typeId: number | undefined, bytes: Uint8Array, opts: FormatOptions = {}): string {
  return btfTree(btf, typeId, bytes, opts).text;
}

/** A map's key and value formatter: through its BTF types when the object has them, else hex. */
export interface MapFormat {
  key(bytes: Uint8Array): string;
  /** One value; per-CPU maps give one per CPU (`cpu0: 1, cpu1: 2`). */
  value(values: Uint8Array[], perCpu: boolean): string;
  keyTree(bytes: Uint8Array): BtfNode;
  valueTree(bytes: Uint8Array): BtfNode;
  /** True when the key or the value has a BTF type. */
  typed: boolean;
}

export function mapFormat(btf: Btf | undefined, def: Pick<MapDef, 'keyType' | 'valueType'> | undefined, opts: FormatOptions = {}): MapFormat {
  const kt = btf ? def?.keyType : undefined;
  const vt = btf ? def?.valueType : undefined;
  return {
    typed: kt !== undefined || vt !== undefined,
    key: (bytes) => formatBtf(btf, kt, bytes, opts),
    value: (values, perCpu) => (perCpu
      ? cut(values.map((v, i) => `cpu${i}: ${formatBtf(btf, vt, v, opts)}`).join(', '), opts.maxChars ?? DEFAULT_CHARS)
      : formatBtf(btf, vt, values[0] ?? new Uint8Array(0), opts)),
    keyTree: (bytes) => btfTree(btf, kt, bytes, opts),
    valueTree: (bytes) => btfTree(btf, vt, bytes, opts),
  };
}

/** `proto_count[6] 0 -> 1`; `(absent)` for an element that was not there before or is gone after. */
export function formatMapUpdate(map: string, key: string, before: string | undefined, after: string | undefined): string {
  return `${map}[${key}] ${before ?? '(absent)'} -> ${after ?? '(deleted)'}`;
}

/** One entry of the `--maps` JSON schema (simulator/vm/map-json.ts), hex. */
interface JsonEntry {
  key: string;
  value?: string;
  values?: string[];
  program?: string;
  map?: string;
}

const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** The formatter of each map of an object, by the name its dump uses (maps without BTF types format as hex). */
export function objectMapFormats(obj: { btf?: Btf; maps: readonly MapDef[] }, opts: FormatOptions = {}): (mapName: string) => MapFormat {
  const byName = new Map(obj.maps.map((m) => [m.name, m]));
  const cache = new Map<string, MapFormat>();
  // An inner map a seed made (`outer[01000000]`) has the types of the outer map's `__array(values, ...)` template.
  const defOf = (name: string) => byName.get(name) ?? byName.get(/^(.+)\[[0-9a-f]*\]$/.exec(name)?.[1] ?? '')?.inner;
  return (name) => {
    let f = cache.get(name);
    if (!f) cache.set(name, (f = mapFormat(obj.btf, defOf(name), opts)));
    return f;
  };
}

/** The key and value of a dumped entry as text: through BTF, or hex; a program or inner map slot by name. */
export function entryText(f: MapFormat, e: JsonEntry): { key: string; value: string } {
  const key = f.key(unhex(e.key));
  if (e.program !== undefined) return { key, value: e.program };
  if (e.map !== undefined) return { key, value: `map ${e.map}` };
  if (e.values) return { key, value: f.value(e.values.map(unhex), true) };
  return { key, value: f.value([unhex(e.value ?? '')], false) };
}

/**
 * The jsonl summary's `"mapsDecoded"`: for each map whose key or value has a BTF type, its dumped entries as text, in
 * the order of `"maps"` (entry i decodes entry i). Maps without BTF types are left out (their hex says it all).
 */
export function decodeMapsJson(maps: Record<string, JsonEntry[]>, formats: (mapName: string) => MapFormat): Record<string, { key: string; value: string }[]> {
  const out: Record<string, { key: string; value: string }[]> = {};
  for (const [name, entries] of Object.entries(maps)) {
    const f = formats(name);
    if (f.typed) out[name] = entries.map((e) => entryText(f, e));
  }
  return out;
}
