// Declarations the source tier needs from a C file and its local includes: macros, enum constants, struct layouts,
// typedefs, global variables (which are const, i.e. .rodata), BTF-defined and legacy maps (which are read-only to the
// program), functions, and the section each function sits in. Nothing here looks inside function bodies.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { KERNEL_CONSTANTS, KERNEL_STRUCTS, PRIMITIVE_SIZES, type FieldLayout, type StructLayout } from './known.ts';
import { blankMacros, parseC, parseSnippet, type Node, type SectionMark, type Tree } from './parser.ts';
import { preprocTaken } from './preproc.ts';

export interface TypeRef {
  /** Normalised base type without qualifiers: `struct ethhdr`, `__u32`, `unsigned char`, a typedef name. */
  base: string;
  /** Pointer depth. */
  ptr: number;
  /** Array dimensions (null for an unknown length). */
  dims: (number | null)[];
  /** A local declared `volatile` (not a pointer to volatile data): its value is never known. */
  volatile?: boolean;
}

export interface Unit {
  file: string;
  text: string;
  tree: Tree;
  sections: SectionMark[];
}

export interface Param {
  name: string;
  type: TypeRef;
}

export interface FunctionDecl {
  name: string;
  unit: Unit;
  node: Node;
  body: Node;
  params: Param[];
  section?: string;
  isStatic: boolean;
}

export interface Macro {
  name: string;
  params?: string[];
  body: string;
}

export interface GlobalVar {
  name: string;
  type: TypeRef;
  isConst: boolean;
  /** Declared `volatile` too (`const volatile`: a value the loader sets): clang keeps every store into it. */
  isVolatile?: boolean;
  /**
   * The value of a const (not volatile) integer scalar initialized by a constant expression (`static const int
   * OFFSET = 0;`): clang uses that value wherever it is read.
   */
  init?: number;
}

export interface MapDecl {
  name: string;
  mapType?: string;
  /** Why the program cannot write its values, when it cannot. */
  readonlyReason?: string;
  /** The key's and value's sizes as C expressions (`sizeof(__u32)`, `8`), evaluated where they are needed. */
  keySizeText?: string;
  valueSizeText?: string;
}

export interface Decls {
  units: Unit[];
  macros: Map<string, Macro>;
  enums: Map<string, number>;
  structs: Map<string, StructLayout>;
  typedefs: Map<string, TypeRef>;
  globals: Map<string, GlobalVar>;
  functions: Map<string, FunctionDecl>;
  maps: Map<string, MapDecl>;
  /** Names known to be undefined (#undef, -U), and whether every include was read (see preproc.ts). */
  pp: { undefined: Set<string>; complete: boolean };
}

export interface CollectOptions {
  includeDirs?: string[];
  readFile?: (path: string) => string | undefined;
  /** `-D`/`-U` of the compile command: name -> value, null for -U. */
  defines?: Map<string, string | null>;
}

/** Where an `#include` met during collection goes: read and collected at once, so later `#if`s see its macros. */
interface IncludeSink {
  push(inc: { path: string; quoted: boolean }): void;
}

const MAX_HEADERS = 64;
const MAX_HEADER_CHARS = 1024 * 1024;

/** A header's text; only regular files up to the size cap (never a device such as /dev/zero, which never ends). */
export function defaultReadFile(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_HEADER_CHARS * 4) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function collect(file: string, text: string, opts: CollectOptions): Decls {
  const decls: Decls = {
    units: [],
    macros: new Map(),
    enums: new Map(),
    structs: new Map(),
    typedefs: new Map(),
    globals: new Map(),
    functions: new Map(),
    maps: new Map(),
    pp: { undefined: new Set(), complete: true },
  };
  for (const [name, value] of opts.defines ?? []) {
    if (value === null) decls.pp.undefined.add(name);
    else decls.macros.set(name, { name, body: value });
  }
  const readFile = opts.readFile ?? defaultReadFile;
  const seen = new Set<string>();
  const visit = (path: string, source: string, depth: number) => {
    seen.add(path);
    const blank = blankMacros(source);
    const tree = parseC(path, blank.text);
    if (!tree) return;
    const unit: Unit = { file: path, text: source, tree, sections: blank.sections };
    decls.units.push(unit);
    // Includes are read where they stand, so that the `#if`s after them are decided with their macros.
    const includes: IncludeSink = {
      push: (inc) => {
        const found = depth < 8 && seen.size < MAX_HEADERS ? findInclude(path, inc.path, inc.quoted, opts.includeDirs ?? [], readFile) : undefined;
        if (!found || found.text.length > MAX_HEADER_CHARS) {
          // A local header that could not be read may define anything; a system header (<...>) the tier does not
          // read defines kernel and libc names, which the `#if`s of XDP programs test through known.ts instead.
          if (inc.quoted && (!found || !seen.has(found.path))) decls.pp.complete = false;
          return;
        }
        if (!seen.has(found.path)) visit(found.path, found.text, depth + 1);
      },
    };
    collectNode(tree.rootNode, unit, decls, includes);
  };
  visit(file, text, 0);
  return decls;
}

function findInclude(
  from: string,
  name: string,
  quoted: boolean,
  includeDirs: string[],
  readFile: (p: string) => string | undefined,
): { path: string; text: string } | undefined {
  const candidates: string[] = [];
  if (isAbsolute(name)) candidates.push(name);
  else {
    if (quoted) candidates.push(resolve(dirname(from), name));
    for (const dir of includeDirs) candidates.push(resolve(dir, name));
  }
  for (const path of candidates) {
    const text = readFile(path);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

function collectNode(node: Node, unit: Unit, decls: Decls, includes: IncludeSink, skip?: ReadonlySet<number>): void {
  let prevEnd = node.type === 'translation_unit' ? 0 : node.startIndex;
  for (const child of node.namedChildren) {
    if (!child || skip?.has(child.id)) continue;
    try {
      collectTopLevel(child, prevEnd, unit, decls, includes);
    } catch {
      // A declaration the collector does not understand is skipped; the rest of the file is still analysed.
    }
    // A comment between a section mark and its function (`SEC("xdp") // note`) does not end the mark's reach.
    if (child.type !== 'comment') prevEnd = child.endIndex;
  }
}

function collectTopLevel(
  child: Node,
  prevEnd: number,
  unit: Unit,
  decls: Decls,
  includes: IncludeSink,
): void {
  switch (child.type) {
    case 'preproc_include': {
      const p = child.childForFieldName('path');
      if (!p) return;
      const raw = p.text;
      if (p.type === 'string_literal') includes.push({ path: raw.slice(1, -1), quoted: true });
      else if (p.type === 'system_lib_string') includes.push({ path: raw.slice(1, -1), quoted: false });
      return;
    }
    case 'preproc_def':
    case 'preproc_function_def': {
      const name = child.childForFieldName('name')?.text;
      if (!name) return;
      const value = child.childForFieldName('value');
      const body = value ? value.text.replace(/\\\r?\n/g, ' ').trim() : '';
      const macro: Macro = { name, body };
      if (child.type === 'preproc_function_def') {
        const params = child.childForFieldName('parameters');
        macro.params = params ? params.namedChildren.filter((n): n is Node => !!n).map((n) => n.text) : [];
      }
      if (!decls.macros.has(name)) decls.macros.set(name, macro);
      return;
    }
    case 'preproc_call': {
      const directive = child.childForFieldName('directive')?.text;
      const name = child.childForFieldName('argument')?.text.trim();
      if (directive === '#undef' && name && /^\w+$/.test(name)) {
        decls.macros.delete(name);
        decls.pp.undefined.add(name);
      }
      return;
    }
    case 'preproc_if':
    case 'preproc_ifdef':
    case 'preproc_elif':
    case 'preproc_elifdef': {
      // Only the branch the compiler takes; both when that cannot be decided here.
      const taken = preprocTaken(child, { macros: decls.macros, undefined: decls.pp.undefined, complete: decls.pp.complete });
      const alt = child.childForFieldName('alternative');
      if (taken === undefined) collectNode(child, unit, decls, includes);
      else if (taken) collectNode(child, unit, decls, includes, new Set([alt?.id ?? -1, child.childForFieldName('condition')?.id ?? -1, child.childForFieldName('name')?.id ?? -1]));
      else if (alt) collectTopLevel(alt, alt.startIndex, unit, decls, includes);
      return;
    }
    case 'preproc_else':
    case 'linkage_specification':
    case 'declaration_list':
      collectNode(child, unit, decls, includes);
      return;
    case 'function_definition':
      collectFunction(child, prevEnd, unit, decls);
      return;
    case 'declaration':
    case 'type_definition':
    case 'struct_specifier':
    case 'union_specifier':
    case 'enum_specifier':
    case 'expression_statement':
      collectTypes(child, decls);
      if (child.type === 'declaration') collectGlobal(child, unit, decls);
      if (child.type === 'type_definition') collectTypedef(child, decls);
      return;
    default:
      return;
  }
}

function collectFunction(node: Node, prevEnd: number, unit: Unit, decls: Decls): void {
  const body = node.childForFieldName('body');
  const declarator = node.childForFieldName('declarator');
  if (!body || !declarator) return;
  const fdecl = findFunctionDeclarator(declarator);
  if (!fdecl) return;
  const name = declaratorName(fdecl.childForFieldName('declarator'));
  if (!name) return;
  const params: Param[] = [];
  const plist = fdecl.childForFieldName('parameters');
  for (const p of plist?.namedChildren ?? []) {
    if (!p || p.type !== 'parameter_declaration') continue;
    const t = p.childForFieldName('type');
    const d = p.childForFieldName('declarator');
    const shape = d ? declaratorShape(d, decls) : { name: undefined, ptr: 0, dims: [] };
    params.push({ name: shape.name ?? '', type: { base: typeBase(t, decls), ptr: shape.ptr, dims: shape.dims } });
  }
  let section: string | undefined;
  for (const s of unit.sections) if (s.offset >= prevEnd && s.offset < body.startIndex) section = s.name;
  if (!section) {
    const head = unit.text.slice(node.startIndex, body.startIndex);
    section = /section\s*\(\s*"([^"]*)"\s*\)/.exec(head)?.[1];
  }
  const isStatic = node.namedChildren.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static');
  const fn: FunctionDecl = { name, unit, node, body, params, section, isStatic };
  const existing = decls.functions.get(name);
  if (!existing || (!existing.section && section)) decls.functions.set(name, fn);
}

function findFunctionDeclarator(n: Node | null): Node | null {
  for (let cur = n; cur; cur = cur.childForFieldName('declarator')) {
    if (cur.type === 'function_declarator') return cur;
  }
  return null;
}

export function declaratorName(n: Node | null): string | undefined {
  for (let cur = n; cur; cur = cur.childForFieldName('declarator') ?? (cur.type === 'parenthesized_declarator' ? cur.namedChild(0) : null)) {
    if (cur.type === 'identifier' || cur.type === 'field_identifier' || cur.type === 'type_identifier') return cur.text;
  }
  return undefined;
}

/**
 * Name, pointer depth and array dimensions of a declarator (`*eth`, `buf[16]`, `*const p`). With the declarations, a
 * dimension named by a macro or an expression (`__u8 sha[ETH_ALEN]`, `buf[2 * N]`) is evaluated as well.
 */
export function declaratorShape(n: Node, decls?: Decls): { name?: string; ptr: number; dims: (number | null)[]; isFunction?: boolean } {
  let ptr = 0;
  const dims: (number | null)[] = [];
  let isFunction = false;
  let cur: Node | null = n;
  while (cur) {
    switch (cur.type) {
      case 'identifier':
      case 'field_identifier':
      case 'type_identifier':
        return { name: cur.text, ptr, dims, isFunction };
      case 'pointer_declarator':
      case 'abstract_pointer_declarator':
        ptr++;
        cur = cur.childForFieldName('declarator');
        continue;
      case 'array_declarator':
      case 'abstract_array_declarator': {
        const size = cur.childForFieldName('size');
        dims.push(size ? (literalNumber(size.text) ?? (decls ? constEval(size, decls) : undefined) ?? null) : null);
        cur = cur.childForFieldName('declarator');
        continue;
      }
      case 'function_declarator':
      case 'abstract_function_declarator':
        isFunction = true;
        cur = cur.childForFieldName('declarator');
        continue;
      case 'init_declarator':
      case 'attributed_declarator':
        cur = cur.childForFieldName('declarator') ?? cur.namedChild(0);
        continue;
      case 'parenthesized_declarator':
      case 'abstract_parenthesized_declarator':
        cur = cur.namedChild(0);
        continue;
      default:
        return { ptr, dims, isFunction };
    }
  }
  return { ptr, dims, isFunction };
}

export function literalNumber(text: string): number | undefined {
  const raw = text.trim();
  if (raw.startsWith('-')) {
    const v = literalNumber(raw.slice(1));
    return v === undefined ? undefined : -v;
  }
  const t = raw.replace(/^\+/, '').replace(/[uUlL]+$/, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) return parseInt(t, 16);
  if (/^0[bB][01]+$/.test(t)) return parseInt(t.slice(2), 2);
  if (/^0[0-7]+$/.test(t)) return parseInt(t, 8);
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  return undefined;
}

/** Anonymous structs are named by their text, so that the name does not change when code above them moves. */
function textHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return `${(h >>> 0).toString(36)}.${s.length}`;
}

/** The normalised base type of a type node; anonymous structs get a generated name and their layout registered. */
export function typeBase(t: Node | null, decls: Decls): string {
  if (!t) return 'int';
  if ((t.type === 'struct_specifier' || t.type === 'union_specifier') && t.childForFieldName('body')) {
    const name = t.childForFieldName('name')?.text;
    const key = name ? `${t.type === 'union_specifier' ? 'union' : 'struct'} ${name}` : `struct <anon ${textHash(t.text)}>`;
    if (!decls.structs.has(key)) {
      const layout = structLayout(t, decls);
      if (layout) decls.structs.set(key, layout);
    }
    return key;
  }
  if (t.type === 'struct_specifier' || t.type === 'union_specifier' || t.type === 'enum_specifier') {
    const kw = t.type === 'struct_specifier' ? 'struct' : t.type === 'union_specifier' ? 'union' : 'enum';
    return `${kw} ${t.childForFieldName('name')?.text ?? ''}`.trim();
  }
  return integerSpelling(t.text.replace(/\s+/g, ' ').trim());
}

/**
 * An integer type written with its words in another order (`short unsigned int`, `long long unsigned int`, as
 * vmlinux.h-style headers spell them): the spelling the size table uses (`unsigned short int`).
 */
function integerSpelling(text: string): string {
  const words = text.split(' ');
  if (words.length < 2 || !words.every((w) => /^(?:signed|unsigned|short|long|int|char)$/.test(w))) return text;
  const sign = words.filter((w) => w === 'signed' || w === 'unsigned');
  const rest = words.filter((w) => w !== 'signed' && w !== 'unsigned');
  const order = (w: string) => (w === 'int' || w === 'char' ? 1 : 0);
  return [...sign, ...rest.sort((a, b) => order(a) - order(b))].join(' ');
}

function collectTypes(node: Node, decls: Decls): void {
  const stack: Node[] = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type === 'enum_specifier') {
      const body = n.childForFieldName('body');
      if (body) collectEnum(body, decls);
    } else if ((n.type === 'struct_specifier' || n.type === 'union_specifier') && n.childForFieldName('body')) {
      typeBase(n, decls);
    }
    for (const c of n.namedChildren) if (c && c.type !== 'compound_statement') stack.push(c);
  }
}

function collectEnum(list: Node, decls: Decls): void {
  let next = 0;
  for (const e of list.namedChildren) {
    if (!e || e.type !== 'enumerator') continue;
    const name = e.childForFieldName('name')?.text;
    const valueNode = e.childForFieldName('value');
    let value: number | undefined = next;
    if (valueNode) value = constEval(valueNode, decls);
    if (name && value !== undefined) {
      if (!decls.enums.has(name)) decls.enums.set(name, value);
      next = value + 1;
    } else {
      next = NaN;
    }
  }
}

function collectTypedef(node: Node, decls: Decls): void {
  const t = node.childForFieldName('type');
  const base = typeBase(t, decls);
  for (const d of node.childrenForFieldName('declarator')) {
    if (!d) continue;
    const shape = declaratorShape(d, decls);
    if (shape.name && !shape.isFunction) decls.typedefs.set(shape.name, { base, ptr: shape.ptr, dims: shape.dims });
  }
}

function collectGlobal(node: Node, unit: Unit, decls: Decls): void {
  const t = node.childForFieldName('type');
  let isConst = false;
  let isVolatile = false;
  let isExtern = false;
  for (const c of node.namedChildren) {
    if (c?.type === 'type_qualifier' && c.text === 'const') isConst = true;
    if (c?.type === 'type_qualifier' && c.text === 'volatile') isVolatile = true;
    if (c?.type === 'storage_class_specifier' && c.text === 'extern') isExtern = true;
  }
  const section = unit.sections.find((s) => s.offset >= node.startIndex && s.offset < node.endIndex)?.name;
  const base = typeBase(t, decls);
  for (const d of node.childrenForFieldName('declarator')) {
    if (!d) continue;
    const shape = declaratorShape(d, decls);
    if (!shape.name || shape.isFunction) continue;
    if (section === '.maps' || section === 'maps') {
      decls.maps.set(shape.name, mapDecl(shape.name, unit.text.slice(node.startIndex, node.endIndex), decls));
      continue;
    }
    if (isExtern) continue;
    const value = d.type === 'init_declarator' ? d.childForFieldName('value') : null;
    const init = value && isConst && !isVolatile && shape.ptr === 0 && shape.dims.length === 0 && base in PRIMITIVE_SIZES ? constEval(value, decls) : undefined;
    decls.globals.set(shape.name, { name: shape.name, type: { base, ptr: shape.ptr, dims: shape.dims }, isConst: isConst && shape.ptr === 0, ...(isVolatile ? { isVolatile } : {}), ...(init !== undefined ? { init } : {}) });
  }
}

function mapDecl(name: string, text: string, decls: Decls): MapDecl {
  const mapType = /__uint\s*\(\s*type\s*,\s*(\w+)\s*\)/.exec(text)?.[1] ?? /\.type\s*=\s*(\w+)/.exec(text)?.[1];
  const flagsText = /__uint\s*\(\s*map_flags\s*,\s*([^)]*(?:\([^)]*\)[^)]*)*)\)/.exec(text)?.[1] ?? /\.map_flags\s*=\s*([^,}]+)/.exec(text)?.[1];
  let readonlyReason: string | undefined;
  if (flagsText) {
    const flags = constEvalText(flagsText, decls);
    if (/\bBPF_F_RDONLY_PROG\b/.test(flagsText) || (flags !== undefined && (flags & KERNEL_CONSTANTS.BPF_F_RDONLY_PROG.value) !== 0)) {
      readonlyReason = `map \`${name}\` is created with BPF_F_RDONLY_PROG, so its values are read-only to the program`;
    }
  }
  if (!readonlyReason && (mapType === 'BPF_MAP_TYPE_DEVMAP' || mapType === 'BPF_MAP_TYPE_DEVMAP_HASH')) {
    readonlyReason = `\`${name}\` is a ${mapType}: the kernel forces BPF_F_RDONLY_PROG on device maps, so their values (struct bpf_devmap_val) are read-only to the program`;
  }
  const sizeText = (field: 'key' | 'value'): string | undefined => {
    const typed = new RegExp(`__type\\s*\\(\\s*${field}\\s*,\\s*([^;]*?)\\s*\\)\\s*;`).exec(text)?.[1];
    if (typed) return `sizeof(${typed})`;
    return new RegExp(`__uint\\s*\\(\\s*${field}_size\\s*,\\s*([^;]*?)\\s*\\)\\s*;`).exec(text)?.[1] ?? new RegExp(`\\.${field}_size\\s*=\\s*([^,}]+)`).exec(text)?.[1]?.trim();
  };
  return { name, mapType, readonlyReason, keySizeText: sizeText('key'), valueSizeText: sizeText('value') };
}

const PACKED = /\b(?:__packed|packed|__packed__)\b/;

function structLayout(node: Node, decls: Decls): StructLayout | undefined {
  const body = node.childForFieldName('body');
  if (!body) return undefined;
  const isUnion = node.type === 'union_specifier';
  // `struct h { ... } __attribute__((packed));` (or `__packed`, or the attribute before the body): members at byte
  // offsets with no padding, as clang lays out a wire header.
  const head = node.text.slice(0, body.startIndex - node.startIndex);
  const parent = node.parent;
  const tail = parent && (parent.type === 'declaration' || parent.type === 'type_definition' || parent.type === 'translation_unit') ? (parent.type === 'translation_unit' ? '' : parent.text.slice(node.endIndex - parent.startIndex)) : '';
  const after = node.text.slice(body.endIndex - node.startIndex);
  const packed = PACKED.test(head) || PACKED.test(after) || PACKED.test(tail.split(/[;,=]/)[0] ?? '');
  const fields: Record<string, FieldLayout> = {};
  // Bits, so that bitfields pack as the SysV ABI packs them (a run of `__u16 a : 1, b : 3;` shares its unit; a field
  // that would cross a boundary of its declared type's size starts at the next one; `: 0` closes the unit).
  let bits = 0;
  let size = 0;
  let maxAlign = 1;
  let complete = true;
  for (const fd of body.namedChildren) {
    if (!fd || fd.type !== 'field_declaration') continue;
    const t = fd.childForFieldName('type');
    const base = typeBase(t, decls);
    const declarators = fd.childrenForFieldName('declarator').filter((d): d is Node => !!d);
    if (declarators.length === 0 && t && (t.type === 'struct_specifier' || t.type === 'union_specifier')) {
      // An anonymous member: its fields are the outer struct's fields.
      const inner = decls.structs.get(base);
      if (!inner || !Number.isFinite(inner.size)) {
        complete = false;
        continue;
      }
      const align = packed ? 1 : Math.min(8, Math.max(1, largestScalar(inner)));
      const offset = isUnion ? 0 : alignUp(Math.ceil(bits / 8), align);
      for (const [k, v] of Object.entries(inner.fields)) fields[k] = { ...v, offset: v.offset + offset };
      maxAlign = Math.max(maxAlign, align);
      size = isUnion ? Math.max(size, inner.size) : offset + inner.size;
      if (!isUnion) bits = (offset + inner.size) * 8;
      continue;
    }
    // Each declarator with the bitfield clause that follows it, if any.
    const members: { d: Node; width?: Node }[] = [];
    for (const c of fd.children) {
      if (!c) continue;
      if (fd.childrenForFieldName('declarator').some((d) => d?.id === c.id)) members.push({ d: c });
      else if (c.type === 'bitfield_clause' && members.length > 0) members[members.length - 1]!.width = c.namedChild(0) ?? undefined;
    }
    for (const { d, width } of members) {
      const shape = declaratorShape(d, decls);
      const type: TypeRef = { base, ptr: shape.ptr, dims: shape.dims };
      const elemSize = sizeOfType({ base, ptr: shape.ptr, dims: [] }, decls);
      // A flexible array member (`__u8 body[];`, last) adds no bytes to the struct's size, as in C.
      const flexible = shape.dims[0] === null && shape.dims.length > 0 && !isUnion;
      const total = flexible ? (sizeOfType({ base, ptr: shape.ptr, dims: shape.dims.slice(1) }, decls) === undefined ? undefined : 0) : sizeOfType(type, decls);
      if (elemSize === undefined || total === undefined || !complete) {
        complete = false;
        continue;
      }
      const align = packed ? 1 : Math.min(8, shape.ptr > 0 ? 8 : alignOf(base, decls));
      if (width) {
        const w = constEval(width, decls);
        const unit = total * 8;
        if (w === undefined || w < 0 || w > unit || shape.ptr > 0 || shape.dims.length > 0) {
          complete = false;
          continue;
        }
        let start = isUnion ? 0 : bits;
        if (w === 0 || (!packed && Math.floor(start / unit) !== Math.floor((start + Math.max(w, 1) - 1) / unit))) start = alignUp(start, unit);
        if (w === 0) {
          if (!isUnion) bits = start;
          continue;
        }
        // The bytes the bits lie in (clang loads those, or the unit holding them, which a header's bounds check covers).
        const first = Math.floor(start / 8);
        if (shape.name) fields[shape.name] = { offset: first, size: Math.ceil((start + w) / 8) - first };
        if (shape.name) maxAlign = Math.max(maxAlign, align);
        if (isUnion) size = Math.max(size, Math.ceil(w / 8));
        else bits = start + w;
        continue;
      }
      const offset = isUnion ? 0 : alignUp(Math.ceil(bits / 8), align);
      maxAlign = Math.max(maxAlign, align);
      const isAggregate = shape.dims.length > 0 || (shape.ptr === 0 && /^(struct|union) /.test(resolveTypedef(type, decls).base));
      if (shape.name) fields[shape.name] = { offset, size: total, elem: isAggregate ? (shape.dims.length > 0 ? elemSize : 1) : undefined, ptrType: shape.ptr > 0 && shape.dims.length === 0 ? type : undefined, aggType: shape.ptr === 0 && shape.dims.length === 0 && isAggregate ? type : undefined };
      if (isUnion) size = Math.max(size, total);
      else bits = (offset + total) * 8;
    }
  }
  if (!complete) return { size: NaN, fields };
  if (!isUnion) size = Math.ceil(bits / 8);
  return { size: alignUp(size, maxAlign), fields };
}

function largestScalar(layout: StructLayout): number {
  let m = 1;
  for (const f of Object.values(layout.fields)) m = Math.max(m, f.elem ?? f.size);
  return Math.min(8, m);
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function alignOf(base: string, decls: Decls): number {
  const t = resolveTypedef({ base, ptr: 0, dims: [] }, decls);
  if (t.ptr > 0) return 8;
  const prim = PRIMITIVE_SIZES[t.base];
  if (prim !== undefined) return prim;
  if (t.base.startsWith('enum ')) return 4;
  const layout = decls.structs.get(t.base) ?? KERNEL_STRUCTS[t.base];
  return layout ? largestScalar(layout) : 1;
}

export function resolveTypedef(t: TypeRef, decls: Decls): TypeRef {
  let cur = t;
  for (let i = 0; i < 8; i++) {
    const td = decls.typedefs.get(cur.base);
    if (!td) break;
    cur = { base: td.base, ptr: td.ptr + cur.ptr, dims: [...cur.dims, ...td.dims] };
  }
  return cur;
}

export function structOf(base: string, decls: Decls): StructLayout | undefined {
  const t = resolveTypedef({ base, ptr: 0, dims: [] }, decls);
  if (t.ptr > 0) return undefined;
  return decls.structs.get(t.base) ?? KERNEL_STRUCTS[t.base];
}

export function sizeOfType(t: TypeRef, decls: Decls): number | undefined {
  const r = resolveTypedef(t, decls);
  let elem: number | undefined;
  if (r.ptr > 0) elem = 8;
  else if (PRIMITIVE_SIZES[r.base] !== undefined) elem = PRIMITIVE_SIZES[r.base];
  else if (r.base.startsWith('enum ')) elem = 4;
  else {
    const layout = decls.structs.get(r.base) ?? KERNEL_STRUCTS[r.base];
    elem = layout && Number.isFinite(layout.size) ? layout.size : undefined;
  }
  if (elem === undefined) return undefined;
  for (const d of r.dims) {
    if (d === null) return undefined;
    elem *= d;
  }
  return elem;
}

/** Size of what a pointer of type `t` points to (1 for void *, as GNU C counts). */
export function pointeeSize(t: TypeRef, decls: Decls): number | undefined {
  const r = resolveTypedef(t, decls);
  if (r.dims.length > 0) return sizeOfType({ base: r.base, ptr: r.ptr, dims: r.dims.slice(1) }, decls);
  if (r.ptr === 0) return undefined;
  return sizeOfType({ base: r.base, ptr: r.ptr - 1, dims: [] }, decls);
}

/** Type of the type_descriptor of a cast or sizeof. */
export function typeDescriptor(n: Node, decls: Decls): TypeRef {
  const base = typeBase(n.childForFieldName('type'), decls);
  const d = n.childForFieldName('declarator');
  const shape = d ? declaratorShape(d, decls) : { ptr: 0, dims: [] };
  return { base, ptr: shape.ptr, dims: shape.dims };
}

// ---- constant expressions (enum values, macro bodies, map flags) -------------------------------------------------

interface Snippet {
  tree: Tree;
  expr?: Node;
  statements: Node[];
}

const snippets = new Map<string, Snippet | null>();
const MAX_SNIPPETS = 4096;

/** A macro body or expansion parsed once: as one expression when it is one, otherwise as statements. */
export function snippet(text: string): Snippet | undefined {
  const cached = snippets.get(text);
  if (cached !== undefined) return cached ?? undefined;
  const tree = parseSnippet(`void __xdp_lens_macro(void) {\n${text}\n;}`);
  let result: Snippet | null = null;
  if (tree) {
    const fn = tree.rootNode.namedChildren.find((c) => c?.type === 'function_definition');
    const body = fn?.childForFieldName('body');
    const statements = (body?.namedChildren ?? []).filter(
      (c): c is Node => !!c && c.type !== 'comment' && !(c.type === 'expression_statement' && c.namedChildCount === 0),
    );
    let expr: Node | undefined;
    if (statements.length === 1 && statements[0].type === 'expression_statement' && !statements[0].hasError) {
      expr = statements[0].namedChild(0) ?? undefined;
    }
    result = { tree, expr, statements };
  }
  snippets.set(text, result);
  return result ?? undefined;
}

/** Frees the parsed macro bodies once there are too many; only between analyses, when no node is in use. */
export function trimSnippets(): void {
  if (snippets.size < MAX_SNIPPETS) return;
  for (const s of snippets.values()) s?.tree.delete();
  snippets.clear();
}

/** Substitutes a function-like macro's parameters by the argument texts (whole identifiers only). */
export function expandFunctionMacro(m: Macro, args: string[]): string {
  const params = m.params ?? [];
  if (params.length === 0) return m.body;
  const byName = new Map(params.filter((p) => p !== '...').map((p, i) => [p, args[i] ?? '']));
  if (params[params.length - 1] === '...') byName.set('__VA_ARGS__', args.slice(params.length - 1).join(', '));
  return m.body
    .replace(/#\s*(\w+)/g, (all, name: string) => (byName.has(name) ? JSON.stringify(byName.get(name)) : all))
    .replace(/\b[A-Za-z_]\w*\b/g, (id) => (byName.has(id) ? `(${byName.get(id)})` : id));
}

export function constEvalText(text: string, decls: Decls, depth = 0): number | undefined {
  const s = snippet(text);
  return s?.expr ? constEval(s.expr, decls, depth) : undefined;
}

/** Evaluates an integer constant expression over enums, macros and the kernel constants. */
export function constEval(n: Node, decls: Decls, depth = 0): number | undefined {
  if (depth > 16) return undefined;
  switch (n.type) {
    case 'number_literal':
      return literalNumber(n.text);
    case 'char_literal': {
      const body = n.text.slice(1, -1);
      if (body.length === 1) return body.charCodeAt(0);
      return undefined;
    }
    case 'true':
      return 1;
    case 'false':
      return 0;
    case 'parenthesized_expression':
      return n.namedChild(0) ? constEval(n.namedChild(0)!, decls, depth) : undefined;
    case 'cast_expression': {
      const v = n.childForFieldName('value');
      return v ? constEval(v, decls, depth) : undefined;
    }
    case 'identifier': {
      const name = n.text;
      const e = decls.enums.get(name);
      if (e !== undefined) return e;
      const m = decls.macros.get(name);
      if (m && !m.params) return constEvalText(m.body, decls, depth + 1);
      return KERNEL_CONSTANTS[name]?.value;
    }
    case 'sizeof_expression': {
      const t = n.childForFieldName('type');
      return t ? sizeOfType(typeDescriptor(t, decls), decls) : undefined;
    }
    case 'unary_expression': {
      const a = n.childForFieldName('argument');
      const v = a ? constEval(a, decls, depth) : undefined;
      if (v === undefined) return undefined;
      const op = n.childForFieldName('operator')?.text;
      return op === '-' ? -v : op === '~' ? ~v : op === '!' ? Number(!v) : v;
    }
    case 'binary_expression': {
      const l = n.childForFieldName('left');
      const r = n.childForFieldName('right');
      const a = l ? constEval(l, decls, depth) : undefined;
      const b = r ? constEval(r, decls, depth) : undefined;
      if (a === undefined || b === undefined) return undefined;
      return binaryConst(n.childForFieldName('operator')?.text ?? '', a, b);
    }
    case 'offsetof_expression':
    case 'call_expression':
      return offsetofConst(n, decls);
    case 'conditional_expression': {
      const c = n.childForFieldName('condition');
      const cv = c ? constEval(c, decls, depth) : undefined;
      if (cv === undefined) return undefined;
      const pick = n.childForFieldName(cv ? 'consequence' : 'alternative');
      return pick ? constEval(pick, decls, depth) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * `offsetof(struct iphdr, check)` (tree-sitter's offsetof_expression) and `__builtin_offsetof(...)` (a call to it):
 * the member's offset, where the struct's layout is known and the member is one name (a path such as `a.b` or
 * `a[1]` is not followed: the layouts keep no member types).
 */
export function offsetofConst(n: Node, decls: Decls): number | undefined {
  let inner: string | undefined;
  if (n.type === 'offsetof_expression') {
    if (n.children.some((c) => c?.type === 'ERROR')) return undefined;
    inner = n.text.slice(n.text.indexOf('(') + 1, n.text.lastIndexOf(')'));
  } else if (n.type === 'call_expression' && n.childForFieldName('function')?.text === '__builtin_offsetof') {
    inner = n.childForFieldName('arguments')?.text.slice(1, -1);
  }
  const m = inner === undefined ? null : /^\s*((?:struct|union)\s+\w+|\w+)\s*,\s*(\w+)\s*$/.exec(inner);
  return m ? structOf(m[1]!.replace(/\s+/g, ' '), decls)?.fields[m[2]!]?.offset : undefined;
}

export function binaryConst(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return b === 0 ? undefined : Math.trunc(a / b);
    case '%': return b === 0 ? undefined : a % b;
    case '<<': return b >= 0 && b < 53 ? a * 2 ** b : undefined;
    case '>>': return b >= 0 && b < 64 ? Math.floor(a / 2 ** b) : undefined;
    case '&': return Math.abs(a) < 2 ** 31 && Math.abs(b) < 2 ** 31 ? a & b : undefined;
    case '|': return Math.abs(a) < 2 ** 31 && Math.abs(b) < 2 ** 31 ? a | b : undefined;
    case '^': return Math.abs(a) < 2 ** 31 && Math.abs(b) < 2 ** 31 ? a ^ b : undefined;
    case '==': return Number(a === b);
    case '!=': return Number(a !== b);
    case '<': return Number(a < b);
    case '<=': return Number(a <= b);
    case '>': return Number(a > b);
    case '>=': return Number(a >= b);
    case '&&': return Number(!!a && !!b);
    case '||': return Number(!!a || !!b);
    default: return undefined;
  }
}
