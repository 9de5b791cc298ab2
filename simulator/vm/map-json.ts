// The JSON form of map contents: what `--format jsonl` prints as "maps" at the end of a run, and what `--maps FILE`
// reads to seed maps before the first packet. One schema both ways, so a run's output can seed the next run.
//
//   { "<map name>": [ { "key": "<hex>", "value": "<hex>" },            ordinary maps
//                     { "key": "<hex>", "values": ["<hex>", ...] },    per-CPU maps, one value per CPU
//                     { "key": "<hex>", "program": "<function>" } ] }  PROG_ARRAY slots
//
// Keys and values are the raw bytes in hex, in the program's (little-endian) layout. Arrays list every index;
// hashes and LPM tries are sorted by key bytes. As input, a key may also be a non-negative integer for 4-byte keys
// (the usual array index), written as a little-endian u32.
import type { BpfMap, MapEntry } from './maps.ts';

export interface MapJsonEntry {
  key: string;
  value?: string;
  values?: string[];
  program?: string;
}

export type MapsJson = Record<string, MapJsonEntry[]>;

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function mapsToJson(maps: readonly BpfMap[]): MapsJson {
  const out: MapsJson = {};
  for (const map of maps) {
    out[map.def.name] = map.dump().map((e): MapJsonEntry => {
      const key = hex(e.key);
      if (e.program !== undefined) return { key, program: e.program };
      return map.perCpu ? { key, values: e.values.map(hex) } : { key, value: hex(e.values[0]) };
    });
  }
  return out;
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
export function seedMapsFromJson(maps: readonly BpfMap[], json: unknown, file: string): string[] {
  const errors: string[] = [];
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
    list.forEach((raw: unknown, i: number) => {
      const where = `${file}: map '${name}' entry ${i}`;
      if (raw === null || typeof raw !== 'object') {
        errors.push(`${where}: expected an object with "key" and "value"`);
        return;
      }
      const e = raw as Record<string, unknown>;
      const key = parseKey(e.key, map.def.keySize);
      if (!key) {
        errors.push(`${where}: "key" must be hex bytes${map.def.keySize === 4 ? ' or an index' : ''}`);
        return;
      }
      const entry: MapEntry = { key, values: [] };
      if (typeof e.program === 'string') entry.program = e.program;
      else if (Array.isArray(e.values)) {
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
  return errors;
}
