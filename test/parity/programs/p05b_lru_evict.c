// LRU_HASH eviction: 4 entries keyed by destination address; every packet upserts, so the map overflows.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4);
  __type(key, __be32);
  __type(value, __u64);
} small SEC(".maps");

SEC("xdp")
int lru_evict(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  __be32 k = ip->daddr;
  __u64 *v = bpf_map_lookup_elem(&small, &k);
  __u64 n = v ? *v + 1 : 1;
  return bpf_map_update_elem(&small, &k, &n, BPF_ANY) == 0 ? XDP_PASS : XDP_DROP;
}
