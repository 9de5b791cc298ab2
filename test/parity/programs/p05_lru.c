// LRU_HASH: a per-source counter in a big LRU (no eviction) and a tiny LRU of 4 entries that must evict.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, __be32);
  __type(value, __u64);
} by_src SEC(".maps");

SEC("xdp")
int lru_count(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  __be32 k = ip->saddr;
  __u64 *v = bpf_map_lookup_elem(&by_src, &k);
  if (v) {
    *v += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&by_src, &k, &one, BPF_ANY);
  }
  return XDP_PASS;
}
