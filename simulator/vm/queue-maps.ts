// QUEUE, STACK and BLOOM_FILTER maps (kernel/bpf/queue_stack_maps.c, kernel/bpf/bloom_filter.c): maps without keys that
// programs use through bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem only. Neither user space's key
// iteration (bpftool map dump) nor the program's lookup/update/delete reach their elements, so they dump as empty.
// A seed (--maps) pushes its values in order, as user space's BPF_MAP_UPDATE_ELEM without a key does (`bpftool map
// push` / `enqueue`): a free-address pool for a NAT, say; a queue pops them first to last, a stack last to first.
import { MapType, type MapDef } from '../elf/types.ts';
import type { BpfMap, MapEntry } from './maps.ts';

const EINVAL = 22;
const ENOENT = 2;
const E2BIG = 7;
const EOPNOTSUPP = 95;
const BPF_NOEXIST = 1n;
const BPF_EXIST = 2n;

/** A queue (FIFO) or stack (LIFO) of at most max_entries values. */
export class QueueStackMap implements BpfMap {
  readonly readonlyForProgram = false;
  readonly perCpu = false;
  readonly valueSlots = 1;
  /** Oldest first. */
  items: Uint8Array[] = [];
  constructor(readonly def: MapDef) {}

  /** bpf_map_push_elem: BPF_ANY, or BPF_EXIST to drop the oldest element when full (else -E2BIG). */
  push(value: Uint8Array, flags: bigint): number {
    if (flags & BPF_NOEXIST || flags > BPF_EXIST) return -EINVAL;
    if (this.items.length >= this.def.maxEntries) {
      if (!(flags & BPF_EXIST)) return -E2BIG;
      this.items.shift();
    }
    this.items.push(value.slice());
    return 0;
  }

  /** bpf_map_pop_elem / bpf_map_peek_elem: the oldest (queue) or newest (stack) element, or undefined when empty (the
   * kernel then zeroes the caller's buffer and returns -ENOENT). */
  take(remove: boolean): Uint8Array | undefined {
    if (this.items.length === 0) return undefined;
    const queue = this.def.type === MapType.QUEUE;
    if (!remove) return queue ? this.items[0] : this.items[this.items.length - 1];
    return queue ? this.items.shift() : this.items.pop();
  }

  lookup(): undefined { return undefined; }
  update(): number { return -EINVAL; }
  delete(): number { return -EINVAL; }
  size(): number { return this.items.length; }
  dump(): MapEntry[] { return []; }
  seed(entry: MapEntry): string | undefined {
    const err = seedValue(this.def, entry);
    if (err) return err;
    return this.push(entry.values[0]!, 0n) === 0 ? undefined : `map ${this.def.name} is full (max_entries ${this.def.maxEntries})`;
  }
}

/** What a seed entry of a keyless map must be: no key (or an empty one) and one value of the map's size. */
function seedValue(def: MapDef, entry: MapEntry): string | undefined {
  if (entry.key.length !== 0) return `map ${def.name} (type ${def.type}) has no keys: give only "value", it is pushed`;
  if (entry.program !== undefined || entry.map !== undefined || entry.values.length !== 1) return `map ${def.name} takes one "value" per entry`;
  if (entry.values[0]!.length !== def.valueSize) return `value of ${entry.values[0]!.length} bytes, map ${def.name} has ${def.valueSize}-byte values`;
  return undefined;
}

/** BPF_F_ZERO_SEED: the map's hash seed is 0 instead of a random number drawn when the map is created. */
export const BPF_F_ZERO_SEED = 1 << 6;

const rol32 = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * Bob Jenkins' lookup3 hash as include/linux/jhash.h has it: jhash over bytes, which for a length that is a multiple
 * of 4 gives what jhash2 gives over the same bytes read as little-endian 32-bit words (the bloom filter uses one or
 * the other by value size).
 */
export function jhash(key: Uint8Array, initval: number): number {
  let len = key.length;
  let a = (0xdeadbeef + len + initval) >>> 0;
  let b = a;
  let c = a;
  const word = (o: number, n: number): number => {
    let w = 0;
    for (let i = n - 1; i >= 0; i--) w = (w << 8) | key[o + i]!;
    return w >>> 0;
  };
  let o = 0;
  while (len > 12) {
    a = (a + word(o, 4)) >>> 0;
    b = (b + word(o + 4, 4)) >>> 0;
    c = (c + word(o + 8, 4)) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    len -= 12;
    o += 12;
  }
  if (len === 0) return c;
  // The last 1..12 bytes, each word short of bytes padded with zeros.
  a = (a + word(o, Math.min(len, 4))) >>> 0;
  if (len > 4) b = (b + word(o + 4, Math.min(len - 4, 4))) >>> 0;
  if (len > 8) c = (c + word(o + 8, len - 8)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 24)) >>> 0;
  return c;
}

/**
 * The bit array of a bloom filter as kernel/bpf/bloom_filter.c sizes it: max_entries * hash functions * 7/5 bits
 * (the division first), at least 64, rounded up to a power of two; 2^32 bits when that passes 2^31 or a product
 * overflows 32 bits. Returns the mask (bits - 1) and the number of hash functions (map_extra's low 4 bits, 0 = 5).
 */
export function bloomGeometry(def: MapDef): { mask: number; hashes: number } {
  const hashes = ((def.mapExtra ?? 0) & 0xf) || 5;
  const product = def.maxEntries * hashes;
  const bits = Math.floor(product / 5) * 7;
  if (product > 0xffffffff || bits > 0xffffffff || bits > 2 ** 31) return { mask: 0xffffffff, hashes };
  let n = 64;
  while (n < bits) n *= 2;
  return { mask: n - 1, hashes };
}

/**
 * A bloom filter. With BPF_F_ZERO_SEED the kernel's hash seed is 0 and its answers are a function of what was pushed:
 * this one keeps the same bit array, hashed the same way (jhash of the value with seed 0 + i for hash function i), so
 * a saturated filter answers the kernel's false positives. Without it the kernel draws a random seed when it creates
 * the map, so which values collide differs from one load to the next; this one then keeps the values themselves and
 * never answers a false positive, the answer of most seeds for a filter not filled past max_entries.
 */
export class BloomFilterMap implements BpfMap {
  readonly readonlyForProgram = false;
  readonly perCpu = false;
  readonly valueSlots = 1;
  values = new Set<string>();
  /** ZERO_SEED only: the set bits (a word array up to 2^24 bits, a set of bit numbers beyond). */
  private readonly words?: Uint32Array;
  private readonly bitSet?: Set<number>;
  private readonly mask: number;
  private readonly hashes: number;
  constructor(readonly def: MapDef) {
    const g = bloomGeometry(def);
    this.mask = g.mask;
    this.hashes = g.hashes;
    if (def.flags & BPF_F_ZERO_SEED) {
      if (g.mask < 1 << 24) this.words = new Uint32Array((g.mask + 1) / 32);
      else this.bitSet = new Set<number>();
    }
  }

  private get exact(): boolean {
    return this.words === undefined && this.bitSet === undefined;
  }

  private bit(value: Uint8Array, i: number): number {
    return (jhash(value, i) & this.mask) >>> 0;
  }

  push(value: Uint8Array, flags: bigint): number {
    if (flags !== 0n) return -EINVAL;
    this.values.add(Buffer.from(value).toString('hex'));
    if (!this.exact) {
      for (let i = 0; i < this.hashes; i++) {
        const h = this.bit(value, i);
        if (this.words) this.words[h >>> 5] |= 1 << (h & 31);
        else this.bitSet!.add(h);
      }
    }
    return 0;
  }

  /** 0 when the value may be present, -ENOENT when it is not. */
  peek(value: Uint8Array): number {
    if (this.exact) return this.values.has(Buffer.from(value).toString('hex')) ? 0 : -ENOENT;
    for (let i = 0; i < this.hashes; i++) {
      const h = this.bit(value, i);
      const set = this.words ? (this.words[h >>> 5]! >>> (h & 31)) & 1 : this.bitSet!.has(h) ? 1 : 0;
      if (!set) return -ENOENT;
    }
    return 0;
  }

  lookup(): undefined { return undefined; }
  update(): number { return -EINVAL; }
  delete(): number { return -EOPNOTSUPP; }
  size(): number { return this.values.size; }
  dump(): MapEntry[] { return []; }
  seed(entry: MapEntry): string | undefined {
    const err = seedValue(this.def, entry);
    if (err) return err;
    this.push(entry.values[0]!, 0n);
    return undefined;
  }
}

/** Why the kernel refuses one of these map definitions (EINVAL), or undefined. */
export function queueMapCreateError(def: MapDef): string | undefined {
  const einval = (why: string) => `the kernel refuses map '${def.name}' (EINVAL): ${why}`;
  if (def.maxEntries === 0) return einval('max_entries is 0');
  if (def.keySize !== 0) return einval(`key_size is ${def.keySize}, this map type has no keys (key_size 0)`);
  if (def.valueSize === 0) return einval('value_size is 0');
  if (def.type === MapType.BLOOM_FILTER && (def.mapExtra ?? 0) > 0xf) return einval(`map_extra is ${def.mapExtra}: only its low 4 bits (the number of hash functions) may be set`);
  return undefined;
}

export const isQueueStack = (m: BpfMap): m is QueueStackMap => m instanceof QueueStackMap;
export const isBloom = (m: BpfMap): m is BloomFilterMap => m instanceof BloomFilterMap;
