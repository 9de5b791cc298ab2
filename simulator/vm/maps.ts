// BPF maps as an XDP program sees them, one class per family, with the kernel's answers for every flag and limit
// (shared/reference/xdp-semantics.md C.9). State lives here across packets, like a pinned kernel map.
//
// Values are stable Uint8Arrays: a lookup hands the program a pointer into the same bytes every time, so a store
// through it is seen by the next lookup, as with the kernel's in-place values. A delete drops the array; a later
// insert gets a fresh, zeroed one (the kernel hands out a different element).
//
// update/delete return 0 or a negative errno, as the helpers do.
import { BPF_F_RDONLY_PROG, MapType, type MapDef } from '../elf/types.ts';

const EPERM = 1;
const ENOENT = 2;
const E2BIG = 7;
const EEXIST = 17;
const EINVAL = 22;
const ENOSPC = 28;

export const BPF_ANY = 0n;
export const BPF_NOEXIST = 1n;
export const BPF_EXIST = 2n;
export const BPF_F_LOCK = 4n;

/** One element as the JSON dump and the seeding code see it. */
export interface MapEntry {
  key: Uint8Array;
  /** One value for ordinary maps; one per CPU for per-CPU maps. */
  values: Uint8Array[];
  /** PROG_ARRAY: the program (function name) in this slot. */
  program?: string;
}

export interface RedirectLookup {
  present: boolean;
  ifindex?: number;
}

export interface BpfMap {
  readonly def: MapDef;
  /** The program may not write values (devmaps, BPF_F_RDONLY_PROG, frozen .rodata). */
  readonly readonlyForProgram: boolean;
  readonly perCpu: boolean;
  /** Values per element: the number of CPUs for per-CPU maps, else 1. */
  readonly valueSlots: number;
  /** The value the program would get a pointer to, or undefined for NULL. */
  lookup(key: Uint8Array, cpu: number): Uint8Array | undefined;
  update(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number;
  delete(key: Uint8Array): number;
  /** PROG_ARRAY: program name in a slot. */
  progAt?(index: number): string | undefined;
  /** DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP: whether bpf_redirect_map finds an entry, and the ifindex it names. */
  redirectTarget?(key: number): RedirectLookup;
  /** Every element, arrays by index, hashes and tries sorted by key bytes. */
  dump(): MapEntry[];
  /** Set an element from outside (the --maps file, what bpftool map update does). Returns an error or undefined. */
  seed(entry: MapEntry): string | undefined;
}

const u32 = (key: Uint8Array): number => (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;

export const keyHex = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The first check of array_map_update_elem and htab_map_update_elem: flags beyond BPF_EXIST (bar F_LOCK). */
const badFlags = (flags: bigint): boolean => (flags & ~BPF_F_LOCK) > BPF_EXIST;
/** BPF_F_LOCK needs a bpf_spin_lock in the value; simulated values never hold one, so it is -EINVAL. */
const wantsLock = (flags: bigint): boolean => (flags & BPF_F_LOCK) !== 0n;
const plainFlags = (flags: bigint): bigint => flags & ~BPF_F_LOCK;

abstract class MapBase {
  readonly readonlyForProgram: boolean;
  readonly perCpu: boolean;
  constructor(readonly def: MapDef, protected readonly nrCpus: number) {
    this.readonlyForProgram = (def.flags & BPF_F_RDONLY_PROG) !== 0;
    this.perCpu = def.type === MapType.PERCPU_ARRAY || def.type === MapType.PERCPU_HASH || def.type === MapType.LRU_PERCPU_HASH;
  }

  get valueSlots(): number {
    return this.perCpu ? this.nrCpus : 1;
  }

  protected slots(): number {
    return this.valueSlots;
  }

  protected checkSeed(entry: MapEntry): string | undefined {
    if (entry.key.length !== this.def.keySize) return `key of ${entry.key.length} bytes, map ${this.def.name} has ${this.def.keySize}-byte keys`;
    if (entry.values.length !== this.slots()) {
      return this.perCpu
        ? `per-CPU map ${this.def.name} needs ${this.slots()} values (one per CPU), got ${entry.values.length}`
        : `map ${this.def.name} takes one value, got ${entry.values.length}`;
    }
    for (const v of entry.values) {
      if (v.length !== this.def.valueSize) return `value of ${v.length} bytes, map ${this.def.name} has ${this.def.valueSize}-byte values`;
    }
    return undefined;
  }
}

/** ARRAY, PERCPU_ARRAY and the global-data maps: preallocated, zero-filled, indexed by a u32 key. */
class ArrayMap extends MapBase implements BpfMap {
  private readonly cells: Uint8Array[][];

  constructor(def: MapDef, nrCpus: number) {
    super(def, nrCpus);
    this.cells = Array.from({ length: def.maxEntries }, () =>
      Array.from({ length: this.slots() }, () => new Uint8Array(def.valueSize)));
    if (def.initialValue && def.maxEntries > 0) {
      for (const v of this.cells[0]) v.set(def.initialValue.subarray(0, def.valueSize));
    }
  }

  lookup(key: Uint8Array, cpu: number): Uint8Array | undefined {
    const i = u32(key);
    if (i >= this.def.maxEntries) return undefined;
    return this.cells[i][this.perCpu ? cpu : 0];
  }

  update(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number {
    if (badFlags(flags)) return -EINVAL;
    const i = u32(key);
    if (i >= this.def.maxEntries) return -E2BIG;
    if (flags & BPF_NOEXIST) return -EEXIST;
    if (wantsLock(flags)) return -EINVAL;
    this.cells[i][this.perCpu ? cpu : 0].set(value.subarray(0, this.def.valueSize));
    return 0;
  }

  delete(): number {
    return -EINVAL;
  }

  dump(): MapEntry[] {
    return this.cells.map((values, i) => ({ key: new Uint8Array(new Uint32Array([i]).buffer), values }));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    const i = u32(entry.key);
    if (i >= this.def.maxEntries) return `index ${i} is outside map ${this.def.name} (max_entries ${this.def.maxEntries})`;
    entry.values.forEach((v, cpu) => this.cells[i][cpu].set(v));
    return undefined;
  }
}

interface HashElem {
  key: Uint8Array;
  values: Uint8Array[];
}

/**
 * HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, and the hash-keyed redirect maps (DEVMAP_HASH). A JS Map keeps
 * insertion order, which doubles as the LRU list: a lookup or update moves the element to the end, eviction takes
 * the first. (The kernel's LRU is approximate, per-CPU lists with reference bits; which element goes first can
 * differ from the kernel when the map overflows.)
 */
class HashMap extends MapBase implements BpfMap {
  protected readonly elems = new Map<string, HashElem>();
  private readonly lru: boolean;

  constructor(def: MapDef, nrCpus: number) {
    super(def, nrCpus);
    this.lru = def.type === MapType.LRU_HASH || def.type === MapType.LRU_PERCPU_HASH;
  }

  private touch(k: string, e: HashElem): void {
    if (!this.lru) return;
    this.elems.delete(k);
    this.elems.set(k, e);
  }

  lookup(key: Uint8Array, cpu: number): Uint8Array | undefined {
    const k = keyHex(key);
    const e = this.elems.get(k);
    if (!e) return undefined;
    this.touch(k, e);
    return e.values[this.perCpu ? cpu : 0];
  }

  update(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number {
    if (badFlags(flags) || wantsLock(flags)) return -EINVAL;
    const k = keyHex(key);
    // htab_lru_map_update_elem takes a free node before it looks the key up or checks the flags, so on a full LRU
    // map every update evicts the least recently used element, even one that then replaces a key or fails. The
    // per-CPU variant skips the allocation for BPF_EXIST.
    const lruPop = this.lru && !(this.perCpu && flags === BPF_EXIST);
    if (lruPop && this.elems.size >= this.def.maxEntries && this.def.maxEntries > 0) {
      this.elems.delete(this.elems.keys().next().value as string);
    }
    const old = this.elems.get(k);
    if (old && plainFlags(flags) === BPF_NOEXIST) return -EEXIST;
    if (!old && plainFlags(flags) === BPF_EXIST) return -ENOENT;
    const slot = this.perCpu ? cpu : 0;
    if (old && this.perCpu) {
      // Per-CPU elements are updated in place (pcpu_copy_value).
      old.values[slot].set(value.subarray(0, this.def.valueSize));
      this.touch(k, old);
      return 0;
    }
    if (old) {
      // An update replaces the element (htab_map_update_elem swaps in a new one): a pointer from an earlier
      // lookup in the same run keeps the old bytes, the next lookup sees the new value.
      const values = old.values.map((v, i) => (i === slot ? value.slice(0, this.def.valueSize) : v));
      this.elems.delete(k);
      this.elems.set(k, { key: old.key, values });
      return 0;
    }
    if (this.elems.size >= this.def.maxEntries) {
      if (!this.lru || this.def.maxEntries === 0) return -E2BIG;
      const first = this.elems.keys().next().value as string;
      this.elems.delete(first);
    }
    // pcpu_init_value: a new per-CPU element from a program holds the value on this CPU and zeros elsewhere.
    const values = Array.from({ length: this.slots() }, (_, i) =>
      i === slot ? value.slice(0, this.def.valueSize) : new Uint8Array(this.def.valueSize));
    this.elems.set(k, { key: key.slice(), values });
    return 0;
  }

  delete(key: Uint8Array): number {
    return this.elems.delete(keyHex(key)) ? 0 : -ENOENT;
  }

  dump(): MapEntry[] {
    return [...this.elems.values()]
      .sort((a, b) => compareBytes(a.key, b.key))
      .map((e) => ({ key: e.key, values: e.values }));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    const k = keyHex(entry.key);
    if (!this.elems.has(k) && this.elems.size >= this.def.maxEntries) return `map ${this.def.name} is full (max_entries ${this.def.maxEntries})`;
    this.elems.set(k, { key: entry.key.slice(), values: entry.values.map((v) => v.slice()) });
    return undefined;
  }
}

/**
 * LPM_TRIE (kernel/bpf/lpm_trie.c): keys are struct bpf_lpm_trie_key { u32 prefixlen; u8 data[] }. A lookup with
 * prefixlen P finds the entry with the longest prefix <= P that matches the data. Entries are few enough in
 * simulated programs that a sorted list searched longest-first is exact and simple.
 */
class LpmTrie extends MapBase implements BpfMap {
  private readonly elems = new Map<string, HashElem & { prefixlen: number }>();
  private readonly maxPrefix: number;

  constructor(def: MapDef, nrCpus: number) {
    super(def, nrCpus);
    this.maxPrefix = (def.keySize - 4) * 8;
  }

  /** The canonical key: prefixlen and the data with the bits past the prefix cleared. */
  private canonical(key: Uint8Array): { prefixlen: number; k: string; key: Uint8Array } | undefined {
    const prefixlen = u32(key);
    if (prefixlen > this.maxPrefix) return undefined;
    const c = key.slice(0, this.def.keySize);
    for (let bit = prefixlen; bit < this.maxPrefix; bit++) c[4 + (bit >> 3)] &= ~(0x80 >> (bit & 7));
    return { prefixlen, k: keyHex(c), key: c };
  }

  private static matches(data: Uint8Array, prefix: Uint8Array, prefixlen: number): boolean {
    for (let bit = 0; bit < prefixlen; bit++) {
      const mask = 0x80 >> (bit & 7);
      if ((data[4 + (bit >> 3)] & mask) !== (prefix[4 + (bit >> 3)] & mask)) return false;
    }
    return true;
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    const limit = Math.min(u32(key), this.maxPrefix);
    let best: (HashElem & { prefixlen: number }) | undefined;
    for (const e of this.elems.values()) {
      if (e.prefixlen > limit || (best && e.prefixlen <= best.prefixlen)) continue;
      if (LpmTrie.matches(key, e.key, e.prefixlen)) best = e;
    }
    return best?.values[0];
  }

  update(key: Uint8Array, value: Uint8Array, flags: bigint): number {
    if (flags > BPF_EXIST) return -EINVAL;
    const c = this.canonical(key);
    if (!c) return -EINVAL;
    const old = this.elems.get(c.k);
    if (old && flags === BPF_NOEXIST) return -EEXIST;
    if (!old && flags === BPF_EXIST) return -ENOENT;
    if (!old && this.elems.size >= this.def.maxEntries) return -ENOSPC;
    this.elems.set(c.k, { key: c.key, prefixlen: c.prefixlen, values: [value.slice(0, this.def.valueSize)] });
    return 0;
  }

  delete(key: Uint8Array): number {
    const c = this.canonical(key);
    if (!c) return -EINVAL;
    return this.elems.delete(c.k) ? 0 : -ENOENT;
  }

  dump(): MapEntry[] {
    return [...this.elems.values()].sort((a, b) => compareBytes(a.key, b.key)).map((e) => ({ key: e.key, values: e.values }));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    const c = this.canonical(entry.key);
    if (!c) return `prefix length ${u32(entry.key)} is longer than map ${this.def.name} allows (${this.maxPrefix})`;
    this.elems.set(c.k, { key: c.key, prefixlen: c.prefixlen, values: [entry.values[0].slice()] });
    return undefined;
  }
}

/**
 * DEVMAP, CPUMAP, XSKMAP: arrays of targets set from user space. The program may look a devmap value up
 * (read-only struct bpf_devmap_val) but never write one; redirect_map asks whether a slot is filled.
 */
class RedirectArray extends MapBase implements BpfMap {
  private readonly cells = new Map<number, Uint8Array>();
  override readonly readonlyForProgram = true;

  lookup(key: Uint8Array): Uint8Array | undefined {
    return this.cells.get(u32(key));
  }

  update(): number {
    return -EPERM;
  }

  delete(): number {
    return -EPERM;
  }

  redirectTarget(key: number): RedirectLookup {
    const v = this.cells.get(key >>> 0);
    if (!v) return { present: false };
    const isDev = this.def.type === MapType.DEVMAP;
    return { present: true, ifindex: isDev && v.length >= 4 ? u32(v) : undefined };
  }

  dump(): MapEntry[] {
    return [...this.cells.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, v]) => ({ key: new Uint8Array(new Uint32Array([i]).buffer), values: [v] }));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    const i = u32(entry.key);
    if (i >= this.def.maxEntries) return `index ${i} is outside map ${this.def.name} (max_entries ${this.def.maxEntries})`;
    this.cells.set(i, entry.values[0].slice());
    return undefined;
  }
}

/** DEVMAP_HASH: like DEVMAP but keyed by any u32. */
class DevmapHash extends HashMap {
  override readonly readonlyForProgram = true;

  override update(): number {
    return -EPERM;
  }

  override delete(): number {
    return -EPERM;
  }

  redirectTarget(key: number): RedirectLookup {
    const v = this.lookup(new Uint8Array(new Uint32Array([key >>> 0]).buffer), 0);
    return v ? { present: true, ifindex: v.length >= 4 ? u32(v) : undefined } : { present: false };
  }
}

/** PROG_ARRAY: slot -> program, for bpf_tail_call. Programs never see its values. */
class ProgArray extends MapBase implements BpfMap {
  private readonly progs = new Map<number, string>();

  constructor(def: MapDef, nrCpus: number) {
    super(def, nrCpus);
    for (const p of def.initialProgs ?? []) if (p.index < def.maxEntries) this.progs.set(p.index, p.program);
  }

  lookup(): undefined {
    return undefined;
  }

  update(): number {
    return -EINVAL;
  }

  delete(): number {
    return -EINVAL;
  }

  progAt(index: number): string | undefined {
    return this.progs.get(index);
  }

  dump(): MapEntry[] {
    return [...this.progs.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, program]) => ({ key: new Uint8Array(new Uint32Array([i]).buffer), values: [], program }));
  }

  seed(entry: MapEntry): string | undefined {
    if (entry.key.length !== 4) return `PROG_ARRAY ${this.def.name} has 4-byte keys`;
    const i = u32(entry.key);
    if (i >= this.def.maxEntries) return `index ${i} is outside map ${this.def.name} (max_entries ${this.def.maxEntries})`;
    if (entry.program === undefined) return `PROG_ARRAY ${this.def.name}: an entry needs "program": the function to tail-call`;
    this.progs.set(i, entry.program);
    return undefined;
  }
}

/** RINGBUF and PERF_EVENT_ARRAY hold no elements a program can see; their records go to the run's output. */
class EventMap extends MapBase implements BpfMap {
  lookup(): undefined {
    return undefined;
  }
  update(): number {
    return -EINVAL;
  }
  delete(): number {
    return -EINVAL;
  }
  dump(): MapEntry[] {
    return [];
  }
  seed(): string | undefined {
    return `map ${this.def.name} (type ${this.def.type}) has no elements to set`;
  }
}

export function createMap(def: MapDef, nrCpus: number): BpfMap {
  switch (def.type) {
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      return new ArrayMap(def, nrCpus);
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
      return new HashMap(def, nrCpus);
    case MapType.LPM_TRIE:
      return new LpmTrie(def, nrCpus);
    case MapType.DEVMAP:
    case MapType.CPUMAP:
    case MapType.XSKMAP:
      return new RedirectArray(def, nrCpus);
    case MapType.DEVMAP_HASH:
      return new DevmapHash(def, nrCpus);
    case MapType.PROG_ARRAY:
      return new ProgArray(def, nrCpus);
    case MapType.PERF_EVENT_ARRAY:
    case MapType.RINGBUF:
      return new EventMap({ ...def, maxEntries: def.type === MapType.PERF_EVENT_ARRAY && def.maxEntries === 0 ? nrCpus : def.maxEntries }, nrCpus);
    default:
      // The loader refuses unknown map types with a message; this keeps the VM total if one slips through.
      return new EventMap(def, nrCpus);
  }
}
