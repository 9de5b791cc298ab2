// `.BTF` type information and `.BTF.ext` func/line info and CO-RE records [reference B.4; kernel
// Documentation/bpf/btf.rst]. The parser is total: a truncated or inconsistent blob yields the types read so far plus
// a problem naming the byte offset inside the section.

export const BTF_MAGIC = 0xeb9f;

export const BTF_KIND = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

const KIND_NAMES = ['UNKN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST',
  'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64'];
export const kindName = (kind: number): string => KIND_NAMES[kind] ?? `kind ${kind}`;

/** BTF_VAR linkage. */
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;

export interface BtfMember {
  name: string;
  type: number;
  /** Bit offset (struct members; with kflag the low 24 bits). */
  bitOffset: number;
  /** Bitfield size in bits (kflag: the high 8 bits of the offset word), 0 for a plain member. */
  bitfieldSize: number;
}

/** One ENUM / ENUM64 enumerator; the value as the kernel would read it (ENUM with kflag is signed). */
export interface BtfEnumValue {
  name: string;
  value: bigint;
}

export const BTF_INT_SIGNED = 1;

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

export interface BtfType {
  id: number;
  kind: number;
  name: string;
  vlen: number;
  kflag: boolean;
  /** `size` for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT/ENUM64, `type` for the others. */
  sizeOrType: number;
  /** ARRAY */
  array?: { type: number; indexType: number; nelems: number };
  /** STRUCT / UNION */
  members?: BtfMember[];
  /** INT: encoding (BTF_INT_SIGNED ...), bit offset (deprecated bitfield ints) and bits. */
  int?: { encoding: number; offset: number; bits: number };
  /** ENUM / ENUM64 / FUNC_PROTO: where the enumerators or parameters start in the blob (see btfEnumValues, btfParams). */
  extraOff?: number;
  /** VAR linkage, FUNC linkage (vlen) */
  linkage?: number;
  /** DATASEC */
  secinfos?: BtfVarSecinfo[];
}

export interface Btf {
  /** Index = type id; [0] is void. */
  types: (BtfType | undefined)[];
  /** The whole blob, for what is decoded on demand. */
  view?: DataView;
  /** Split BTF (a kernel module's, /sys/kernel/btf/<module>): the base it extends; ids and string offsets continue it. */
  base?: Btf;
  strings: Uint8Array;
  str(off: number): string;
}

export interface BtfProblem {
  message: string;
}

const utf8 = new TextDecoder();

function readString(table: Uint8Array, at: number): string {
  if (at < 0 || at >= table.length) return '';
  const end = table.indexOf(0, at);
  return utf8.decode(table.subarray(at, end < 0 ? table.length : end));
}

/**
 * The type table of split BTF: ids below the base's count read the base's table, the module's own types are pushed
 * after them. A view rather than a copy, since a kernel can have a hundred modules over a 125k-type vmlinux.
 */
function splitTypes(baseTypes: (BtfType | undefined)[]): (BtfType | undefined)[] {
  const baseLen = baseTypes.length;
  const own: (BtfType | undefined)[] = [];
  return new Proxy(own, {
    get(target, key, receiver) {
      if (typeof key === 'string') {
        if (key === 'length') return baseLen + target.length;
        if (key === 'push') return (...xs: (BtfType | undefined)[]) => target.push(...xs) + baseLen;
        const c = key.charCodeAt(0);
        if (c >= 48 && c <= 57) {
          const id = Number(key);
          return id < baseLen ? baseTypes[id] : target[id - baseLen];
        }
      }
      if (key === Symbol.iterator) return function* () { for (let i = 0; i < baseLen + own.length; i++) yield i < baseLen ? baseTypes[i] : own[i - baseLen]; };
      return Reflect.get(target, key, receiver);
    },
  });
}

/** Parse `.BTF`; with `base`, split BTF whose type ids and string offsets continue those of `base`. */
export function parseBtf(data: Uint8Array, base?: Btf): { btf?: Btf; problems: BtfProblem[] } {
  const problems: BtfProblem[] = [];
  if (data.length < 24) return { problems: [{ message: `.BTF is ${data.length} bytes, shorter than its 24-byte header` }] };
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = v.getUint16(0, true);
  if (magic !== BTF_MAGIC) return { problems: [{ message: `.BTF byte 0: magic 0x${magic.toString(16)}, expected 0xeb9f (little-endian BTF)` }] };
  const hdrLen = v.getUint32(4, true);
  const typeOff = v.getUint32(8, true);
  const typeLen = v.getUint32(12, true);
  const strOff = v.getUint32(16, true);
  const strLen = v.getUint32(20, true);
  // Offsets count from the end of the header, whose length the header states (newer headers are longer).
  const typeStart = hdrLen + typeOff;
  const strStart = hdrLen + strOff;
  if (hdrLen < 24 || typeStart + typeLen > data.length || strStart + strLen > data.length) {
    return { problems: [{ message: `.BTF header (hdr_len ${hdrLen}, types ${typeOff}+${typeLen}, strings ${strOff}+${strLen}) points outside the ${data.length}-byte section` }] };
  }
  const strings = data.subarray(strStart, strStart + strLen);
  const baseStrLen = base ? base.strings.length : 0;
  const str = base ? (off: number) => (off < baseStrLen ? base.str(off) : readString(strings, off - baseStrLen)) : (off: number) => readString(strings, off);
  const types: (BtfType | undefined)[] = base ? splitTypes(base.types) : [undefined];
  let at = typeStart;
  const end = typeStart + typeLen;
  while (at < end) {
    if (at + 12 > end) {
      problems.push({ message: `.BTF byte ${at}: type ${types.length} header runs past the end of the type section` });
      break;
    }
    const info = v.getUint32(at + 4, true);
    const t: BtfType = {
      id: types.length,
      name: str(v.getUint32(at, true)),
      vlen: info & 0xffff,
      kind: (info >>> 24) & 0x1f,
      kflag: (info >>> 31) === 1,
      sizeOrType: v.getUint32(at + 8, true),
    };
    let p = at + 12;
    let extra: number;
    switch (t.kind) {
      case BTF_KIND.INT: case BTF_KIND.VAR: case BTF_KIND.DECL_TAG: extra = 4; break;
      case BTF_KIND.ARRAY: extra = 12; break;
      case BTF_KIND.STRUCT: case BTF_KIND.UNION: case BTF_KIND.DATASEC: case BTF_KIND.ENUM64: extra = 12 * t.vlen; break;
      case BTF_KIND.ENUM: case BTF_KIND.FUNC_PROTO: extra = 8 * t.vlen; break;
      case BTF_KIND.PTR: case BTF_KIND.FWD: case BTF_KIND.TYPEDEF: case BTF_KIND.VOLATILE: case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT: case BTF_KIND.FUNC: case BTF_KIND.FLOAT: case BTF_KIND.TYPE_TAG: extra = 0; break;
      default:
        problems.push({ message: `.BTF byte ${at}: type ${t.id} has unknown kind ${t.kind}; the remaining types are ignored` });
        return { btf: { types, strings, str, view: v, ...(base ? { base } : {}) }, problems };
    }
    if (p + extra > end) {
      problems.push({ message: `.BTF byte ${at}: type ${t.id} (${kindName(t.kind)}) runs past the end of the type section` });
      break;
    }
    if (t.kind === BTF_KIND.ARRAY) {
      t.array = { type: v.getUint32(p, true), indexType: v.getUint32(p + 4, true), nelems: v.getUint32(p + 8, true) };
    } else if (t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) {
      t.members = [];
      for (let i = 0; i < t.vlen; i++, p += 12) {
        const off = v.getUint32(p + 8, true);
        t.members.push({ name: str(v.getUint32(p, true)), type: v.getUint32(p + 4, true), bitOffset: t.kflag ? off & 0xffffff : off, bitfieldSize: t.kflag ? off >>> 24 : 0 });
      }
    } else if (t.kind === BTF_KIND.INT) {
      const w = v.getUint32(p, true);
      t.int = { encoding: (w >>> 24) & 0x0f, offset: (w >>> 16) & 0xff, bits: w & 0xff };
    } else if (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64 || t.kind === BTF_KIND.FUNC_PROTO) {
      // Decoded on demand (btfEnumValues, btfParams): vmlinux has ~70k of these and few are ever looked at.
      t.extraOff = p;
    } else if (t.kind === BTF_KIND.VAR) {
      t.linkage = v.getUint32(p, true);
    } else if (t.kind === BTF_KIND.FUNC) {
      t.linkage = t.vlen;
    } else if (t.kind === BTF_KIND.DATASEC) {
      t.secinfos = [];
      for (let i = 0; i < t.vlen; i++, p += 12) {
        t.secinfos.push({ type: v.getUint32(p, true), offset: v.getUint32(p + 4, true), size: v.getUint32(p + 8, true) });
      }
    }
    types.push(t);
    at += 12 + extra;
  }
  return { btf: { types, strings, str, view: v, ...(base ? { base } : {}) }, problems };
}

const enumCache = new WeakMap<BtfType, BtfEnumValue[]>();

/** The blob a type was read from: the base's for a base type of split BTF. */
const viewOf = (btf: Btf, t: BtfType): DataView | undefined => (btf.base && t.id < btf.base.types.length ? viewOf(btf.base, t) : btf.view);

/** The enumerators of an ENUM or ENUM64 (empty for other kinds). */
export function btfEnumValues(btf: Btf, t: BtfType): BtfEnumValue[] {
  let vals = enumCache.get(t);
  if (vals) return vals;
  vals = [];
  const v = viewOf(btf, t);
  let p = t.extraOff;
  if (v && p !== undefined && (t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64)) {
    for (let i = 0; i < t.vlen; i++) {
      if (t.kind === BTF_KIND.ENUM) {
        vals.push({ name: btf.str(v.getUint32(p, true)), value: BigInt(t.kflag ? v.getInt32(p + 4, true) : v.getUint32(p + 4, true)) });
        p += 8;
      } else {
        const raw = (BigInt(v.getUint32(p + 8, true)) << 32n) | BigInt(v.getUint32(p + 4, true));
        vals.push({ name: btf.str(v.getUint32(p, true)), value: t.kflag ? BigInt.asIntN(64, raw) : raw });
        p += 12;
      }
    }
  }
  enumCache.set(t, vals);
  return vals;
}

/** The parameters of a FUNC_PROTO (empty for other kinds). */
export function btfParams(btf: Btf, t: BtfType): { name: string; type: number }[] {
  const v = viewOf(btf, t);
  const p = t.extraOff;
  if (!v || p === undefined || t.kind !== BTF_KIND.FUNC_PROTO) return [];
  return Array.from({ length: t.vlen }, (_, i) => ({ name: btf.str(v.getUint32(p + 8 * i, true)), type: v.getUint32(p + 8 * i + 4, true) }));
}

const MODS: ReadonlySet<number> = new Set([BTF_KIND.TYPEDEF, BTF_KIND.VOLATILE, BTF_KIND.CONST, BTF_KIND.RESTRICT, BTF_KIND.TYPE_TAG]);

/** Follow typedefs and qualifiers (libbpf skip_mods_and_typedefs). */
export function skipModsAndTypedefs(btf: Btf, id: number): BtfType | undefined {
  let t = btf.types[id];
  for (let depth = 0; t && MODS.has(t.kind) && depth < 64; depth++) t = btf.types[t.sizeOrType];
  return t;
}

/** A field of a map value the kernel keeps for itself (its btf_record): never copied in or out, dumped as zeros. */
export interface SpecialField {
  off: number;
  size: number;
  /** The kernel's name for it: bpf_spin_lock, bpf_timer, ..., or kptr / kptr_untrusted / percpu_kptr / uptr. */
  kind: string;
}

/** Structs btf_parse_fields finds by name (kernel/bpf/btf.c btf_get_field_type). */
const SPECIAL_STRUCTS: ReadonlySet<string> = new Set(['bpf_spin_lock', 'bpf_res_spin_lock', 'bpf_timer', 'bpf_wq',
  'bpf_task_work', 'bpf_list_head', 'bpf_list_node', 'bpf_rb_root', 'bpf_rb_node', 'bpf_refcount']);
const KPTR_TAGS: ReadonlySet<string> = new Set(['kptr', 'kptr_untrusted', 'percpu_kptr', 'uptr']);

/**
 * The special fields of a map value type (a struct, union, DATASEC or array of them): the kernel's btf_parse_fields,
 * which finds them by struct name or by the kptr type tags on a pointer, in nested structs and arrays too.
 */
export function btfSpecialFields(btf: Btf, id: number): SpecialField[] {
  const out: SpecialField[] = [];
  const walk = (typeId: number, base: number, depth: number): void => {
    if (depth > 16 || out.length > 1024) return;
    let t = btf.types[typeId];
    for (let d = 0; t && (t.kind === BTF_KIND.TYPEDEF || t.kind === BTF_KIND.VOLATILE || t.kind === BTF_KIND.CONST
      || t.kind === BTF_KIND.RESTRICT || t.kind === BTF_KIND.VAR) && d < 64; d++) t = btf.types[t.sizeOrType];
    if (!t) return;
    if (t.kind === BTF_KIND.PTR) {
      const tag = btf.types[t.sizeOrType];
      if (tag && tag.kind === BTF_KIND.TYPE_TAG && KPTR_TAGS.has(tag.name)) out.push({ off: base, size: 8, kind: tag.name });
      return;
    }
    if (t.kind === BTF_KIND.ARRAY) {
      const n = t.array!.nelems;
      const size = resolveSize(btf, t.array!.type);
      if (typeof size !== 'number' || size <= 0) return;
      // Every element has the same fields: an element without any ends the walk (a 2^31-element array in a
      // damaged BTF would otherwise take minutes); with some, each element adds one, so the cap ends it.
      const before = out.length;
      if (n > 0) walk(t.array!.type, base, depth + 1);
      if (out.length === before) return;
      for (let i = 1; i < n && out.length <= 1024; i++) walk(t.array!.type, base + i * size, depth + 1);
      return;
    }
    if (t.kind === BTF_KIND.STRUCT && SPECIAL_STRUCTS.has(t.name)) {
      out.push({ off: base, size: t.sizeOrType, kind: t.name });
      return;
    }
    if (t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION) {
      for (const m of t.members ?? []) if (m.bitfieldSize === 0 && m.bitOffset % 8 === 0) walk(m.type, base + m.bitOffset / 8, depth + 1);
      return;
    }
    if (t.kind === BTF_KIND.DATASEC) for (const v of t.secinfos ?? []) walk(v.type, base + v.offset, depth + 1);
  };
  walk(id, 0, 0);
  return out.sort((a, b) => a.off - b.off);
}

/** Size in bytes of a type, or an error text (libbpf btf__resolve_size: qualifiers, typedefs, vars are transparent). */
export function resolveSize(btf: Btf, id: number): number | string {
  let nelems = 1;
  let t = btf.types[id];
  for (let depth = 0; depth < 32; depth++) {
    if (!t) return `type [${id}] not found`;
    switch (t.kind) {
      case BTF_KIND.INT: case BTF_KIND.STRUCT: case BTF_KIND.UNION: case BTF_KIND.ENUM: case BTF_KIND.ENUM64:
      case BTF_KIND.DATASEC: case BTF_KIND.FLOAT:
        return nelems * t.sizeOrType;
      case BTF_KIND.PTR:
        return nelems * 8;
      case BTF_KIND.TYPEDEF: case BTF_KIND.VOLATILE: case BTF_KIND.CONST: case BTF_KIND.RESTRICT:
      case BTF_KIND.VAR: case BTF_KIND.DECL_TAG: case BTF_KIND.TYPE_TAG:
        t = btf.types[t.sizeOrType];
        break;
      case BTF_KIND.ARRAY:
        nelems *= t.array!.nelems;
        t = btf.types[t.array!.type];
        break;
      default:
        return `type [${t.id}] is ${kindName(t.kind)}, which has no size`;
    }
  }
  return `type [${id}] nests too deeply`;
}

/** Find the DATASEC describing an ELF section. */
export function findDatasec(btf: Btf, name: string): BtfType | undefined {
  return btf.types.find((t) => t?.kind === BTF_KIND.DATASEC && t.name === name);
}

// ---- .BTF.ext ----

export interface LineRecord {
  /** Byte offset within the section. */
  insnOff: number;
  file: string;
  text: string;
  line: number;
  column: number;
}

export interface FuncRecord {
  insnOff: number;
  typeId: number;
}

export interface CoreRecord {
  insnOff: number;
  typeId: number;
  access: string;
  kind: number;
}

export interface BtfExt {
  funcs: Map<string, FuncRecord[]>;
  lines: Map<string, LineRecord[]>;
  core: Map<string, CoreRecord[]>;
}

/** Parse `.BTF.ext`; strings index the `.BTF` string table. */
export function parseBtfExt(data: Uint8Array, btf: Btf): { ext: BtfExt; problems: BtfProblem[] } {
  const problems: BtfProblem[] = [];
  const ext: BtfExt = { funcs: new Map(), lines: new Map(), core: new Map() };
  if (data.length < 24) return { ext, problems: [{ message: `.BTF.ext is ${data.length} bytes, shorter than its header` }] };
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = v.getUint16(0, true);
  if (magic !== BTF_MAGIC) return { ext, problems: [{ message: `.BTF.ext byte 0: magic 0x${magic.toString(16)}, expected 0xeb9f` }] };
  const hdrLen = v.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > data.length) {
    return { ext, problems: [{ message: `.BTF.ext hdr_len ${hdrLen} is outside the ${data.length}-byte section` }] };
  }

  // Each sub-section: u32 rec_size, then {u32 sec_name_off, u32 num_info, records} blocks until its length is used.
  const walk = (what: string, off: number, len: number, minRec: number, each: (sec: string, at: number) => void) => {
    if (len === 0) return;
    let at = hdrLen + off;
    const end = at + len;
    if (end > data.length || len < 4) {
      problems.push({ message: `.BTF.ext ${what} (${off}+${len} after the header) is outside the section` });
      return;
    }
    const recSize = v.getUint32(at, true);
    if (recSize < minRec || recSize % 4 !== 0) {
      problems.push({ message: `.BTF.ext byte ${at}: ${what} record size ${recSize} (expected at least ${minRec}, a multiple of 4)` });
      return;
    }
    at += 4;
    while (at < end) {
      if (at + 8 > end) {
        problems.push({ message: `.BTF.ext byte ${at}: truncated ${what} block header` });
        return;
      }
      const sec = btf.str(v.getUint32(at, true));
      const n = v.getUint32(at + 4, true);
      at += 8;
      if (at + n * recSize > end) {
        problems.push({ message: `.BTF.ext byte ${at}: ${what} block for '${sec}' (${n} records) runs past its sub-section` });
        return;
      }
      for (let i = 0; i < n; i++, at += recSize) each(sec, at);
    }
  };
  const push = <T>(m: Map<string, T[]>, k: string, x: T) => {
    const arr = m.get(k);
    if (arr) arr.push(x);
    else m.set(k, [x]);
  };
  walk('func_info', v.getUint32(8, true), v.getUint32(12, true), 8, (sec, at) =>
    push(ext.funcs, sec, { insnOff: v.getUint32(at, true), typeId: v.getUint32(at + 4, true) }));
  walk('line_info', v.getUint32(16, true), v.getUint32(20, true), 16, (sec, at) => {
    const lineCol = v.getUint32(at + 12, true);
    push(ext.lines, sec, {
      insnOff: v.getUint32(at, true),
      file: btf.str(v.getUint32(at + 4, true)),
      text: btf.str(v.getUint32(at + 8, true)),
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
    });
  });
  if (hdrLen >= 32) {
    walk('core_relo', v.getUint32(24, true), v.getUint32(28, true), 16, (sec, at) =>
      push(ext.core, sec, {
        insnOff: v.getUint32(at, true),
        typeId: v.getUint32(at + 4, true),
        access: btf.str(v.getUint32(at + 8, true)),
        kind: v.getUint32(at + 12, true),
      }));
  }
  return { ext, problems };
}
