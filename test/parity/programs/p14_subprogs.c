// bpf-to-bpf calls: static noinline helpers taking packet pointers and scalars, a global noinline function
// (verified on its own, scalar arguments only), nested calls; results written into the Ethernet source MAC.
#include "common.h"

__u64 calls;

static __attribute__((noinline)) __u32 mix(__u32 a, __u32 b) {
  calls++;
  return (a * 2654435761u) ^ (b >> 3) ^ (a << 7);
}

static __attribute__((noinline)) __u32 hash_ip(struct iphdr *ip, void *end) {
  if ((void *)(ip + 1) > end) return 0;
  return mix(ip->saddr, ip->daddr) + ip->protocol;
}

__attribute__((noinline)) int classify(__u32 h, __u32 len) {
  if (len < 60) return XDP_DROP;
  if ((h & 3) == 0) return XDP_TX;
  return XDP_PASS;
}

static __attribute__((noinline)) __u32 depth3(__u32 x) { return mix(x, x + 1) + 1; }
static __attribute__((noinline)) __u32 depth2(__u32 x) { return depth3(x ^ 0xabcdef) * 3; }

SEC("xdp")
int subprogs(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0) return XDP_PASS;
  __u32 h = depth2((__u32)(p.end - p.data));
  if (p.proto == ETH_P_IP) h ^= hash_ip(p.l3, p.end);
  __u32 *mac = (__u32 *)p.eth->h_source;
  *mac = h;
  return classify(h, (__u32)(p.end - p.data));
}
