// BPF maps as an XDP program sees them, one class per family, with the kernel's answers for every flag and limit
// (shared/reference/xdp-semantics.md C.9). State lives here across packets, like a pinned kernel map.
//
// Values are stable Uint8Arrays: a lookup hands the program a pointer into the same bytes every time, so a store
// through it is seen by the next lookup, as with the kernel's in-place values. A delete drops the array; a later
// insert gets a fresh, zeroed one (the kernel hands out a different element).
//
// update/delete return 0 or a negative errno, as the helpers do.
//
// Memory grows with the elements a program and its seed touch, never with max_entries x value_size x CPUs: an array
// slot (and each CPU's copy of a per-CPU slot) is allocated on its first lookup, update or seed, zero-filled, and then
// kept, so the pointer a lookup hands out stays valid for the rest of the run, as the kernel's preallocated element is.
//
// Maps of maps (ARRAY_OF_MAPS, HASH_OF_MAPS) hold other BpfMaps. Every map a program can name, its own and the inner
// maps seeds create, has a handle in the machine's MapTable: the number a map pointer carries in the VM.
import { readFileSync } from 'node:fs';
import type { SpecialField } from '../elf/btf.ts';
import { BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, MapType, type MapDef } from '../elf/types.ts';
import { KernelLru, type LruNode } from './lru.ts';
import { BPF_F_ZERO_SEED, BloomFilterMap, QueueStackMap, jhash, queueMapCreateError } from './queue-maps.ts';

const EPERM = 1;
const ENOENT = 2;
const ENOMEM = 12;
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
  /** ARRAY_OF_MAPS/HASH_OF_MAPS: the inner map in this slot. */
  map?: BpfMap;
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
  /**
   * lookup() with the key read from `keySize` bytes of `bytes` at `off` (no key array made): the helpers' fast path,
   * present only on the maps a program may look values up in directly (arrays, hashes).
   */
  lookupAt?(bytes: Uint8Array, off: number, cpu: number): Uint8Array | undefined;
  /** update() with the key and value read in place (present with lookupAt). */
  updateAt?(bytes: Uint8Array, keyOff: number, vbytes: Uint8Array, valueOff: number, flags: bigint, cpu: number): number;
  update(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number;
  delete(key: Uint8Array): number;
  /** PROG_ARRAY: program name in a slot. */
  progAt?(index: number): string | undefined;
  /** ARRAY_OF_MAPS/HASH_OF_MAPS: the inner map bpf_map_lookup_elem returns a pointer to, or undefined for NULL. */
  lookupMap?(key: Uint8Array): BpfMap | undefined;
  /** ARRAY_OF_MAPS/HASH_OF_MAPS: the definition every inner map must match (type, key, value size, flags). */
  innerTemplate?(): MapDef;
  /** ARRAY_OF_MAPS/HASH_OF_MAPS: a new, empty inner map from the template (what user space creates to fill a slot). */
  createInner?(name: string): BpfMap;
  /** Elements the map holds (arrays: slots holding data; cheap, for summaries). */
  size(): number;
  /** DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP: whether bpf_redirect_map finds an entry, and the ifindex it names. */
  redirectTarget?(key: number): RedirectLookup;
  /** Every element, arrays by index, hashes and tries sorted by key bytes. */
  dump(): MapEntry[];
  /** Set an element from outside (the --maps file, what bpftool map update does). Returns an error or undefined. */
  seed(entry: MapEntry): string | undefined;
}

const u32 = (key: Uint8Array): number => (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
const u32At = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

const fromCharCode = String.fromCharCode;

/**
 * The key of a hash element as the table stores it: keys of up to 6 bytes as a number (exact, no string made), keys
 * of 7 or 8 bytes as a number too when their high word is below 2^21 (exact below 2^53: a u64 of a small value, an
 * address and port with the padding zero), longer ones and the other 7- and 8-byte keys as a string of one char per
 * byte. One map always uses one key size, and a number never equals a string, so equal keys give equal values and
 * different keys different ones.
 */
export function elemKey(b: Uint8Array, off: number, size: number): string | number {
  switch (size) {
    case 1: return b[off];
    case 2: return b[off] | (b[off + 1] << 8);
    case 3: return b[off] | (b[off + 1] << 8) | (b[off + 2] << 16);
    case 4: return b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24);
    case 5: return u32At(b, off) + b[off + 4] * 4294967296;
    case 6: return u32At(b, off) + (b[off + 4] | (b[off + 5] << 8)) * 4294967296;
    case 7: {
      const h = b[off + 4] | (b[off + 5] << 8) | (b[off + 6] << 16);
      if (h < 0x200000) return u32At(b, off) + h * 4294967296;
      break;
    }
    case 8: {
      const h = u32At(b, off + 4);
      if (h < 0x200000) return u32At(b, off) + h * 4294967296;
      break;
    }
    // The common longer keys (a 5-tuple, an IPv6 address) in one call: the same string, made flat, without the
    // joined pieces the loop below makes (and the table's lookup then flattens).
    case 12: return fromCharCode(b[off], b[off + 1], b[off + 2], b[off + 3], b[off + 4], b[off + 5], b[off + 6], b[off + 7], b[off + 8], b[off + 9], b[off + 10], b[off + 11]);
    case 16: return fromCharCode(b[off], b[off + 1], b[off + 2], b[off + 3], b[off + 4], b[off + 5], b[off + 6], b[off + 7], b[off + 8], b[off + 9], b[off + 10], b[off + 11], b[off + 12], b[off + 13], b[off + 14], b[off + 15]);
  }
  let s = '';
  const end = off + size;
  let i = off;
  for (; i + 4 <= end; i += 4) s += String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);
  for (; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Copy n bytes (a loop for the small values programs use, TypedArray.set beyond). */
function copyBytes(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, n: number): void {
  if (n <= 64) {
    for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i];
  } else {
    dst.set(src.subarray(sOff, sOff + n), dOff);
  }
}

export const keyHex = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// Update flags as a number (no BigInt arithmetic per update): every combination the maps accept is below 8.
/** The flags as a number when below 8, else -1 (bad flags for every map). */
const smallFlags = (flags: bigint): number => (flags >= 0n && flags < 8n ? Number(flags) : -1);
/** The first check of array_map_update_elem and htab_map_update_elem: flags beyond BPF_EXIST (bar F_LOCK). */
const badFlags = (f: number): boolean => f < 0 || (f & ~F_LOCK) > F_EXIST;
/** BPF_F_LOCK: copy under the value's bpf_spin_lock (-EINVAL for a map whose value has none). */
const wantsLock = (f: number): boolean => (f & F_LOCK) !== 0;
const plainFlags = (f: number): number => f & ~F_LOCK;
const F_NOEXIST = 1;
const F_EXIST = 2;
const F_LOCK = 4;

/** Map types that take each kind of special field in their value (kernel/bpf/syscall.c map_check_btf). */
const SPECIAL_MAP_TYPES: Record<string, readonly number[]> = {
  bpf_spin_lock: [MapType.HASH, MapType.ARRAY],
  bpf_res_spin_lock: [MapType.HASH, MapType.ARRAY],
  bpf_timer: [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY],
  bpf_wq: [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY],
  bpf_task_work: [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY],
  bpf_list_head: [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY],
  bpf_rb_root: [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY],
  kptr: [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.ARRAY, MapType.PERCPU_ARRAY],
  kptr_untrusted: [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.ARRAY, MapType.PERCPU_ARRAY],
  percpu_kptr: [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.ARRAY, MapType.PERCPU_ARRAY],
};

/**
 * The special fields the kernel keeps in a map's values (its btf_record). A map whose value holds a field its type
 * does not take fails creation with EOPNOTSUPP, and libbpf creates it again without BTF: it has none. Fields the
 * kernel does not look for in map values (bpf_list_node, bpf_rb_node, bpf_refcount, uptr outside task storage) are
 * plain bytes.
 */
export function mapSpecialFields(def: MapDef): SpecialField[] | undefined {
  const fields = def.special;
  if (!fields || fields.length === 0) return undefined;
  const kept = fields.filter((f) => f.kind in SPECIAL_MAP_TYPES);
  if (kept.some((f) => !SPECIAL_MAP_TYPES[f.kind]!.includes(def.type))) return undefined;
  return kept.length ? kept : undefined;
}

abstract class MapBase {
  readonly readonlyForProgram: boolean;
  readonly perCpu: boolean;
  /** The value's special fields (mapSpecialFields): a copy into the map leaves them alone; they read as zeros. */
  protected readonly special: SpecialField[] | undefined;
  /** The value holds a bpf_spin_lock: BPF_F_LOCK updates are allowed. */
  protected readonly hasLock: boolean;
  constructor(readonly def: MapDef, protected readonly nrCpus: number) {
    this.readonlyForProgram = (def.flags & BPF_F_RDONLY_PROG) !== 0;
    this.perCpu = def.type === MapType.PERCPU_ARRAY || def.type === MapType.PERCPU_HASH || def.type === MapType.LRU_PERCPU_HASH;
    this.special = mapSpecialFields(def);
    this.hasLock = this.special?.some((f) => f.kind === 'bpf_spin_lock') ?? false;
  }

  /**
   * copy_map_value skips the special fields: the kernel's own state there (a lock, a timer, a kptr) is never
   * written from a value handed to an update, and is zero in the simulator (the VM keeps timers aside, a program
   * cannot load or store those bytes). Called after a value was copied into the map.
   */
  protected clearSpecial(v: Uint8Array): Uint8Array {
    if (this.special) for (const f of this.special) v.fill(0, f.off, Math.min(f.off + f.size, v.length));
    return v;
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

/** Array indexes below this are also kept in a plain array (ArrayMap.direct): at most this many pointers per CPU. */
const DIRECT_SLOTS = 4096;

/** Arrays up to this many slots and bytes list every slot in a dump, as `bpftool map dump` does. */
export const ARRAY_DUMP_ALL_SLOTS = 1024;
export const ARRAY_DUMP_ALL_BYTES = 1 << 20;

const ZERO_CHUNK = new Uint8Array(1 << 16);

/** True when every byte is 0 (compared 64 KiB at a time, natively). */
export function allZero(b: Uint8Array): boolean {
  for (let off = 0; off < b.length; off += ZERO_CHUNK.length) {
    const n = Math.min(ZERO_CHUNK.length, b.length - off);
    if (Buffer.compare(Buffer.from(b.buffer, b.byteOffset + off, n), Buffer.from(ZERO_CHUNK.buffer, 0, n)) !== 0) return false;
  }
  return true;
}

/**
 * ARRAY, PERCPU_ARRAY and the global-data maps: zero-filled, indexed by a u32 key. The kernel preallocates every
 * slot; here a slot's bytes exist from the first time anything touches it, which a program cannot tell apart.
 */
class ArrayMap extends MapBase implements BpfMap {
  /** index -> one value per CPU slot (holes for CPUs not yet touched). */
  private readonly cells = new Map<number, Uint8Array[]>();
  /**
   * The same values by index * slots + slot for the first DIRECT_SLOTS indexes (filled as cells are made; a cell is
   * never replaced or dropped, so the two agree): lookups index it instead of hashing.
   */
  private readonly direct: (Uint8Array | undefined)[] = [];
  /** Value slots per index (the CPUs of a per-CPU array, else 1). */
  readonly nSlots: number;
  /**
   * With 4-byte keys: `direct` itself, which the compiled engine's generated code indexes for a lookup (index * nSlots
   * + slot, index < DIRECT_SLOTS) before calling lookupAt; a hole there means: call it (it makes the cell). Else
   * undefined.
   */
  readonly lookupDirect: readonly (Uint8Array | undefined)[] | undefined;
  private zero: Uint8Array | undefined;

  constructor(def: MapDef, nrCpus: number) {
    super(def, nrCpus);
    this.nSlots = this.slots();
    this.lookupDirect = def.keySize === 4 ? this.direct : undefined;
    // A value size above INT_MAX is refused at creation (mapCreateError); nothing of it is allocated here.
    if (def.initialValue && def.maxEntries > 0 && def.valueSize <= 0x7fffffff) {
      for (let cpu = 0; cpu < this.slots(); cpu++) this.cell(0, cpu).set(def.initialValue.subarray(0, def.valueSize));
      if (this.special) for (let cpu = 0; cpu < this.slots(); cpu++) this.clearSpecial(this.cell(0, cpu));
    }
  }

  private cell(i: number, slot: number): Uint8Array {
    let c = this.cells.get(i);
    if (!c) {
      c = [];
      this.cells.set(i, c);
    }
    let v = c[slot];
    if (v === undefined) {
      v = c[slot] = new Uint8Array(this.def.valueSize);
      if (i < DIRECT_SLOTS && slot < this.nSlots) {
        const d = this.direct;
        const at = i * this.nSlots + slot;
        while (d.length < at) d.push(undefined);
        d[at] = v;
      }
    }
    return v;
  }

  private zeroValue(): Uint8Array {
    return (this.zero ??= new Uint8Array(this.def.valueSize));
  }

  lookup(key: Uint8Array, cpu: number): Uint8Array | undefined {
    return this.at(u32(key), cpu);
  }

  lookupAt(b: Uint8Array, off: number, cpu: number): Uint8Array | undefined {
    return this.def.keySize === 4 ? this.at(u32At(b, off), cpu) : this.lookup(b.subarray(off, off + this.def.keySize), cpu);
  }

  private at(i: number, cpu: number): Uint8Array | undefined {
    if (i >= this.def.maxEntries) return undefined;
    const slot = this.perCpu ? cpu : 0;
    if (i < DIRECT_SLOTS && slot < this.nSlots) {
      const v = this.direct[i * this.nSlots + slot];
      if (v !== undefined) return v;
    }
    return this.cell(i, slot);
  }

  update(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number {
    return this.updateAt(key, 0, value, 0, flags, cpu, key.length);
  }

  updateAt(b: Uint8Array, keyOff: number, vb: Uint8Array, valueOff: number, flags: bigint, cpu: number, keyLen = this.def.keySize): number {
    const f = smallFlags(flags);
    if (badFlags(f)) return -EINVAL;
    const i = keyLen >= 4 ? u32At(b, keyOff) : u32(b.subarray(keyOff, keyOff + keyLen));
    if (i >= this.def.maxEntries) return -E2BIG;
    if (f & F_NOEXIST) return -EEXIST;
    if (wantsLock(f) && !this.hasLock) return -EINVAL;
    const cell = this.cell(i, this.perCpu ? cpu : 0);
    copyBytes(cell, 0, vb, valueOff, Math.min(this.def.valueSize, vb.length - valueOff));
    if (this.special) this.clearSpecial(cell);
    return 0;
  }

  delete(): number {
    return -EINVAL;
  }

  size(): number {
    let n = 0;
    for (const c of this.cells.values()) if (c.some((v) => v && !allZero(v))) n++;
    return n;
  }

  private entry(i: number): MapEntry {
    const c = this.cells.get(i);
    const values = Array.from({ length: this.slots() }, (_, slot) => c?.[slot] ?? this.zeroValue());
    return { key: new Uint8Array(new Uint32Array([i]).buffer), values };
  }

  /** Small arrays: every slot, as the kernel dumps them. Large ones: the slots holding a non-zero byte, by index. */
  dump(): MapEntry[] {
    const d = this.def;
    if (d.maxEntries <= ARRAY_DUMP_ALL_SLOTS && d.maxEntries * d.valueSize * this.slots() <= ARRAY_DUMP_ALL_BYTES) {
      return Array.from({ length: d.maxEntries }, (_, i) => this.entry(i));
    }
    return [...this.cells.entries()]
      .filter(([, c]) => c.some((v) => v && !allZero(v)))
      .map(([i]) => i)
      .sort((a, b) => a - b)
      .map((i) => this.entry(i));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    const i = u32(entry.key);
    if (i >= this.def.maxEntries) return `index ${i} is outside map ${this.def.name} (max_entries ${this.def.maxEntries})`;
    entry.values.forEach((v, cpu) => {
      const c = this.cell(i, cpu);
      c.set(v);
      this.clearSpecial(c);
    });
    return undefined;
  }
}

interface HashElem {
  key: Uint8Array;
  values: Uint8Array[];
  /** LRU maps: the element's node on the kernel's LRU lists. */
  node?: LruNode;
}

/**
 * HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, and the hash-keyed redirect maps (DEVMAP_HASH). LRU maps keep their
 * elements on a model of the kernel's LRU lists (./lru.ts), which decides which elements an insert into a full map
 * evicts, and how many at once, as the kernel does.
 */
class HashMap extends MapBase implements BpfMap {
  /** Elements by elemKey of their key bytes. */
  protected readonly elems = new Map<string | number, HashElem>();
  private readonly lru?: KernelLru;

  constructor(def: MapDef, nrCpus: number) {
    super(def, nrCpus);
    if (def.type === MapType.LRU_HASH || def.type === MapType.LRU_PERCPU_HASH) {
      const percpuLru = (def.flags & BPF_F_NO_COMMON_LRU) !== 0;
      // htab_map_alloc: with per-CPU LRU lists, max_entries is rounded up to a multiple of the possible CPUs (down
      // when that overflows u32) so that every CPU's list gets the same number of nodes.
      let nodes = def.maxEntries;
      if (percpuLru) {
        const up = Math.ceil(nodes / nrCpus) * nrCpus;
        nodes = up > 0xffffffff ? Math.floor(nodes / nrCpus) * nrCpus : up;
      }
      this.lru = new KernelLru(nodes, nrCpus, percpuLru, this);
    }
  }

  /** The LRU evicts the element a node holds (del_from_htab); false when the table no longer holds that node. */
  evictNode(node: LruNode): boolean {
    const e = this.elems.get(node.key);
    if (!e || e.node !== node) return false;
    this.elems.delete(node.key);
    return true;
  }

  lookup(key: Uint8Array, cpu: number): Uint8Array | undefined {
    return this.lookupAt(key, 0, cpu, key.length);
  }

  lookupAt(b: Uint8Array, off: number, cpu: number, keyLen = this.def.keySize): Uint8Array | undefined {
    const e = this.elems.get(elemKey(b, off, keyLen));
    if (!e) return undefined;
    // htab_lru_map_lookup_elem (and the verifier's inlined lookup) mark the element referenced.
    if (this.lru && e.node) this.lru.setRef(e.node);
    return e.values[this.perCpu ? cpu : 0];
  }

  update(key: Uint8Array, value: Uint8Array, flags: bigint, cpu: number): number {
    return this.updateAt(key, 0, value, 0, flags, cpu, key.length);
  }

  updateAt(b: Uint8Array, keyOff: number, vb: Uint8Array, valueOff: number, flags: bigint, cpu: number, keyLen = this.def.keySize): number {
    const f = smallFlags(flags);
    // BPF_F_LOCK: plain hash maps whose value holds a bpf_spin_lock (the LRU and per-CPU updates take no flag
    // above BPF_EXIST).
    if (badFlags(f) || (wantsLock(f) && (!this.hasLock || this.lru || this.perCpu))) return -EINVAL;
    const k = elemKey(b, keyOff, keyLen);
    const vs = this.def.valueSize;
    if (this.lru) return this.lruUpdate(k, b, keyOff, keyLen, [vb.subarray(valueOff, valueOff + vs)], plainFlags(f), cpu, false);
    const old = this.elems.get(k);
    if (old && plainFlags(f) === F_NOEXIST) return -EEXIST;
    if (!old && plainFlags(f) === F_EXIST) return -ENOENT;
    const slot = this.perCpu ? cpu : 0;
    if (old && (this.perCpu || wantsLock(f))) {
      // Per-CPU elements are updated in place (pcpu_copy_value), and so is one updated under its lock
      // (copy_map_value_locked).
      copyBytes(old.values[slot], 0, vb, valueOff, Math.min(vs, vb.length - valueOff));
      if (this.special) this.clearSpecial(old.values[slot]);
      return 0;
    }
    if (old) {
      // An update replaces the element (htab_map_update_elem swaps in a new one): a pointer from an earlier
      // lookup in the same run keeps the old bytes, the next lookup sees the new value.
      const values = old.values.map((v, i) => (i === slot ? this.clearSpecial(vb.slice(valueOff, valueOff + vs)) : v));
      this.elems.delete(k);
      this.elems.set(k, { key: old.key, values });
      return 0;
    }
    if (this.elems.size >= this.def.maxEntries) return -E2BIG;
    // pcpu_init_value: a new per-CPU element from a program holds the value on this CPU and zeros elsewhere.
    const values = Array.from({ length: this.slots() }, (_, i) =>
      i === slot ? this.clearSpecial(vb.slice(valueOff, valueOff + vs)) : new Uint8Array(vs));
    this.elems.set(k, { key: b.slice(keyOff, keyOff + keyLen), values });
    return 0;
  }

  /**
   * htab_lru_map_update_elem and htab_lru_percpu_map_update_elem. A node is taken from the LRU before the key is
   * looked up or the flags checked (so a full map evicts even for an update that then fails or replaces a key),
   * except for a per-CPU value update with BPF_EXIST. `values` is one value (for `cpu`), or one per CPU from user
   * space (`allCpus`).
   */
  private lruUpdate(k: string | number, kb: Uint8Array, keyOff: number, keyLen: number, values: Uint8Array[], flags: number, cpu: number, allCpus: boolean): number {
    const lru = this.lru!;
    const key = () => kb.slice(keyOff, keyOff + keyLen);
    const vs = this.def.valueSize;
    let node: LruNode | undefined;
    if (!(this.perCpu && flags === F_EXIST)) {
      node = lru.popFree(k, cpu);
      if (!node) return -ENOMEM;
    }
    const old = this.elems.get(k);
    const err = old && flags === F_NOEXIST ? -EEXIST : !old && flags === F_EXIST ? -ENOENT : 0;
    if (err) {
      if (node) lru.pushFree(node);
      return err;
    }
    const slot = this.perCpu ? cpu : 0;
    if (this.perCpu) {
      if (old) {
        // Per-CPU values are updated in place; the element counts as used.
        if (old.node) lru.setRef(old.node);
        if (allCpus) old.values.forEach((v, i) => v.set(values[i].subarray(0, vs)));
        else old.values[slot].set(values[0].subarray(0, vs));
        old.values.forEach((v) => this.clearSpecial(v));
        if (node) lru.pushFree(node);
        return 0;
      }
      const fresh = Array.from({ length: this.slots() }, (_, i) =>
        this.clearSpecial(allCpus ? values[i].slice(0, vs) : i === slot ? values[0].slice(0, vs) : new Uint8Array(vs)));
      this.elems.set(k, { key: key(), values: fresh, node });
      return 0;
    }
    this.elems.delete(k);
    this.elems.set(k, { key: key(), values: [this.clearSpecial(values[0].slice(0, vs))], node });
    if (old) {
      // The replacing element starts referenced; the replaced one's node is freed.
      lru.setRef(node!);
      if (old.node) lru.pushFree(old.node);
    }
    return 0;
  }

  delete(key: Uint8Array): number {
    const k = elemKey(key, 0, key.length);
    const e = this.elems.get(k);
    if (!e) return -ENOENT;
    this.elems.delete(k);
    if (this.lru && e.node) this.lru.pushFree(e.node);
    return 0;
  }

  size(): number {
    return this.elems.size;
  }

  dump(): MapEntry[] {
    return [...this.elems.values()]
      .sort((a, b) => compareBytes(a.key, b.key))
      .map((e) => ({ key: e.key, values: e.values }));
  }

  /**
   * The elements in the order the kernel walks its table (bpf_for_each_hash_elem: bucket 0 up, each bucket's list
   * from its head), when that order is known: with BPF_F_ZERO_SEED the bucket is htab_map_hash(key, 0) (jhash2 of
   * the key's words, or jhash of its bytes) & (n_buckets - 1), n_buckets = roundup_pow_of_two(max_entries), and an
   * element goes in at its bucket's head when created or replaced by an update (per-CPU values and BPF_F_LOCK
   * updates stay in place), which is the reverse of this.elems' insertion order. Undefined with a random seed.
   */
  walkOrder(): MapEntry[] | undefined {
    if ((this.def.flags & BPF_F_ZERO_SEED) === 0) return undefined;
    let buckets = 1;
    while (buckets < this.def.maxEntries) buckets *= 2;
    const newestFirst = [...this.elems.values()].reverse().map((e, age) => ({ e, age, bucket: (jhash(e.key, 0) & (buckets - 1)) >>> 0 }));
    newestFirst.sort((a, b) => a.bucket - b.bucket || a.age - b.age);
    return newestFirst.map(({ e }) => ({ key: e.key, values: e.values }));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    if (this.lru) {
      // bpftool map update from user space: the same update, on CPU 0 (where the harness runs), all CPUs' values.
      const err = this.lruUpdate(elemKey(entry.key, 0, entry.key.length), entry.key, 0, entry.key.length, entry.values, 0, 0, this.perCpu);
      return err ? `map ${this.def.name}: update failed (errno ${-err})` : undefined;
    }
    const k = elemKey(entry.key, 0, entry.key.length);
    if (!this.elems.has(k) && this.elems.size >= this.def.maxEntries) return `map ${this.def.name} is full (max_entries ${this.def.maxEntries})`;
    // bpftool's update replaces an element (htab_map_update_elem): it moves to its bucket's head (walkOrder).
    if (!this.perCpu) this.elems.delete(k);
    this.elems.set(k, { key: entry.key.slice(), values: entry.values.map((v) => this.clearSpecial(v.slice())) });
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
    // trie_lookup_elem: a prefix length past the map's maximum finds nothing.
    const limit = u32(key);
    if (limit > this.maxPrefix) return undefined;
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
    // The element is found by its canonical key, but keeps the key's data as given, bits past the prefix included
    // (trie_update_elem copies all of it; a dump shows it; a later update of the same prefix replaces it).
    this.elems.set(c.k, { key: key.slice(0, this.def.keySize), prefixlen: c.prefixlen, values: [value.slice(0, this.def.valueSize)] });
    return 0;
  }

  delete(key: Uint8Array): number {
    const c = this.canonical(key);
    if (!c) return -EINVAL;
    return this.elems.delete(c.k) ? 0 : -ENOENT;
  }

  size(): number {
    return this.elems.size;
  }

  dump(): MapEntry[] {
    return [...this.elems.values()].sort((a, b) => compareBytes(a.key, b.key)).map((e) => ({ key: e.key, values: e.values }));
  }

  seed(entry: MapEntry): string | undefined {
    const err = this.checkSeed(entry);
    if (err) return err;
    const c = this.canonical(entry.key);
    if (!c) return `prefix length ${u32(entry.key)} is longer than map ${this.def.name} allows (${this.maxPrefix})`;
    this.elems.set(c.k, { key: entry.key.slice(0, this.def.keySize), prefixlen: c.prefixlen, values: [entry.values[0].slice()] });
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

  size(): number {
    return this.cells.size;
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

  override updateAt(): number {
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

  size(): number {
    return this.progs.size;
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
  /** RINGBUF: the producer position (bytes of records reserved so far, 8-byte headers and padding included). Nothing
   * consumes them (no reader, as in a test run), so the ring fills up and then refuses records. */
  producerPos = 0;
  lookup(): undefined {
    return undefined;
  }
  update(): number {
    return -EINVAL;
  }
  delete(): number {
    return -EINVAL;
  }
  size(): number {
    return 0;
  }
  dump(): MapEntry[] {
    return [];
  }
  seed(): string | undefined {
    return `map ${this.def.name} (type ${this.def.type}) has no elements to set`;
  }
}

/** BPF_F_INNER_MAP: an inner array whose max_entries may differ from the template's (array_map_meta_equal). */
export const BPF_F_INNER_MAP = 1 << 12;

/**
 * The inner map of an outer map that declares none (`__array(values, ...)` missing, as in the kernel selftests'
 * test_map_in_map.c): the loader must pass one (bpf_map__set_inner_map_fd). Unless told otherwise (--inner-map), an
 * ARRAY of one 4-byte value, the template the selftests pass.
 */
export function defaultInnerTemplate(outer: MapDef): MapDef {
  return { name: `${outer.name}.inner`, type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, kind: 'user', section: outer.section };
}

/** Why the kernel would refuse to store `inner` in an outer map with this template (bpf_map_meta_equal), or undefined. */
export function innerMismatch(template: MapDef, inner: MapDef): string | undefined {
  const what = (d: MapDef) => `type ${d.type}, key ${d.keySize} B, value ${d.valueSize} B, flags 0x${d.flags.toString(16)}`;
  const same = template.type === inner.type && template.keySize === inner.keySize && template.valueSize === inner.valueSize &&
    (template.flags & ~BPF_F_RDONLY_PROG) === (inner.flags & ~BPF_F_RDONLY_PROG);
  const arrayEntries = (inner.type === MapType.ARRAY || inner.type === MapType.PERCPU_ARRAY) && !(template.flags & BPF_F_INNER_MAP) &&
    template.maxEntries !== inner.maxEntries;
  if (!same) return `map ${inner.name} (${what(inner)}) does not match the inner-map template (${what(template)}): the kernel refuses it (EINVAL)`;
  if (arrayEntries) return `array ${inner.name} has max_entries ${inner.maxEntries}, the inner-map template ${template.maxEntries} (set BPF_F_INNER_MAP to allow sizes to differ): the kernel refuses it (EINVAL)`;
  if (inner.type === MapType.ARRAY_OF_MAPS || inner.type === MapType.HASH_OF_MAPS) return `map ${inner.name} is itself a map of maps: the kernel allows one level only (EINVAL)`;
  return undefined;
}

/**
 * Every map a program can hold a pointer to: the object's maps first (handle = index in LoadedObject.maps, what lddw
 * carries), then inner maps created from seeds.
 */
export class MapTable {
  readonly all: BpfMap[] = [];
  private readonly handles = new Map<BpfMap, number>();
  /** How many of `all` are the object's own maps. */
  programMaps = 0;

  constructor(readonly nrCpus: number) {}

  add(map: BpfMap, own: boolean): number {
    const h = this.all.length;
    this.all.push(map);
    this.handles.set(map, h);
    if (own) this.programMaps = this.all.length;
    return h;
  }

  handle(map: BpfMap): number {
    return this.handles.get(map) ?? this.add(map, false);
  }

  /** One of the object's own maps, by name. */
  named(name: string): BpfMap | undefined {
    for (let i = 0; i < this.programMaps; i++) if (this.all[i].def.name === name) return this.all[i];
    return undefined;
  }

  isProgramMap(map: BpfMap): boolean {
    const h = this.handles.get(map);
    return h !== undefined && h < this.programMaps;
  }

  /** A new inner map from a template (a seed with inline entries), with its own handle. */
  createInner(template: MapDef, name: string): BpfMap {
    const m = createMap({ ...template, name, initialMaps: undefined, initialProgs: undefined }, this.nrCpus, this);
    this.add(m, false);
    return m;
  }
}

/**
 * ARRAY_OF_MAPS and HASH_OF_MAPS (kernel/bpf/arraymap.c, hashtab.c, map_in_map.c). Slots hold maps; a program may
 * only look them up (the verifier refuses update and delete from a program), user space (the seed) fills them.
 */
class MapOfMaps extends MapBase implements BpfMap {
  private readonly slotsByKey = new Map<string, { key: Uint8Array; map: BpfMap }>();
  private template: MapDef | undefined;
  private readonly isArray: boolean;

  constructor(def: MapDef, nrCpus: number, readonly table: MapTable) {
    super(def, nrCpus);
    this.template = def.inner;
    this.isArray = def.type === MapType.ARRAY_OF_MAPS;
  }

  innerTemplate(): MapDef {
    return this.template ?? defaultInnerTemplate(this.def);
  }

  createInner(name: string): BpfMap {
    return this.table.createInner(this.innerTemplate(), name);
  }

  /** Set the template from outside (--inner-map), before anything is stored. */
  setTemplate(def: MapDef): void {
    this.template = def;
  }

  lookup(): undefined {
    return undefined;
  }

  lookupMap(key: Uint8Array): BpfMap | undefined {
    if (this.isArray && u32(key) >= this.def.maxEntries) return undefined;
    return this.slotsByKey.get(keyHex(key))?.map;
  }

  update(): number {
    return -EINVAL;
  }

  delete(): number {
    return -EINVAL;
  }

  size(): number {
    return this.slotsByKey.size;
  }

  dump(): MapEntry[] {
    return [...this.slotsByKey.values()]
      .sort((a, b) => (this.isArray ? u32(a.key) - u32(b.key) : compareBytes(a.key, b.key)))
      .map((e) => ({ key: e.key, values: [], map: e.map }));
  }

  seed(entry: MapEntry): string | undefined {
    if (entry.key.length !== this.def.keySize) return `key of ${entry.key.length} bytes, map ${this.def.name} has ${this.def.keySize}-byte keys`;
    if (!entry.map) return `map of maps ${this.def.name}: an entry needs "map" (a map of the program) or "inner" (entries of a new inner map)`;
    if (this.isArray && u32(entry.key) >= this.def.maxEntries) return `index ${u32(entry.key)} is outside map ${this.def.name} (max_entries ${this.def.maxEntries})`;
    const k = keyHex(entry.key);
    if (!this.isArray && !this.slotsByKey.has(k) && this.slotsByKey.size >= this.def.maxEntries) return `map ${this.def.name} is full (max_entries ${this.def.maxEntries})`;
    const bad = innerMismatch(this.innerTemplate(), entry.map.def);
    if (bad) return bad;
    this.table.handle(entry.map);
    this.slotsByKey.set(k, { key: entry.key.slice(), map: entry.map });
    return undefined;
  }
}

// ---- what the kernel refuses at map creation (map_create and each type's map_alloc_check, measured on 6.18) ----

/** PCPU_MIN_UNIT_SIZE: the per-CPU allocator's unit, the largest per-CPU value. */
export const PCPU_MIN_UNIT_SIZE = 32 * 1024;
/** KMALLOC_MAX_SIZE on x86-64 (4 MiB) less sizeof(struct htab_elem) (48): hash key + value must stay below. */
export const HTAB_KEY_VALUE_MAX = (4 << 20) - 48;
const INT_MAX = 0x7fffffff;
/** The most entries a hash map can have: its power-of-two bucket count times 16 bytes stays below 2^32. */
const HTAB_MAX_ENTRIES = 2 ** 27;
/** BPF_F_WRONLY_PROG (uapi bpf.h: 1U << 8). */
const BPF_F_WRONLY_PROG = 1 << 8;
const round8 = (n: number) => Math.ceil(n / 8) * 8;

/**
 * The kernel's refusal of a map definition at creation, as `errno (name): reason`, or undefined when it creates it.
 * Memory-dependent refusals (ENOMEM for an array too large to allocate) are not modelled: the simulator does not
 * allocate what the program does not touch.
 */
export function mapCreateError(def: MapDef): string | undefined {
  const { type, keySize: k, valueSize: v, maxEntries: n } = def;
  const flags = def.declaredFlags ?? def.flags;
  const einval = (why: string) => `the kernel refuses map '${def.name}' (EINVAL): ${why}`;
  const e2big = (why: string) => `the kernel refuses map '${def.name}' (E2BIG): ${why}`;
  const percpu = type === MapType.PERCPU_ARRAY || type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;
  // fd arrays check BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG first (fd_array_map_alloc_check), then the array's mask.
  if (type === MapType.PERF_EVENT_ARRAY && flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) {
    return einval('BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG are not supported for perf event arrays');
  }
  // Each type's alloc_check refuses map_flags outside its mask before anything else it checks (EINVAL).
  const allowed = MAP_FLAGS_ALLOWED.get(type);
  if (allowed !== undefined && (flags & ~allowed) !== 0) {
    return einval(`map_flags ${flagNames(flags & ~allowed)} ${(flags & ~allowed & (flags & ~allowed) - 1) ? 'are' : 'is'} not accepted for this map type`);
  }
  if (allowed !== undefined && (flags & BPF_F_RDONLY_PROG) && (flags & BPF_F_WRONLY_PROG)) {
    return einval('map_flags BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together');
  }
  switch (type) {
    case MapType.ARRAY: case MapType.PERCPU_ARRAY: case MapType.ARRAY_OF_MAPS: case MapType.PROG_ARRAY: {
      if (n === 0) return einval('max_entries is 0');
      if (k !== 4) return einval(`key_size is ${k}, arrays take 4-byte keys`);
      if (v === 0) return einval('value_size is 0');
      if ((type === MapType.ARRAY_OF_MAPS || type === MapType.PROG_ARRAY) && v !== 4) return einval(`value_size is ${v}, this map type holds 4-byte values`);
      if (v > INT_MAX) return e2big(`value_size ${v} is above INT_MAX`);
      if (percpu && round8(v) > PCPU_MIN_UNIT_SIZE) return e2big(`per-CPU value_size ${v} is above ${PCPU_MIN_UNIT_SIZE} (PCPU_MIN_UNIT_SIZE)`);
      return undefined;
    }
    case MapType.HASH: case MapType.PERCPU_HASH: case MapType.LRU_HASH: case MapType.LRU_PERCPU_HASH: case MapType.HASH_OF_MAPS: {
      // htab_map_alloc_check looks at the flags before the sizes.
      const lru = type === MapType.LRU_HASH || type === MapType.LRU_PERCPU_HASH;
      if (!lru && flags & BPF_F_NO_COMMON_LRU) return einval('BPF_F_NO_COMMON_LRU is for LRU maps only');
      if (lru && flags & BPF_F_NO_PREALLOC) return `the kernel refuses map '${def.name}' (ENOTSUPP): LRU maps are always preallocated (BPF_F_NO_PREALLOC)`;
      if (n === 0) return einval('max_entries is 0');
      if (k === 0) return einval('key_size is 0');
      if (v === 0) return einval('value_size is 0');
      if (type === MapType.HASH_OF_MAPS && v !== 4) return einval(`value_size is ${v}, maps of maps hold 4-byte values`);
      if (k + v >= HTAB_KEY_VALUE_MAX) return e2big(`key_size + value_size (${k + v}) must stay below ${HTAB_KEY_VALUE_MAX} (KMALLOC_MAX_SIZE less the element header)`);
      if (percpu && round8(v) > PCPU_MIN_UNIT_SIZE) return e2big(`per-CPU value_size ${v} is above ${PCPU_MIN_UNIT_SIZE} (PCPU_MIN_UNIT_SIZE)`);
      // htab_map_alloc: the bucket array (max_entries rounded up to a power of two, 16-byte buckets) must fit in u32
      // bytes, so at most 2^27 entries (measured: 2^27 created, 2^27 + 1 E2BIG, before any element is allocated).
      if (n > HTAB_MAX_ENTRIES) return e2big(`max_entries ${n} is above ${HTAB_MAX_ENTRIES}: the table of ${2 ** Math.ceil(Math.log2(n))} buckets would not fit in 4 GiB`);
      return undefined;
    }
    case MapType.LPM_TRIE:
      if (n === 0) return einval('max_entries is 0');
      if (!(flags & BPF_F_NO_PREALLOC)) return einval('LPM tries need map_flags BPF_F_NO_PREALLOC');
      if (k < 5 || k > 4 + 256) return einval(`key_size ${k} is outside 5..260 (4-byte prefix length and 1..256 data bytes)`);
      if (v === 0) return einval('value_size is 0');
      return undefined;
    case MapType.DEVMAP: case MapType.DEVMAP_HASH: case MapType.CPUMAP:
      if (n === 0) return einval('max_entries is 0');
      if (k !== 4) return einval(`key_size is ${k}, this map type takes 4-byte keys`);
      if (v !== 4 && v !== 8) return einval(`value_size is ${v}, this map type holds 4 or 8 bytes`);
      // cpu_map_alloc: "Pre-limit array size based on NR_CPUS" (the kernel's build-time CPU limit, not the CPUs present).
      if (type === MapType.CPUMAP && n > kernelNrCpus()) return e2big(`max_entries ${n} is above NR_CPUS (${kernelNrCpus()}, this kernel's CPU limit)`);
      return undefined;
    case MapType.PERF_EVENT_ARRAY:
      // fd_array_map_alloc_check, then array_map_alloc_check: 4-byte keys and 4-byte values (file descriptors). libbpf
      // fills in max_entries 0 (the CPUs), never the sizes: a definition without key_size/value_size is refused.
      if (v !== 4) return einval(`value_size is ${v}, a perf event array holds 4-byte values (file descriptors)`);
      if (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return einval('BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG are not supported for perf event arrays');
      if (n === 0) return einval('max_entries is 0');
      if (k !== 4) return einval(`key_size is ${k}, arrays take 4-byte keys`);
      return undefined;
    case MapType.XSKMAP:
      if (n === 0) return einval('max_entries is 0');
      if (k !== 4 || v !== 4) return einval('XSKMAP takes 4-byte keys and values');
      return undefined;
    case MapType.QUEUE: case MapType.STACK: case MapType.BLOOM_FILTER:
      return queueMapCreateError(def);
    case MapType.RINGBUF:
    case MapType.USER_RINGBUF:
      if (k !== 0 || v !== 0) return einval('ring buffers take no key or value size');
      if (n === 0 || n % 4096 !== 0 || (n & (n - 1)) !== 0) return einval(`max_entries ${n} is not a power-of-2 multiple of the page size`);
      return undefined;
    default:
      return undefined;
  }
}

const F = { NO_PREALLOC: 1, NO_COMMON_LRU: 2, NUMA_NODE: 4, RDONLY: 8, WRONLY: 16, ZERO_SEED: 64, RDONLY_PROG: 128, WRONLY_PROG: 256, MMAPABLE: 1024, PRESERVE_ELEMS: 2048, INNER_MAP: 4096 };
const FLAG_NAMES = ['BPF_F_NO_PREALLOC', 'BPF_F_NO_COMMON_LRU', 'BPF_F_NUMA_NODE', 'BPF_F_RDONLY', 'BPF_F_WRONLY', 'BPF_F_STACK_BUILD_ID',
  'BPF_F_ZERO_SEED', 'BPF_F_RDONLY_PROG', 'BPF_F_WRONLY_PROG', 'BPF_F_CLONE', 'BPF_F_MMAPABLE', 'BPF_F_PRESERVE_ELEMS', 'BPF_F_INNER_MAP'];
const flagNames = (f: number): string => {
  const out: string[] = [];
  for (let b = 0; b < 32; b++) if (f & (1 << b)) out.push(FLAG_NAMES[b] ?? `1 << ${b}`);
  return out.join(' | ');
};
const ACCESS = F.RDONLY | F.WRONLY | F.RDONLY_PROG | F.WRONLY_PROG;
/**
 * The map_flags each type's alloc_check accepts (ARRAY_CREATE_FLAG_MASK, HTAB_CREATE_FLAG_MASK, ...), measured on 6.18
 * with `bpftool map create` one flag at a time: anything else is EINVAL. BPF_F_NUMA_NODE is refused for the per-CPU
 * types; an LRU map with BPF_F_NO_PREALLOC passes the mask and is refused after it (ENOTSUPP). Maps of maps are not
 * listed (not measured).
 */
const MAP_FLAGS_ALLOWED = new Map<number, number>([
  [MapType.ARRAY, F.NUMA_NODE | ACCESS | F.MMAPABLE | F.INNER_MAP],
  [MapType.PERCPU_ARRAY, ACCESS],
  [MapType.HASH, F.NO_PREALLOC | F.NUMA_NODE | ACCESS | F.ZERO_SEED],
  [MapType.PERCPU_HASH, F.NO_PREALLOC | ACCESS | F.ZERO_SEED],
  [MapType.LRU_HASH, F.NO_PREALLOC | F.NO_COMMON_LRU | F.NUMA_NODE | ACCESS | F.ZERO_SEED],
  [MapType.LRU_PERCPU_HASH, F.NO_PREALLOC | F.NO_COMMON_LRU | ACCESS | F.ZERO_SEED],
  [MapType.LPM_TRIE, F.NO_PREALLOC | F.NUMA_NODE | ACCESS],
  [MapType.PERF_EVENT_ARRAY, F.NUMA_NODE | F.RDONLY | F.WRONLY | F.PRESERVE_ELEMS],
  [MapType.PROG_ARRAY, F.NUMA_NODE | F.RDONLY | F.WRONLY],
  [MapType.RINGBUF, F.NUMA_NODE],
  [MapType.QUEUE, F.NUMA_NODE | ACCESS],
  [MapType.STACK, F.NUMA_NODE | ACCESS],
  [MapType.BLOOM_FILTER, F.NUMA_NODE | ACCESS | F.ZERO_SEED],
  [MapType.DEVMAP, F.NUMA_NODE | F.RDONLY | F.WRONLY],
  [MapType.DEVMAP_HASH, F.NUMA_NODE | F.RDONLY | F.WRONLY],
  [MapType.XSKMAP, F.NUMA_NODE | F.RDONLY | F.WRONLY],
  [MapType.CPUMAP, F.NUMA_NODE],
]);

let nrCpusLimit: number | undefined;
/**
 * NR_CPUS, the CPU limit the kernel was built with (CONFIG_NR_CPUS): /sys/devices/system/cpu/kernel_max + 1 on the
 * machine running the simulator (256 on the 6.18 kernel measured here), else 8192, the usual distribution setting.
 */
export function kernelNrCpus(): number {
  if (nrCpusLimit === undefined) {
    nrCpusLimit = 8192;
    try {
      const max = Number.parseInt(readFileSync('/sys/devices/system/cpu/kernel_max', 'utf8').trim(), 10);
      if (Number.isInteger(max) && max >= 0) nrCpusLimit = max + 1;
    } catch {
      // not Linux, or no sysfs: keep the usual setting
    }
  }
  return nrCpusLimit;
}

export function createMap(def: MapDef, nrCpus: number, table?: MapTable): BpfMap {
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
    case MapType.ARRAY_OF_MAPS:
    case MapType.HASH_OF_MAPS:
      return new MapOfMaps(def, nrCpus, table ?? new MapTable(nrCpus));
    case MapType.QUEUE:
    case MapType.STACK:
      return new QueueStackMap(def);
    case MapType.BLOOM_FILTER:
      return new BloomFilterMap(def);
    case MapType.PERF_EVENT_ARRAY:
    case MapType.RINGBUF:
      return new EventMap({ ...def, maxEntries: def.type === MapType.PERF_EVENT_ARRAY && def.maxEntries === 0 ? nrCpus : def.maxEntries }, nrCpus);
    default:
      // The loader refuses unknown map types with a message; this keeps the VM total if one slips through.
      return new EventMap(def, nrCpus);
  }
}
