// Global data: a .rodata config (const volatile), initialised .data counters and .bss histograms.
#include "common.h"

const volatile __u16 watch_port = 53;
const volatile __u8 drop_ttl_below = 2;
__u64 packets = 1000;
__u32 ports_seen[4] = { 7, 7, 7, 7 };
__u64 len_hist[8];
__u32 low_ttl;

SEC("xdp")
int globals(struct xdp_md *ctx) {
  struct pkt p;
  packets++;
  int bad = parse_pkt(ctx, &p);
  __u64 len = p.end - p.data;
  __u32 b = len < 64 ? 0 : len < 128 ? 1 : len < 256 ? 2 : len < 512 ? 3 : len < 1024 ? 4 : len < 1515 ? 5 : len < 4096 ? 6 : 7;
  len_hist[b]++;
  if (bad || p.proto != ETH_P_IP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  if (ip->ttl < drop_ttl_below) {
    low_ttl++;
    return XDP_DROP;
  }
  if (p.l4proto == IPPROTO_UDP || p.l4proto == IPPROTO_TCP) {
    HDR(struct udphdr, uh, p.l4, p.end, XDP_PASS);
    __u16 sp = bpf_ntohs(uh->source), dp = bpf_ntohs(uh->dest);
    ports_seen[p.l4proto == IPPROTO_UDP ? 0 : 1] += (sp == watch_port || dp == watch_port);
    ports_seen[2] = dp;
    ports_seen[3] ^= sp;
  }
  return XDP_PASS;
}
