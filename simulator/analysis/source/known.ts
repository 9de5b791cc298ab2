// What the source tier knows without reading system headers: the values of the kernel's action enums, which of them
// belong to other program types, the layouts of the protocol headers XDP programs parse, and what the XDP helpers do
// to packet pointers. Values follow include/uapi/linux/bpf.h and include/uapi/linux/pkt_cls.h.
import type { TypeRef } from './unit.ts';

export const XDP_ACTIONS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;

/** A constant from a kernel header, with the program type it belongs to and the XDP action it most likely stands for. */
export interface KernelConstant {
  value: number;
  /** Undefined for XDP's own actions. */
  family?: string;
  likely?: (typeof XDP_ACTIONS)[number];
}

export const KERNEL_CONSTANTS: Record<string, KernelConstant> = {
  XDP_ABORTED: { value: 0 },
  XDP_DROP: { value: 1 },
  XDP_PASS: { value: 2 },
  XDP_TX: { value: 3 },
  XDP_REDIRECT: { value: 4 },
  // tc (cls_bpf direct action), enum in pkt_cls.h.
  TC_ACT_UNSPEC: { value: -1, family: 'tc', likely: 'XDP_PASS' },
  TC_ACT_OK: { value: 0, family: 'tc', likely: 'XDP_PASS' },
  TC_ACT_RECLASSIFY: { value: 1, family: 'tc', likely: 'XDP_PASS' },
  TC_ACT_SHOT: { value: 2, family: 'tc', likely: 'XDP_DROP' },
  TC_ACT_PIPE: { value: 3, family: 'tc', likely: 'XDP_PASS' },
  TC_ACT_STOLEN: { value: 4, family: 'tc', likely: 'XDP_DROP' },
  TC_ACT_QUEUED: { value: 5, family: 'tc', likely: 'XDP_DROP' },
  TC_ACT_REPEAT: { value: 6, family: 'tc', likely: 'XDP_PASS' },
  TC_ACT_REDIRECT: { value: 7, family: 'tc', likely: 'XDP_REDIRECT' },
  TC_ACT_TRAP: { value: 8, family: 'tc', likely: 'XDP_PASS' },
  // tcx (bpf_mprog), enum tcx_action_base in bpf.h.
  TCX_NEXT: { value: -1, family: 'tcx', likely: 'XDP_PASS' },
  TCX_PASS: { value: 0, family: 'tcx', likely: 'XDP_PASS' },
  TCX_DROP: { value: 2, family: 'tcx', likely: 'XDP_DROP' },
  TCX_REDIRECT: { value: 7, family: 'tcx', likely: 'XDP_REDIRECT' },
  // sk_skb / sk_msg / sk_reuseport verdicts, enum sk_action in bpf.h.
  SK_DROP: { value: 0, family: 'socket (sk_skb/sk_msg)', likely: 'XDP_DROP' },
  SK_PASS: { value: 1, family: 'socket (sk_skb/sk_msg)', likely: 'XDP_PASS' },
  // lwt programs, enum bpf_ret_code in bpf.h.
  BPF_OK: { value: 0, family: 'lwt', likely: 'XDP_PASS' },
  BPF_DROP: { value: 2, family: 'lwt', likely: 'XDP_DROP' },
  BPF_REDIRECT: { value: 7, family: 'lwt', likely: 'XDP_REDIRECT' },
  BPF_LWT_REROUTE: { value: 128, family: 'lwt', likely: 'XDP_PASS' },
  // Flags and other values a program uses in expressions the tier evaluates.
  BPF_ANY: { value: 0, family: 'flag' },
  BPF_NOEXIST: { value: 1, family: 'flag' },
  BPF_EXIST: { value: 2, family: 'flag' },
  BPF_F_RDONLY_PROG: { value: 1 << 7, family: 'flag' },
  // <linux/if_ether.h>: the size of an Ethernet address, for arrays a program's own headers declare with it.
  ETH_ALEN: { value: 6 },
  BPF_F_WRONLY_PROG: { value: 1 << 8, family: 'flag' },
  BPF_F_BROADCAST: { value: 1 << 3, family: 'flag' },
  BPF_F_EXCLUDE_INGRESS: { value: 1 << 4, family: 'flag' },
  // IP protocol numbers (enum in linux/in.h, IPPROTO_ICMPV6 in linux/in6.h), compared with ip->protocol.
  IPPROTO_ICMP: { value: 1, family: 'flag' },
  IPPROTO_IPIP: { value: 4, family: 'flag' },
  IPPROTO_TCP: { value: 6, family: 'flag' },
  IPPROTO_UDP: { value: 17, family: 'flag' },
  IPPROTO_IPV6: { value: 41, family: 'flag' },
  IPPROTO_GRE: { value: 47, family: 'flag' },
  IPPROTO_ICMPV6: { value: 58, family: 'flag' },
  IPPROTO_SCTP: { value: 132, family: 'flag' },
  // bpf_fib_lookup's result codes (enum in bpf.h), the labels of the switch programs put after the lookup.
  BPF_FIB_LKUP_RET_SUCCESS: { value: 0, family: 'flag' },
  BPF_FIB_LKUP_RET_BLACKHOLE: { value: 1, family: 'flag' },
  BPF_FIB_LKUP_RET_UNREACHABLE: { value: 2, family: 'flag' },
  BPF_FIB_LKUP_RET_PROHIBIT: { value: 3, family: 'flag' },
  BPF_FIB_LKUP_RET_NOT_FWDED: { value: 4, family: 'flag' },
  BPF_FIB_LKUP_RET_FWD_DISABLED: { value: 5, family: 'flag' },
  BPF_FIB_LKUP_RET_UNSUPP_LWT: { value: 6, family: 'flag' },
  BPF_FIB_LKUP_RET_NO_NEIGH: { value: 7, family: 'flag' },
  BPF_FIB_LKUP_RET_FRAG_NEEDED: { value: 8, family: 'flag' },
  BPF_FIB_LKUP_RET_NO_SRC_ADDR: { value: 9, family: 'flag' },
};

/** Families whose constants are foreign to an XDP return, even when the number happens to be an XDP action. */
export function foreignFamily(name: string): KernelConstant | undefined {
  const k = KERNEL_CONSTANTS[name];
  if (k?.family && k.family !== 'flag') return k;
  if (/^TC_ACT_/.test(name)) return { value: NaN, family: 'tc', likely: 'XDP_PASS' };
  return undefined;
}

export const PRIMITIVE_SIZES: Record<string, number> = {
  char: 1, 'signed char': 1, 'unsigned char': 1, _Bool: 1, bool: 1,
  __u8: 1, __s8: 1, u8: 1, s8: 1, uint8_t: 1, int8_t: 1,
  short: 2, 'short int': 2, 'unsigned short': 2, 'unsigned short int': 2,
  __u16: 2, __s16: 2, __be16: 2, __le16: 2, __sum16: 2, u16: 2, s16: 2, uint16_t: 2, int16_t: 2,
  int: 4, unsigned: 4, 'unsigned int': 4, 'signed int': 4, float: 4,
  __u32: 4, __s32: 4, __be32: 4, __le32: 4, __wsum: 4, u32: 4, s32: 4, uint32_t: 4, int32_t: 4,
  long: 8, 'long int': 8, 'unsigned long': 8, 'unsigned long int': 8, 'long long': 8, 'unsigned long long': 8,
  'long long int': 8, 'unsigned long long int': 8, double: 8,
  __u64: 8, __s64: 8, __be64: 8, __le64: 8, u64: 8, s64: 8, uint64_t: 8, int64_t: 8, size_t: 8, ssize_t: 8,
  uintptr_t: 8, intptr_t: 8,
  void: 1, // GNU C pointer arithmetic on void * counts bytes
};

export interface FieldLayout {
  offset: number;
  size: number;
  /** Element size when the field is an array (or an aggregate), so `eth->h_dest` is a pointer into the packet. */
  elem?: number;
  /** The declared type of a pointer member (`struct iphdr *ip;` in a parser's struct of header pointers). */
  ptrType?: TypeRef;
  /** The declared type of a struct or union member (`struct msg m;`), so `r->m.body` is placed inside the packet. */
  aggType?: TypeRef;
}

export interface StructLayout {
  size: number;
  fields: Record<string, FieldLayout>;
}

const f = (offset: number, size: number, elem?: number): FieldLayout => ({ offset, size, elem });

/** Protocol headers from include/uapi/linux (bitfields are given their containing byte or word). */
export const KERNEL_STRUCTS: Record<string, StructLayout> = {
  'struct ethhdr': { size: 14, fields: { h_dest: f(0, 6, 1), h_source: f(6, 6, 1), h_proto: f(12, 2) } },
  'struct vlan_hdr': { size: 4, fields: { h_vlan_TCI: f(0, 2), h_vlan_encapsulated_proto: f(2, 2) } },
  'struct vlan_ethhdr': {
    size: 18,
    fields: { h_dest: f(0, 6, 1), h_source: f(6, 6, 1), h_vlan_proto: f(12, 2), h_vlan_TCI: f(14, 2), h_vlan_encapsulated_proto: f(16, 2) },
  },
  'struct iphdr': {
    size: 20,
    fields: {
      ihl: f(0, 1), version: f(0, 1), tos: f(1, 1), tot_len: f(2, 2), id: f(4, 2), frag_off: f(6, 2), ttl: f(8, 1),
      protocol: f(9, 1), check: f(10, 2), saddr: f(12, 4), daddr: f(16, 4), addrs: f(12, 8, 4),
    },
  },
  'struct ipv6hdr': {
    size: 40,
    fields: {
      priority: f(0, 1), version: f(0, 1), flow_lbl: f(1, 3, 1), payload_len: f(4, 2), nexthdr: f(6, 1), hop_limit: f(7, 1),
      saddr: f(8, 16, 1), daddr: f(24, 16, 1), addrs: f(8, 32, 1),
    },
  },
  'struct tcphdr': {
    size: 20,
    fields: {
      source: f(0, 2), dest: f(2, 2), seq: f(4, 4), ack_seq: f(8, 4), res1: f(12, 1), doff: f(12, 1), fin: f(13, 1),
      syn: f(13, 1), rst: f(13, 1), psh: f(13, 1), ack: f(13, 1), urg: f(13, 1), ece: f(13, 1), cwr: f(13, 1),
      window: f(14, 2), check: f(16, 2), urg_ptr: f(18, 2),
    },
  },
  'struct udphdr': { size: 8, fields: { source: f(0, 2), dest: f(2, 2), len: f(4, 2), check: f(6, 2) } },
  'struct icmphdr': { size: 8, fields: { type: f(0, 1), code: f(1, 1), checksum: f(2, 2), un: f(4, 4, 1) } },
  'struct icmp6hdr': { size: 8, fields: { icmp6_type: f(0, 1), icmp6_code: f(1, 1), icmp6_cksum: f(2, 2), icmp6_dataun: f(4, 4, 1) } },
  'struct arphdr': { size: 8, fields: { ar_hrd: f(0, 2), ar_pro: f(2, 2), ar_hln: f(4, 1), ar_pln: f(5, 1), ar_op: f(6, 2) } },
  'struct in6_addr': { size: 16, fields: {} },
  'struct gre_base_hdr': { size: 4, fields: { flags: f(0, 2), protocol: f(2, 2) } },
};

/** struct xdp_md (include/uapi/linux/bpf.h): every field is 4 bytes and read-only for the program. */
export const XDP_MD_FIELDS: Record<string, number> = {
  data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20,
};

/** Helpers after which the verifier forgets every packet pointer (bpf_helper_changes_pkt_data for XDP). */
export const INVALIDATING_HELPERS = new Set(['bpf_xdp_adjust_head', 'bpf_xdp_adjust_tail', 'bpf_xdp_adjust_meta', 'bpf_tail_call', 'bpf_xdp_pull_data']);

/**
 * Helpers that change the frame (so an XDP_TX after them sends something new); with the dynptr ones, whose writes
 * reach the packet (a writable slice counts as soon as it is taken).
 */
export const FRAME_CHANGING_HELPERS = new Set(['bpf_xdp_adjust_head', 'bpf_xdp_adjust_tail', 'bpf_xdp_adjust_meta', 'bpf_xdp_store_bytes',
  'bpf_dynptr_write', 'bpf_dynptr_slice_rdwr']);

export const REDIRECT_HELPERS = new Set(['bpf_redirect', 'bpf_redirect_map']);

/**
 * Possible results of helpers a program might return directly. `errors` are negative errno values; the verdict the
 * driver then sees is the u32 of it, far outside 0..4.
 */
export const HELPER_RESULTS: Record<string, { values: number[]; note: string }> = {
  bpf_xdp_adjust_head: { values: [0, -22], note: 'returns 0 or -EINVAL' },
  bpf_xdp_adjust_tail: { values: [0, -22], note: 'returns 0 or -EINVAL' },
  bpf_xdp_adjust_meta: { values: [0, -22, -13], note: 'returns 0 or a negative error (-EINVAL, -EACCES, -ENOTSUPP)' },
  bpf_xdp_load_bytes: { values: [0, -22, -14], note: 'returns 0 or a negative error (-EINVAL, -EFAULT)' },
  bpf_xdp_store_bytes: { values: [0, -22, -14], note: 'returns 0 or a negative error (-EINVAL, -EFAULT)' },
  bpf_map_update_elem: { values: [0, -17, -7, -22, -2], note: 'returns 0 or a negative error (-EEXIST, -E2BIG, -EINVAL, -ENOENT)' },
  bpf_map_delete_elem: { values: [0, -2, -22], note: 'returns 0 or a negative error (-ENOENT, -EINVAL)' },
  bpf_perf_event_output: { values: [0, -2, -22, -7, -95], note: 'returns 0 or a negative error (-ENOENT with no reader on that CPU, -EINVAL, -E2BIG, -EOPNOTSUPP)' },
  bpf_ringbuf_output: { values: [0, -11, -22], note: 'returns 0 or a negative error (-EAGAIN when the ring is full, -EINVAL)' },
  bpf_probe_read_kernel: { values: [0, -14], note: 'returns 0 or -EFAULT' },
  bpf_map_push_elem: { values: [0, -7, -22], note: 'returns 0 or a negative error (-E2BIG when full, -EINVAL)' },
  bpf_map_pop_elem: { values: [0, -2], note: 'returns 0 or -ENOENT when empty' },
  bpf_map_peek_elem: { values: [0, -2], note: 'returns 0 or -ENOENT when empty' },
  bpf_fib_lookup: { values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -22], note: 'returns a BPF_FIB_LKUP_RET_* code (0..9) or a negative error' },
  // kfuncs and the dynptr helpers (simulator/vm/kfuncs.ts)
  bpf_dynptr_from_xdp: { values: [0, -22], note: 'returns 0 or -EINVAL' },
  bpf_dynptr_read: { values: [0, -22, -7, -14], note: 'returns 0 or a negative error (-EINVAL, -E2BIG, -EFAULT)' },
  bpf_dynptr_write: { values: [0, -22, -7, -14], note: 'returns 0 or a negative error (-EINVAL, -E2BIG, -EFAULT)' },
  bpf_dynptr_adjust: { values: [0, -22, -34], note: 'returns 0 or a negative error (-EINVAL, -ERANGE)' },
  bpf_dynptr_clone: { values: [0, -22], note: 'returns 0 or -EINVAL' },
  bpf_xdp_metadata_rx_timestamp: { values: [0, -95, -61], note: 'returns 0 or a negative error (-EOPNOTSUPP, -ENODATA)' },
  bpf_xdp_metadata_rx_hash: { values: [0, -95, -61], note: 'returns 0 or a negative error (-EOPNOTSUPP, -ENODATA)' },
  bpf_xdp_metadata_rx_vlan_tag: { values: [0, -95, -61], note: 'returns 0 or a negative error (-EOPNOTSUPP, -ENODATA)' },
  bpf_ct_change_timeout: { values: [0, -1, -62], note: 'returns 0 or a negative error (-EPERM, -ETIME)' },
  bpf_ct_set_status: { values: [0, -16], note: 'returns 0 or -EBUSY' },
  bpf_ct_change_status: { values: [0, -16], note: 'returns 0 or -EBUSY' },
  bpf_ct_set_nat_info: { values: [0, -12], note: 'returns 0 or -ENOMEM' },
};

/** Calls whose first argument is written (libc-style builtins and the atomic builtins). */
export function writesFirstArgument(name: string): boolean {
  return (
    /^(?:__builtin_)?(?:memcpy|memmove|memset)$/.test(name) ||
    /^__sync_(?:fetch_and_|val_|bool_|lock_test_and_set|lock_release|add_and_|sub_and_|or_and_|and_and_|xor_and_|nand_and_)/.test(name) ||
    (/^__atomic_/.test(name) && !/^__atomic_(?:load|always_lock_free|is_lock_free|thread_fence|signal_fence)/.test(name))
  );
}
