// The JSON form of map contents: what `--format jsonl` prints as "maps" at the end of a run, and what `--maps FILE`
// reads to seed maps before the first packet. One schema both ways, so a run's output can seed the next run.
//
//   { "<map name>": [ { "key": "<hex>", "value": "<hex>" },            ordinary maps
//                     { "key": "<hex>", "values": ["<hex>", ...] },    per-CPU maps, one value per CPU
//                     { "key": "<hex>", "program": "<function>" },     PROG_ARRAY slots
//                     { "key": "<hex>", "map": "<map name>" },         ARRAY_OF_MAPS / HASH_OF_MAPS: a map of the program
//                     { "key": "<hex>", "map": "<name>", "inner": [ <entries of the inner map> ] } ] }
//                                                                      ... or a map of its own, made from the template
//
// Keys and values are the raw bytes in hex, in the program's (little-endian) layout. Hashes and LPM tries are sorted by
// key bytes; arrays list every index when small (up to 1024 slots and 1 MiB), and only the slots holding a non-zero
// byte when larger: an absent slot of an array holds zeros. As input, a key may also be a non-negative integer for
// 4-byte keys (the usual array index), written as a little-endian u32.
//
// A dump is bounded: past `limit` entries (default 10,000) or `maxBytes` of values (default 16 MiB) per map, the rest
// is left out and counted in the dump's `summarised` record; `all` lists everything (a value too large for a JSON
// string, over 128 MiB, is still left out and counted).
import type { BpfMap, MapEntry } from './maps.ts';
import { progArrayIncompatible, progArrayUsers } from '../elf/index.ts';
import type { LoadedProgram } from '../elf/types.ts';

export interface MapJsonEntry {
  key: string;
  value?: string;
  values?: string[];
  program?: string;
  map?: string;
  inner?: MapJsonEntry[];
}

export type MapsJson = Record<string, MapJsonEntry[]>;

export interface DumpOptions {
  /** List everything (default: bounded per map). */
  all?: boolean;
  /** Entries per map before the rest is summarised (default 10,000). */
  limit?: number;
  /** Value bytes per map before the rest is summarised (default 16 MiB). */
  maxBytes?: number;
}

/** For a map whose dump was cut: how many entries it holds and how many were listed. */
export interface MapSummary {
  entries: number;
  listed: number;
}

export const DUMP_LIMIT = 10_000;
export const DUMP_MAX_BYTES = 16 << 20;
/** The largest value written out at all: its hex must fit in one JavaScript string. */
const MAX_LISTED_VALUE = 128 << 20;

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The maps as JSON, bounded, with a record of the maps whose dump was cut (empty when nothing was). */
export function mapsDump(maps: readonly BpfMap[], opts: DumpOptions = {}): { maps: MapsJson; summarised: Record<string, MapSummary> } {
  const own = new Set(maps);
  const summarised: Record<string, MapSummary> = {};
  const limit = opts.all ? Infinity : opts.limit ?? DUMP_LIMIT;
  const maxBytes = opts.all ? Infinity : opts.maxBytes ?? DUMP_MAX_BYTES;
  const dumpOne = (map: BpfMap, label: string): MapJsonEntry[] => {
    const all = map.dump();
    const out: MapJsonEntry[] = [];
    let bytes = 0;
    for (const e of all) {
      if (out.length >= limit) break;
      const size = e.values.reduce((n, v) => n + v.length, 0);
      if (e.values.some((v) => v.length > MAX_LISTED_VALUE)) continue;
      if (bytes + size > maxBytes && out.length > 0) break;
      bytes += size;
      const key = hex(e.key);
      if (e.program !== undefined) out.push({ key, program: e.program });
      else if (e.map) out.push(own.has(e.map) ? { key, map: e.map.def.name } : { key, map: e.map.def.name, inner: dumpOne(e.map, `${label}[${key}]`) });
      else out.push(map.perCpu ? { key, values: e.values.map(hex) } : { key, value: hex(e.values[0]) });
    }
    if (out.length < all.length) summarised[label] = { entries: all.length, listed: out.length };
    return out;
  };
  const out: MapsJson = {};
  for (const map of maps) out[map.def.name] = dumpOne(map, map.def.name);
  return { maps: out, summarised };
}

export function mapsToJson(maps: readonly BpfMap[], opts: DumpOptions = {}): MapsJson {
  return mapsDump(maps, opts).maps;
}

function parseHex(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  const clean = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined;
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

function parseKey(raw: unknown, keySize: number): Uint8Array | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 0xffffffff && keySize === 4) {
    return new Uint8Array(new Uint32Array([raw]).buffer);
  }
  return parseHex(raw);
}

/**
 * Seed `maps` from a parsed JSON document in the schema above. Returns one message per problem, each naming the
 * file, the map and the entry; entries without problems are applied.
 */
export function seedMapsFromJson(maps: readonly BpfMap[], json: unknown, file: string, loaded?: LoadedPrograms): string[] {
  const errors: string[] = [];
  const owners = new Map<BpfMap, ProgramRef>();
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return [`${file}: expected an object mapping map names to lists of entries`];
  }
  const byName = new Map(maps.map((m) => [m.def.name, m]));
  for (const [name, list] of Object.entries(json as Record<string, unknown>)) {
    const map = byName.get(name) ?? maps.find((m) => m.def.name.endsWith(`.${name}`) && m.def.kind === 'global');
    if (!map) {
      errors.push(`${file}: no map named '${name}' in the program (maps: ${[...byName.keys()].join(', ') || 'none'})`);
      continue;
    }
    if (!Array.isArray(list)) {
      errors.push(`${file}: map '${name}': expected a list of {"key": ..., "value": ...} entries`);
      continue;
    }
    seedList(map, list, `${file}: map '${name}'`, byName, errors, loaded && { loaded, owners, index: maps.indexOf(map) });
  }
  return errors;
}

type ProgramRef = { name: string; section: string; frags: boolean };
/** The object's programs and the one that runs (loaded first, as a loader that picks one program loads it): a
 *  PROG_ARRAY's slots must hold programs its owner is compatible with (elf/index.ts progArrayIncompatible). */
export interface LoadedPrograms {
  programs: readonly (ProgramRef & { insns: readonly { opcode: number; src: number; imm: number }[] })[];
  running: string;
}

function seedList(map: BpfMap, list: unknown[], at: string, byName: Map<string, BpfMap>, errors: string[], progs?: { loaded: LoadedPrograms; owners: Map<BpfMap, ProgramRef>; index: number }): void {
  list.forEach((raw: unknown, i: number) => {
    const where = `${at} entry ${i}`;
    if (raw === null || typeof raw !== 'object') {
      errors.push(`${where}: expected an object with "key" and "value"`);
      return;
    }
    const e = raw as Record<string, unknown>;
    // Maps without keys (queue, stack, bloom filter) take entries of a "value" only.
    const key = map.def.keySize === 0 && e.key === undefined ? new Uint8Array(0) : parseKey(e.key, map.def.keySize);
    if (!key) {
      errors.push(`${where}: "key" must be hex bytes${map.def.keySize === 4 ? ' or an index' : ''}`);
      return;
    }
    const entry: MapEntry = { key, values: [] };
    if (map.createInner) {
      // A map of maps: the slot names one of the program's maps, or holds the entries of a new inner map.
      if (e.inner !== undefined) {
        if (!Array.isArray(e.inner)) {
          errors.push(`${where}: "inner" must be a list of entries of the inner map`);
          return;
        }
        const innerName = typeof e.map === 'string' ? e.map : `${map.def.name}[${hex(key)}]`;
        if (byName.has(innerName)) {
          errors.push(`${where}: "map" names the program's map '${innerName}' and "inner" asks for a new one: give one of the two`);
          return;
        }
        entry.map = map.createInner(innerName);
        seedList(entry.map, e.inner, `${where} inner map '${innerName}'`, byName, errors);
      } else if (typeof e.map === 'string') {
        entry.map = byName.get(e.map);
        if (!entry.map) {
          errors.push(`${where}: no map named '${e.map}' in the program to put in this slot`);
          return;
        }
      } else {
        errors.push(`${where}: a map of maps takes "map" (a map of the program) or "inner" (the entries of a new inner map)`);
        return;
      }
      const err = map.seed(entry);
      if (err) errors.push(`${where}: ${err}`);
      return;
    }
    if (typeof e.program === 'string') {
      entry.program = e.program;
      // The kernel takes a program into a PROG_ARRAY only if it matches the array's owner: the running program when it
      // uses the array (it is loaded first), else the first program put in it (__bpf_prog_map_compatible).
      const p = progs?.loaded.programs.find((x) => x.name === e.program);
      if (progs && p) {
        let owner = progs.owners.get(map);
        if (!owner) {
          const running = progs.loaded.programs.find((x) => x.name === progs.loaded.running);
          owner = running && progArrayUsers([running as LoadedProgram], progs.index).length > 0 ? running : p;
          progs.owners.set(map, owner);
        }
        const why = progArrayIncompatible(owner, p);
        if (why) {
          errors.push(`${where}: ${why}, ${owner.name === progs.loaded.running ? 'which uses the map and is loaded first' : 'put in the map first'}: the kernel refuses to put it in the program array (EINVAL)`);
          return;
        }
      }
    } else if (Array.isArray(e.values)) {
      const values = e.values.map(parseHex);
      if (values.some((v) => v === undefined)) {
        errors.push(`${where}: every item of "values" must be hex bytes`);
        return;
      }
      entry.values = values as Uint8Array[];
    } else {
      const value = parseHex(e.value);
      if (!value) {
        errors.push(`${where}: "value" must be hex bytes`);
        return;
      }
      // A single value for a per-CPU map sets every CPU's copy.
      entry.values = map.perCpu ? Array.from({ length: map.valueSlots }, () => value) : [value];
    }
    const err = map.seed(entry);
    if (err) errors.push(`${where}: ${err}`);
  });
}
