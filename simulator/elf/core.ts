// CO-RE ("compile once, run everywhere") relocations, resolved the way libbpf resolves them before BPF_PROG_LOAD
// (tools/lib/bpf/relo_core.c: bpf_core_calc_relo_insn, bpf_core_patch_insn; libbpf.c: bpf_core_find_cands):
//   1. the relocation's local type (from the program's own BTF) names its candidates in the target BTF: every type of
//      a compatible kind whose name is the same once `___flavour` suffixes are dropped;
//   2. the access string ("0:1:3") is walked through the local type (named members, anonymous members, array
//      elements) and matched to each candidate by member *name*, through anonymous members and arrays;
//   3. each matching candidate gives the value to patch in (byte offset, size, existence, signedness, bitfield shifts,
//      type id / existence / size / match, enumerator existence / value); several candidates must agree;
//   4. the instruction is patched: ALU/MOV immediates, LDX/ST/STX offsets (and the access size when a field's size
//      changed, for unsigned integers and pointers only), lddw's 64-bit immediate. A relocation that found nothing is
//      "poisoned": the instruction becomes `call 0xbad2310`, harmless unless executed (the verifier refuses a program
//      that can reach it; bpf_core_field_exists() guards keep it on a dead branch).
// The target is the running kernel's BTF (/sys/kernel/btf/vmlinux), a BTF file the user names (raw BTF or an ELF with
// .BTF), or, where neither exists, the program's own BTF (then every relocation keeps the compiler's value).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { INPUT_LIMITS, InputFileError, readInputFile } from '../input.ts';
import { basename, dirname, join } from 'node:path';
import type { Insn } from '../isa/insn.ts';
import { CLS_ALU, CLS_ALU64, CLS_JMP, CLS_LD, CLS_LDX, CLS_ST, CLS_STX, JMP_CALL, SIZE_B, SIZE_DW, SIZE_H, SIZE_W, SRC_K } from '../isa/opcodes.ts';
import { BTF_INT_SIGNED, BTF_KIND, btfEnumValues, btfParams, kindName, parseBtf, resolveSize, skipModsAndTypedefs, type Btf, type BtfType, type CoreRecord } from './btf.ts';
import { parseElf } from './elf64.ts';

/** enum bpf_core_relo_kind */
export const CORE_KIND = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

const KIND_TEXT = ['byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
  'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches'];
export const coreKindName = (k: number): string => KIND_TEXT[k] ?? `kind ${k}`;

/** The helper id libbpf writes into a poisoned instruction ("bad relo"); the verifier says `invalid func unknown#195896080`. */
export const CORE_POISON_IMM = 0xbad2310;

const SPEC_MAX_LEN = 64;
const isField = (k: number) => k <= CORE_KIND.FIELD_RSHIFT_U64;
const isTypeBased = (k: number) => k === CORE_KIND.TYPE_ID_LOCAL || k === CORE_KIND.TYPE_ID_TARGET || k === CORE_KIND.TYPE_EXISTS || k === CORE_KIND.TYPE_SIZE || k === CORE_KIND.TYPE_MATCHES;
const isEnumval = (k: number) => k === CORE_KIND.ENUMVAL_EXISTS || k === CORE_KIND.ENUMVAL_VALUE;
const isComposite = (t: BtfType) => t.kind === BTF_KIND.STRUCT || t.kind === BTF_KIND.UNION;
const isAnyEnum = (t: BtfType) => t.kind === BTF_KIND.ENUM || t.kind === BTF_KIND.ENUM64;
const kindCompat = (a: BtfType, b: BtfType) => a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));

// ---- target BTF ----

export interface TargetBtf {
  btf: Btf;
  /** Where it came from: the vmlinux path, the user's file, or the program's own BTF. */
  source: string;
  kind: 'kernel' | 'file' | 'program';
  /** The running kernel's module BTFs (split over `btf`), searched when vmlinux has no candidate, as libbpf does. */
  modules?: () => Btf[];
}

/** The running kernel's BTF; XDP_LENS_VMLINUX points elsewhere (tests of machines without one). */
export const VMLINUX_BTF = process.env.XDP_LENS_VMLINUX || '/sys/kernel/btf/vmlinux';

const fileCache = new Map<string, { mtimeMs: number; size: number; btf: Btf | string }>();

/**
 * Read a BTF file once per process (re-read when it changes): raw BTF (as /sys/kernel/btf/vmlinux) or an ELF object
 * with a .BTF section. Returns an error text naming the file otherwise.
 */
export function loadBtfFile(path: string, kind: 'kernel' | 'file' = 'file'): TargetBtf | string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return `cannot read BTF file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`;
  }
  let hit = fileCache.get(path);
  if (!hit || hit.mtimeMs !== st.mtimeMs || hit.size !== st.size) {
    hit = { mtimeMs: st.mtimeMs, size: st.size, btf: readBtfFile(path) };
    fileCache.set(path, hit);
  }
  return typeof hit.btf === 'string' ? hit.btf : { btf: hit.btf, source: path, kind };
}

function readBtfFile(path: string): Btf | string {
  let bytes: Uint8Array;
  try {
    // Bounded: a device given as --btf (/dev/zero) would never end.
    bytes = readInputFile(path, 'BTF file', INPUT_LIMITS.object);
  } catch (e) {
    return e instanceof InputFileError ? e.message : `cannot read BTF file ${path}: ${(e as Error).message}`;
  }
  let blob = bytes;
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const { elf, problems } = parseElf(bytes);
    const sec = elf?.sections.find((s) => s.name === '.BTF');
    if (!sec) return `${path}: an ELF file without a .BTF section${problems.length ? ` (${problems[0].message})` : ''}; compile it with -g, or give raw BTF such as /sys/kernel/btf/vmlinux`;
    blob = sec.data;
  } else if (bytes.length < 2 || bytes[0] !== 0x9f || bytes[1] !== 0xeb) {
    return `${path}: neither raw BTF (magic 0xeb9f) nor an ELF object with a .BTF section`;
  }
  const r = parseBtf(blob);
  if (!r.btf) return `${path}: ${r.problems.map((p) => p.message).join('; ')}`;
  if (r.problems.length) return `${path}: ${r.problems[0].message}`;
  return r.btf;
}

/** The running kernel's BTF when this system has one (parsed once, lazily), else undefined. */
export function kernelBtf(path = VMLINUX_BTF): TargetBtf | undefined {
  if (!existsSync(path)) return undefined;
  const t = loadBtfFile(path, 'kernel');
  if (typeof t === 'string') return undefined;
  // Only the running kernel's BTF brings its modules (libbpf does not search them for a custom BTF path either).
  return { ...t, modules: () => moduleBtfs(path, t.btf) };
}

const moduleCache = new Map<string, { mtimeMs: number; size: number; btf?: Btf }>();

/** The module BTFs beside vmlinux (/sys/kernel/btf/<module>: split BTF over vmlinux), each parsed once. */
function moduleBtfs(vmlinux: string, base: Btf): Btf[] {
  const dir = dirname(vmlinux);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n !== basename(vmlinux)).sort();
  } catch {
    return [];
  }
  const out: Btf[] = [];
  for (const n of names) {
    const path = join(dir, n);
    try {
      const st = statSync(path);
      let hit = moduleCache.get(path);
      if (!hit || hit.mtimeMs !== st.mtimeMs || hit.size !== st.size) {
        hit = { mtimeMs: st.mtimeMs, size: st.size, btf: parseBtf(readFileSync(path), base).btf };
        moduleCache.set(path, hit);
      }
      if (hit.btf) out.push(hit.btf);
    } catch {
      // A module unloaded meanwhile: as if it was not there.
    }
  }
  return out;
}

// ---- names and candidates ----

/** Length of a name without its `___flavour` suffix (libbpf bpf_core_essential_name_len). */
export function essentialNameLen(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_') return i + 1;
  }
  return name.length;
}
const essential = (name: string) => name.slice(0, essentialNameLen(name));

const nameIndex = new WeakMap<Btf, Map<string, number[]>>();

/** Type ids of a BTF by essential name, built once per BTF (for split BTF, its own types only). */
function byEssentialName(btf: Btf): Map<string, number[]> {
  let idx = nameIndex.get(btf);
  if (idx) return idx;
  idx = new Map();
  for (let id = btf.base ? btf.base.types.length : 1; id < btf.types.length; id++) {
    const t = btf.types[id];
    if (!t || !t.name) continue;
    const k = essential(t.name);
    const arr = idx.get(k);
    if (arr) arr.push(id);
    else idx.set(k, [id]);
  }
  nameIndex.set(btf, idx);
  return idx;
}

/** A candidate target type and the BTF (vmlinux or a module's) it is in. */
export interface Candidate {
  btf: Btf;
  id: number;
}

/**
 * Candidates for a local type: same essential name, compatible kind (libbpf bpf_core_add_cands), in vmlinux first;
 * only when vmlinux has none, in every module (libbpf bpf_core_find_cands; never for a user's BTF file).
 */
function findCandidates(local: Btf, localId: number, target: Btf, modules?: () => Btf[]): Candidate[] {
  const lt = local.types[localId]!;
  const key = essential(lt.name);
  const from = (btf: Btf) => (byEssentialName(btf).get(key) ?? []).filter((id) => kindCompat(btf.types[id]!, lt)).map((id) => ({ btf, id }));
  const cands = from(target);
  if (cands.length || !modules) return cands;
  return modules().flatMap(from);
}

// ---- specs ----

interface Accessor {
  typeId: number;
  idx: number;
  name?: string;
}

export interface CoreSpec {
  btf: Btf;
  rootId: number;
  kind: number;
  /** High-level accessors: the root, named fields, array indices. */
  spec: Accessor[];
  /** Low-level access indices, one per access-string element (anonymous members included). */
  raw: number[];
  bitOffset: number;
}

const skip = (btf: Btf, id: number): { t?: BtfType; id: number } => {
  const t = skipModsAndTypedefs(btf, id);
  return { t, id: t?.id ?? id };
};
const sizeOf = (btf: Btf, id: number): number => {
  const s = resolveSize(btf, id);
  return typeof s === 'number' ? s : -1;
};

function isFlexArray(btf: Btf, acc: Accessor | undefined, nelems: number): boolean {
  if (!acc || !acc.name || nelems > 0) return false;
  const t = btf.types[acc.typeId];
  return !!t && acc.idx === t.vlen - 1;
}

/** Walk the access string through the local type (libbpf bpf_core_parse_spec). */
function parseSpec(btf: Btf, rec: CoreRecord): CoreSpec | string {
  const str = rec.access;
  if (!str || str[0] === ':') return `empty access string`;
  const spec: CoreSpec = { btf, rootId: rec.typeId, kind: rec.kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeBased(rec.kind)) return str === '0' ? spec : `access string '${str}' for a type relocation (expected '0')`;
  for (const part of str.split(':')) {
    if (!/^-?\d+$/.test(part)) return `access string '${str}' is not a list of indices`;
    if (spec.raw.length === SPEC_MAX_LEN) return `access string '${str}' nests too deeply`;
    spec.raw.push(Number(part));
  }
  let { t, id } = skip(btf, rec.typeId);
  if (!t) return `type [${rec.typeId}] not found`;
  let idx = spec.raw[0];
  const first: Accessor = { typeId: id, idx };
  spec.spec.push(first);
  if (isEnumval(rec.kind)) {
    if (!isAnyEnum(t) || spec.raw.length > 1 || idx < 0 || idx >= t.vlen) return `enumerator ${str} of a type that is not an enum with that many values`;
    first.name = btfEnumValues(btf, t)[idx].name;
    return spec;
  }
  if (!isField(rec.kind)) return `unknown relocation kind ${rec.kind}`;
  let sz = sizeOf(btf, id);
  if (sz < 0) return `type [${id}] has no size`;
  spec.bitOffset = idx * sz * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    ({ t, id } = skip(btf, id));
    if (!t) return `type [${id}] not found`;
    idx = spec.raw[i];
    if (isComposite(t)) {
      if (idx < 0 || idx >= t.vlen) return `member ${idx} of ${kindName(t.kind)} '${t.name}', which has ${t.vlen}`;
      const m = t.members![idx];
      spec.bitOffset += m.bitOffset;
      if (m.name) spec.spec.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === BTF_KIND.ARRAY) {
      const a = t.array!;
      const e = skip(btf, a.type);
      if (!e.t) return `type [${a.type}] not found`;
      id = e.id;
      if (!isFlexArray(btf, spec.spec[spec.spec.length - 1], a.nelems) && idx >= a.nelems) return `index ${idx} of an array of ${a.nelems}`;
      spec.spec.push({ typeId: id, idx });
      sz = sizeOf(btf, id);
      if (sz < 0) return `type [${id}] has no size`;
      spec.bitOffset += idx * sz * 8;
    } else {
      return `access index ${i} of '${str}' lands on type [${id}] of kind ${kindName(t.kind)}`;
    }
  }
  return spec;
}

/** Field types that may be relocated into each other (libbpf bpf_core_fields_are_compat). */
function fieldsCompat(lb: Btf, lid: number, tb: Btf, tid: number): boolean {
  for (let depth = 0; depth < 32; depth++) {
    const l = skipModsAndTypedefs(lb, lid);
    const t = skipModsAndTypedefs(tb, tid);
    if (!l || !t) return false;
    if (isComposite(l) && isComposite(t)) return true;
    if (!kindCompat(l, t)) return false;
    switch (l.kind) {
      case BTF_KIND.PTR: case BTF_KIND.FLOAT: return true;
      case BTF_KIND.FWD: case BTF_KIND.ENUM: case BTF_KIND.ENUM64: {
        const ll = essentialNameLen(l.name);
        const tl = essentialNameLen(t.name);
        return ll === 0 || tl === 0 || essential(l.name) === essential(t.name);
      }
      case BTF_KIND.INT: return (l.int?.offset ?? 0) === 0 && (t.int?.offset ?? 0) === 0;
      case BTF_KIND.ARRAY: lid = l.array!.type; tid = t.array!.type; continue;
      default: return false;
    }
  }
  return false;
}

/** Find a local named member in a target struct/union, looking inside anonymous members (bpf_core_match_member). */
function matchMember(lb: Btf, acc: Accessor, tb: Btf, targId: number, spec: CoreSpec): { found: boolean; next?: number } | string {
  const { t, id } = skip(tb, targId);
  if (!t) return `type [${targId}] not found`;
  if (!isComposite(t)) return { found: false };
  const lt = lb.types[acc.typeId]!;
  const lm = lt.members![acc.idx];
  for (let i = 0; i < t.vlen; i++) {
    const m = t.members![i];
    if (spec.raw.length === SPEC_MAX_LEN) return 'nesting too deep';
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (!m.name) {
      const r = matchMember(lb, acc, tb, m.type, spec);
      if (typeof r === 'string' || r.found) return r;
    } else if (m.name === lm.name) {
      spec.spec.push({ typeId: id, idx: i, name: m.name });
      if (fieldsCompat(lb, lm.type, tb, m.type)) return { found: true, next: m.type };
      spec.spec.pop();
      return { found: false };
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return { found: false };
}

/** Match the local spec against one candidate (libbpf bpf_core_spec_match): a target spec, false, or an error. */
function matchSpec(local: CoreSpec, tb: Btf, targId: number): CoreSpec | false | string {
  const out: CoreSpec = { btf: tb, rootId: targId, kind: local.kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeBased(local.kind)) {
    const ok = local.kind === CORE_KIND.TYPE_MATCHES ? typesMatch(local.btf, local.rootId, tb, targId, false, 32) : typesCompat(local.btf, local.rootId, tb, targId, 32);
    return typeof ok === 'string' ? ok : ok ? out : false;
  }
  if (isEnumval(local.kind)) {
    const { t, id } = skip(tb, targId);
    if (!t || !isAnyEnum(t)) return false;
    const want = essential(local.spec[0].name ?? '');
    const vals = btfEnumValues(tb, t);
    for (let i = 0; i < vals.length; i++) {
      if (essential(vals[i].name) === want) {
        out.spec.push({ typeId: id, idx: i, name: vals[i].name });
        out.raw.push(i);
        return out;
      }
    }
    return false;
  }
  let id = targId;
  for (let i = 0; i < local.spec.length; i++) {
    const lacc = local.spec[i];
    const s = skip(tb, id);
    if (!s.t) return `type [${id}] not found`;
    id = s.id;
    if (lacc.name) {
      const r = matchMember(local.btf, lacc, tb, id, out);
      if (typeof r === 'string') return r;
      if (!r.found) return false;
      id = r.next!;
    } else {
      if (i > 0) {
        if (s.t.kind !== BTF_KIND.ARRAY) return false;
        const a = s.t.array!;
        if (!isFlexArray(tb, out.spec[out.spec.length - 1], a.nelems) && lacc.idx >= a.nelems) return false;
        const e = skip(tb, a.type);
        if (!e.t) return `type [${a.type}] not found`;
        id = e.id;
      }
      if (out.raw.length === SPEC_MAX_LEN) return 'nesting too deep';
      out.spec.push({ typeId: id, idx: lacc.idx });
      out.raw.push(lacc.idx);
      const sz = sizeOf(tb, id);
      if (sz < 0) return `type [${id}] has no size`;
      out.bitOffset += lacc.idx * sz * 8;
    }
  }
  return out;
}

/** The id after typedefs and qualifiers, 0 when they lead to void (`const void *`'s pointee). */
function stripToId(btf: Btf, id: number): number {
  for (let depth = 0; id !== 0 && depth < 64; depth++) {
    const t = btf.types[id];
    if (!t || !(t.kind === BTF_KIND.TYPEDEF || t.kind === BTF_KIND.VOLATILE || t.kind === BTF_KIND.CONST ||
      t.kind === BTF_KIND.RESTRICT || t.kind === BTF_KIND.TYPE_TAG)) break;
    id = t.sizeOrType;
  }
  return id;
}

/** libbpf __bpf_core_types_are_compat: for TYPE_ID_TARGET / TYPE_EXISTS / TYPE_SIZE, and a kfunc extern's prototype. */
export function typesCompat(lb: Btf, lid: number, tb: Btf, tid: number, level: number): boolean | string {
  // Type 0 is void (kind UNKN): compatible with void only (a kfunc's void result, a `void *` parameter).
  if (lid === 0 || tid === 0) return lid === 0 && tid === 0;
  let l = lb.types[lid];
  let t = tb.types[tid];
  if (!l || !t) return 'type not found';
  if (!kindCompat(l, t)) return false;
  for (let depth = 32; depth > 0; depth--) {
    lid = stripToId(lb, lid);
    tid = stripToId(tb, tid);
    if (lid === 0 || tid === 0) return lid === 0 && tid === 0;
    l = skipModsAndTypedefs(lb, lid);
    t = skipModsAndTypedefs(tb, tid);
    if (!l || !t) return 'type not found';
    if (!kindCompat(l, t)) return false;
    switch (l.kind) {
      case BTF_KIND.UNKN: case BTF_KIND.STRUCT: case BTF_KIND.UNION: case BTF_KIND.ENUM: case BTF_KIND.FWD: case BTF_KIND.ENUM64:
        return true;
      case BTF_KIND.INT:
        return (l.int?.offset ?? 0) === 0 && (t.int?.offset ?? 0) === 0;
      case BTF_KIND.PTR:
        lid = l.sizeOrType; tid = t.sizeOrType; continue;
      case BTF_KIND.ARRAY:
        lid = l.array!.type; tid = t.array!.type; continue;
      case BTF_KIND.FUNC_PROTO: {
        const lp = btfParams(lb, l);
        const tp = btfParams(tb, t);
        if (lp.length !== tp.length) return false;
        for (let i = 0; i < lp.length; i++) {
          if (level <= 0) return 'nesting too deep';
          const r = typesCompat(lb, skip(lb, lp[i].type).id, tb, skip(tb, tp[i].type).id, level - 1);
          if (r !== true) return r;
        }
        lid = skip(lb, l.sizeOrType).id; tid = skip(tb, t.sizeOrType).id;
        continue;
      }
      default:
        return false;
    }
  }
  return 'nesting too deep';
}

function namesMatch(a: string, b: string): boolean {
  if (!b) return !a;
  return essential(a) === essential(b);
}

/** libbpf __bpf_core_types_match: for TYPE_MATCHES (bpf_core_type_matches). */
function typesMatch(lb: Btf, lid: number, tb: Btf, tid: number, behindPtr: boolean, level: number): boolean | string {
  if (level <= 0) return 'nesting too deep';
  for (let depth = 32; depth > 0; depth--) {
    const l = skipModsAndTypedefs(lb, lid);
    const t = skipModsAndTypedefs(tb, tid);
    if (!l || !t) return 'type not found';
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case BTF_KIND.UNKN: return t.kind === BTF_KIND.UNKN;
      case BTF_KIND.FWD:
        if (behindPtr && t.kind !== BTF_KIND.FWD) return (t.kind === BTF_KIND.STRUCT && !l.kflag) || (t.kind === BTF_KIND.UNION && l.kflag);
        return t.kind === BTF_KIND.FWD && l.kflag === t.kflag;
      case BTF_KIND.ENUM: case BTF_KIND.ENUM64: {
        if (!isAnyEnum(t) || l.sizeOrType !== t.sizeOrType || l.vlen > t.vlen) return false;
        const tv = btfEnumValues(tb, t);
        return btfEnumValues(lb, l).every((lv) => tv.some((x) => namesMatch(lv.name, x.name)));
      }
      case BTF_KIND.STRUCT: case BTF_KIND.UNION:
        if (behindPtr) return l.kind === t.kind || (t.kind === BTF_KIND.FWD && (l.kind === BTF_KIND.UNION) === t.kflag);
        if (l.kind !== t.kind || l.vlen > t.vlen) return false;
        for (const lm of l.members!) {
          let matched = false;
          for (const tm of t.members!) {
            if (!namesMatch(lm.name, tm.name)) continue;
            const r = typesMatch(lb, lm.type, tb, tm.type, behindPtr, level - 1);
            if (typeof r === 'string') return r;
            if (r) { matched = true; break; }
          }
          if (!matched) return false;
        }
        return true;
      case BTF_KIND.INT:
        return t.kind === BTF_KIND.INT && l.sizeOrType === t.sizeOrType && ((l.int!.encoding & BTF_INT_SIGNED) === (t.int!.encoding & BTF_INT_SIGNED));
      case BTF_KIND.PTR:
        if (t.kind !== BTF_KIND.PTR) return false;
        behindPtr = true; lid = l.sizeOrType; tid = t.sizeOrType; continue;
      case BTF_KIND.ARRAY:
        if (t.kind !== BTF_KIND.ARRAY || l.array!.nelems !== t.array!.nelems) return false;
        lid = l.array!.type; tid = t.array!.type; continue;
      case BTF_KIND.FUNC_PROTO: {
        if (t.kind !== BTF_KIND.FUNC_PROTO) return false;
        const lp = btfParams(lb, l);
        const tp = btfParams(tb, t);
        if (lp.length !== tp.length) return false;
        for (let i = 0; i < lp.length; i++) {
          const r = typesMatch(lb, lp[i].type, tb, tp[i].type, behindPtr, level - 1);
          if (r !== true) return r;
        }
        lid = l.sizeOrType; tid = t.sizeOrType; continue;
      }
      default:
        return false;
    }
  }
  return 'nesting too deep';
}

// ---- values ----

interface FieldValue {
  val: bigint;
  size: number;
  typeId: number;
  validate: boolean;
}
const POISON = 'poison' as const;

function calcField(kind: number, spec: CoreSpec | undefined): FieldValue | typeof POISON | string {
  if (kind === CORE_KIND.FIELD_EXISTS) return { val: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) return POISON;
  const btf = spec.btf;
  const acc = spec.spec[spec.spec.length - 1];
  if (!acc.name) {
    const sz = sizeOf(btf, acc.typeId);
    if (sz < 0) return `type [${acc.typeId}] has no size`;
    if (kind === CORE_KIND.FIELD_BYTE_OFFSET) return { val: BigInt(spec.bitOffset / 8), size: sz, typeId: acc.typeId, validate: true };
    if (kind === CORE_KIND.FIELD_BYTE_SIZE) return { val: BigInt(sz), size: 0, typeId: 0, validate: true };
    return `relocation ${coreKindName(kind)} cannot be applied to an array element`;
  }
  const t = btf.types[acc.typeId]!;
  const m = t.members![acc.idx];
  const mt = skipModsAndTypedefs(btf, m.type);
  if (!mt) return `type [${m.type}] not found`;
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = mt.sizeOrType;
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) return `bitfield '${m.name}' cannot be read with one 64-bit load`;
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    const sz = sizeOf(btf, mt.id);
    if (sz < 0) return `type [${mt.id}] has no size`;
    byteSz = sz;
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  switch (kind) {
    case CORE_KIND.FIELD_BYTE_OFFSET:
      return { val: BigInt(byteOff), size: bitfield ? 0 : byteSz, typeId: bitfield ? 0 : mt.id, validate: !bitfield };
    case CORE_KIND.FIELD_BYTE_SIZE:
      return { val: BigInt(byteSz), size: 0, typeId: 0, validate: !bitfield };
    case CORE_KIND.FIELD_SIGNED: {
      const signed = (isAnyEnum(mt) && mt.kflag) || (mt.kind === BTF_KIND.INT && (mt.int!.encoding & BTF_INT_SIGNED) !== 0);
      return { val: signed ? 1n : 0n, size: 0, typeId: 0, validate: true };
    }
    case CORE_KIND.FIELD_LSHIFT_U64:
      return { val: BigInt(64 - (bitOff + bitSz - byteOff * 8)), size: 0, typeId: 0, validate: !bitfield };
    case CORE_KIND.FIELD_RSHIFT_U64:
      return { val: BigInt(64 - bitSz), size: 0, typeId: 0, validate: true };
    default:
      return `unknown field relocation kind ${kind}`;
  }
}

function calcType(kind: number, spec: CoreSpec | undefined): { val: bigint; validate: boolean } | string {
  if (!spec) return { val: 0n, validate: true };
  switch (kind) {
    case CORE_KIND.TYPE_ID_TARGET: return { val: BigInt(spec.rootId), validate: false };
    case CORE_KIND.TYPE_EXISTS: case CORE_KIND.TYPE_MATCHES: return { val: 1n, validate: true };
    case CORE_KIND.TYPE_SIZE: {
      const sz = sizeOf(spec.btf, spec.rootId);
      return sz < 0 ? `type [${spec.rootId}] has no size` : { val: BigInt(sz), validate: true };
    }
    default: return `unknown type relocation kind ${kind}`;
  }
}

function calcEnumval(kind: number, spec: CoreSpec | undefined): bigint | typeof POISON {
  if (kind === CORE_KIND.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (!spec) return POISON;
  const t = spec.btf.types[spec.spec[0].typeId]!;
  return btfEnumValues(spec.btf, t)[spec.spec[0].idx].value;
}

/** What to patch into the instruction (libbpf struct bpf_core_relo_res). */
export interface CoreResult {
  poison: boolean;
  validate: boolean;
  origVal: bigint;
  newVal: bigint;
  origSize: number;
  newSize: number;
  failMemszAdjust: boolean;
  /** The local and (when found) target specs, for messages. */
  local: CoreSpec;
  target?: CoreSpec;
}

function calcRelo(kind: number, local: CoreSpec, targ: CoreSpec | undefined): Omit<CoreResult, 'local' | 'target'> | string {
  const res = { poison: false, validate: true, origVal: 0n, newVal: 0n, origSize: 0, newSize: 0, failMemszAdjust: false };
  if (isField(kind)) {
    const o = calcField(kind, local);
    if (o === POISON) return { ...res, poison: true };
    if (typeof o === 'string') return o;
    const n = calcField(kind, targ);
    if (n === POISON) return { ...res, poison: true, validate: o.validate };
    if (typeof n === 'string') return n;
    Object.assign(res, { validate: o.validate, origVal: o.val, newVal: n.val, origSize: o.size, newSize: n.size });
    if (o.size !== n.size) {
      const ot = local.btf.types[o.typeId];
      const nt = targ!.btf.types[n.typeId];
      const unsignedInt = (t?: BtfType) => t?.kind === BTF_KIND.INT && t.int!.encoding !== BTF_INT_SIGNED;
      if (!(ot?.kind === BTF_KIND.PTR && nt?.kind === BTF_KIND.PTR) && !(unsignedInt(ot) && unsignedInt(nt))) res.failMemszAdjust = true;
    }
    return res;
  }
  if (isTypeBased(kind)) {
    const o = calcType(kind, local);
    if (typeof o === 'string') return o;
    const n = calcType(kind, targ);
    if (typeof n === 'string') return n;
    return { ...res, validate: o.validate, origVal: o.val, newVal: n.val };
  }
  if (isEnumval(kind)) {
    const o = calcEnumval(kind, local);
    if (o === POISON) return { ...res, poison: true };
    const n = calcEnumval(kind, targ);
    if (n === POISON) return { ...res, poison: true };
    return { ...res, origVal: o, newVal: n };
  }
  return `unrecognized CO-RE relocation kind ${kind}`;
}

/** `<byte_off> [7] struct iphdr___mine.ttl (0:8 @ offset 8)`: libbpf's way of showing a spec. */
export function formatSpec(spec: CoreSpec): string {
  const root = spec.btf.types[spec.rootId];
  const name = root?.name || '<anon>';
  let s = `<${coreKindName(spec.kind)}> [${spec.rootId}] ${root ? kindName(root.kind).toLowerCase() : '?'} ${name}`;
  if (isTypeBased(spec.kind)) return s;
  if (isEnumval(spec.kind)) {
    const t = skipModsAndTypedefs(spec.btf, spec.rootId);
    const e = t ? btfEnumValues(spec.btf, t)[spec.raw[0] ?? spec.spec[0]?.idx] : undefined;
    return e ? `${s}::${e.name} = ${e.value}` : s;
  }
  spec.spec.forEach((a, i) => {
    if (a.name) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  const off = spec.bitOffset % 8 ? `${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8}` : `${spec.bitOffset / 8}`;
  return `${s} (${spec.raw.join(':')} @ offset ${off})`;
}

/** The relocation in the program's own terms, for messages: `struct iphdr___mine.ttl` / `enum e::V` / `struct s`. */
export function describeRelocation(local: Btf, rec: CoreRecord): string {
  const spec = parseSpec(local, rec);
  if (typeof spec === 'string') {
    const t = local.types[rec.typeId];
    return `${coreKindName(rec.kind)} of [${rec.typeId}] ${t ? `${kindName(t.kind).toLowerCase()} ${t.name || '<anon>'}` : '?'} access '${rec.access}'`;
  }
  return formatSpec(spec);
}

/** Candidate lists per local type id, shared by the relocations of one object against one target. */
export type CandidateCache = Map<number, Candidate[]>;

/**
 * Resolve one relocation against the target (libbpf bpf_core_calc_relo_insn). An error text is a refusal: libbpf fails
 * the load with it. A result with `poison` is a relocation that found no match and is not an existence check.
 */
export function resolveRelocation(local: Btf, rec: CoreRecord, target: Btf, cache: CandidateCache, modules?: () => Btf[]): CoreResult | string {
  const lt = local.types[rec.typeId];
  if (!lt) return `relocation against type [${rec.typeId}], which is not in the program's BTF`;
  const spec = parseSpec(local, rec);
  if (typeof spec === 'string') return `parsing [${rec.typeId}] ${kindName(lt.kind).toLowerCase()} ${lt.name || '<anon>'} + ${rec.access} failed: ${spec}`;
  if (rec.kind === CORE_KIND.TYPE_ID_LOCAL) {
    return { poison: false, validate: false, origVal: BigInt(rec.typeId), newVal: BigInt(rec.typeId), origSize: 0, newSize: 0, failMemszAdjust: false, local: spec };
  }
  if (!lt.name) return `${formatSpec(spec)}: <${coreKindName(rec.kind)}> relocations do not support anonymous types`;
  let cands = cache.get(rec.typeId);
  if (!cands) {
    cands = findCandidates(local, rec.typeId, target, modules);
    cache.set(rec.typeId, cands);
  }
  let chosen: { res: Omit<CoreResult, 'local' | 'target'>; spec: CoreSpec } | undefined;
  const kept: Candidate[] = [];
  for (const cand of cands) {
    const { btf: cb, id } = cand;
    const m = matchSpec(spec, cb, id);
    if (typeof m === 'string') return `${formatSpec(spec)}: error matching candidate [${id}] ${cb.types[id]?.name}: ${m}`;
    if (!m) continue;
    const r = calcRelo(rec.kind, spec, m);
    if (typeof r === 'string') return `${formatSpec(spec)}: ${r}`;
    if (!chosen) chosen = { res: r, spec: m };
    else if (m.bitOffset !== chosen.spec.bitOffset) {
      return `${formatSpec(spec)}: field offset ambiguity: ${formatSpec(m)} and ${formatSpec(chosen.spec)} in the target BTF`;
    } else if (r.poison !== chosen.res.poison || r.newVal !== chosen.res.newVal) {
      return `${formatSpec(spec)}: relocation decision ambiguity: ${r.poison ? 'failure' : 'success'} ${r.newVal} != ${chosen.res.poison ? 'failure' : 'success'} ${chosen.res.newVal}`;
    }
    kept.push(cand);
  }
  if (kept.length) cache.set(rec.typeId, kept);
  if (chosen) return { ...chosen.res, local: spec, target: chosen.spec };
  const r = calcRelo(rec.kind, spec, undefined);
  if (typeof r === 'string') return `${formatSpec(spec)}: ${r}`;
  return { ...r, local: spec };
}

const SIZE_BYTES: Record<number, number> = { [SIZE_DW]: 8, [SIZE_W]: 4, [SIZE_H]: 2, [SIZE_B]: 1 };
const BYTES_SIZE: Record<number, number> = { 8: SIZE_DW, 4: SIZE_W, 2: SIZE_H, 1: SIZE_B };

/** Turn an instruction into `call 0xbad2310` (libbpf bpf_core_poison_insn). */
export function poisonInsn(insn: Insn): void {
  insn.opcode = CLS_JMP | JMP_CALL;
  insn.dst = 0;
  insn.src = 0;
  insn.off = 0;
  insn.imm = CORE_POISON_IMM;
  delete insn.nextImm;
}

/**
 * Patch `insns[at]` (and its lddw filler) with a result (libbpf bpf_core_patch_insn). Returns an error text when the
 * instruction is not what the relocation expects, else undefined; `poisoned` says whether it was poisoned.
 */
export function patchInsn(insns: Insn[], at: number, res: CoreResult): { error?: string; poisoned: boolean; note?: string } {
  const insn = insns[at];
  const cls = insn.opcode & 0x07;
  const poison = () => {
    if (insn.opcode === (CLS_LD | SIZE_DW) && insns[at + 1]) poisonInsn(insns[at + 1]);
    poisonInsn(insn);
    return { poisoned: true };
  };
  if (res.poison) return poison();
  const { origVal, newVal } = res;
  const asU64 = (n: number) => BigInt.asUintN(64, BigInt(n));
  switch (cls) {
    case CLS_ALU: case CLS_ALU64:
      if ((insn.opcode & 0x08) !== SRC_K) return { error: 'the instruction has a register operand, not an immediate', poisoned: false };
      if (res.validate && asU64(insn.imm) !== origVal) return { error: `unexpected insn (ALU/ALU64) value: got ${insn.imm >>> 0}, exp ${origVal} -> ${newVal}`, poisoned: false };
      insn.imm = Number(BigInt.asIntN(32, newVal));
      return { poisoned: false };
    case CLS_LDX: case CLS_ST: case CLS_STX: {
      if (res.validate && asU64(insn.off) !== origVal) return { error: `unexpected insn (LDX/ST/STX) value: got ${insn.off & 0xffff}, exp ${origVal} -> ${newVal}`, poisoned: false };
      if (newVal > 32767n) return { error: `insn (LDX/ST/STX) value too big: ${newVal}`, poisoned: false };
      if (res.failMemszAdjust) {
        return { ...poison(), note: 'accesses the field incorrectly (its size changed and it is neither a pointer nor an unsigned integer)' };
      }
      insn.off = Number(newVal);
      if (res.newSize !== res.origSize) {
        const have = SIZE_BYTES[insn.opcode & 0x18];
        if (have !== res.origSize) return { error: `insn (LDX/ST/STX) unexpected mem size: got ${have}, exp ${res.origSize}`, poisoned: false };
        const sz = BYTES_SIZE[res.newSize];
        if (sz === undefined) return { error: `insn (LDX/ST/STX) invalid new mem size: ${res.newSize}`, poisoned: false };
        insn.opcode = (insn.opcode & ~0x18) | sz;
      }
      return { poisoned: false };
    }
    case CLS_LD: {
      const filler = insns[at + 1];
      if (insn.opcode !== (CLS_LD | SIZE_DW) || insn.src !== 0 || insn.off !== 0 || !filler || filler.opcode !== 0 || filler.dst !== 0 || filler.src !== 0 || filler.off !== 0) {
        return { error: 'insn (LDIMM64) has unexpected form', poisoned: false };
      }
      const imm = BigInt(insn.imm >>> 0) | (BigInt((insn.nextImm ?? filler.imm) >>> 0) << 32n);
      if (res.validate && imm !== origVal) return { error: `unexpected insn (LDIMM64) value: got ${imm}, exp ${origVal} -> ${newVal}`, poisoned: false };
      const v = BigInt.asUintN(64, newVal);
      insn.imm = Number(BigInt.asIntN(32, v));
      insn.nextImm = Number(BigInt.asIntN(32, v >> 32n));
      filler.imm = insn.nextImm;
      return { poisoned: false };
    }
    default:
      return { error: `cannot relocate instruction with opcode 0x${insn.opcode.toString(16)}`, poisoned: false };
  }
}
