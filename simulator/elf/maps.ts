// Map definitions, the way libbpf builds them before creating maps (libbpf.c, v1.1 checked; master unchanged here):
//   - legacy `maps` section: an array of struct bpf_map_def {type, key_size, value_size, max_entries, map_flags}
//     (libbpf 0.x bpf_object__init_user_maps; libbpf 1.0 dropped it, we still read it);
//   - BTF-defined `.maps`: parse_btf_map_def over the DATASEC '.maps' variables, in section-offset order;
//   - global data: one single-element ARRAY per non-empty .data*, .rodata*, .bss* section
//     (bpf_object__init_global_data_maps / bpf_object__init_internal_map, names from internal_map_name).
import type { MapDef } from './types.ts';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MapType } from './types.ts';
import {
  SHF_EXECINSTR, SHT_NOBITS, SHT_PROGBITS, STT_FUNC, STT_SECTION, STV_HIDDEN, STV_INTERNAL,
  type ElfFile, type ElfSection, type ElfSymbol,
} from './elf64.ts';
import {
  BTF_KIND, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_STATIC, btfSpecialFields, findDatasec, kindName, resolveSize,
  parseBtf, skipModsAndTypedefs, type Btf, type BtfType,
} from './btf.ts';

export const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
export const BPF_MAP_TYPE_HASH_OF_MAPS = 13;
export const BPF_MAP_TYPE_ARENA = 33;
const BPF_OBJ_NAME_LEN = 16;

/** Where a map lives in the ELF file, so relocations against (section, offset) find it. */
export interface MapPlacement {
  section: number;
  offset: number;
  size: number;
  map: number;
}

export interface MapProblem {
  severity: 'error' | 'warning';
  message: string;
  section?: string;
}

export interface MapsResult {
  maps: MapDef[];
  placements: MapPlacement[];
  problems: MapProblem[];
}

export type DataKind = 'data' | 'rodata' | 'bss';

/** Which global-data map a section becomes, if any (libbpf bpf_object__elf_collect section classification). */
export function dataSectionKind(s: ElfSection): DataKind | undefined {
  const is = (pfx: string) => s.name === pfx || s.name.startsWith(pfx + '.');
  if (s.type === SHT_PROGBITS && !(s.flags & SHF_EXECINSTR)) {
    if (is('.data')) return 'data';
    if (is('.rodata')) return 'rodata';
  }
  if (s.type === SHT_NOBITS && is('.bss')) return 'bss';
  return undefined;
}

/** libbpf's object name: the file's base name up to its first dot, at most 15 characters (bpf_object__new). */
export function objectName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  const cut = base.slice(0, BPF_OBJ_NAME_LEN - 1);
  const dot = cut.indexOf('.');
  return dot >= 0 ? cut.slice(0, dot) : cut;
}

/**
 * The kernel-visible name of a global-data map (libbpf internal_map_name): as much of the object name as fits in front
 * of the section name, reserving at least 7 characters for the suffix; sections with a second dot (custom
 * `.rodata.foo`, `.data.bar`) use the section name alone; 15 characters at most; characters other than [A-Za-z0-9_.]
 * become '_'.
 */
export function internalMapName(objName: string, secName: string): string {
  const sfxLen = Math.min(Math.max(7, secName.length), BPF_OBJ_NAME_LEN - 1);
  const pfxLen = secName.indexOf('.', 1) >= 0 ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, objName.length);
  const name = (objName.slice(0, pfxLen) + secName.slice(0, sfxLen)).slice(0, BPF_OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

function unsupportedMapType(type: number): string | undefined {
  if (type === BPF_MAP_TYPE_ARENA) return 'arena';
  return undefined;
}

/** libbpf get_map_field_int: `__uint(name, N)` is encoded as `int (*name)[N]`. */
function fieldInt(btf: Btf, mapName: string, memberName: string, typeId: number): number | string {
  const t = skipModsAndTypedefs(btf, typeId);
  if (!t || t.kind !== BTF_KIND.PTR) return `map '${mapName}': attr '${memberName}': expected PTR, got ${t ? kindName(t.kind) : 'nothing'}`;
  const arr = btf.types[t.sizeOrType];
  if (!arr || arr.kind !== BTF_KIND.ARRAY) {
    return `map '${mapName}': attr '${memberName}': expected ARRAY, got ${arr ? kindName(arr.kind) : 'nothing'}`;
  }
  return arr.array!.nelems;
}

interface BtfMapDef {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  hasValues: boolean;
  valuesBitOffset: number;
  pinning: number;
  mapExtra?: number;
  /** BTF type ids of `__type(key, ...)` / `__type(value, ...)`. */
  keyType?: number;
  valueType?: number;
  /** Maps of maps: the inner map's definition from `__array(values, struct inner)`. */
  inner?: BtfMapDef;
}

/** libbpf parse_btf_map_def (strict mode: unknown fields are errors); `inner` for the definition inside `__array`. */
function parseBtfMapDef(btf: Btf, mapName: string, def: BtfType, inner = false): BtfMapDef | string {
  const d: BtfMapDef = { type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, hasValues: false, valuesBitOffset: 0, pinning: 0 };
  const members = def.members ?? [];
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const int = () => fieldInt(btf, mapName, m.name, m.type);
    const sized = (what: 'key' | 'value', sz: number): string | undefined => {
      const cur = what === 'key' ? d.keySize : d.valueSize;
      if (cur && cur !== sz) return `map '${mapName}': conflicting ${what} size ${cur} != ${sz}`;
      if (what === 'key') d.keySize = sz;
      else d.valueSize = sz;
      return undefined;
    };
    let err: string | undefined;
    switch (m.name) {
      case 'type': case 'max_entries': case 'map_flags': case 'numa_node': case 'pinning': case 'map_extra':
      case 'key_size': case 'value_size': {
        const n = int();
        if (typeof n === 'string') return n;
        if (m.name === 'type') d.type = n;
        else if (m.name === 'max_entries') d.maxEntries = n;
        else if (m.name === 'map_flags') d.flags = n;
        else if (m.name === 'map_extra') d.mapExtra = n;
        else if (m.name === 'pinning' && n !== 0 && n !== 1) return `map '${mapName}': invalid pinning value ${n}`;
        else if (m.name === 'pinning' && inner && n !== 0) return `map '${mapName}': inner def can't be pinned`;
        else if (m.name === 'pinning') d.pinning = n;
        else if (m.name === 'key_size') err = sized('key', n);
        else if (m.name === 'value_size') err = sized('value', n);
        break;
      }
      case 'key': case 'value': {
        const t = btf.types[m.type];
        if (!t) return `map '${mapName}': ${m.name} type [${m.type}] not found`;
        if (t.kind !== BTF_KIND.PTR) return `map '${mapName}': ${m.name} spec is not PTR: ${kindName(t.kind)}`;
        const sz = resolveSize(btf, t.sizeOrType);
        if (typeof sz === 'string') return `map '${mapName}': can't determine ${m.name} size: ${sz}`;
        err = sized(m.name, sz);
        if (m.name === 'key') d.keyType = t.sizeOrType;
        else d.valueType = t.sizeOrType;
        break;
      }
      case 'values': {
        if (i !== members.length - 1) return `map '${mapName}': 'values' member should be last`;
        const mim = d.type === BPF_MAP_TYPE_ARRAY_OF_MAPS || d.type === BPF_MAP_TYPE_HASH_OF_MAPS;
        if (inner) return `map '${mapName}': multi-level inner maps not supported`;
        if (mim) {
          // __array(values, struct inner): a zero-sized array of pointers to the inner map's definition.
          const t = btf.types[m.type];
          if (!t || t.kind !== BTF_KIND.ARRAY || t.array!.nelems !== 0) return `map '${mapName}': map-in-map inner spec is not a zero-sized array`;
          const p = skipModsAndTypedefs(btf, t.array!.type);
          if (!p || p.kind !== BTF_KIND.PTR) return `map '${mapName}': map-in-map inner def is of unexpected kind ${p ? kindName(p.kind) : '?'}`;
          const st = skipModsAndTypedefs(btf, p.sizeOrType);
          if (!st || st.kind !== BTF_KIND.STRUCT) return `map '${mapName}': map-in-map inner def is of unexpected kind ${st ? kindName(st.kind) : '?'}`;
          const innerDef = parseBtfMapDef(btf, `${mapName}.inner`, st, true);
          if (typeof innerDef === 'string') return innerDef;
          err = sized('value', 4);
          d.inner = innerDef;
          d.hasValues = true;
          d.valuesBitOffset = m.bitOffset;
          break;
        }
        if (d.type !== MapType.PROG_ARRAY) return `map '${mapName}': 'values' needs a map-in-map or prog-array map`;
        err = sized('value', 4);
        const t = btf.types[m.type];
        if (!t || t.kind !== BTF_KIND.ARRAY || t.array!.nelems !== 0) return `map '${mapName}': prog-array value spec is not a zero-sized array`;
        const p = skipModsAndTypedefs(btf, t.array!.type);
        if (!p || p.kind !== BTF_KIND.PTR) return `map '${mapName}': prog-array value def is of unexpected kind ${p ? kindName(p.kind) : '?'}`;
        const f = skipModsAndTypedefs(btf, p.sizeOrType);
        if (!f || f.kind !== BTF_KIND.FUNC_PROTO) return `map '${mapName}': prog-array value def is of unexpected kind ${f ? kindName(f.kind) : '?'}`;
        d.hasValues = true;
        d.valuesBitOffset = m.bitOffset;
        break;
      }
      default:
        return `map '${mapName}': unknown field '${m.name}'`;
    }
    if (err) return err;
  }
  if (d.type === 0) return `map '${mapName}': map type isn't specified`;
  return d;
}

/** libbpf adjust_ringbuf_sz: round max_entries up to a power-of-2 multiple of the page size (4096 on x86-64). */
function adjustRingbufSize(sz: number): number {
  const page = 4096;
  if (sz === 0) return 0;
  if (sz % page === 0 && Number.isInteger(Math.log2(sz / page))) return sz;
  for (let mul = 1; mul * page <= 0xffffffff; mul *= 2) if (mul * page > sz) return mul * page;
  return sz;
}

export function collectMaps(path: string, elf: ElfFile, btf: Btf | undefined): MapsResult {
  const maps: MapDef[] = [];
  const placements: MapPlacement[] = [];
  const problems: MapProblem[] = [];
  const { sections, symbols } = elf;
  const symsIn = (sec: number) => symbols.filter((s) => s.shndx === sec && s.type !== STT_SECTION && s.name !== '');
  const elfMaps: { index: number; id: number; innerId: number; innerIdx: number }[] = [];

  // Legacy `maps` (struct bpf_map_def), one entry per symbol; the entry size is the section size over the count.
  const legacy = sections.find((s) => s.name === 'maps' && s.type === SHT_PROGBITS);
  if (legacy) {
    const syms = symsIn(legacy.index).sort((a, b) => a.value - b.value);
    if (syms.length === 0) {
      problems.push({ severity: 'warning', section: 'maps', message: `${path}: section 'maps' has no map symbols` });
    } else if (legacy.data.length % syms.length !== 0) {
      problems.push({ severity: 'error', section: 'maps', message: `${path}: section 'maps' (${legacy.data.length} bytes) is not a whole number of map definitions for its ${syms.length} symbols` });
    } else {
      problems.push({ severity: 'warning', section: 'maps', message: `${path}: legacy map definitions in SEC("maps") (struct bpf_map_def): libbpf 1.0 and later refuse them; XDP Lens runs them as the older loaders did` });
      const defSize = legacy.data.length / syms.length;
      const v = new DataView(legacy.data.buffer, legacy.data.byteOffset, legacy.data.byteLength);
      for (const sym of syms) {
        if (sym.value % defSize !== 0 || sym.value + defSize > legacy.data.length) {
          problems.push({ severity: 'error', section: 'maps', message: `${path}: map '${sym.name}' at byte ${sym.value} of section 'maps' is not on a ${defSize}-byte definition boundary` });
          continue;
        }
        const field = (i: number) => (i * 4 + 4 <= defSize ? v.getUint32(sym.value + i * 4, true) : 0);
        // Bytes past the 20 of struct bpf_map_def: iproute2's struct bpf_elf_map (id, pinning, inner_id, inner_idx)
        // and samples/bpf's bpf_load.c (inner_map_idx, numa_node) put them there, and their loaders accept them
        // (`ip link ... xdp obj` opens with relaxed_maps). They pin, number or place the map; for a map that holds no
        // maps they change nothing a program sees, so they are ignored with a warning, as the kernel harness's legacy
        // loader ignores them. In a map of maps they would name the inner map, which is not modelled: refused.
        const extra = [...legacy.data.subarray(sym.value + Math.min(20, defSize), sym.value + defSize)].findIndex((x) => x !== 0);
        const mapOfMaps = field(0) === BPF_MAP_TYPE_ARRAY_OF_MAPS || field(0) === BPF_MAP_TYPE_HASH_OF_MAPS;
        // iproute2's struct bpf_elf_map (36 bytes): a map of maps names its inner-map template by inner_id, and a map
        // with an id and an inner_idx other than -1 is stored in it at that index (resolved below, as iproute2 does).
        if (defSize === 36) elfMaps.push({ index: maps.length, id: field(5), innerId: field(7), innerIdx: field(8) });
        if (extra >= 0 && !(defSize === 36 && mapOfMaps && field(7) !== 0)) {
          const at = sym.value + 20 + extra;
          if (mapOfMaps) {
            problems.push({ severity: 'error', section: 'maps', message: `${path}: map '${sym.name}' has unrecognised non-zero bytes after struct bpf_map_def (byte ${at} of section 'maps'): an inner map named there is not supported` });
          } else {
            const words = [];
            for (let i = 5; i * 4 + 4 <= defSize; i++) if (field(i) !== 0) words.push(`${defSize === 36 ? ['id', 'pinning', 'inner_id', 'inner_idx'][i - 5] ?? `word ${i}` : `word ${i}`} = ${field(i)}`);
            problems.push({ severity: 'warning', section: 'maps', message: `${path}: map '${sym.name}': non-zero bytes after struct bpf_map_def (from byte ${at} of section 'maps'${words.length ? `; ${words.join(', ')}` : ''}) are ignored: the loaders that accept them (iproute2 for struct bpf_elf_map, samples/bpf's bpf_load.c) only pin, number or place the map with them` });
          }
        }
        const def: MapDef = {
          name: sym.name, type: field(0), keySize: field(1), valueSize: field(2), maxEntries: field(3), flags: field(4),
          kind: 'user', section: 'maps',
          ...legacyKvTypes(btf, sym.name),
        };
        pushUserMap(def, legacy.index, sym.value, defSize);
      }
      resolveElfMapsInMaps();
    }
  }

  /** iproute2 (lib/bpf_legacy.c bpf_maps_attach_all) for struct bpf_elf_map: each map of maps gets the first map whose
   *  id is its inner_id as its inner-map template (none: iproute2 refuses the object); then each map with an id, no
   *  inner_id and an inner_idx other than -1 is stored at key inner_idx of every map of maps whose inner_id is its id. */
  function resolveElfMapsInMaps() {
    for (const m of elfMaps) {
      const def = maps[m.index]!;
      if ((def.type !== BPF_MAP_TYPE_ARRAY_OF_MAPS && def.type !== BPF_MAP_TYPE_HASH_OF_MAPS) || m.innerId === 0) continue;
      const t = elfMaps.find((x) => x.id === m.innerId);
      if (!t) {
        problems.push({ severity: 'error', section: 'maps', message: `${path}: map '${def.name}' cannot be created: its inner_id ${m.innerId} names no map (no struct bpf_elf_map with that id), as iproute2 says` });
        continue;
      }
      const i = maps[t.index]!;
      def.inner = {
        name: `${def.name}.inner`, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.declaredFlags ?? i.flags,
        kind: 'user', section: 'maps', ...(i.keyType ? { keyType: i.keyType } : {}), ...(i.valueType ? { valueType: i.valueType } : {}),
      };
    }
    for (const m of elfMaps) {
      if (m.id === 0 || m.innerId !== 0 || m.innerIdx === 0xffffffff) continue;
      for (const o of elfMaps) {
        const outer = maps[o.index]!;
        if ((outer.type !== BPF_MAP_TYPE_ARRAY_OF_MAPS && outer.type !== BPF_MAP_TYPE_HASH_OF_MAPS) || o.innerId !== m.id) continue;
        (outer.initialMaps ??= []).push({ index: m.innerIdx | 0, map: maps[m.index]!.name });
      }
    }
  }

  function pushUserMap(def: MapDef, section: number, offset: number, size: number) {
    const bad = unsupportedMapType(def.type);
    if (bad) problems.push({ severity: 'error', section: def.section, message: `${path}: map '${def.name}': ${bad} maps (type ${def.type}) are not supported` });
    if (def.type === MapType.RINGBUF) def.maxEntries = adjustRingbufSize(def.maxEntries);
    // The kernel marks devmaps read-only for programs itself (kernel/bpf/devmap.c dev_map_init_map: a lookup returns
    // a pointer into the entry), and `bpftool map show` reports the flag; the VM needs it to fault on value writes.
    if ((def.type === MapType.DEVMAP || def.type === MapType.DEVMAP_HASH) && !(def.flags & BPF_F_RDONLY_PROG)) {
      def.declaredFlags = def.flags;
      def.flags |= BPF_F_RDONLY_PROG;
    }
    placements.push({ section, offset, size, map: maps.length });
    maps.push(def);
  }

  // BTF-defined `.maps`.
  const dotMaps = sections.find((s) => s.name === '.maps');
  if (dotMaps) {
    const datasec = btf ? findDatasec(btf, '.maps') : undefined;
    if (!btf || !datasec) {
      // With a .BTF section that could not be read, say why rather than "compile with -g".
      const btfSec = sections.find((s) => s.name === '.BTF');
      const why = !btf && btfSec ? parseBtf(btfSec.data).problems[0]?.message : undefined;
      problems.push({
        severity: 'error',
        section: '.maps',
        message: btfSec && !btf
          ? `${path}: section '.maps' needs BTF to describe its maps, and the object's .BTF section cannot be read${why ? `: ${why}` : ''}`
          : `${path}: section '.maps' needs BTF (compile with -g) to describe its maps`,
      });
    } else {
      const mapSyms = new Map(symsIn(dotMaps.index).map((s) => [s.name, s]));
      const vars: { name: string; offset: number; size: number; t: BtfType; varIdx: number }[] = [];
      datasec.secinfos!.forEach((vi, varIdx) => {
        const v = btf.types[vi.type];
        const name = v?.name ?? '';
        if (!v || v.kind !== BTF_KIND.VAR) {
          problems.push({ severity: 'error', section: '.maps', message: `${path}: map #${varIdx}: unexpected var kind ${v ? kindName(v.kind) : '?'}` });
          return;
        }
        // Clang leaves DATASEC offsets 0 in object files; the ELF symbol gives the real offset (btf_fixup_datasec).
        const sym = mapSyms.get(name);
        vars.push({ name, offset: sym ? sym.value : vi.offset, size: vi.size, t: v, varIdx });
      });
      vars.sort((a, b) => a.offset - b.offset);
      for (const { name, offset, size, t } of vars) {
        const where = { severity: 'error' as const, section: '.maps' };
        if (!name) { problems.push({ ...where, message: `${path}: a map in '.maps' has an empty name` }); continue; }
        if (offset + size > dotMaps.size) { problems.push({ ...where, message: `${path}: map '${name}' BTF data is corrupted (bytes ${offset}..${offset + size} outside '.maps')` }); continue; }
        if (t.linkage !== BTF_VAR_GLOBAL_ALLOCATED) { problems.push({ ...where, message: `${path}: map '${name}': unsupported map linkage (static maps are rejected by libbpf; drop 'static')` }); continue; }
        const def = skipModsAndTypedefs(btf, t.sizeOrType);
        if (!def || def.kind !== BTF_KIND.STRUCT) { problems.push({ ...where, message: `${path}: map '${name}': unexpected def kind ${def ? kindName(def.kind) : '?'}` }); continue; }
        const parsed = parseBtfMapDef(btf, name, def);
        if (typeof parsed === 'string') { problems.push({ ...where, message: `${path}: ${parsed}` }); continue; }
        const mapIndex = maps.length;
        pushUserMap({
          name, type: parsed.type, keySize: parsed.keySize, valueSize: parsed.valueSize, maxEntries: parsed.maxEntries,
          flags: parsed.flags, kind: 'user', section: '.maps', ...(parsed.pinning ? { pinning: parsed.pinning } : {}),
          ...(parsed.mapExtra ? { mapExtra: parsed.mapExtra } : {}),
          ...(parsed.keyType ? { keyType: parsed.keyType } : {}), ...(parsed.valueType ? { valueType: parsed.valueType } : {}),
        }, dotMaps.index, offset, size);
        if (parsed.inner) {
          const i = parsed.inner;
          maps[mapIndex].inner = {
            name: `${name}.inner`, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags,
            kind: 'user', section: '.maps',
            ...(i.keyType ? { keyType: i.keyType } : {}), ...(i.valueType ? { valueType: i.valueType } : {}),
          };
        }
        if (parsed.hasValues && parsed.inner) {
          const slots = valueSlots(path, elf, dotMaps.index, name, offset, size, parsed.valuesBitOffset / 8, problems, 'map');
          maps[mapIndex].initialMaps = slots.map((x) => ({ index: x.index, map: x.target }));
        } else if (parsed.hasValues) {
          const slots = valueSlots(path, elf, dotMaps.index, name, offset, size, parsed.valuesBitOffset / 8, problems, 'prog');
          maps[mapIndex].initialProgs = slots.map((x) => ({ index: x.index, program: x.target }));
        }
      }
    }
  }

  // Global data, in section order.
  const objName = objectName(path);
  for (const s of sections) {
    const kind = dataSectionKind(s);
    if (!kind || s.size === 0) continue;
    let flags = kind === 'rodata' ? BPF_F_RDONLY_PROG : 0;
    if (btf && isMmapable(btf, s.name, symbols.filter((x) => x.shndx === s.index))) flags |= BPF_F_MMAPABLE;
    const ds = btf ? fixupDatasec(btf, s.name, s.size, symbols.filter((x) => x.shndx === s.index)) : undefined;
    placements.push({ section: s.index, offset: 0, size: s.size, map: maps.length });
    maps.push({
      // A custom `.data.*` / `.rodata.*` section's map goes by the section's full name, as libbpf shows it to its
      // users (bpf_map__name: map_uses_real_name) and the kernel harness reports it; only the kernel's copy of the
      // name is cut to 15 characters. The plain sections (and `.bss`) keep libbpf's prefixed kernel name.
      name: kind !== 'bss' && s.name.indexOf('.', 1) >= 0 ? s.name : internalMapName(objName, s.name),
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: s.size,
      maxEntries: 1,
      flags,
      kind: 'global',
      section: s.name,
      // A .bss above INT_MAX is refused at map creation (E2BIG); its size comes from a header, so nothing is allocated.
      initialValue: kind === 'bss' ? new Uint8Array(s.size > 0x7fffffff ? 0 : s.size) : Uint8Array.from(s.data),
      ...(ds ? { valueType: ds.id } : {}),
    });
  }
  if (btf) {
    for (const m of maps) {
      for (const d of m.inner ? [m, m.inner] : [m]) {
        const special = d.valueType ? btfSpecialFields(btf, d.valueType) : [];
        if (special.length) d.special = special;
      }
    }
  }
  return { maps, placements, problems };
}

/**
 * A legacy map's key and value types from BPF_ANNOTATE_KV_PAIR's `struct ____btf_map_<name> { key; value; }`, as
 * libbpf's bpf_map_find_btf_info looks them up (libbpf 0.x).
 */
function legacyKvTypes(btf: Btf | undefined, name: string): { keyType?: number; valueType?: number } {
  const t = btf?.types.find((x) => x?.kind === BTF_KIND.STRUCT && x.name === `____btf_map_${name}`);
  const key = t?.members?.find((m) => m.name === 'key');
  const value = t?.members?.find((m) => m.name === 'value');
  return key && value ? { keyType: key.type, valueType: value.type } : {};
}

/**
 * The DATASEC of a global-data section with its size and its variables' offsets taken from the ELF, as libbpf's
 * btf_fixup_datasec does (clang leaves them 0 in object files); so the section's value can be shown variable by variable.
 */
function fixupDatasec(btf: Btf, secName: string, size: number, secSyms: ElfSymbol[]): BtfType | undefined {
  const ds = findDatasec(btf, secName);
  if (!ds?.secinfos) return undefined;
  ds.sizeOrType = size;
  ds.secinfos = ds.secinfos.map((vi) => {
    const sym = secSyms.find((x) => x.name === btf.types[vi.type]?.name);
    return sym ? { ...vi, offset: sym.value } : vi;
  });
  return ds;
}

/**
 * libbpf map_is_mmapable: the map is BPF_F_MMAPABLE when its DATASEC has a variable with non-static linkage whose
 * ELF symbol is not hidden (btf_fixup_datasec turns hidden globals static).
 */
function isMmapable(btf: Btf, secName: string, secSyms: ElfSymbol[]): boolean {
  const ds = findDatasec(btf, secName);
  if (!ds) return false;
  return ds.secinfos!.some((vi) => {
    const v = btf.types[vi.type];
    if (!v || v.kind !== BTF_KIND.VAR || v.linkage === BTF_VAR_STATIC) return false;
    const sym = secSyms.find((s) => s.name === v.name);
    return !(sym && (sym.visibility === STV_HIDDEN || sym.visibility === STV_INTERNAL));
  });
}

/**
 * `__array(values, ...)` initial slots from `.rel.maps` (libbpf bpf_object__collect_map_relos): programs for a
 * PROG_ARRAY, maps of `.maps` for a map of maps.
 */
function valueSlots(
  path: string, elf: ElfFile, mapsSec: number, mapName: string, varOff: number, varSize: number, membOff: number,
  problems: MapProblem[], want: 'prog' | 'map',
): { index: number; target: string }[] {
  const out: { index: number; target: string }[] = [];
  const textIdx = elf.sections.findIndex((s) => s.name === '.text');
  for (const rs of elf.relSections) {
    if (rs.target !== mapsSec) continue;
    rs.rels.forEach((rel, i) => {
      if (rel.offset < varOff || rel.offset + 8 > varOff + varSize) return;
      const sym = elf.symbols[rel.symbol];
      const where = `${path}: .rel.maps relocation #${i} (map '${mapName}', byte ${rel.offset})`;
      if (!sym) { problems.push({ severity: 'error', section: '.maps', message: `${where}: symbol ${rel.symbol} not found` }); return; }
      const sec = elf.sections[sym.shndx];
      if (want === 'map' && sym.shndx !== mapsSec) {
        problems.push({ severity: 'error', section: '.maps', message: `${where}: '${sym.name}' isn't a BTF-defined map` });
        return;
      }
      if (want === 'prog' && (sym.type !== STT_FUNC || !sec || !(sec.flags & SHF_EXECINSTR) || sym.shndx === textIdx)) {
        problems.push({ severity: 'error', section: '.maps', message: `${where}: '${sym.name}' isn't an entry-point program` });
        return;
      }
      const rel0 = rel.offset - varOff - membOff;
      if (rel0 < 0 || rel0 % 8 !== 0) { problems.push({ severity: 'error', section: '.maps', message: `${where}: not a slot of 'values'` }); return; }
      out.push({ index: rel0 / 8, target: sym.name });
    });
  }
  return out.sort((a, b) => a.index - b.index);
}
