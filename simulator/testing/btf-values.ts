// Map keys and values written by field name, `{key: {proto: 6}, value: {packets: 0}}`, laid out through the object's
// BTF: the key and value types of a BTF-defined map (`__type(key, ...)` in `.maps`), the variables of a global-data
// section. Fields left out are zero; integers are little-endian at their member offsets (bitfields at their bits),
// enums take their enumerators' names, char arrays take text, other arrays lists.
import { parseElf } from '../elf/elf64.ts';
import { BTF_KIND, BTF_INT_SIGNED, btfEnumValues, findDatasec, parseBtf, resolveSize, skipModsAndTypedefs, type Btf } from '../elf/btf.ts';
import { TestFileError, type YNode } from './yaml.ts';

export interface MapBtf {
  btf: Btf;
  key?: number;
  value?: number;
}

/** The key and value type of each map of an object, by map name (global data by section: `.bss`, `.rodata`, ...). */
export function mapBtfTypes(objectBytes: Uint8Array): Map<string, MapBtf> {
  const out = new Map<string, MapBtf>();
  const { elf } = parseElf(objectBytes);
  const sec = elf?.sections.find((s) => s.name === '.BTF');
  if (!sec) return out;
  const { btf } = parseBtf(sec.data);
  if (!btf) return out;
  const maps = findDatasec(btf, '.maps');
  for (const si of maps?.secinfos ?? []) {
    const v = btf.types[si.type];
    if (v?.kind !== BTF_KIND.VAR) continue;
    const def = skipModsAndTypedefs(btf, v.sizeOrType);
    if (def?.kind !== BTF_KIND.STRUCT) continue;
    const m: MapBtf = { btf };
    for (const mem of def.members ?? []) {
      const p = btf.types[mem.type];
      if (p?.kind !== BTF_KIND.PTR) continue;
      if (mem.name === 'key') m.key = p.sizeOrType;
      if (mem.name === 'value') m.value = p.sizeOrType;
    }
    out.set(v.name, m);
  }
  for (const t of btf.types) {
    if (t?.kind !== BTF_KIND.DATASEC || t.name === '.maps' || !/^\.(data|rodata|bss)/.test(t.name)) continue;
    // In an object file the variables' offsets are 0 until a loader fixes them up from the symbol table (libbpf's
    // btf_fixup_datasec): this BTF is our own parse, so it is fixed up here.
    const shndx = elf!.sections.findIndex((x) => x.name === t.name);
    t.secinfos = t.secinfos?.map((si) => {
      const sym = elf!.symbols.find((y) => y.shndx === shndx && y.name === btf.types[si.type]?.name);
      return sym ? { ...si, offset: sym.value } : si;
    });
    out.set(t.name, { btf, value: t.id });
  }
  return out;
}

/** The BTF of a map of the object, by its name as the simulator names it (global data `<obj>.<section>`). */
export function btfOfMap(types: Map<string, MapBtf>, mapName: string, kind: 'user' | 'global'): MapBtf | undefined {
  if (kind === 'global') {
    const dot = mapName.indexOf('.');
    return dot >= 0 ? types.get(mapName.slice(dot)) : undefined;
  }
  return types.get(mapName);
}

/** Bytes of `n` laid out as BTF type `id` in `size` bytes. */
export function encodeBtf(btf: Btf, id: number, n: YNode, size: number, what: string, file: string): Uint8Array {
  const out = new Uint8Array(size);
  put(btf, id, n, out, 0, 0, what, file, 0);
  return out;
}

function fail(file: string, n: YNode, msg: string): never {
  throw new TestFileError(file, n.pos, msg);
}

function intOf(n: YNode, what: string, file: string): bigint {
  if (n.kind === 'scalar') {
    if (typeof n.value === 'boolean') return n.value ? 1n : 0n;
    const s = typeof n.value === 'string' ? n.value.trim() : n.source.replace(/_/g, '');
    if (/^-?(0x[0-9a-f]+|[0-9]+)$/i.test(s)) return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
  }
  return fail(file, n, `${what} must be a whole number`);
}

function put(btf: Btf, id: number, n: YNode, out: Uint8Array, byteOff: number, bitOff: number, what: string, file: string, depth: number, fieldBits?: number): void {
  const t = skipModsAndTypedefs(btf, id);
  if (!t || depth > 32) fail(file, n, `${what}: the program's BTF has no usable type here`);
  const writeInt = (v: bigint, bytes: number, signed: boolean, bits = bytes * 8, shift = 0) => {
    const max = signed ? 1n << BigInt(bits - 1) : 1n << BigInt(bits);
    if (v >= max || v < (signed ? -max : 0n)) fail(file, n, `${what}: ${v} does not fit in ${bits} bits${signed ? ' (signed)' : ''}`);
    let u = BigInt.asUintN(bits, v) << BigInt(shift);
    const mask = ((1n << BigInt(bits)) - 1n) << BigInt(shift);
    const span = Math.ceil((shift + bits) / 8);
    if (byteOff + span > out.length) fail(file, n, `${what}: outside the ${out.length}-byte value`);
    for (let i = 0; i < span; i++, u >>= 8n) {
      const m = Number((mask >> BigInt(i * 8)) & 0xffn);
      out[byteOff + i] = (out[byteOff + i]! & ~m) | (Number(u & 0xffn) & m);
    }
  };
  switch (t.kind) {
    case BTF_KIND.INT:
      writeInt(intOf(n, what, file), t.sizeOrType, !!(t.int!.encoding & BTF_INT_SIGNED), fieldBits ?? t.int!.bits, bitOff);
      return;
    case BTF_KIND.PTR:
      writeInt(intOf(n, what, file), 8, false);
      return;
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64: {
      let v: bigint;
      if (n.kind === 'scalar' && typeof n.value === 'string' && !/^-?(0x[0-9a-f]+|[0-9]+)$/i.test(n.value)) {
        const e = btfEnumValues(btf, t).find((x) => x.name === n.value);
        if (!e) fail(file, n, `${what}: '${n.value}' is not one of ${btfEnumValues(btf, t).map((x) => x.name).join(', ')}`);
        v = e.value;
      } else v = intOf(n, what, file);
      writeInt(BigInt.asUintN(t.sizeOrType * 8, v), t.sizeOrType, false, t.sizeOrType * 8, bitOff);
      return;
    }
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION: {
      if (n.kind !== 'map') fail(file, n, `${what} is a ${t.kind === BTF_KIND.UNION ? 'union' : 'struct'}${t.name ? ` ${t.name}` : ''}: give its fields (${(t.members ?? []).map((m) => m.name || '(anonymous)').join(', ')})`);
      for (const e of n.entries) {
        const found = findMember(btf, t.id, e.key, 0);
        if (!found) throw new TestFileError(file, e.keyPos, `${what}: no field '${e.key}' (fields: ${(t.members ?? []).map((m) => m.name || '(anonymous)').join(', ')})`);
        put(btf, found.type, e.value, out, byteOff + Math.floor(found.bits / 8), found.bitfield ? found.bits % 8 : 0, `${what}.${e.key}`, file, depth + 1, found.bitfield || undefined);
      }
      return;
    }
    case BTF_KIND.ARRAY: {
      const a = t.array!;
      const esize = resolveSize(btf, a.type);
      if (typeof esize === 'string') fail(file, n, `${what}: ${esize}`);
      const elem = skipModsAndTypedefs(btf, a.type);
      if (n.kind === 'scalar' && typeof n.value === 'string' && esize === 1 && elem?.kind === BTF_KIND.INT) {
        const b = Buffer.from(n.value, 'utf8');
        if (b.length > a.nelems) fail(file, n, `${what}: ${b.length} bytes of text, the array holds ${a.nelems}`);
        out.set(b, byteOff);
        return;
      }
      if (n.kind !== 'seq') fail(file, n, `${what} is an array of ${a.nelems}: give a list`);
      if (n.items.length > a.nelems) fail(file, n, `${what}: ${n.items.length} items, the array holds ${a.nelems}`);
      n.items.forEach((item, i) => put(btf, a.type, item, out, byteOff + i * esize, 0, `${what}[${i}]`, file, depth + 1));
      return;
    }
    case BTF_KIND.DATASEC: {
      if (n.kind !== 'map') fail(file, n, `${what}: give the section's variables by name`);
      for (const e of n.entries) {
        const si = t.secinfos?.find((s) => btf.types[s.type]?.name === e.key);
        if (!si) throw new TestFileError(file, e.keyPos, `${what}: no variable '${e.key}' in ${t.name}`);
        put(btf, btf.types[si.type]!.sizeOrType, e.value, out, byteOff + si.offset, 0, e.key, file, depth + 1);
      }
      return;
    }
    default:
      fail(file, n, `${what}: this kind of type cannot be written by field; give hex bytes`);
  }
}

/** A member by name, looking into anonymous structs and unions: its type and bit offset from the outer start. */
function findMember(btf: Btf, id: number, name: string, base: number): { type: number; bits: number; bitfield: number } | undefined {
  const t = skipModsAndTypedefs(btf, id);
  for (const m of t?.members ?? []) {
    if (m.name === name) return { type: m.type, bits: base + m.bitOffset, bitfield: m.bitfieldSize };
    if (!m.name) {
      const inner = findMember(btf, m.type, name, base + m.bitOffset);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** The bytes `b` read as BTF type `id`, along the shape of `like` (the expectation): the fields it names, as numbers,
 *  enumerator names or text, so that a failure shows the actual value in the form the expectation was written. */
export function decodeLike(btf: Btf, id: number, like: YNode, b: Uint8Array, byteOff = 0, bitOff = 0, fieldBits?: number, depth = 0): unknown {
  const t = skipModsAndTypedefs(btf, id);
  if (!t || depth > 32) return undefined;
  const readInt = (bytes: number, signed: boolean, bits = bytes * 8, shift = 0): bigint => {
    let v = 0n;
    const span = Math.ceil((shift + bits) / 8);
    for (let i = span - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[byteOff + i] ?? 0);
    v = BigInt.asUintN(bits, v >> BigInt(shift));
    return signed ? BigInt.asIntN(bits, v) : v;
  };
  const num = (v: bigint) => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
  switch (t.kind) {
    case BTF_KIND.INT:
      return num(readInt(t.sizeOrType, !!(t.int!.encoding & BTF_INT_SIGNED), fieldBits ?? t.int!.bits, bitOff));
    case BTF_KIND.PTR:
      return num(readInt(8, false));
    case BTF_KIND.ENUM:
    case BTF_KIND.ENUM64: {
      const v = readInt(t.sizeOrType, false, t.sizeOrType * 8, bitOff);
      const e = btfEnumValues(btf, t).find((x) => BigInt.asUintN(t.sizeOrType * 8, x.value) === v);
      return like.kind === 'scalar' && typeof like.value === 'string' && e ? e.name : num(v);
    }
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION: {
      if (like.kind !== 'map') return undefined;
      const o: Record<string, unknown> = {};
      for (const e of like.entries) {
        const m = findMember(btf, t.id, e.key, 0);
        if (m) o[e.key] = decodeLike(btf, m.type, e.value, b, byteOff + Math.floor(m.bits / 8), m.bitfield ? m.bits % 8 : 0, m.bitfield || undefined, depth + 1);
      }
      return o;
    }
    case BTF_KIND.ARRAY: {
      const a = t.array!;
      const esize = resolveSize(btf, a.type);
      if (typeof esize === 'string') return undefined;
      if (like.kind === 'scalar' && esize === 1) {
        const s = b.subarray(byteOff, byteOff + a.nelems);
        const z = s.indexOf(0);
        return Buffer.from(z >= 0 ? s.subarray(0, z) : s).toString('utf8');
      }
      if (like.kind !== 'seq') return undefined;
      return like.items.map((item, i) => decodeLike(btf, a.type, item, b, byteOff + i * esize, 0, undefined, depth + 1));
    }
    case BTF_KIND.DATASEC: {
      if (like.kind !== 'map') return undefined;
      const o: Record<string, unknown> = {};
      for (const e of like.entries) {
        const si = t.secinfos?.find((s) => btf.types[s.type]?.name === e.key);
        if (si) o[e.key] = decodeLike(btf, btf.types[si.type]!.sizeOrType, e.value, b, byteOff + si.offset, 0, undefined, depth + 1);
      }
      return o;
    }
    default:
      return undefined;
  }
}
