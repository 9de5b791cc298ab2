// `xdpLens/maps` and `xdpLens/mapsSeed`: the maps of a run as they are after its last packet, each entry decoded
// through the map's BTF key and value types (simulator/btf-format.ts) and marked when it changed since the run started
// (after seeding), a page at a time; and the same maps in the `--maps` schema for "Save Current Maps as Seed".
import { MapType } from '../simulator/elf/types.ts';
import type { LoadedObject } from '../simulator/elf/types.ts';
import type { Session } from '../simulator/session.ts';
import { entryText, objectMapFormats, typeName, type BtfNode } from '../simulator/btf-format.ts';
import type { MapEntryView, MapsParams, MapsResult, MapsSeedResult, MapValueNode, MapView } from './protocol.ts';

type MapsJson = ReturnType<Session['mapsJson']>;
type Entry = MapsJson[string][number];

/** What a stored run keeps for its maps: the session after its last packet and the maps when it started. */
export interface RunMaps {
  obj: LoadedObject;
  session: Session;
  start: MapsJson;
}

const TYPE_NAMES = new Map<number, string>([
  ...Object.entries(MapType).map(([k, v]) => [v, k] as [number, string]),
  [7, 'STACK_TRACE'], [8, 'CGROUP_ARRAY'], [15, 'SOCKMAP'], [18, 'SOCKHASH'], [22, 'QUEUE'], [23, 'STACK'],
]);

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
/** Elements of an array value listed in a tree before the rest are counted. */
const TREE_ELEMS = 64;

const hexValue = (e: Entry) => e.value ?? e.values?.join(' ') ?? e.program ?? e.map ?? '';
const unhex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

function node(n: BtfNode): MapValueNode {
  return { ...(n.name !== undefined ? { name: n.name } : {}), type: n.type, text: n.text, ...(n.children ? { children: n.children.map(node) } : {}) };
}

export function runMaps(maps: RunMaps | undefined, p: MapsParams): MapsResult {
  if (!maps) return { maps: [], error: 'this run kept no maps: run again' };
  const { obj, session, start } = maps;
  const formats = objectMapFormats(obj, { maxElems: TREE_ELEMS });
  const now = session.mapsJson();
  const offset = Math.max(0, Math.floor(p.offset ?? 0));
  const limit = Math.max(0, Math.min(MAX_LIMIT, Math.floor(p.limit ?? DEFAULT_LIMIT)));
  const out: MapView[] = [];
  for (const m of session.machine.maps) {
    const def = m.def;
    if (p.map !== undefined && def.name !== p.map) continue;
    const f = formats(def.name);
    const was = new Map((start[def.name] ?? []).map((e) => [e.key, e]));
    const list = now[def.name] ?? [];
    const present = new Set(list.map((e) => e.key));
    const rows: { e: Entry; change?: MapEntryView['change']; old?: Entry }[] = list.map((e) => {
      const o = was.get(e.key);
      const change = !o ? 'added' : hexValue(o) !== hexValue(e) ? 'changed' : undefined;
      return { e, ...(change ? { change } : {}), ...(change === 'changed' ? { old: o } : {}) };
    });
    for (const [key, o] of was) if (!present.has(key)) rows.push({ e: o, change: 'deleted' });
    const view = (r: (typeof rows)[number]): MapEntryView => {
      const t = entryText(f, r.e);
      const plain = r.e.program === undefined && r.e.map === undefined;
      const values = r.e.values ?? (r.e.value !== undefined ? [r.e.value] : []);
      return {
        key: r.e.key,
        value: hexValue(r.e),
        keyText: t.key,
        valueText: t.value,
        ...(r.change ? { change: r.change } : {}),
        ...(r.old ? { beforeText: entryText(f, r.old).value } : {}),
        ...(f.typed && plain ? { keyTree: node(f.keyTree(unhex(r.e.key))), valueTrees: values.map((v) => node(f.valueTree(unhex(v)))) } : {}),
      };
    };
    const btf = obj.btf;
    out.push({
      name: def.name,
      type: TYPE_NAMES.get(def.type) ?? `type ${def.type}`,
      keySize: def.keySize,
      valueSize: def.valueSize,
      maxEntries: def.maxEntries,
      ...(btf && def.keyType ? { keyType: typeName(btf, def.keyType) } : {}),
      ...(btf && def.valueType ? { valueType: typeName(btf, def.valueType) } : {}),
      total: list.length,
      changed: rows.filter((r) => r.change).length,
      rows: rows.length,
      offset,
      entries: rows.slice(offset, offset + limit).map(view),
    });
  }
  if (p.map !== undefined && out.length === 0) return { maps: [], error: `no map named '${p.map}' in this run` };
  return { maps: out };
}

/**
 * The maps after the run in the `--maps` schema, every entry: what `xdp-lens run --maps FILE` reads back to start
 * another run from here. Maps a program cannot be seeded with from a file are left out: none are today (PROG_ARRAY
 * slots name programs, maps of maps name maps or carry their inner entries).
 */
export function runMapsSeed(maps: RunMaps | undefined): MapsSeedResult {
  if (!maps) return { error: 'this run kept no maps: run again' };
  return { maps: maps.session.mapsJson({ all: true }) };
}
