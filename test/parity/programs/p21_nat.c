// Destination NAT for IPv4 TCP/UDP: rewrite the destination address and port, update the L4 checksum with
// bpf_csum_diff (4-byte address, 2-byte port padded, an odd 3-byte diff) and recompute the IP header checksum.
#include "common.h"

long diffs[4];

static __always_inline __u16 csum_replace(__u16 check, __s64 diff) {
  __u64 s = (__u16)~check + (__u64)diff;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return ~s;
}

SEC("xdp")
int nat(struct xdp_md *ctx) {
  struct pkt p;
  if (parse_pkt(ctx, &p) < 0 || p.proto != ETH_P_IP) return XDP_PASS;
  if (p.l4proto != IPPROTO_TCP && p.l4proto != IPPROTO_UDP) return XDP_PASS;
  HDR(struct iphdr, ip, p.l3, p.end, XDP_PASS);
  __be32 old_ip = ip->daddr, new_ip = bpf_htonl(0x0a000063);
  __be16 *portp;
  __sum16 *checkp;
  if (p.l4proto == IPPROTO_TCP) {
    HDR(struct tcphdr, th, p.l4, p.end, XDP_PASS);
    portp = &th->dest;
    checkp = &th->check;
  } else {
    HDR(struct udphdr, uh, p.l4, p.end, XDP_PASS);
    portp = &uh->dest;
    checkp = &uh->check;
  }
  __u32 old_port = *portp, new_port = bpf_htons(8080);
  __s64 d1 = bpf_csum_diff(&old_ip, 4, &new_ip, 4, 0);
  __s64 d2 = bpf_csum_diff(&old_port, 4, &new_port, 4, d1);
  __u8 odd[4] = { 1, 2, 3, 0 };
  diffs[0] = d1;
  diffs[1] = d2;
  diffs[2] = bpf_csum_diff(0, 0, (__be32 *)odd, 3, 0);
  diffs[3] = bpf_csum_diff((__be32 *)odd, 4, 0, 0, 0x1234);
  ip->daddr = new_ip;
  *portp = new_port;
  if (!(p.l4proto == IPPROTO_UDP && *checkp == 0)) *checkp = csum_replace(*checkp, d2);
  ip->check = csum_replace(ip->check, d1);
  return XDP_TX;
}
