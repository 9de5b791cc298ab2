// What a loader decides about maps before creating them, done once per Session: sizes for maps declared with
// max_entries 0 (real loaders call bpf_map__set_max_entries), inner-map templates for maps of maps that declare none
// (bpf_map__set_inner_map_fd), and the kernel's refusals at map creation (mapCreateError), so that a map the kernel
// would not create stops the run with the kernel's error instead of running.
import { MapType, type LoadedObject, type MapDef } from '../elf/types.ts';
import { totalmem } from 'node:os';
import { mapCreateError } from './maps.ts';

/** What the kernel allocates up front for a map: arrays preallocate every slot (values rounded up to 8 bytes). */
function preallocatedBytes(d: MapDef, nrCpus: number): number {
  if (d.type === MapType.ARRAY) return d.maxEntries * Math.ceil(d.valueSize / 8) * 8;
  if (d.type === MapType.PERCPU_ARRAY) return d.maxEntries * Math.ceil(d.valueSize / 8) * 8 * nrCpus;
  return 0;
}

/** An inner-map template given by the user: `TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS]`. */
export interface InnerTemplate {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

export interface MapLoadOptions {
  /** max_entries per map name, as a loader sets them. */
  maxEntries?: Record<string, number>;
  /** Inner-map templates per outer map name. */
  innerMaps?: Record<string, InnerTemplate>;
  nrCpus: number;
}

const TYPE_NAMES: Record<string, number> = {
  hash: MapType.HASH, array: MapType.ARRAY, percpu_hash: MapType.PERCPU_HASH, percpu_array: MapType.PERCPU_ARRAY,
  lru_hash: MapType.LRU_HASH, lru_percpu_hash: MapType.LRU_PERCPU_HASH, lpm_trie: MapType.LPM_TRIE, devmap: MapType.DEVMAP,
  devmap_hash: MapType.DEVMAP_HASH, cpumap: MapType.CPUMAP, xskmap: MapType.XSKMAP,
};

/** Parse `TYPE:KEY:VALUE:ENTRIES[:FLAGS]` (TYPE a name such as `array` or `hash`, or the number); a message on error. */
export function parseInnerTemplate(text: string): InnerTemplate | string {
  const f = text.split(':');
  if (f.length < 4 || f.length > 5) return `'${text}' is not TYPE:KEY_SIZE:VALUE_SIZE:MAX_ENTRIES[:FLAGS] (e.g. array:4:4:1)`;
  const type = /^\d+$/.test(f[0]) ? Number(f[0]) : TYPE_NAMES[f[0].toLowerCase()];
  if (type === undefined) return `unknown map type '${f[0]}' in '${text}' (${Object.keys(TYPE_NAMES).join(', ')}, or the number)`;
  const nums = f.slice(1).map((x) => (/^\d{1,10}$/.test(x) ? Number(x) : NaN));
  if (nums.some((n) => !(n >= 0 && n <= 0xffffffff))) return `sizes in '${text}' must be whole numbers from 0 to 4294967295`;
  return { type, keySize: nums[0], valueSize: nums[1], maxEntries: nums[2], flags: nums[3] ?? 0 };
}

export function prepareMaps(obj: LoadedObject, opts: MapLoadOptions): { obj: LoadedObject; notes: string[]; errors: string[] } {
  const notes: string[] = [];
  const errors: string[] = [];
  const names = obj.maps.map((m) => m.name);
  const known = (flag: string, name: string) => {
    if (names.includes(name)) return true;
    errors.push(`${flag}: no map named '${name}' in ${obj.path} (maps: ${names.join(', ') || 'none'})`);
    return false;
  };
  for (const name of Object.keys(opts.maxEntries ?? {})) known('--max-entries', name);
  for (const name of Object.keys(opts.innerMaps ?? {})) {
    if (!known('--inner-map', name)) continue;
    const m = obj.maps.find((x) => x.name === name)!;
    if (m.type !== MapType.ARRAY_OF_MAPS && m.type !== MapType.HASH_OF_MAPS) errors.push(`--inner-map: map '${name}' is not a map of maps (type ${m.type})`);
  }
  if (obj.maps.some((m) => m.section === 'maps')) {
    notes.push(`${obj.path}: legacy SEC("maps") map definitions: libbpf 1.0 and later refuse this object; run as the older loaders ran it`);
  }
  const maps = obj.maps.map((m): MapDef => {
    if (m.kind !== 'user') return m;
    const d: MapDef = { ...m };
    const set = opts.maxEntries?.[m.name];
    if (set !== undefined) d.maxEntries = set;
    else if (d.maxEntries === 0 && d.type !== MapType.PERF_EVENT_ARRAY && d.type !== MapType.RINGBUF) {
      // libbpf sizes a PERF_EVENT_ARRAY of 0 to the possible CPUs itself; other maps of 0 are sized by their loader.
      d.maxEntries = opts.nrCpus;
      notes.push(`map '${m.name}' declares max_entries 0 (its loader sizes it); using ${opts.nrCpus}, the number of CPUs (--max-entries ${m.name}=N to choose)`);
    }
    const inner = opts.innerMaps?.[m.name];
    if (inner) d.inner = { name: `${m.name}.inner`, kind: 'user', section: m.section, flags: 0, ...inner };
    // libbpf sizes an inner PERF_EVENT_ARRAY template of 0 entries to the possible CPUs as well
    // (map_set_def_max_entries on map->inner_map before creating it).
    else if (d.inner?.type === MapType.PERF_EVENT_ARRAY && d.inner.maxEntries === 0) d.inner = { ...d.inner, maxEntries: opts.nrCpus };
    else if (!d.inner && (d.type === MapType.ARRAY_OF_MAPS || d.type === MapType.HASH_OF_MAPS)) {
      notes.push(`map '${m.name}' is a map of maps that declares no inner map (__array(values, ...)): libbpf cannot create it ` +
        `unless its loader gives it one (bpf_map__set_inner_map_fd); using ARRAY(4-byte key, 4-byte value, 1 entry) ` +
        `(--inner-map ${m.name}=TYPE:KEY:VALUE:ENTRIES to choose)`);
    }
    // A PERF_EVENT_ARRAY of 0 entries keeps its 0 (createMap sizes it) but is checked as libbpf creates it: sized to the
    // CPUs, its key and value sizes as declared (the kernel refuses anything but 4 and 4).
    const perfUnsized = d.type === MapType.PERF_EVENT_ARRAY && d.maxEntries === 0;
    const err = mapCreateError(perfUnsized ? { ...d, maxEntries: opts.nrCpus } : d) ?? (d.inner ? mapCreateError(d.inner) : undefined);
    if (err) errors.push(`${obj.path}: ${err}`);
    if (perfUnsized) return d;
    const need = preallocatedBytes(d, opts.nrCpus);
    if (!err && need > totalmem()) {
      notes.push(`map '${m.name}' would take ${(need / 2 ** 30).toFixed(1)} GiB in the kernel, more than this machine's memory: a kernel ` +
        `here would likely refuse it (ENOMEM); the simulator only holds the elements a run touches`);
    }
    return d;
  });
  return { obj: { ...obj, maps }, notes, errors };
}
