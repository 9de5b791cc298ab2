// IPv6 extension-header walk (hop-by-hop, routing, destination options, fragment) in a bounded loop; the final
// next-header and offset are counted, hop limit decremented and addresses swapped for UDP.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u32);
} final_hdr SEC(".maps");

SEC("xdp")
int ipv6_ext(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IPV6) return XDP_PASS;
  HDR(struct ipv6hdr, ip6, p.l3, p.end, XDP_PASS);
  __u8 nh = ip6->nexthdr;
  void *cur = ip6 + 1;
  int i;
  for (i = 0; i < 6; i++) {
    if (nh != 0 && nh != 43 && nh != 60 && nh != 44) break;
    __u8 *h = cur;
    if ((void *)(h + 2) > p.end) return XDP_DROP;
    __u32 len = nh == 44 ? 8 : (h[1] + 1) * 8;
    nh = h[0];
    cur += len;
  }
  __u32 k = nh | (i << 8) | ((__u32)(cur - (void *)ip6) << 16);
  __u32 *v = bpf_map_lookup_elem(&final_hdr, &k);
  if (v) {
    (*v)++;
  } else {
    __u32 one = 1;
    bpf_map_update_elem(&final_hdr, &k, &one, BPF_ANY);
  }
  if (nh != IPPROTO_UDP) return XDP_PASS;
  ip6->hop_limit--;
  struct in6_addr t = ip6->saddr;
  ip6->saddr = ip6->daddr;
  ip6->daddr = t;
  return XDP_TX;
}
