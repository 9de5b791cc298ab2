// What the kernel verifier requires of a helper call's arguments, for the helpers an XDP program can call: the
// argument types of each helper's struct bpf_func_proto (net/core/filter.c, kernel/bpf/helpers.c, ringbuf.c,
// kernel/trace/bpf_trace.c) as far as they decide a refusal, and the verifier's check_map_func_compatibility table.
// Each fact here was checked against the running 6.18 kernel with a probe program (test/vm/helper-protos.test.ts).
//
//   - memory arguments (ARG_PTR_TO_MEM and the like) of a helper without `pkt_access` may not point into the packet:
//     "helper access to the packet is not allowed";
//   - size arguments (ARG_CONST_SIZE / ARG_CONST_SIZE_OR_ZERO) may not be negative, may be zero only in the _OR_ZERO
//     form ("invalid zero-sized read") and must be below BPF_MAX_VAR_SIZ (1 << 29) ("unbounded memory access");
//     bpf_ringbuf_reserve's size (ARG_CONST_ALLOC_SIZE_OR_ZERO) must be a known constant;
//   - a map argument must be of a type the helper takes, and a map type only goes to its helpers.
import { MapType } from '../../elf/types.ts';

export interface SizeArg {
  /** Register of the size argument. */
  reg: number;
  /** ARG_CONST_SIZE_OR_ZERO: zero allowed. */
  zeroOk: boolean;
  /** ARG_CONST_ALLOC_SIZE_OR_ZERO: the value must be a known constant. */
  constant?: boolean;
}

export interface HelperProto {
  /** The helper may be given packet pointers (`.pkt_access = true`). */
  pktAccess?: boolean;
  /** Registers of memory arguments (checked against packet pointers unless pktAccess; a size argument follows its memory argument). */
  mem?: number[];
  sizes?: SizeArg[];
  /** Register of the map argument (ARG_CONST_MAP_PTR). */
  map?: number;
}

const size = (reg: number, zeroOk: boolean, constant = false): SizeArg => ({ reg, zeroOk, constant });

/** BPF_MAX_VAR_SIZ: a variable size at or above it is "unbounded memory access". */
export const MAX_VAR_SIZE = 1 << 29;

export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map<number, HelperProto>([
  [1, { pktAccess: true, map: 1 }], // map_lookup_elem
  [2, { pktAccess: true, map: 1 }], // map_update_elem
  [3, { pktAccess: true, map: 1 }], // map_delete_elem
  [6, { mem: [1], sizes: [size(2, false)] }], // trace_printk
  [12, { map: 2 }], // tail_call
  [22, { map: 1 }], // perf_event_read
  [25, { mem: [4], sizes: [size(5, true)], map: 2 }], // perf_event_output
  [55, { mem: [3], sizes: [size(4, false)], map: 1 }], // perf_event_read_value
  [28, { pktAccess: true, mem: [1, 3], sizes: [size(2, true), size(4, true)] }], // csum_diff
  [51, { map: 1 }], // redirect_map
  [69, { mem: [2], sizes: [size(3, false)] }], // fib_lookup
  [84, { pktAccess: true, mem: [2], sizes: [size(3, false)] }], // sk_lookup_tcp
  [85, { pktAccess: true, mem: [2], sizes: [size(3, false)] }], // sk_lookup_udp
  [87, { pktAccess: true, map: 1 }], // map_push_elem
  [88, { pktAccess: true, map: 1 }], // map_pop_elem
  [89, { pktAccess: true, map: 1 }], // map_peek_elem
  [99, { pktAccess: true, mem: [2], sizes: [size(3, false)] }], // skc_lookup_tcp
  [105, { mem: [1, 4], sizes: [size(2, false)] }], // strtol
  [106, { mem: [1, 4], sizes: [size(2, false)] }], // strtoul
  [112, { mem: [1], sizes: [size(2, true)] }], // probe_read_user
  [113, { mem: [1], sizes: [size(2, true)] }], // probe_read_kernel
  [114, { mem: [1], sizes: [size(2, true)] }], // probe_read_user_str
  [115, { mem: [1], sizes: [size(2, true)] }], // probe_read_kernel_str
  [121, { mem: [4], sizes: [size(5, true)], map: 2 }], // xdp_output
  [130, { mem: [2], sizes: [size(3, true)], map: 1 }], // ringbuf_output
  [131, { sizes: [size(2, true, true)], map: 1 }], // ringbuf_reserve
  [134, { map: 1 }], // ringbuf_query
  [163, { mem: [3] }], // check_mtu (mtu_len)
  [164, { map: 1 }], // for_each_map_elem
  [165, { mem: [1, 4], sizes: [size(2, true), size(5, true)] }], // snprintf
  [169, { map: 2 }], // timer_init
  [177, { mem: [1, 3], sizes: [size(2, false), size(4, true)] }], // trace_vprintk
  [182, { mem: [1], sizes: [size(2, false)] }], // strncmp
  [189, { mem: [3], sizes: [size(4, false)] }], // xdp_load_bytes
  [190, { mem: [3], sizes: [size(4, false)] }], // xdp_store_bytes
  [195, { pktAccess: true, map: 1 }], // map_lookup_percpu_elem
  [197, { mem: [1], sizes: [size(2, true)] }], // dynptr_from_mem
  [198, { sizes: [size(2, true)], map: 1 }], // ringbuf_reserve_dynptr
  [201, { mem: [1], sizes: [size(2, true)] }], // dynptr_read
  [202, { mem: [3], sizes: [size(4, true)] }], // dynptr_write
  [204, { pktAccess: true, mem: [1, 2], sizes: [size(3, true)] }], // tcp_raw_gen_syncookie_ipv4
  [205, { pktAccess: true, mem: [1, 2], sizes: [size(3, true)] }], // tcp_raw_gen_syncookie_ipv6
  [206, { pktAccess: true }], // tcp_raw_check_syncookie_ipv4
  [207, { pktAccess: true }], // tcp_raw_check_syncookie_ipv6
  [209, { map: 1 }], // user_ringbuf_drain
]);

const PERF_HELPERS = [22, 25, 55, 121];
const RINGBUF_HELPERS = [130, 131, 132, 133, 134, 198, 199, 200];

/** Map types that go only to the listed helpers (the first half of check_map_func_compatibility). */
const MAP_ONLY: ReadonlyMap<number, readonly number[]> = new Map<number, readonly number[]>([
  [MapType.PROG_ARRAY, [12]],
  [MapType.PERF_EVENT_ARRAY, PERF_HELPERS],
  [MapType.RINGBUF, RINGBUF_HELPERS],
  [MapType.USER_RINGBUF, [209]],
  [MapType.DEVMAP, [51, 1]],
  [MapType.DEVMAP_HASH, [51, 1]],
  [MapType.CPUMAP, [51]],
  [MapType.XSKMAP, [51, 1]],
  [MapType.ARRAY_OF_MAPS, [1]],
  [MapType.HASH_OF_MAPS, [1]],
  [MapType.QUEUE, [87, 88, 89]],
  [MapType.STACK, [87, 88, 89]],
  [MapType.BLOOM_FILTER, [87, 89]],
]);

const ARRAYS_AND_HASHES = [MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH];

/** Helpers that take only the listed map types (the second half). */
const FUNC_ONLY: ReadonlyMap<number, readonly number[]> = new Map<number, readonly number[]>([
  [12, [MapType.PROG_ARRAY]],
  ...PERF_HELPERS.map((id): [number, number[]] => [id, [MapType.PERF_EVENT_ARRAY]]),
  ...RINGBUF_HELPERS.map((id): [number, number[]] => [id, [MapType.RINGBUF]]),
  [209, [MapType.USER_RINGBUF]],
  [51, [MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP]],
  [88, [MapType.QUEUE, MapType.STACK]],
  [87, [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER]],
  [89, [MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER]],
  [195, [MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH]],
  // Not in that table but refused alike: bpf_for_each_map_elem needs a map with a for-each callback.
  [164, ARRAYS_AND_HASHES],
]);

/** Whether the verifier lets `helper` take a map of `mapType` (undefined: a helper without a map argument). */
export function mapFuncCompatible(mapType: number, helper: number): boolean {
  const only = MAP_ONLY.get(mapType);
  if (only && !only.includes(helper)) return false;
  const types = FUNC_ONLY.get(helper);
  return !types || types.includes(mapType);
}

/** The verifier's words for an incompatible map. */
export function mapFuncMessage(mapType: number, helper: number, helperName: string, mapName: string): string {
  if (helper === 12 && mapType !== MapType.PROG_ARRAY) return `expected prog array map for tail call (map ${mapName})`;
  return `cannot pass map_type ${mapType} into func ${helperName}#${helper} (map ${mapName})`;
}
