// Protocol census: per-CPU counters by EtherType class and L4 protocol, byte totals in a plain array.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} l3_count SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, struct { __u64 packets; __u64 bytes; });
} l4_count SEC(".maps");

SEC("xdp")
int parse_count(struct xdp_md *ctx) {
  struct pkt p;
  int bad = parse_pkt(ctx, &p);
  __u32 k = bad ? 0 : p.proto == ETH_P_IP ? 1 : p.proto == ETH_P_IPV6 ? 2 : p.proto == ETH_P_ARP ? 3 : 4;
  if (!bad && p.vlans) k += 3 + p.vlans;
  if (k > 7) k = 7;
  __u64 *c = bpf_map_lookup_elem(&l3_count, &k);
  if (c) *c += 1;
  __u32 l4 = p.l4proto;
  struct { __u64 packets; __u64 bytes; } *v = bpf_map_lookup_elem(&l4_count, &l4);
  if (v) {
    v->packets++;
    v->bytes += (__u64)(p.end - p.data);
  }
  return bad ? XDP_DROP : XDP_PASS;
}
