// QUEUE, STACK and BLOOM_FILTER maps (kernel/bpf/queue_stack_maps.c, kernel/bpf/bloom_filter.c): maps without keys that
// programs use through bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem only. Neither user space's key
// iteration (bpftool map dump) nor the program's lookup/update/delete reach their elements, so they dump as empty.
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
  seed(): string | undefined { return `map ${this.def.name} (type ${this.def.type}) has no keys to set`; }
}

/**
 * A bloom filter. The kernel's answers depend on a random hash seed (false positives); this one keeps the values
 * themselves and never answers a false positive, which the kernel's bit array (sized for a rate far below 1%) matches
 * but for those rare collisions.
 */
export class BloomFilterMap implements BpfMap {
  readonly readonlyForProgram = false;
  readonly perCpu = false;
  readonly valueSlots = 1;
  values = new Set<string>();
  constructor(readonly def: MapDef) {}

  push(value: Uint8Array, flags: bigint): number {
    if (flags !== 0n) return -EINVAL;
    this.values.add(Buffer.from(value).toString('hex'));
    return 0;
  }

  /** 0 when the value may be present, -ENOENT when it is not. */
  peek(value: Uint8Array): number {
    return this.values.has(Buffer.from(value).toString('hex')) ? 0 : -ENOENT;
  }

  lookup(): undefined { return undefined; }
  update(): number { return -EINVAL; }
  delete(): number { return -EOPNOTSUPP; }
  size(): number { return this.values.size; }
  dump(): MapEntry[] { return []; }
  seed(): string | undefined { return `map ${this.def.name} (type ${this.def.type}) has no keys to set`; }
}

/** Why the kernel refuses one of these map definitions (EINVAL), or undefined. */
export function queueMapCreateError(def: MapDef): string | undefined {
  const einval = (why: string) => `the kernel refuses map '${def.name}' (EINVAL): ${why}`;
  if (def.maxEntries === 0) return einval('max_entries is 0');
  if (def.keySize !== 0) return einval(`key_size is ${def.keySize}, this map type has no keys (key_size 0)`);
  if (def.valueSize === 0) return einval('value_size is 0');
  return undefined;
}

export const isQueueStack = (m: BpfMap): m is QueueStackMap => m instanceof QueueStackMap;
export const isBloom = (m: BpfMap): m is BloomFilterMap => m instanceof BloomFilterMap;
