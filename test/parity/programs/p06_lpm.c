// Route classifier: LPM_TRIE lookup of the IPv4 destination (routes seeded from the test), the value is the action;
// misses learn a /32 entry from the program side.
#include "common.h"

struct lpm_key {
  __u32 prefixlen;
  __be32 addr;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lpm_key);
  __type(value, __u32);
} routes SEC(".maps");

SEC("xdp")
int lpm_route(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  struct lpm_key k = { 32, ip->daddr };
  __u32 *act = bpf_map_lookup_elem(&routes, &k);
  if (act) return *act;
  __u32 learned = XDP_PASS;
  long err = bpf_map_update_elem(&routes, &k, &learned, BPF_NOEXIST);
  return err ? XDP_ABORTED : XDP_DROP;
}
